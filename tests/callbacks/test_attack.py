"""``AttackCallback``: the attacks at the end of ``sfd fit``, into the run folder and the run's logger."""

import csv
import json

import yaml
from project import ROOT, short_forget_config

from sfd_lightning.cli import main


def test_attacks_run_after_fit_and_are_logged(tmp_path, monkeypatch):
    path = short_forget_config(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["trainer"]["logger"] = {
        "class_path": "lightning.pytorch.loggers.CSVLogger",
        "init_args": {"save_dir": str(tmp_path / "run")},
    }
    config["trainer"]["callbacks"].append(
        {
            "class_path": "sfd_lightning.callbacks.AttackCallback",
            "init_args": {
                "teacher_steps": 2,
                "examples": "digits",
                "reference": "digits",
                "settings": {
                    "attacks": ["noise", "embedding", "paraphrase"],
                    "n": 8,
                    "eps": [0.0, 0.5],
                    "pgd_steps": 2,
                    "restarts": 1,
                    "embedding_steps": [0, 2],
                    "pinpoint_k": 1,
                },
            },
        }
    )
    path.write_text(yaml.safe_dump(config))
    monkeypatch.chdir(ROOT)
    main(["fit", "--config", str(path)])
    out = next((tmp_path / "run").rglob("attack.json")).parent
    run = out.parent
    assert out.name == "attack" and (run / "metrics.csv").exists()
    result = json.loads((out / "attack.json").read_text())
    assert {r["attack"] for r in result["rows"]} == {"noise", "embedding"}  # no paraphrases for a class run
    assert (out / "attack.md").exists() and (out / "attack.png").exists()
    with open(run / "metrics.csv") as f:
        columns = next(csv.reader(f))
    assert "attack/noise/0.5/sfd/judge" in columns and "attack/embedding/2/teacher/surrogate" in columns
