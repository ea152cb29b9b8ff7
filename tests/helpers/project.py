"""Paths of the repository and helpers shared by the tests: a subprocess environment, short configs."""

import os
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
ASSETS = ROOT / "assets"
HELPERS = ROOT / "tests" / "helpers"


def load_config(path: Path) -> Any:
    """A config under configs/ as one tree: every fragment it names (a ``.yaml`` path where a class spec goes,
    relative to the file naming it, as jsonargparse reads it) replaced by the fragment's own tree, so a test can
    edit it and write it anywhere."""
    return _inline(yaml.safe_load(Path(path).read_text()), Path(path).parent)


def _inline(node: Any, folder: Path) -> Any:
    if isinstance(node, str) and node.endswith(".yaml") and (folder / node).is_file():
        return load_config(folder / node)
    if isinstance(node, dict):
        return {key: _inline(value, folder) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, folder) for value in node]
    return node


def subprocess_env(**extra: str) -> dict:
    """This environment for an `sfd` subprocess, minus WANDB_SERVICE: an in-process W&B run earlier in
    the session starts a service and sets it, and a child would otherwise share (and outlive into) it."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    env.update(extra)
    return env


def short_forget_config(tmp_path: Path, iterations: int = 3, **callback_args) -> Path:
    """configs/digits_forget_2stage.yaml cut down to seconds: a few iterations, small evaluations, output under
    tmp_path/run."""
    config = load_config(CONFIGS / "digits_forget_2stage.yaml")
    config["trainer"]["default_root_dir"] = str(tmp_path / "run")
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path / "run")
    config["trainer"]["enable_progress_bar"] = False
    config["data"]["init_args"]["iterations"] = iterations
    small = dict(
        n_per_label=4,
        every_n_iterations=2,
        teacher_steps=3,
        batch_size=16,
        teacher_cache=str(tmp_path / "teacher_fid.json"),
    )  # never the shipped cache
    small.update(callback_args)
    for cb in config["trainer"]["callbacks"]:
        args = cb.get("init_args", {})
        args.update({k: v for k, v in small.items() if k in args})
    path = tmp_path / "short.yaml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path
