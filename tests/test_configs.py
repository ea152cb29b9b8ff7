"""Every YAML in configs/ (and configs/baselines/) parses and instantiates (model, data, trainer and callbacks)."""
import pytest
from lightning.pytorch import LightningDataModule, LightningModule, Trainer

from project import CONFIGS, ROOT
from sfd_lightning.cli import SFDLightningCLI

ALL_CONFIGS = sorted(p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob("*.yaml") if "prompts" not in p.parts)
# Configs that read what a user makes or downloads first (a trained teacher or classifier under
# runs/, torchvision's or the hub's weights): parsed and type-checked here; test_real_configs and
# test_imagenet_dit / test_stable_diffusion run them with tiny models.
NEEDS_USER_FILES = {"cifar10_classifier.yaml", "cifar10_distill.yaml", "cifar10_forget.yaml", "cifar10_forget_2stage.yaml",
                    "stl10_classifier.yaml", "stl10_forget.yaml", "imagenet_forget.yaml", "sd_celebrity_forget.yaml",
                    "sd_nudity_forget.yaml", "baselines/cifar10_esd.yaml", "baselines/cifar10_salun.yaml",
                    "baselines/cifar10_sa.yaml", "baselines/cifar10_retrain.yaml", "baselines/sd_nudity_esd.yaml",
                    "baselines/sd_celebrity_esd.yaml", "baselines/sd_nudity_salun.yaml", "baselines/sd_celebrity_sa.yaml"}


def test_there_are_configs():
    assert {"digits_forget.yaml", "digits_teacher.yaml", "digits_classifier.yaml", "baselines/digits_esd.yaml"} <= set(ALL_CONFIGS)


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
