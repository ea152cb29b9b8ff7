"""The model card's stock-diffusers code for SDXL, SD3 and FLUX.1 generators: the family's own pipeline with the
exported network, one step from scaled Gaussian latents, no classifier-free guidance.

SDXL is a VP model: one DDPM step at t_init from latents sigma / sqrt(1 + sigma^2) z returns the x0 prediction,
as for SD 1.x. SD3 and FLUX are flows: the generator's input x = sigma z is the flow state t z at t = sigma / (1 +
sigma), and one Euler step from t to 0, x_t - t v, is its x0 prediction. Their pipelines shift the ``sigmas`` they
are given, so the recipe gives the unshifted u with shift(u) = t: u = t / (s - (s - 1) t).
"""

import inspect
import math
from typing import Any, Dict, List, Optional


def pipelines() -> Dict[str, type]:
    """The networks with a recipe, by class name: those read with their family's own pipeline, each declaring its
    ``pipeline_class``, ``network_class``, ``network`` part, ``noise_kind`` and guidance input as class
    attributes (``models/components/pipeline_network.py``)."""
    from sfd_lightning.models.components.pipeline_family import families
    from sfd_lightning.models.components.pipeline_network import PipelineNetwork

    return {cls.__name__: cls for cls in families() if issubclass(cls, PipelineNetwork)}


def unshifted(t: float, shift: float) -> float:
    """The flow time u that a scheduler with time shift ``shift`` moves to ``t``."""
    return t / (shift - (shift - 1) * t)


def family_usage(
    meta: Dict[str, Any], latent_shape: tuple, base: str, schedule: Any, vae_factor: int
) -> Optional[List[str]]:
    """The card's code lines for an SDXL, SD3 or FLUX generator (None for another network); images are the latent
    size x ``vae_factor`` pixels."""
    net = ((meta.get("denoiser") or {}).get("init_args") or {}).get("net") or {}
    name = str(net.get("class_path", "")).rpartition(".")[2]
    family = pipelines().get(name)
    if family is None:
        return None
    pipeline, network, part = family.pipeline_class, family.network_class, family.network
    vp = family.noise_kind == "vp"
    sigma = float(meta["sigma_init"])
    pixels = latent_shape[-1] * vae_factor
    load = f'pipe = {pipeline}.from_pretrained(BASE, {part}={network}.from_pretrained(THIS_MODEL, subfolder="{part}"))'
    z = f"z = torch.randn((1, {', '.join(str(s) for s in latent_shape)}), generator=torch.Generator().manual_seed(0))"
    imports = f"from diffusers import {pipeline}, {network}" + (", DDPMScheduler" if vp else "")
    lines = [
        "```python",
        "import torch",
        imports,
        "",
        f'BASE, THIS_MODEL = "{base}", "PATH_OR_HUB_ID_OF_THIS_FOLDER"',
        load,
        z,
    ]
    if vp:
        scale = sigma / math.sqrt(1 + sigma**2)
        lines += [
            "pipe.scheduler = DDPMScheduler.from_config(pipe.scheduler.config, clip_sample=False)"
            "  # x0 at its last step",
            f'image = pipe("a prompt", latents={scale:.8f} * z, timesteps=[{meta["t_init"]}], guidance_scale=1.0, '
            f"height={pixels}, width={pixels}).images[0]",
        ]
        what = f"one DDPM step at t_init {meta['t_init']} from scaled Gaussian latents"
    else:
        t = sigma / (1 + sigma)
        shift = math.exp(schedule.mu) if schedule.mu is not None else schedule.shift
        u = unshifted(t, shift)
        latents = f"{t:.8f} * z"
        guidance = 1.0
        if family.packed_latents:
            latents = (
                f"{pipeline}._pack_latents({t:.8f} * z, 1, {latent_shape[0]}, {latent_shape[1]}, {latent_shape[2]})"
            )
        if family.guidance_input is not None:  # the distilled guidance, an input: the config's or the default
            default = inspect.signature(family).parameters[family.guidance_input].default
            guidance = float((net.get("init_args") or {}).get(family.guidance_input, default))
        lines += [
            f'image = pipe("a prompt", latents={latents}, sigmas=[{u:.8f}], num_inference_steps=1, '
            f"guidance_scale={guidance}, height={pixels}, width={pixels}).images[0]"
        ]
        what = (
            f"one Euler step from flow time {t:.6f} (sigma {sigma:.4f}; the pipeline shifts the given {u:.8f} "
            f"there) to 0"
        )
    note = f" (`guidance_scale` is {family.guidance_note})" if family.guidance_note else ""
    return [
        "## Use with stock diffusers",
        "",
        f"The same images with diffusers alone: {pipeline} with this {part} (`{part}/`), {what}, no "
        f"classifier-free guidance{note}.",
        "",
        *lines,
        "```",
        "",
    ]
