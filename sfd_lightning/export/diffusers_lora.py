"""A LoRA SFD run's EMA generator as a diffusers LoRA: ``pytorch_lora_weights.safetensors``, which
``StableDiffusionPipeline.load_lora_weights(folder)`` puts on the Stable Diffusion UNet the run started from.

Written for Stable Diffusion runs trained with ``model.lora`` from the pretrained UNet. A two-stage run
(``model.init_ckpt``) has adapters on its stage-1 generator, which no stock pipeline holds: its full UNet
(``unet/``) is the way to load it."""
from typing import Any, Dict, Optional

import torch

from sfd_lightning.io.checkpoint import is_adapter_key

UNET = "generator_ema.module.net.unet."  # the EMA generator's diffusers UNet inside SDUNet
WEIGHTS = "pytorch_lora_weights.safetensors"  # diffusers' file name for LoRA weights


def unet_adapters(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The EMA generator's UNet adapters in peft's format, as diffusers saves them (``<layer>.lora_A.weight``)."""
    return {k[len(UNET):].replace(".default.", "."): v.detach().float().contiguous()
            for k, v in state.items() if k.startswith(UNET) and is_adapter_key(k)}


def write_diffusers_lora(ckpt: Dict[str, Any], folder: str) -> Optional[str]:
    """Write the LoRA file into ``folder`` when the checkpoint's run can have one; returns its name, else None."""
    hparams = ckpt.get("hyper_parameters") or {}
    lora = hparams.get("lora")
    adapters = unet_adapters(ckpt.get("state_dict") or {})
    if not isinstance(lora, dict) or hparams.get("init_ckpt") or not adapters:
        return None
    from diffusers import StableDiffusionPipeline

    layers = sorted({k.split(".lora_")[0] for k in adapters})
    metadata = {"r": lora["rank"], "lora_alpha": lora.get("alpha") or lora["rank"], "target_modules": layers}
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=adapters, weight_name=WEIGHTS,
                                              unet_lora_adapter_metadata=metadata)
    return WEIGHTS
