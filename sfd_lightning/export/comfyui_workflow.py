"""The one-step generator as a ComfyUI graph, ``comfyui_workflow.json``: the single-file checkpoint sampled with one
Euler step from sigma_init to 0 at CFG 1, which is the generator's ``x0_hat = D(sigma_init z, sigma_init, c)``.

    CheckpointLoaderSimple (the single file) -> CLIPTextEncode (the prompt; an empty negative, unused at CFG 1)
    BasicScheduler (1 step: [sigma_max, 0]) -> SetFirstSigma (sigma_init: [sigma_init, 0]) -> SamplerCustom
    (KSamplerSelect euler, EmptyLatentImage, noise seed, CFG 1) -> VAEDecode -> SaveImage

It is ComfyUI's API format (node id -> ``class_type`` and ``inputs``; a link is ``[node id, output index]``), the
graph ComfyUI's ``/prompt`` endpoint runs (``{"prompt": <this graph>}``). VAEDecode reads SamplerCustom's second
output, the step's x0 prediction itself (its first, ``x + (0 - sigma) (x - x0) / sigma``, is the same up to rounding).
ComfyUI draws the noise with ``torch.randn`` after ``torch.manual_seed(noise_seed)``; the graph's seed is the one
``sfd sample --seed 0`` derives for its first block, so the image is that command's first image when the prompt is the
first in its file. Written beside the single file (Stable Diffusion 1.x exports) and naming it: put that file in
ComfyUI's ``models/checkpoints`` under its own name, or change ``ckpt_name``.
"""

import json
import os
from typing import Any, Dict, Optional

from sfd_lightning.data.seeding import derive_seed

WORKFLOW = "comfyui_workflow.json"
PROMPT = "a photo of a person"  # the model card's recipe prompt
SEED = derive_seed(0, 0)  # SampleBlocks' seed for block 0 of `sfd sample --seed 0`


def one_step_graph(
    checkpoint: str, sigma_init: float, width: int, height: int, prompt: str = PROMPT, seed: int = SEED
) -> Dict[str, Dict[str, Any]]:
    """The graph in ComfyUI's API format: one image of ``prompt`` at ``width`` x ``height`` pixels."""

    def node(class_type: str, title: str, **inputs: Any) -> Dict[str, Any]:
        return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}

    return {
        "1": node("CheckpointLoaderSimple", "SFD one-step generator", ckpt_name=checkpoint),
        "2": node("CLIPTextEncode", "prompt", text=prompt, clip=["1", 1]),
        "3": node("CLIPTextEncode", "negative (unused at CFG 1)", text="", clip=["1", 1]),
        "4": node("BasicScheduler", "one step", model=["1", 0], scheduler="normal", steps=1, denoise=1.0),
        "5": node("SetFirstSigma", "sigma_init", sigmas=["4", 0], sigma=sigma_init),
        "6": node("KSamplerSelect", "Euler", sampler_name="euler"),
        "7": node("EmptyLatentImage", "image size", width=width, height=height, batch_size=1),
        "8": node(
            "SamplerCustom",
            "one Euler step at CFG 1",
            model=["1", 0],
            add_noise=True,
            noise_seed=seed,
            cfg=1.0,
            positive=["2", 0],
            negative=["3", 0],
            sampler=["6", 0],
            sigmas=["5", 0],
            latent_image=["7", 0],
        ),
        "9": node("VAEDecode", "decode x0", samples=["8", 1], vae=["1", 2]),
        "10": node("SaveImage", "save", images=["9", 0], filename_prefix="sfd"),
    }


def write_comfyui_workflow(
    folder: str, single_file: Optional[str], sigma_init: float, latent_side: int
) -> Optional[str]:
    """Write :data:`WORKFLOW` into ``folder`` when the export wrote a single-file checkpoint (``single_file``, its
    name); ``latent_side``: the generator's latent resolution. Returns the workflow's name, else None."""
    if single_file is None:
        return None
    pixels = 8 * latent_side  # EmptyLatentImage makes (height // 8) x (width // 8) latents, whatever the VAE
    graph = one_step_graph(single_file, float(sigma_init), pixels, pixels)
    with open(os.path.join(folder, WORKFLOW), "w") as f:
        json.dump(graph, f, indent=1)
        f.write("\n")
    return WORKFLOW
