"""Every YAML in configs/ parses and instantiates (model, data, trainer and callbacks)."""
import pytest
from lightning.pytorch import LightningDataModule, LightningModule, Trainer

from conftest import CONFIGS, ROOT
from sfd_lightning.cli import SFDLightningCLI

ALL_CONFIGS = sorted(p.name for p in CONFIGS.glob("*.yaml"))


def test_there_are_configs():
    assert {"digits_forget.yaml", "digits_teacher.yaml", "digits_classifier.yaml"} <= set(ALL_CONFIGS)


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_config_instantiates(name, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    cli = SFDLightningCLI(args=["--config", f"configs/{name}", f"--trainer.default_root_dir={tmp_path}"], run=False)
    assert isinstance(cli.model, LightningModule)
    assert isinstance(cli.datamodule, LightningDataModule)
    assert isinstance(cli.trainer, Trainer)
