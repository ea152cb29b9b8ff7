"""``sfd export``: an SFD run's EMA one-step generator as a folder anyone can load (and the Hub).

    sfd export --ckpt runs/digits_forget/.../checkpoints/last.ckpt --out digits-forget-0
    sfd export --ckpt .../last.ckpt --out DIR --push-to-hub user/digits-forget-0

The folder holds ``model.safetensors`` (weights only), ``sfd_generator.json`` (what rebuilds it, from
this package's classes only), for Stable Diffusion and DiT the UNet or transformer in diffusers' layout
(``unet/``, ``transformer/``), for a Stable Diffusion 1.x run also one checkpoint file in the original Stable
Diffusion layout that ComfyUI and AUTOMATIC1111 load (``sfd_generator_single_file.safetensors``: the generator's
UNet with the run's VAE and text encoder; ``single_file.py``) with the ComfyUI graph that samples it in one step
(``comfyui_workflow.json``), for a Stable Diffusion run trained with LoRA also its generator as a LoRA file for the
base UNet that diffusers and ComfyUI load (``pytorch_lora_weights.safetensors``, kohya's layout), and
``README.md`` (the model card, with the run's final metrics when its ``report.json`` is beside ``checkpoints/``).
``sfd_lightning.load_generator(DIR)``, ``sfd sample --ckpt DIR`` and ``model.init_ckpt=DIR`` read it. ``--out`` must
be new or empty; ``--overwrite`` replaces a folder whole.
"""

import argparse
import os
from typing import List, Optional

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.export.comfyui_workflow import write_comfyui_workflow
from sfd_lightning.export.diffusers_lora import write_diffusers_lora
from sfd_lightning.export.model_card import (
    diffusers_usage,
    find_attacks,
    find_benchmark,
    find_report,
    prompt_forgetting,
    render,
    reproduce,
    run_inputs,
)
from sfd_lightning.export.single_file import write_single_file
from sfd_lightning.export.staged import check_out, staged_folder
from sfd_lightning.forgetting.lineage import forget_set_meta
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.folder import generator_of, write_diffusers_parts, write_folder
from sfd_lightning.io.out_guard import check_out_spares_inputs
from sfd_lightning.io.source import Source
from sfd_lightning.pipelines.one_step import OneStepPipeline


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sfd export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--ckpt", required=True, help="an SFD checkpoint (sfd fit's checkpoints/last.ckpt)")
    p.add_argument("--out", required=True, help="folder to write: new or empty, or any folder with --overwrite")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty --out whole (nothing of it is kept; it stays as it was if the export fails)",
    )
    p.add_argument(
        "--push-to-hub",
        "--push_to_hub",
        default=None,
        dest="push_to_hub",
        metavar="REPO",
        help="also upload the folder to this Hugging Face Hub model repository (created if missing)",
    )
    p.add_argument("--private", action="store_true", help="create the Hub repository private")
    return p


def check_repo_id(repo: Optional[str]) -> None:
    """Refuse, before the export, a ``--push-to-hub`` that is no Hub repository id (``user/name``)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        if repo is not None:
            validate_repo_id(repo)
    except HFValidationError as err:
        raise ConfigError("--push-to-hub", f"{repo!r} is not a Hub repository id ({describe(err)})") from None


def upload_to_hub(folder: str, repo: str, private: bool) -> str:
    """Upload ``folder`` to the Hub model repository ``repo``; returns its URL. A failed upload (no network, no
    token, no permission) is one line naming ``--push-to-hub``; the folder is kept."""
    from huggingface_hub import HfApi

    try:
        api = HfApi()
        api.create_repo(repo, private=private, exist_ok=True)
        api.upload_folder(folder_path=folder, repo_id=repo, commit_message="sfd export")
    except Exception as err:  # the Hub client raises many types (httpx, HfHubHTTPError, token errors)
        raise ConfigError(
            "--push-to-hub",
            f"cannot upload to {repo!r} ({describe(err)}); the export in {folder!r} is "
            f"kept: upload it with `hf upload {repo} {folder}`",
        ) from None
    return f"https://huggingface.co/{repo}"


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    export(args.ckpt, out=args.out, overwrite=args.overwrite, push_to_hub=args.push_to_hub, private=args.private)


def export(
    ckpt: str, *, out: str, overwrite: bool = False, push_to_hub: Optional[str] = None, private: bool = False
) -> str:
    """``sfd export``: the arguments are its options. Returns the folder written (``out``). Every check runs
    before anything is written."""
    check_out_spares_inputs(out, [ckpt, *run_inputs(ckpt)])
    check_out(out, overwrite)
    check_repo_id(push_to_hub)
    source = Source(ckpt, "--ckpt")
    checkpoint = read_checkpoint(source)
    meta, state = generator_of(checkpoint, source)  # before anything is written
    pipe = OneStepPipeline.from_parts(meta, state, source)
    denoiser, autoencoder = pipe.generator.denoiser, pipe.autoencoder
    meta["sigma_init"] = pipe.sigma_init  # for readers outside this package
    forgets = forget_set_meta(meta.get("lineage") or [])  # a sequential step forgets its release's too
    if pipe.num_classes is None:  # a prompt run: its class settings are unused defaults
        forget = prompt_forgetting(ckpt)
        if len(forgets.get("concepts", [])) > 1:  # the run's own concept/replacement would name one of them only
            forget = {k: v for k, v in forget.items() if k not in ("concept", "replacement")}
            forget["concepts"] = forgets["concepts"]
        meta.update(num_classes=None, forget_label=None, override_label=None, forget=forget)
    elif "forget_label" in forgets:
        meta.update(forgets)
    command = reproduce(ckpt, out)
    with staged_folder(out) as folder:
        write_folder(meta, state, folder)
        write_diffusers_parts(denoiser, folder)
        single_file = write_single_file(denoiser, autoencoder, folder)
        write_comfyui_workflow(folder, single_file, meta["sigma_init"], denoiser.net.resolution)
        lora = write_diffusers_lora(checkpoint, folder)
        with open(os.path.join(folder, "README.md"), "w") as f:
            vae = getattr(autoencoder, "vae", None)
            factor = 2 ** (len(vae.config.block_out_channels) - 1) if vae is not None else 8  # pixels a latent
            usage = diffusers_usage(meta, pipe.shape, lora, single_file, denoiser.schedule, factor)
            f.write(render(meta, find_report(ckpt), command, find_attacks(ckpt), find_benchmark(ckpt), usage))
    print(f"exported the EMA one-step generator to {out}", flush=True)
    if push_to_hub:
        print(f"uploaded to {upload_to_hub(out, push_to_hub, private)}", flush=True)
    return out
