"""``load_generator`` / ``OneStepPipeline``: an SFD one-step generator ready to sample, from an SFD
checkpoint, an exported folder (``sfd export``) or a Hugging Face Hub repository holding one.

    from sfd_lightning import load_generator
    pipe = load_generator("runs/digits_forget/.../checkpoints/last.ckpt")   # or a folder, or "user/repo"
    images = pipe.sample([0, 3], n=8, seed=0)     # (16, C, H, W) in [-1, 1]: what `sfd sample` writes
"""

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from sfd_lightning.data.sample_blocks import SampleBlocks
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.io.folder import generator_of_checkpoint, read_folder, rebuild
from sfd_lightning.io.source import Source
from sfd_lightning.models.frozen import freeze
from sfd_lightning.models.one_step import OneStepGenerator
from sfd_lightning.pipelines.base import Pipeline

Conditions = Union[Sequence[int], torch.Tensor, Sequence[str]]


def resolve_source(path: str, revision: Optional[str] = None) -> str:
    """A local checkpoint or folder as it is; anything else is a Hub repository id, downloaded (cached)."""
    if os.path.exists(path):
        return path
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(path, revision=revision)
    except Exception as err:  # hub errors come in many types
        raise ConfigError(
            "path",
            f"{path!r} is neither a local checkpoint or folder nor a Hub repository we can "
            f"download ({describe(err, 160)})",
        ) from None


class OneStepPipeline(Pipeline):
    """Images from an SFD one-step generator: ``G(z, c) = D(sigma_init z, sigma_init, c)``, decoded for latent models.
    The generator is frozen (evaluation mode, no weight gradients) at construction."""

    name, description, nfe, guided = "sfd", "one-step EMA generator", 1, False  # its guidance is distilled in

    def __init__(
        self,
        generator: OneStepGenerator,
        decode: Callable[[torch.Tensor], torch.Tensor],
        meta: Dict[str, Any],
        encode: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        source: Optional[Source] = None,
        autoencoder: Optional[nn.Module] = None,
    ):
        self.generator = freeze(generator)
        super().__init__(generator.denoiser.net, decode, encode, meta, source, autoencoder)

    @property
    def sigma_init(self) -> float:
        """The noise level the generator starts from (``sigma_init = sigma_{t_init}``), for readers outside this
        package."""
        return float(self.generator.sigma_init)

    @classmethod
    def from_pretrained(
        cls, path: str, device: Union[str, torch.device] = "cpu", revision: Optional[str] = None
    ) -> "OneStepPipeline":
        """From an SFD checkpoint (``.ckpt``), an exported folder, or a Hub id holding an exported folder."""
        local = Source(resolve_source(path, revision), "path")
        meta, state = read_folder(local) if os.path.isdir(local.path) else generator_of_checkpoint(local)
        return cls.from_parts(meta, state, Source(path, "path"), device)

    @classmethod
    def from_parts(
        cls,
        meta: Dict[str, Any],
        state: Dict[str, torch.Tensor],
        source: Source,
        device: Union[str, torch.device] = "cpu",
    ) -> "OneStepPipeline":
        """From the metadata and weights ``io.folder`` reads out of a checkpoint or folder (``source``)."""
        denoiser, autoencoder = rebuild(meta, state, source)
        device = torch.device(device)
        generator = OneStepGenerator(denoiser, int(meta["t_init"])).to(device)
        if autoencoder is None:
            return cls(generator, lambda x: x, meta, source=source)
        autoencoder = autoencoder.to(device).eval()
        return cls(generator, autoencoder.decode, meta, autoencoder.encode, source, autoencoder)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def generate(self, z: torch.Tensor, c: Condition) -> torch.Tensor:
        return self.decode(self.generator(z, c))

    @torch.no_grad()
    def draw(self, z: torch.Tensor, c: Condition, guidance: float = 1.0, clamp: bool = True) -> torch.Tensor:
        images = self.decode(self.generator(z, c))
        return images.clamp(-1, 1) if clamp else images

    def conditions(self, conditions: Conditions, n: int) -> Union[torch.Tensor, List[str]]:
        """Each label or prompt ``n`` times, in order (the layout of ``sfd sample``)."""
        prompts = isinstance(conditions, (list, tuple)) and conditions and isinstance(conditions[0], str)
        if (self.num_classes is None) != bool(prompts):
            want = "prompts (strings)" if self.num_classes is None else f"class labels in [0, {self.num_classes - 1}]"
            raise ConfigError("conditions", f"this generator is conditioned on {want}")
        if prompts:
            return [p for p in conditions for _ in range(n)]
        labels = torch.as_tensor(conditions, dtype=torch.long).reshape(-1)
        if ((labels < 0) | (labels >= self.num_classes)).any():
            raise ConfigError("conditions", f"labels must be in [0, {self.num_classes - 1}], got {labels.tolist()}")
        return labels.repeat_interleave(n)

    @torch.no_grad()
    def sample(self, conditions: Conditions, n: int = 1, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
        """``n`` images of each label or prompt, in [-1, 1], with the noise ``sfd sample`` draws for this seed
        and batch size (so the images are the same)."""
        blocks = SampleBlocks(self.conditions(conditions, n), self.shape, batch_size, seed)
        out = []
        for j in range(len(blocks)):
            noise, block = blocks[j]["noise"], blocks[j]["conditions"]
            block = block.to(self.device) if isinstance(block, torch.Tensor) else block
            out.append(self.draw(noise.to(self.device), block).cpu())
        return torch.cat(out)

    @torch.no_grad()
    def __call__(
        self, conditions: Conditions, num_images_per_prompt: int = 1, generator: Optional[torch.Generator] = None
    ) -> torch.Tensor:
        """The diffusers-style call: noise from ``generator`` (a ``torch.Generator``), one network evaluation."""
        y = self.conditions(conditions, num_images_per_prompt)
        y = y.to(self.device) if isinstance(y, torch.Tensor) else y
        noise = torch.randn((len(y), *self.shape), generator=generator).to(self.device)
        return self.draw(noise, y)


def load_generator(
    path: str, device: Union[str, torch.device] = "cpu", revision: Optional[str] = None
) -> OneStepPipeline:
    """An SFD one-step generator from a checkpoint, an exported folder or a Hub id; see :class:`OneStepPipeline`."""
    return OneStepPipeline.from_pretrained(path, device, revision)
