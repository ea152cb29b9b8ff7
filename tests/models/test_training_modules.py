"""Teacher and classifier training run through `sfd fit` (fast_dev_run) and export loadable assets."""

import pytest
import torch
import yaml
from project import CONFIGS, ROOT, load_config

from sfd_lightning.cli import main
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source


@pytest.mark.parametrize("name, kind", [("digits_teacher.yaml", "denoiser"), ("digits_classifier.yaml", "classifier")])
def test_fast_dev_run_exports_asset(name, kind, tmp_path, monkeypatch):
    config = load_config(CONFIGS / name)
    out = tmp_path / f"{kind}.pt"
    config["trainer"]["callbacks"][0]["init_args"]["path"] = str(out)
    config["trainer"]["default_root_dir"] = str(tmp_path)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    monkeypatch.chdir(ROOT)
    main(["fit", "--config", str(path), "--trainer.fast_dev_run=2"])
    module = load_exported(Source(str(out), "asset"), kind)
    assert isinstance(module, torch.nn.Module)
    assert torch.load(out, weights_only=True)["format"] == f"sfd-lightning/{kind}/v1"
