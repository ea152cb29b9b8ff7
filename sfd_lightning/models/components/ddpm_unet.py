"""The project's UNet: the conditional DDPM UNet of the SFD paper's CIFAR-10 / STL-10 teachers,
checkpoint-compatible; the digits teachers use it at a small size, the text teacher with a text
vector in place of the class embedding (:class:`~sfd_lightning.models.components.TextUNet`).

Same network as the reference implementation (tqch/score-forgetting-distillation, ``DDPM/``;
itself the DDIM UNet of Song et al., 2021 with a class embedding): a timestep MLP and a class MLP
(with a learned null embedding for classifier-free guidance, Ho & Salimans 2022) whose outputs are
concatenated and projected into every residual block; self-attention at chosen resolutions;
asymmetrically padded strided-convolution downsampling. Parameter names follow the reference's,
so its state dicts load strictly (see :func:`sfd_lightning.load_teacher`). Unlike the reference,
the class-embedding width follows ``ch`` (4 * ch), so any width builds.
"""

from dataclasses import dataclass
from functools import partial
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.components.layers import (
    AttnBlock,
    Resample,
    ResnetBlock,
    apply_mlp,
    check_sizes,
    mlp,
    timestep_embedding,
)


@dataclass
class _Levels:
    """What every resolution level is built from."""

    widths: List[int]
    num_res_blocks: int
    attn_resolutions: Tuple[int, ...]
    resamp_with_conv: bool
    block: Callable[[int, int], nn.Module]
    attn: Callable[[int], nn.Module]

    def attns(self, width: int, res: int, n: int) -> List[nn.Module]:
        """One attention block after each of the ``n`` residual blocks at attention resolutions, else none."""
        return [self.attn(width) for _ in range(n)] if res in self.attn_resolutions else []


def _level(blocks: List[nn.Module], attns: List[nn.Module]) -> nn.Module:
    level = nn.Module()
    level.block, level.attn = nn.ModuleList(blocks), nn.ModuleList(attns)
    return level


