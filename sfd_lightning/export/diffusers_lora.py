"""A LoRA SFD run's EMA generator as a LoRA file for the Stable Diffusion UNet the run started from,
``pytorch_lora_weights.safetensors``, in kohya's layout, the one both ComfyUI and diffusers read whole:

    lora_unet_<layer>.lora_down.weight   (r, in[, kh, kw])   peft's lora_A
    lora_unet_<layer>.lora_up.weight     (out, r[, 1, 1])    peft's lora_B
    lora_unet_<layer>.alpha              ()                  the layer's weight moves by (alpha / r) up @ down

``<layer>`` is the layer's name in diffusers' ``UNet2DConditionModel`` with ``_`` for ``.``
(``down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q``). ComfyUI's ``LoraLoader`` maps these names
through its diffusers-to-original UNet table and reads each ``.alpha``; diffusers' ``load_lora_weights(DIR)``
converts them to its own and reads the alphas too. The layout diffusers itself writes (peft's ``lora_A``/``lora_B``,
alpha in the file's metadata) loses the attention projections and the alpha in ComfyUI, which expects those under
``.processor.`` names and reads no metadata. docs/export.md says how ComfyUI's own loader was run on this file.

Written for Stable Diffusion runs trained with ``model.lora`` from the pretrained UNet. A two-stage run
(``model.init_ckpt``) has adapters on its stage-1 generator, which no stock model holds: its full UNet (``unet/``,
or the single file) is the way to load it."""

import os
from typing import Any, Dict, Optional

import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.checkpoint import is_adapter_key

UNET = "generator_ema.module.net.unet."  # the EMA generator's diffusers UNet inside SDUNet
WEIGHTS = "pytorch_lora_weights.safetensors"  # the name diffusers' load_lora_weights(DIR) looks for
PEFT = {".lora_A.default.weight": ".lora_down.weight", ".lora_B.default.weight": ".lora_up.weight"}


def kohya_name(layer: str) -> str:
    """A UNet layer's name in kohya's files:
    ``down_blocks.0.resnets.0.conv1`` -> ``lora_unet_down_blocks_0_resnets_0_conv1``."""
    return "lora_unet_" + layer.replace(".", "_")


def unet_adapters(state: Dict[str, torch.Tensor], alpha: float) -> Dict[str, torch.Tensor]:
    """The EMA generator's UNet adapters in kohya's layout, float32, each layer with its ``alpha``."""
    out = {}
    for key, value in state.items():
        if not (key.startswith(UNET) and is_adapter_key(key)):
            continue
        suffix = next((s for s in PEFT if key.endswith(s)), None)
        if suffix is None:
            raise ConfigError(
                "--ckpt",
                f"{key!r} is not a LoRA weight this export knows (peft's lora_A / lora_B of the default adapter)",
            )
        layer = kohya_name(key[len(UNET) : -len(suffix)])
        out[layer + PEFT[suffix]] = value.detach().float().contiguous()
        out[layer + ".alpha"] = torch.tensor(float(alpha))
    return out


def write_diffusers_lora(ckpt: Dict[str, Any], folder: str) -> Optional[str]:
    """Write the LoRA file into ``folder`` when the checkpoint's run can have one; returns its name, else None."""
    from safetensors.torch import save_file

    hparams = ckpt.get("hyper_parameters") or {}
    lora = hparams.get("lora")
    if not isinstance(lora, dict) or hparams.get("init_ckpt"):
        return None
    adapters = unet_adapters(ckpt.get("state_dict") or {}, lora.get("alpha") or lora["rank"])
    if not adapters:
        return None
    save_file(adapters, os.path.join(folder, WEIGHTS), metadata={"format": "pt"})
    return WEIGHTS
