"""CLIP as a zero-shot classifier over class words (``a photo of <word>``), differentiable to the images: the
surrogate for concepts no classifier asset covers (``sfd attack --surrogate clip:MODEL``)."""

from typing import Optional, Sequence

import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import ClassJudge
from sfd_lightning.models.frozen import freeze


class ClipZeroShotJudge(ClassJudge):
    """Zero-shot logits: 100 x cosine of CLIP's normalised image embedding to each class word's text, CLIP's own
    scale. Features: CLIP's normalised image embeddings."""

    name = "clip"
    differentiable = True
    spelling = "clip"  # clip:MODEL

    def __init__(
        self,
        model_name_or_path: str,
        class_words: Sequence[str],
        device: torch.device,
        field: str = "--surrogate",
        label: str = "judge",
    ):
        """
        Args:
            model_name_or_path: a CLIP model (transformers), by hub name or local folder.
            class_words: the word naming each class, in class order.
            device: where CLIP runs.
            field: the option that named the model, for errors.
            label: what refusals of its verdicts name.
        """
        from transformers import CLIPModel, CLIPTokenizer

        from sfd_lightning.io.pretrained import load_pretrained
        from sfd_lightning.metrics.clip_score import clip_text_embeddings

        self.device, self.label = torch.device(device), label
        self.model = freeze(load_pretrained(CLIPModel, model_name_or_path, None, field).to(device))
        tokenizer = load_pretrained(CLIPTokenizer, model_name_or_path, None, field)
        with torch.no_grad():
            text = clip_text_embeddings(self.model, tokenizer, [f"a photo of {w}" for w in class_words], device)
        self.text = torch.nn.functional.normalize(text, dim=-1)  # (K, P)

    @classmethod
    def from_spec(
        cls, text: str, field: str, label: str, device: torch.device, class_words: Optional[Sequence[str]] = None, **_
    ) -> "ClipZeroShotJudge":
        """``clip:MODEL`` over a prompt run's class words."""
        if class_words is None:
            raise ConfigError(
                field,
                "clip:MODEL classifies a prompt run's class words; give a class-conditional run a classifier asset",
            )
        return cls(text.partition(":")[2], class_words, device, field, label)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        from sfd_lightning.metrics.clip_score import clip_image_embeddings

        return torch.nn.functional.normalize(clip_image_embeddings(self.model, images), dim=-1)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, K) zero-shot logits."""
        return 100 * self.features(images) @ self.text.T