class DDPMUNet(nn.Module):
    """Conditional epsilon-prediction UNet, reference layout: ``forward(x_t, t, labels) -> eps_hat``."""

    noise_kind = "vp"  # the denoiser adapter it takes: VPDenoiser

    def __init__(
        self,
        in_channels: int = 3,
        out_ch: Optional[int] = None,
        resolution: int = 32,
        ch: int = 128,
        ch_mult: Sequence[int] = (1, 2, 2, 2),
        num_res_blocks: int = 2,
        attn_resolutions: Sequence[int] = (16,),
        dropout: float = 0.1,
        num_classes: Optional[int] = 10,
        resamp_with_conv: bool = True,
        norm_groups: int = 32,
        norm_eps: float = 1e-6,
        gradient_checkpointing: bool = False,
    ):
        """
        Args:
            in_channels: image channels.
            out_ch: output channels (default: in_channels).
            resolution: input height and width in pixels.
            ch: base channel width; the time and class embeddings are 4 * ch wide.
            ch_mult: width multiplier per resolution level; each level after the first halves the resolution.
            num_res_blocks: residual blocks per level on the way down (one more on the way up).
            attn_resolutions: resolutions (in pixels) at which self-attention follows each residual block.
            dropout: dropout rate inside residual blocks.
            num_classes: number of classes; label -1 selects the learned null embedding. None: no class
                embedding; the condition's second half is then the ``cond_emb`` passed to ``forward``
                (e.g. a text vector, :class:`TextUNet`), or zeros.
            resamp_with_conv: use a convolution when down/up-sampling.
            norm_groups: GroupNorm groups (32 in the reference); must divide every level's width.
            norm_eps: GroupNorm epsilon (1e-6 in the reference).
            gradient_checkpointing: recompute residual blocks in the backward pass (less memory, more time).
        """
        super().__init__()
        widths = [ch * m for m in ch_mult]
        check_sizes(ch, widths, resolution, norm_groups)
        self.in_channels, self.resolution, self.num_classes, self.ch = in_channels, resolution, num_classes, ch
        self.gradient_checkpointing = gradient_checkpointing
        emb = 4 * ch
        self.temb = mlp(ch, emb)
        if num_classes is not None:
            self.classes_emb = nn.Embedding(num_classes, ch)
            self.null_classes_emb = nn.Parameter(torch.randn(ch))
            self.cemb = mlp(ch, emb)
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)

        block = partial(ResnetBlock, cond_dim=2 * emb, dropout=dropout, groups=norm_groups, eps=norm_eps)
        attn = partial(AttnBlock, groups=norm_groups, eps=norm_eps)
        levels = _Levels(widths, num_res_blocks, tuple(attn_resolutions), resamp_with_conv, block, attn)
        skips, res = self._build_down(levels, resolution)
        prev = widths[-1]
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = block(prev, prev), attn(prev), block(prev, prev)
        self._build_up(levels, skips, res)
        self.norm_out = nn.GroupNorm(norm_groups, widths[0], eps=norm_eps)
        self.conv_out = nn.Conv2d(widths[0], out_ch or in_channels, 3, padding=1)

    def _build_down(self, levels: "_Levels", res: int):
        """Encoder levels (``down.<i>.block/attn/downsample``); returns the skip widths and the lowest resolution."""
        self.down, skips, prev = nn.ModuleList(), [self.ch], self.ch
        for i, width in enumerate(levels.widths):
            blocks = [levels.block(prev if j == 0 else width, width) for j in range(levels.num_res_blocks)]
            self.down.append(_level(blocks, levels.attns(width, res, len(blocks))))
            skips += [width] * levels.num_res_blocks
            prev = width
            if i < len(levels.widths) - 1:
                self.down[-1].downsample = Resample(width, levels.resamp_with_conv, down=True)
                skips.append(width)
                res //= 2
        return skips, res

    def _build_up(self, levels: "_Levels", skips: List[int], res: int) -> None:
        """Decoder levels (one more block each, fed a skip), stored by level index as in the reference."""
        ups, prev = [], levels.widths[-1]
        for i, width in reversed(list(enumerate(levels.widths))):
            blocks = [
                levels.block((prev if j == 0 else width) + skips.pop(), width) for j in range(levels.num_res_blocks + 1)
            ]
            ups.append(_level(blocks, levels.attns(width, res, len(blocks))))
            prev = width
            if i > 0:
                ups[-1].upsample = Resample(width, levels.resamp_with_conv, down=False)
                res *= 2
        self.up = nn.ModuleList(reversed(ups))

    def condition(
        self, t: torch.Tensor, labels: Optional[torch.Tensor], cond_emb: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Concatenated time and class embeddings, (B, 8 * ch); label -1 (or None) is the null class.
        ``cond_emb`` (B, 4 * ch) stands in for the class embedding."""
        temb = apply_mlp(self.temb, timestep_embedding(t, self.ch))
        if cond_emb is None:
            cond_emb = self.class_embedding(labels, t) if self.num_classes is not None else torch.zeros_like(temb)
        return torch.cat([temb, cond_emb], dim=1)

    def class_embedding(self, labels: Optional[torch.Tensor], t: torch.Tensor) -> torch.Tensor:
        if labels is None:
            labels = torch.full((t.shape[0],), -1, device=t.device, dtype=torch.long)
        null = labels < 0
        cemb = self.classes_emb(labels.clamp(min=0))
        cemb = torch.where(null[:, None], self.null_classes_emb.to(cemb.dtype).expand_as(cemb), cemb)
        return apply_mlp(self.cemb, cemb)

    def condition_token(self, label: int) -> torch.Tensor:
        """The class-embedding row of ``label`` (before the class MLP): where an embedding attack starts."""
        if self.num_classes is None or not 0 <= label < self.num_classes:
            raise ConfigError("label", f"this network has no class {label!r} (num_classes {self.num_classes})")
        return self.classes_emb.weight[label].detach().clone()

    def _block(self, block: nn.Module, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and torch.is_grad_enabled():
            return checkpoint(block, h, cond, use_reentrant=False)
        return block(h, cond)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        labels: Optional[torch.Tensor] = None,
        cond_emb: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """eps_hat; ``cond_emb`` (B, 4 * ch) replaces the class embedding (a text vector, say); ``labels`` may be
        :class:`~sfd_lightning.diffusion.conditions.ConditionTokens` in the class-embedding rows' space."""
        if isinstance(labels, ConditionTokens):
            if self.num_classes is None:
                raise TypeError("condition tokens need a class-conditional DDPMUNet (num_classes set)")
            labels, cond_emb = None, apply_mlp(self.cemb, labels.tokens)
        cond = self.condition(t.expand(x.shape[0]) if t.dim() == 0 else t, labels, cond_emb)
        hs = [self.conv_in(x)]
        for level in self.down:
            for j, res_block in enumerate(level.block):
                h = self._block(res_block, hs[-1], cond)
                hs.append(level.attn[j](h) if len(level.attn) else h)
            if hasattr(level, "downsample"):
                hs.append(level.downsample(hs[-1]))
        h = self._block(self.mid.block_2, self.mid.attn_1(self._block(self.mid.block_1, hs[-1], cond)), cond)
        for level in reversed(self.up):
            for j, res_block in enumerate(level.block):
                h = self._block(res_block, torch.cat([h, hs.pop()], dim=1), cond)
                h = level.attn[j](h) if len(level.attn) else h
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))
