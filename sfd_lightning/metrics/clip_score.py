"""CLIP score (Hessel et al., 2021) of prompt-conditioned samples.

``100 * max(cos(image embedding, text embedding), 0)`` with a CLIP model from transformers. We
compute it here instead of with torchmetrics' ``CLIPScore``, which breaks with transformers >= 5
(torchmetrics issue #3407): the image and text towers and their projections are called directly,
which every transformers version since 4.x supports.
"""

from typing import Sequence

import torch
import torch.nn.functional as F
from torchmetrics import Metric

from sfd_lightning.data.finite import check_count, finite_rows
from sfd_lightning.io.pretrained import load_pretrained

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_image_embeddings(model, images: torch.Tensor) -> torch.Tensor:
    """CLIP's projected image embeddings (B, P) of images in [-1, 1] (1 or 3 channels), resized to the model's input
    (bicubic, antialiased) and normalised as CLIP was trained; differentiable in ``images``."""
    size = model.config.vision_config.image_size
    x = F.interpolate(
        (images.float().clamp(-1, 1) + 1) / 2, size=(size, size), mode="bicubic", align_corners=False, antialias=True
    )
    mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return model.visual_projection(model.vision_model(pixel_values=(x - mean) / std).pooler_output)


def clip_text_embeddings(model, tokenizer, prompts: Sequence[str], device: torch.device) -> torch.Tensor:
    """CLIP's projected text embeddings (K, P) of ``prompts``."""
    tokens = tokenizer(list(prompts), padding=True, truncation=True, return_tensors="pt").to(device)
    return model.text_projection(
        model.text_model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).pooler_output
    )


class CLIPScore(Metric):
    """Mean CLIP score of (image, prompt) pairs; images in [-1, 1]. Sums reduce across DDP ranks."""

    full_state_update = False

    def __init__(self, model_name_or_path: str = "openai/clip-vit-large-patch14"):
        super().__init__()
        from transformers import CLIPModel, CLIPTokenizer

        self.model = load_pretrained(CLIPModel, model_name_or_path, None, "clip_model").eval().requires_grad_(False)
        self.tokenizer = load_pretrained(CLIPTokenizer, model_name_or_path, None, "clip_model")
        self.image_size = self.model.config.vision_config.image_size
        self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("nonfinite", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    @torch.no_grad()
    def scores(self, images: torch.Tensor, prompts: Sequence[str]) -> torch.Tensor:
        """Per-pair scores (B,) of finite images."""
        image_emb = clip_image_embeddings(self.model, images)
        text_emb = clip_text_embeddings(self.model, self.tokenizer, prompts, images.device)
        return 100 * F.cosine_similarity(image_emb, text_emb, dim=-1).clamp(min=0)

    def update(self, images: torch.Tensor, prompts: Sequence[str]) -> None:
        """Scores of the finite images; images with NaN/inf pixels are counted apart and make ``compute`` refuse (on
        every rank alike)."""
        finite = finite_rows(images)  # (N,)
        self.nonfinite += float((~finite).sum())
        if finite.any():
            s = self.scores(images[finite], [p for p, keep in zip(prompts, finite.tolist()) if keep])
            self.total += s.double().sum()
            self.count += len(s)

    def compute(self) -> torch.Tensor:
        check_count(
            int(self.nonfinite),
            int(self.count + self.nonfinite),
            "trainer.callbacks.CLIPScoreCallback",
            "generated images",
        )
        return self.total / self.count.clamp(min=1)
