"""A small text-conditional UNet for the embedded text-to-image default (captioned digits).

The text encoder is trained with the UNet: words of a fixed vocabulary are embedded, averaged and
passed through an MLP to one vector that takes the class embedding's place in the DDPM UNet's
condition. The empty prompt (classifier-free guidance's null condition) gets a learned vector of
its own. ``DiffusionModule(init_weights=...)`` can start the UNet from a class-conditional teacher.
"""

import re
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.components.ddpm_unet import DDPMUNet

WORD = re.compile(r"[a-z]+")


class BagOfWordsEncoder(nn.Module):
    """``forward(prompts) -> (B, dim)``: the mean of word embeddings through an MLP; unknown words share one row."""

    def __init__(self, vocabulary: Sequence[str], dim: int):
        super().__init__()
        self.vocabulary = [w.lower() for w in vocabulary]
        self.index = {w: i + 1 for i, w in enumerate(self.vocabulary)}  # row 0: unknown words
        self.words = nn.EmbeddingBag(len(self.vocabulary) + 1, dim, mode="mean")
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.null = nn.Parameter(torch.zeros(dim))

    def token_ids(self, prompt: str) -> List[int]:
        return [self.index.get(w, 0) for w in WORD.findall(prompt.lower())]

    def with_tokens(self, context: Sequence[str], tokens: torch.Tensor) -> torch.Tensor:
        """``(B, dim)`` text vectors of ``context[i]`` with more words whose embeddings are ``tokens[i]`` ((dim,): one
        learned word, as in textual inversion; (m, dim): m words, an adversarial prompt's): the same mean and MLP as
        :meth:`forward`."""
        words = tokens if tokens.dim() == 3 else tokens[:, None, :]  # (B, m, dim)
        ids = [self.token_ids(p) for p in context]
        lengths = torch.tensor([len(i) for i in ids], device=tokens.device)
        flat = torch.tensor([t for i in ids for t in i], device=tokens.device, dtype=torch.long)
        summed = F.embedding_bag(flat, self.words.weight, torch.cumsum(lengths, 0) - lengths, mode="sum")
        return self.mlp((summed + words.sum(dim=1)) / (lengths[:, None] + words.shape[1]))

    def forward(self, prompts: Sequence[str]) -> torch.Tensor:
        device = self.words.weight.device
        ids = [self.token_ids(p) for p in prompts]
        lengths = torch.tensor([len(i) for i in ids], device=device)
        offsets = torch.cumsum(lengths, 0) - lengths
        flat = torch.tensor([t for i in ids for t in i], device=device, dtype=torch.long)
        pooled = self.mlp(self.words(flat, offsets))  # (B, dim); empty prompts pool to zeros
        return torch.where((lengths == 0)[:, None], self.null.expand_as(pooled), pooled)


class TextUNet(DDPMUNet):
    """``forward(x_t, t, prompts) -> eps_hat``: a :class:`DDPMUNet` conditioned on a trained bag-of-words text
    encoder."""

    def __init__(
        self,
        vocabulary: Sequence[str],
        in_channels: int = 1,
        resolution: int = 8,
        ch: int = 16,
        ch_mult: Sequence[int] = (1, 2, 2),
        num_res_blocks: int = 1,
        attn_resolutions: Sequence[int] = (4,),
        dropout: float = 0.0,
        norm_groups: int = 8,
    ):
        """
        Args:
            vocabulary: the words the text encoder knows (others share one embedding).
            in_channels: image channels.
            resolution: input height and width in pixels.
            ch: base channel width (the text vector is 4 * ch wide).
            ch_mult: width multiplier per resolution level.
            num_res_blocks: residual blocks per level.
            attn_resolutions: resolutions with self-attention.
            dropout: dropout rate inside residual blocks.
            norm_groups: GroupNorm groups.
        """
        if not vocabulary:
            raise ConfigError("net.init_args.vocabulary", "must list at least one word")
        super().__init__(
            in_channels=in_channels,
            resolution=resolution,
            ch=ch,
            ch_mult=ch_mult,
            num_res_blocks=num_res_blocks,
            attn_resolutions=attn_resolutions,
            dropout=dropout,
            num_classes=None,
            norm_groups=norm_groups,
        )
        self.text = BagOfWordsEncoder(vocabulary, 4 * ch)

    def vocabulary_table(self) -> torch.Tensor:
        """(V, dim) embeddings of the real words (the unknown-word row left out): what adversarial prompts pick from."""
        return self.text.words.weight[1:]

    def token_text(self, ids: Sequence[int]) -> str:
        """The words of rows ``ids`` of :meth:`vocabulary_table`, as prompt text."""
        return " ".join(self.text.vocabulary[i] for i in ids)

    def condition_token(self, word: str) -> torch.Tensor:
        """The embedding of a vocabulary word: where an embedding attack on a concept starts."""
        if word.lower() not in self.text.index:
            raise ConfigError("concept", f"{word!r} is not a word of this text encoder's vocabulary")
        return self.text.words.weight[self.text.index[word.lower()]].detach().clone()

    def forward(self, x: torch.Tensor, t: torch.Tensor, prompts: Sequence[str]) -> torch.Tensor:
        if isinstance(prompts, ConditionTokens):  # a learned word pooled with its context prompts
            context = prompts.context or [""] * len(prompts)
            return super().forward(x, t, None, cond_emb=self.text.with_tokens(context, prompts.tokens))
        if isinstance(prompts, torch.Tensor):
            raise TypeError("TextUNet is conditioned on prompts (a list of strings), not class labels")
        return super().forward(x, t, None, cond_emb=self.text(prompts))
