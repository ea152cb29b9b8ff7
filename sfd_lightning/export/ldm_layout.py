"""diffusers' Stable Diffusion UNet and VAE keys in the original (CompVis/LDM) checkpoint layout.

diffusers reads that layout (``diffusers.loaders.single_file_utils``) but does not write it; these are the inverse
renamings. Each is a table from a diffusers module path to its LDM path (and the renamed submodules inside it),
built from the model's config: the number of blocks (``block_out_channels``) and ``layers_per_block`` (an integer,
or one per block). The UNet's LDM layout numbers its layers in one sequence: ``input_blocks.0`` is ``conv_in``,
then each down block's layers (a resnet ``.0`` and a transformer ``.1``) and its downsampler (``.0.op``);
``output_blocks`` hold each up block's ``layers_per_block + 1`` layers, the upsampler after the last one's
transformer (``.2.conv``; ``.1.conv`` where the block has none). The VAE's LDM decoder counts its up blocks from
the bottom (``up.{n - 1 - i}``) and stores the mid-block attention's projections as 1x1 convolutions.
"""

from typing import Dict, Iterable, List, Optional, Tuple

import torch

Table = Dict[str, Tuple[str, Dict[str, str]]]  # diffusers module path -> (LDM path, {submodule: LDM submodule})

UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
UNET_OUTER = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
VAE_PARTS = {"conv_in": "conv_in", "conv_out": "conv_out", "conv_norm_out": "norm_out"}  # of the encoder and decoder


def per_block(layers_per_block, blocks: int) -> List[int]:
    """``layers_per_block`` of a config (an integer, or one per down block) as one integer per down block."""
    return [layers_per_block] * blocks if isinstance(layers_per_block, int) else list(layers_per_block)


def unet_table(config, keys: Iterable[str]) -> Table:
    """The UNet's renaming table; ``keys`` (its state dict's) say which up blocks hold transformers."""
    blocks = len(config["block_out_channels"])
    layers = per_block(config["layers_per_block"], blocks)
    table: Table = {name: (ldm, {}) for name, ldm in UNET_OUTER.items()}
    index = 1  # input_blocks.0 is conv_in
    for b in range(blocks):
        for j in range(layers[b]):
            table[f"down_blocks.{b}.resnets.{j}"] = (f"input_blocks.{index}.0", UNET_RESNET)
            table[f"down_blocks.{b}.attentions.{j}"] = (f"input_blocks.{index}.1", {})
            index += 1
        if b < blocks - 1:
            table[f"down_blocks.{b}.downsamplers.0.conv"] = (f"input_blocks.{index}.0.op", {})
            index += 1
    for k, name in enumerate(("resnets.0", "attentions.0", "resnets.1")):
        table[f"mid_block.{name}"] = (f"middle_block.{k}", UNET_RESNET if name.startswith("resnets") else {})
    has_attention = {int(k.split(".")[1]) for k in keys if k.startswith("up_blocks.") and ".attentions." in k}
    index = 0
    for b, count in enumerate(reversed(layers)):
        for j in range(count + 1):
            table[f"up_blocks.{b}.resnets.{j}"] = (f"output_blocks.{index}.0", UNET_RESNET)
            table[f"up_blocks.{b}.attentions.{j}"] = (f"output_blocks.{index}.1", {})
            index += 1
        if b < blocks - 1:
            after = 2 if b in has_attention else 1  # the upsampler follows the last layer's resnet (and transformer)
            table[f"up_blocks.{b}.upsamplers.0.conv"] = (f"output_blocks.{index - 1}.{after}.conv", {})
    return table


def vae_table(config) -> Table:
    """The VAE's renaming table (the encoder's blocks hold ``layers_per_block`` resnets, the decoder's one more)."""
    blocks = len(config["block_out_channels"])
    table: Table = {name: (name, {}) for name in ("quant_conv", "post_quant_conv")}
    for part in ("encoder", "decoder"):
        table.update({f"{part}.{name}": (f"{part}.{ldm}", {}) for name, ldm in VAE_PARTS.items()})
        table[f"{part}.mid_block.attentions.0"] = (f"{part}.mid.attn_1", VAE_ATTENTION)
        for k in range(2):
            table[f"{part}.mid_block.resnets.{k}"] = (f"{part}.mid.block_{k + 1}", VAE_RESNET)
    for b in range(blocks):
        for j in range(config["layers_per_block"]):
            table[f"encoder.down_blocks.{b}.resnets.{j}"] = (f"encoder.down.{b}.block.{j}", VAE_RESNET)
        table[f"encoder.down_blocks.{b}.downsamplers.0"] = (f"encoder.down.{b}.downsample", {})
        level = blocks - 1 - b
        for j in range(config["layers_per_block"] + 1):
            table[f"decoder.up_blocks.{b}.resnets.{j}"] = (f"decoder.up.{level}.block.{j}", VAE_RESNET)
        table[f"decoder.up_blocks.{b}.upsamplers.0"] = (f"decoder.up.{level}.upsample", {})
    return table


def rename(key: str, table: Table) -> Optional[str]:
    """``key``'s LDM name by its longest module path in ``table``; None when no path of the table holds it."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        entry = table.get(".".join(parts[:cut]))
        if entry is not None:
            ldm, inner = entry
            rest = ".".join(parts[cut:])
            for old, new in inner.items():
                if rest.startswith(old + "."):
                    rest = new + rest[len(old) :]
                    break
            return f"{ldm}.{rest}"
    return None


def vae_attention_as_conv(key: str, value: torch.Tensor) -> torch.Tensor:
    """LDM's VAE mid-block attention projects with 1x1 convolutions: its (C, C) Linear weights as (C, C, 1, 1)."""
    projection = key.endswith(("attn_1.q.weight", "attn_1.k.weight", "attn_1.v.weight", "attn_1.proj_out.weight"))
    return value[:, :, None, None] if projection and value.dim() == 2 else value
