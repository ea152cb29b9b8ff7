"""Shared fixtures: tiny networks built in the tests, the repository root, and CLI runners."""
import os
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
ASSETS = ROOT / "assets"
HELPERS = ROOT / "tests" / "helpers"
sys.path.insert(0, str(HELPERS))  # test-only callbacks and readers (ddp_probe, wandb_records)

torch.set_num_threads(2)


@pytest.fixture
def tiny_denoiser():
    from sfd_lightning.diffusion import EpsDenoiser
    from sfd_lightning.models.components import UNet

    def make(num_classes: int = 3, ch: int = 8, seed: int = 0):
        torch.manual_seed(seed)
        net = UNet(in_channels=1, resolution=8, ch=ch, ch_mult=(1, 2), num_res_blocks=1, attn_resolutions=(4,),
                   dropout=0.0, num_classes=num_classes, norm_groups=4)
        return EpsDenoiser(net)

    return make


@pytest.fixture
def run_cli(monkeypatch, tmp_path):
    """Run ``sfd ARGS`` in-process from the repo root; returns (exit code, stderr text)."""
    from sfd_lightning.cli import main

    def run(args, capsys=None):
        monkeypatch.chdir(ROOT)
        try:
            main(list(args))
            return 0
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 1

    return run


def subprocess_env(**extra: str) -> dict:
    """This environment for an `sfd` subprocess, minus WANDB_SERVICE: an in-process W&B run earlier in
    the session starts a service and sets it, and a child would otherwise share (and outlive into) it."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    env.update(extra)
    return env


def short_forget_config(tmp_path: Path, iterations: int = 3, **callback_args) -> Path:
    """configs/digits_forget.yaml cut down to seconds: a few iterations, small evaluations, output under tmp_path/run."""
    config = yaml.safe_load((CONFIGS / "digits_forget.yaml").read_text())
    config["trainer"]["default_root_dir"] = str(tmp_path / "run")
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path / "run")
    config["trainer"]["enable_progress_bar"] = False
    config["data"]["init_args"]["iterations"] = iterations
    small = dict(n_per_label=4, every_n_iterations=2, teacher_steps=3, batch_size=16)
    small.update(callback_args)
    for cb in config["trainer"]["callbacks"]:
        args = cb.get("init_args", {})
        args.update({k: v for k, v in small.items() if k in args})
    path = tmp_path / "short.yaml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path
