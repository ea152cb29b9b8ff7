"""Class-conditional UNet in the DDPM/DDIM style (Ho et al., 2020; Song et al., 2021).

Residual blocks with a timestep embedding, self-attention at chosen resolutions, and a class
embedding (with a learned null embedding for classifier-free guidance, Ho & Salimans 2022)
added to the timestep embedding. Predicts epsilon from ``(x_t, t, labels)``; wrap it in
:class:`~sfd_lightning.diffusion.EpsDenoiser` to use it as a denoiser.
"""
import math
from functools import partial
from typing import Optional, Sequence

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


class ResBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    def __init__(self, ch: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(2, 3).unbind(1)  # (B, HW, C) each
        out = F.scaled_dot_product_attention(q, k, v)  # (B, HW, C)
        return x + self.proj(out.transpose(1, 2).reshape(b, c, h, w))


class Level(nn.Module):
    """The blocks of one resolution: residual blocks, each optionally followed by attention."""

    def __init__(self, in_chs: Sequence[int], out_ch: int, emb_dim: int, dropout: float, attn: bool, groups: int):
        super().__init__()
        self.res = nn.ModuleList(ResBlock(c, out_ch, emb_dim, dropout, groups) for c in in_chs)
        self.attn = nn.ModuleList(AttnBlock(out_ch, groups) if attn else nn.Identity() for _ in in_chs)


def check_sizes(ch: int, widths: Sequence[int], resolution: int, norm_groups: int) -> None:
    bad = [w for w in [ch, *widths] if w % norm_groups]
    if bad:
        raise ConfigError("net.norm_groups", f"{norm_groups} must divide every width {sorted(set(bad))} (ch * ch_mult)")
    if resolution % 2 ** (len(widths) - 1):
        raise ConfigError("net.resolution", f"{resolution} must be divisible by 2**(len(ch_mult)-1)")


class UNet(nn.Module):
    """Class-conditional epsilon-prediction UNet: ``forward(x_t, t, labels) -> eps_hat``."""

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
    ):
        """
        Args:
            in_channels: image channels.
            out_ch: output channels (default: in_channels).
            resolution: input height and width in pixels.
            ch: base channel width.
            ch_mult: width multiplier per resolution level; each level after the first halves the resolution.
            num_res_blocks: residual blocks per level on the way down (one more on the way up).
            attn_resolutions: resolutions (in pixels) at which self-attention follows each residual block.
            dropout: dropout rate inside residual blocks.
            num_classes: number of classes for the class embedding; None for an unconditional model.
            resamp_with_conv: use a convolution when down/up-sampling.
            norm_groups: GroupNorm groups; must divide every level's width.
        """
        super().__init__()
        widths = [ch * m for m in ch_mult]
        check_sizes(ch, widths, resolution, norm_groups)
        self.in_channels, self.resolution, self.num_classes = in_channels, resolution, num_classes
        self.ch, emb_dim = ch, 4 * ch
        self.time_mlp = nn.Sequential(nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # The extra last row is the learned null class used for classifier-free guidance.
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        level = partial(Level, emb_dim=emb_dim, dropout=dropout, groups=norm_groups)
        skips, res = self._build_down(widths, num_res_blocks, resolution, attn_resolutions, resamp_with_conv, level)
        self.mid = level([widths[-1]] * 2, widths[-1], attn=True)
        self._build_up(widths, num_res_blocks, res, attn_resolutions, resamp_with_conv, level, skips)
        self.norm_out = nn.GroupNorm(norm_groups, widths[0])
        self.conv_out = nn.Conv2d(widths[0], out_ch or in_channels, 3, padding=1)

    def _build_down(self, widths, num_res_blocks, res, attn_resolutions, resamp_with_conv, level):
        """Encoder levels and downsamplers; returns the skip widths and the lowest resolution."""
        self.down, self.downsample, skips = nn.ModuleList(), nn.ModuleList(), [self.ch]
        prev = self.ch
        for i, width in enumerate(widths):
            self.down.append(level([prev] + [width] * (num_res_blocks - 1), width, attn=res in attn_resolutions))
            skips += [width] * num_res_blocks
            prev = width
            if i < len(widths) - 1:
                self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1) if resamp_with_conv else nn.AvgPool2d(2))
                skips.append(width)
                res //= 2
        return skips, res

    def _build_up(self, widths, num_res_blocks, res, attn_resolutions, resamp_with_conv, level, skips):
        """Decoder levels (one more block than the encoder, each fed a skip) and upsamplers."""
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        prev = widths[-1]
        for i, width in reversed(list(enumerate(widths))):
            in_chs = [(prev if j == 0 else width) + skips.pop() for j in range(num_res_blocks + 1)]
            self.up.append(level(in_chs, width, attn=res in attn_resolutions))
            prev = width
            if i > 0:
                self.upsample.append(nn.Conv2d(width, width, 3, padding=1) if resamp_with_conv else nn.Identity())
                res *= 2

    def embed(self, t: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.ch))  # (B, 4ch)
        if self.label_emb is None:
            return emb
        if labels is None:
            labels = torch.full((t.shape[0],), -1, device=t.device, dtype=torch.long)
        # Negative labels select the null embedding in the last row.
        return emb + self.label_emb(torch.where(labels < 0, self.num_classes, labels))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None,
                cond_emb: Optional[torch.Tensor] = None) -> torch.Tensor:
        """eps_hat; ``cond_emb`` (B, 4 * ch) is an extra conditioning vector (e.g. a text embedding) added to the time embedding."""
        emb = self.embed(t.expand(x.shape[0]) if t.dim() == 0 else t, labels)
        if cond_emb is not None:
            emb = emb + cond_emb
        h = self.conv_in(x)
        hs = [h]
        for i, level in enumerate(self.down):
            for res_block, attn in zip(level.res, level.attn):
                h = attn(res_block(h, emb))
                hs.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                hs.append(h)
        for res_block, attn in zip(self.mid.res, self.mid.attn):
            h = attn(res_block(h, emb))
        for i, level in enumerate(self.up):
            for res_block, attn in zip(level.res, level.attn):
                h = attn(res_block(torch.cat([h, hs.pop()], dim=1), emb))
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))
