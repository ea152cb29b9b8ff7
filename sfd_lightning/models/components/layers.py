"""The building blocks of the DDPM UNet (Ho et al., 2020; Song et al., 2021), named as in the SFD
reference's ``DDPM/`` code so that its checkpoints load: timestep embedding, residual block with a
projected condition, self-attention, and resampling."""

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sfd_lightning.errors import ConfigError


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps, as in the Transformer/DDPM."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / (half - 1))
    args = t.float()[:, None] * freqs[None]  # (B, half)
    emb = torch.cat([args.sin(), args.cos()], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def check_sizes(ch: int, widths: Sequence[int], resolution: int, norm_groups: int) -> None:
    """A ConfigError naming the field when GroupNorm cannot split a width or the resolution cannot halve."""
    bad = [w for w in [ch, *widths] if w % norm_groups]
    if bad:
        raise ConfigError("net.norm_groups", f"{norm_groups} must divide every width {sorted(set(bad))} (ch * ch_mult)")
    if resolution % 2 ** (len(widths) - 1):
        raise ConfigError("net.resolution", f"{resolution} must be divisible by 2**(len(ch_mult)-1)")


def mlp(in_dim: int, dim: int) -> nn.Module:
    """Two linear layers with a SiLU between them, stored as ``dense.0`` / ``dense.1``."""
    holder = nn.Module()
    holder.dense = nn.ModuleList([nn.Linear(in_dim, dim), nn.Linear(dim, dim)])
    return holder


def apply_mlp(holder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return holder.dense[1](F.silu(holder.dense[0](x)))


class ResnetBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the condition (time and class embeddings) projected and added in between."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, dropout: float, groups: int, eps: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch, eps=eps)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb_cemb_proj = nn.Linear(cond_dim, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        if in_ch != out_ch:
            self.nin_shortcut = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_cemb_proj(F.silu(cond))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        skip = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return skip + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the pixels, with a residual connection."""

    def __init__(self, ch: int, groups: int, eps: float):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=eps)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(ch, ch, 1) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x_norm = self.norm(x)
        q, k, v = (f(x_norm).reshape(b, c, h * w).transpose(1, 2) for f in (self.q, self.k, self.v))  # (B, HW, C)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Resample(nn.Module):
    """Down: pad right/bottom by one, 3x3 stride-2 conv (or 2x2 average pool). Up: nearest x2 (+ 3x3 conv)."""

    def __init__(self, ch: int, with_conv: bool, down: bool):
        super().__init__()
        self.down = down
        if with_conv:
            self.conv = nn.Conv2d(ch, ch, 3, stride=2 if down else 1, padding=0 if down else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            return self.conv(F.pad(x, (0, 1, 0, 1))) if hasattr(self, "conv") else F.avg_pool2d(x, 2)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x) if hasattr(self, "conv") else x
