"""Every config in configs/ (and configs/baselines/) parses and instantiates (model, data, trainer and callbacks)
with the fragments it names; every fragment is named by some config; the specs in experiments/ read."""

import importlib

import pytest
import yaml
from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from project import CONFIGS, ROOT, load_config

from sfd_lightning.cli import SFDLightningCLI

# A config is one `sfd fit --config` run; a fragment (one class spec: a network, a callback, a data module, ...)
# is named by path inside configs, where that class spec goes, and never run alone.
FRAGMENT_FOLDERS = ("callbacks", "data", "denoisers", "models", "nets", "plugins", "schedules")
# An overlay is given after a config (`sfd fit --config A --config overlays/B`), as its header's command shows.
OVERLAYS = sorted(p.relative_to(CONFIGS).as_posix() for p in (CONFIGS / "overlays").glob("*.yaml"))
ALL_CONFIGS = sorted(
    p.relative_to(CONFIGS).as_posix() for p in [*CONFIGS.glob("*.yaml"), *CONFIGS.glob("baselines/*.yaml")]
)
FRAGMENTS = sorted(
    p.relative_to(CONFIGS).as_posix() for folder in FRAGMENT_FOLDERS for p in (CONFIGS / folder).glob("*.yaml")
)


def names_a_pipeline_family(node) -> bool:
    """Whether a config tree names a network read from a diffusers pipeline (a class declaring its
    ``pipeline_class``: SD, SDXL, SD3, FLUX.1, DiT), whose weights come from the hub."""
    from sfd_lightning.models.components.pipeline_family import families

    if isinstance(node, dict):
        module, _, name = str(node.get("class_path", "")).rpartition(".")
        if module.startswith("sfd_lightning.") and getattr(importlib.import_module(module), name, None) in families():
            return True
        return any(names_a_pipeline_family(v) for v in node.values())
    return isinstance(node, list) and any(names_a_pipeline_family(v) for v in node)


# Configs that read what a user makes or downloads first (a trained teacher or classifier under
# runs/, torchvision's or the hub's weights): parsed and type-checked here; test_real_configs and
# test_imagenet_dit / test_stable_diffusion / test_pipeline_families run them with tiny models.
NEEDS_USER_FILES = {
    "cifar10_classifier.yaml",
    "cifar10_distill.yaml",
    "cifar10_forget.yaml",
    "cifar10_forget_2stage.yaml",
    "stl10_classifier.yaml",
    "stl10_forget.yaml",
    "baselines/cifar10_esd.yaml",
    "baselines/cifar10_salun.yaml",
    "baselines/cifar10_sa.yaml",
    "baselines/cifar10_retrain.yaml",
    *(name for name in ALL_CONFIGS if names_a_pipeline_family(load_config(CONFIGS / name))),
}


def test_every_yaml_is_a_config_or_a_fragment():
    every = {p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*.yaml")}
    assert every == set(ALL_CONFIGS) | set(FRAGMENTS) | set(OVERLAYS)


@pytest.mark.parametrize("name", OVERLAYS)
def test_an_overlay_changes_the_config_its_header_names(name, run_cli, capsys):
    import re

    text = (CONFIGS / name).read_text()
    command = re.search(r"sfd fit --config (\S+) --config (\S+)", text)
    assert command and command.group(2) == f"configs/{name}", "the header shows the command that uses it"
    assert run_cli(["fit", "--config", command.group(1), "--print_config"]) == 0
    alone = capsys.readouterr().out
    assert run_cli(["fit", "--config", command.group(1), "--config", command.group(2), "--print_config"]) == 0
    both = yaml.safe_load(capsys.readouterr().out)
    assert both != yaml.safe_load(alone)
    overlay = yaml.safe_load(text)

    def contained(part, whole):  # every value the overlay sets is in the composed config
        if isinstance(part, dict):
            return isinstance(whole, dict) and all(contained(v, whole.get(k)) for k, v in part.items())
        return part == whole

    assert contained(overlay, both)


def named_fragments(path, seen):
    """The fragments the YAML file at path names, and theirs in turn (paths relative to the file, as jsonargparse)."""

    def walk(node):
        if isinstance(node, str) and node.endswith(".yaml") and (path.parent / node).is_file():
            fragment = (path.parent / node).resolve()
            if fragment not in seen:
                seen.add(fragment)
                named_fragments(fragment, seen)
        elif isinstance(node, dict):
            [walk(v) for v in node.values()]
        elif isinstance(node, list):
            [walk(v) for v in node]

    walk(yaml.safe_load(path.read_text()))
    return seen


def test_every_fragment_is_named_by_a_config():
    used = set()
    for name in ALL_CONFIGS:
        named_fragments(CONFIGS / name, used)
    assert {p.relative_to(CONFIGS.resolve()).as_posix() for p in used} == set(FRAGMENTS)


@pytest.mark.parametrize("name", FRAGMENTS)
def test_a_fragment_is_one_class_spec(name):
    spec = yaml.safe_load((CONFIGS / name).read_text())
    assert isinstance(spec, dict) and set(spec) <= {"class_path", "init_args"}, (
        "a fragment is one class_path (+ init_args)"
    )
    module, _, cls = spec["class_path"].rpartition(".")
    assert hasattr(importlib.import_module(module), cls)


def test_load_config_inlines_fragments_as_the_cli_does(run_cli, tmp_path, capsys):
    """The tests' own reading of a composed config (load_config) resolves to the same config as `sfd fit`."""
    path = tmp_path / "inlined.yaml"
    path.write_text(yaml.safe_dump(load_config(CONFIGS / "digits_forget_2stage.yaml"), sort_keys=False))
    printed = []
    for config in ("configs/digits_forget_2stage.yaml", str(path)):
        assert run_cli(["fit", "--config", config, "--print_config"]) == 0
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and "class_path: sfd_lightning.models.components.DDPMUNet" in printed[0]


def test_the_experiment_specs_read_and_name_existing_configs():
    from sfd_lightning.compare.spec import read_spec
    from sfd_lightning.sweep import load_spec

    sweeps = sorted((ROOT / "experiments" / "sweeps").glob("*.yaml"))
    compares = sorted((ROOT / "experiments" / "compare").glob("*.yaml"))
    assert sweeps and compares and not list((ROOT / "experiments").glob("*.yaml"))  # specs live in the two folders
    for path in sweeps:
        command = load_spec(str(path)).command
        config = command[command.index("--config") + 1]
        assert config in [f"configs/{n}" for n in ALL_CONFIGS], path.name
    for path in compares:
        for method in read_spec(str(path)).methods:
            assert method.ckpt or method.config in [f"configs/{n}" for n in ALL_CONFIGS], (path.name, method.name)


def test_there_are_configs():
    assert {
        "digits_forget_2stage.yaml",
        "digits_teacher.yaml",
        "digits_classifier.yaml",
        "baselines/digits_esd.yaml",
    } <= set(ALL_CONFIGS)


@pytest.mark.parametrize("name", sorted(NEEDS_USER_FILES))
def test_config_parses(name, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        SFDLightningCLI(args=["--config", f"configs/{name}", "--print_config"], run=False)
    assert exit_.value.code in (0, None)
    assert "class_path: sfd_lightning." in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(set(ALL_CONFIGS) - NEEDS_USER_FILES))
def test_config_instantiates(name, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    cli = SFDLightningCLI(args=["--config", f"configs/{name}", f"--trainer.default_root_dir={tmp_path}"], run=False)
    assert isinstance(cli.model, LightningModule)
    assert isinstance(cli.datamodule, LightningDataModule)
    assert isinstance(cli.trainer, Trainer)
