"""`sfd sweep --constraint`: the best run is the best of those meeting every bound; `--summarize` re-judges a finished
sweep's folder without running anything."""

import csv
import json

import pytest
import yaml

from sfd_lightning.errors import ConfigError
from sfd_lightning.sweep.constraint import best_run, parse_constraint
from sfd_lightning.sweep.main import main as sweep_main

ROWS = [  # a baseline's tuning grid: the lowest FID ratio does not forget
    {"run": "r000", "lr": 1e-5, "status": "ok", "forget/accuracy": 0.40, "final/fid/ratio": 1.2},
    {"run": "r001", "lr": 1e-4, "status": "ok", "forget/accuracy": 0.03, "final/fid/ratio": 6.0},
    {"run": "r002", "lr": 3e-5, "status": "ok", "forget/accuracy": 0.05, "final/fid/ratio": 2.5},
    {"run": "r003", "lr": 3e-4, "status": "failed (1)"},
]


@pytest.mark.parametrize(
    "text", ["forget/accuracy=0.05", "forget/accuracy<=", "<=0.05", "forget accuracy<=0.05", "forget/accuracy<=five"]
)
def test_bad_constraints_name_the_option(text):
    with pytest.raises(ConfigError, match="--constraint"):
        parse_constraint(text)


def test_the_best_run_meets_every_constraint():
    assert best_run(ROWS, "final/fid/ratio", "minimize")["run"] == "r000"
    assert (
        best_run(ROWS, "final/fid/ratio", "minimize", [parse_constraint("final/forget/accuracy<=0.05")])["run"]
        == "r002"
    )
    assert best_run(ROWS, "final/fid/ratio", "minimize", [parse_constraint("forget/accuracy<0.05")])["run"] == "r001"
    assert best_run(ROWS, "final/fid/ratio", "minimize", [parse_constraint("forget/accuracy<0.01")]) is None
    assert best_run(ROWS, "final/fid/ratio", "maximize", [parse_constraint("final/fid/ratio>=2")])["run"] == "r001"
    float32 = [dict(ROWS[0], **{"forget/accuracy": 0.05000000074505806})]  # 10/200 as a float32 report holds it
    assert (
        best_run(float32, "final/fid/ratio", "minimize", [parse_constraint("forget/accuracy<=0.05")])["run"] == "r000"
    )
    assert best_run(float32, "final/fid/ratio", "minimize", [parse_constraint("forget/accuracy<0.05")]) is None


def test_summarize_rejudges_a_finished_folder(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tune",
                "method": "grid",
                "command": ["sfd", "fit", "${args}"],
                "metric": {"name": "final/fid/ratio", "goal": "minimize"},
                "parameters": {"lr": {"values": [1e-5, 1e-4, 3e-5, 3e-4]}},
            }
        )
    )
    columns = ["run", "lr", "status", "seconds", "final/fid/ratio", "forget/accuracy"]
    with open(tmp_path / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(ROWS)
    sweep_main([str(spec), "--summarize", str(tmp_path), "--constraint", "final/forget/accuracy<=0.05"])
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["run"] == "r002" and best["params"] == {"lr": 3e-5} and best["value"] == 2.5
    assert best["constraints"] == ["final/forget/accuracy <= 0.05"]
    assert [r["meets"] for r in csv.DictReader(open(tmp_path / "summary.csv"))] == ["no", "yes", "yes", "no"]
    assert "best final/fid/ratio with final/forget/accuracy <= 0.05: 2.5 (r002: --lr=3e-05)" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="--summarize"):
        sweep_main([str(spec), "--summarize", str(tmp_path / "nothing")])


def test_a_wandb_sweep_refuses_constraints_it_would_ignore(tmp_path, monkeypatch):
    from sfd_lightning.sweep import main as sweep_module

    monkeypatch.setattr(sweep_module, "wandb_offline", lambda: False)  # logged in: the sweep would go to W&B agents
    monkeypatch.setattr(sweep_module, "run_with_wandb", lambda *a: pytest.fail("started W&B agents"))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tune",
                "method": "grid",
                "command": ["sfd", "fit", "${args}"],
                "metric": {"name": "final/fid/ratio", "goal": "minimize"},
                "parameters": {"lr": {"value": 1}},
            }
        )
    )
    with pytest.raises(ConfigError, match="--constraint: applies to sweeps run here"):
        sweep_main([str(spec), "--constraint", "forget/accuracy<=0.05"])


def test_a_nan_or_infinite_metric_never_wins(tmp_path, capsys):
    """A run whose metric is nan or inf (a diverged fit, a hand-edited table) is no candidate; when no run has a
    finite metric, one line says so and best.json names no run."""
    nan_first = [dict(ROWS[0], **{"final/fid/ratio": float("nan")}), *ROWS[1:]]
    assert best_run(nan_first, "final/fid/ratio", "minimize")["run"] == "r002"
    assert (
        best_run([dict(ROWS[0], **{"final/fid/ratio": float("-inf")}), *ROWS[1:]], "final/fid/ratio", "minimize")["run"]
        == "r002"
    )
    assert (
        best_run([dict(ROWS[1], **{"final/fid/ratio": float("inf")}), ROWS[0]], "final/fid/ratio", "maximize")["run"]
        == "r000"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tune",
                "method": "grid",
                "command": ["sfd", "fit", "${args}"],
                "metric": {"name": "final/fid/ratio", "goal": "minimize"},
                "parameters": {"lr": {"values": [1e-5, 1e-4]}},
            }
        )
    )
    with open(tmp_path / "summary.csv", "w", newline="") as f:
        f.write("run,lr,status,seconds,final/fid/ratio\nr000,1e-05,ok,1.0,nan\nr001,0.0001,ok,1.0,inf\n")
    (tmp_path / "best.json").write_text(json.dumps({"run": "r000", "value": 1.0}))  # an earlier judgement
    sweep_main([str(spec), "--summarize", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "[tune] no best run: every finished run's final/fid/ratio is nan or inf (r000, r001)" in printed
    assert json.loads((tmp_path / "best.json").read_text())["run"] is None


def test_the_python_function_rejudges_as_the_command_does(tmp_path):
    """``sweep(spec, summarize=..., constraint=[...])``: the constraints as text, the folder returned; its checks run
    first and name the command's options."""
    from sfd_lightning.sweep.main import sweep

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "tune",
                "method": "grid",
                "command": ["sfd", "fit", "${args}"],
                "metric": {"name": "final/fid/ratio", "goal": "minimize"},
                "parameters": {"lr": {"values": [1e-5, 1e-4, 3e-5, 3e-4]}},
            }
        )
    )
    with open(tmp_path / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["run", "lr", "status", "final/fid/ratio", "forget/accuracy"])
        writer.writeheader()
        writer.writerows(ROWS)
    assert sweep(str(spec), summarize=str(tmp_path), constraint=["final/forget/accuracy<=0.05"]) == tmp_path
    assert json.loads((tmp_path / "best.json").read_text())["run"] == "r002"
    for bad, field in (
        ({"parallel": 0}, "--parallel"),
        ({"seed": -1}, "--seed"),
        ({"constraint": ["x"]}, "--constraint"),
    ):
        with pytest.raises(ConfigError, match=field):
            sweep(str(spec), summarize=str(tmp_path), **bad)
