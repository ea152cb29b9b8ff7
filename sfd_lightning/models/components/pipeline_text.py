"""The text side of a diffusers text-to-image pipeline (SDXL, SD3, FLUX), frozen, shared and cached.

Prompts are encoded by the pipeline's own ``encode_prompt`` (its tokenizers, its layer choices, its
concatenations), on a pipeline built with the text encoders only, so the embeddings are exactly those the
family's pipeline gives its network. ``__call__`` returns the token embeddings (B, L, D) and the pooled
embeddings (B, P). The empty prompt, classifier-free guidance's null condition, is encoded as
``negative_prompt``; SDXL's pipelines give an empty negative prompt all-zero embeddings
(``force_zeros_for_empty_prompt``), and so does this.
"""

from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import nn

from sfd_lightning.models.components.prompt_cache import PromptCache

Encoded = Tuple[torch.Tensor, torch.Tensor]  # (B, L, D) token embeddings, (B, P) pooled


def encode_sdxl(pipeline, prompts: Sequence[str], device: torch.device) -> Encoded:
    embeds, _, pooled, _ = pipeline.encode_prompt(list(prompts), device=device, do_classifier_free_guidance=False)
    return embeds, pooled


def encode_sd3(pipeline, prompts: Sequence[str], device: torch.device, max_sequence_length: int = 256) -> Encoded:
    embeds, _, pooled, _ = pipeline.encode_prompt(
        list(prompts),
        None,
        None,
        device=device,
        do_classifier_free_guidance=False,
        max_sequence_length=max_sequence_length,
    )
    return embeds, pooled


def encode_flux(pipeline, prompts: Sequence[str], device: torch.device, max_sequence_length: int = 512) -> Encoded:
    embeds, pooled, _ = pipeline.encode_prompt(
        list(prompts), None, device=device, max_sequence_length=max_sequence_length
    )  # text ids: zeros, made by the net
    return embeds, pooled


class PipelineText(PromptCache):
    """Text encoders + tokenizers of a pipeline with the family's ``encode`` and an embedding cache; copies of the
    owning network share one instance (never trained, never checkpointed)."""

    def __init__(
        self,
        pipeline,
        encode: Callable[..., Encoded],
        negative_prompt: str,
        cache_size: int,
        zeros_for_empty: bool = False,
    ):
        super().__init__(negative_prompt, cache_size)
        self.pipeline, self.encode = pipeline, encode
        self.encoders: Dict[str, nn.Module] = {
            name: module.eval().requires_grad_(False)
            for name, module in pipeline.components.items()
            if isinstance(module, nn.Module)
        }
        self.zeros_for_empty = zeros_for_empty and not negative_prompt

    def encode_texts(self, texts: List[str], device: torch.device) -> List[Encoded]:
        for module in self.encoders.values():
            module.to(device)
        embeds, pooled = self.encode(self.pipeline, texts, device)
        return [
            (torch.zeros_like(e), torch.zeros_like(p)) if self.zeros_for_empty and not text else (e, p)
            for text, e, p in zip(texts, embeds, pooled)
        ]

    def __call__(self, prompts: Sequence[str], device: torch.device, dtype: torch.dtype) -> Encoded:
        return self.embeddings(prompts, device, dtype)  # (B, L, D), (B, P)
