"""Paths of the repository and helpers shared by the tests: a subprocess environment, short configs."""
import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
ASSETS = ROOT / "assets"
HELPERS = ROOT / "tests" / "helpers"


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
    small = dict(n_per_label=4, every_n_iterations=2, teacher_steps=3, batch_size=16,
                 teacher_cache=str(tmp_path / "teacher_fid.json"))  # never the shipped cache
    small.update(callback_args)
    for cb in config["trainer"]["callbacks"]:
        args = cb.get("init_args", {})
        args.update({k: v for k, v in small.items() if k in args})
    path = tmp_path / "short.yaml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path
