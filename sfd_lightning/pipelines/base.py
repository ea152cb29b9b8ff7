"""``Pipeline``: a model you can draw images from, whatever it is (a one-step generator, a multi-step model)."""

import copy
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import nn

from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.io.fingerprint import weights_fingerprint
from sfd_lightning.io.source import Source
from sfd_lightning.models.unlearning_module import network_shape

Decode = Callable[[torch.Tensor], torch.Tensor]


def identity(x: torch.Tensor) -> torch.Tensor:
    """The decoder of a pixel model: its samples are the images."""
    return x


class Pipeline:
    """Images in [-1, 1] from noise of ``shape`` and conditions (class labels, or prompts where ``num_classes`` is
    None), through ``nfe`` network evaluations each.

    ``generate(z, c)`` keeps gradients to the noise and the condition (the attacks'); ``draw(z, c, guidance)`` is
    the no-grad sampler (``sfd sample``'s, the benchmark's). ``net`` is the network that holds the condition tokens,
    ``denoiser`` a multi-step model's (None for a one-step generator), ``meta`` what the loaded model records
    (denoiser/autoencoder configs, ``settings.teacher_ckpt``, ``forget_label``, ``num_classes``, ``t_init``, ...)
    and ``sources`` what it draws with (:func:`weights_fingerprint`'s arguments).
    """

    name: str
    description: str
    nfe: int
    guided: bool  # whether ``draw`` uses the guidance scale

    def __init__(
        self,
        net: nn.Module,
        decode: Optional[Decode] = None,
        encode: Optional[Decode] = None,
        meta: Optional[Dict[str, Any]] = None,
        source: Optional[Source] = None,
        autoencoder: Optional[nn.Module] = None,
    ):
        self.net, self.decode, self.encode = net, decode or identity, encode  # encode: images to the noise's space
        self.meta = {} if meta is None else meta
        self.source, self.autoencoder = source, autoencoder  # the file read (None: a live module), its autoencoder
        self.shape: Tuple[int, ...] = network_shape(self)  # the noise's (C, H, W): latents for latent models
        self.num_classes: Optional[int] = getattr(net, "num_classes", None)  # None: conditioned on prompts
        self.sources: Dict[str, Any] = {}

    @property
    def denoiser(self) -> Optional[Denoiser]:
        return None

    @property
    def conditioning(self) -> str:
        """``classes`` or ``prompts``."""
        return "prompts" if self.num_classes is None else "classes"

    def fingerprint(self) -> Dict[str, Any]:
        """Its weights by content (:func:`weights_fingerprint`): images drawn with other weights are refused."""
        return weights_fingerprint(**self.sources)

    def named(self, name: str, description: Optional[str] = None) -> "Pipeline":
        """The same pipeline (the same networks) under another name (a table row) and description."""
        other = copy.copy(self)
        other.name, other.description = name, self.description if description is None else description
        return other

    def generate(self, z: torch.Tensor, c: Condition) -> torch.Tensor:
        """Images for noise ``z`` (B, C, H, W) and conditions ``c``, differentiable in both (no guidance)."""
        raise NotImplementedError

    def draw(self, z: torch.Tensor, c: Condition, guidance: float = 1.0, clamp: bool = True) -> torch.Tensor:
        """Images for ``z`` and ``c`` without gradients, at ``guidance`` where the model takes one (``guided``),
        clamped to [-1, 1] unless ``clamp`` is false (``sfd sample`` checks them for NaN/inf first)."""
        raise NotImplementedError
