"""`sfd sweep`: W&B sweep specs expand into runs, every shipped spec's runs parse, and a local sweep writes its table and plot."""
import csv
import sys

import pytest
import yaml

from conftest import ROOT, short_forget_config
from sfd_lightning.cli import SFDLightningCLI
from sfd_lightning.errors import ConfigError
from sfd_lightning.sweep import load_spec
from sfd_lightning.sweep.local import build_command
from sfd_lightning.sweep.main import main as sweep_main

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def write_spec(tmp_path, **spec):
    base = dict(method="grid", command=["sfd", "fit", "--config", "c.yaml", "${args}"], parameters={"a": {"values": [1, 2]}})
    base.update(spec)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(base))
    return str(path)


@pytest.mark.parametrize("spec, field", [
    (dict(method="hyperband"), "sweep.method"),
    (dict(command=["sfd", "fit"]), "sweep.command"),
    (dict(command=["touch", "PWNED", "${args}"]), "sweep.command"),  # a spec from others runs no program but sfd
    (dict(program="evil.py", command=["${env}", "${interpreter}", "${program}", "${args}"]), "sweep.command"),
    (dict(parameters={}), "sweep.parameters"),
    (dict(parameters={"a": {"min": 2, "max": 1}}), "sweep.parameters.a"),
    (dict(parameters={"a": {"min": 0, "max": 1, "distribution": "log_uniform_values"}}), "sweep.parameters.a.min"),
    (dict(method="grid", parameters={"a": {"min": 0, "max": 1}}), "sweep.parameters.a"),
])
def test_bad_specs_name_the_key(tmp_path, spec, field):
    with pytest.raises(ConfigError) as err:
        load_spec(write_spec(tmp_path, **spec)).runs()
    assert err.value.field == field


def test_grid_is_the_cartesian_product_and_random_draws_within_bounds(tmp_path):
    grid = load_spec(write_spec(tmp_path, parameters={"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}, "c": {"value": 0}}))
    assert len(grid.runs()) == 6 and {(r["a"], r["b"], r["c"]) for r in grid.runs()} == {(a, b, 0) for a in (1, 2, 3) for b in "xy"}
    rand = load_spec(write_spec(tmp_path, method="random", run_cap=20, parameters={
        "lr": {"min": 1e-5, "max": 1e-3, "distribution": "log_uniform_values"}, "n": {"min": 1, "max": 4}}))
    runs = rand.runs(seed=3)
    assert len(runs) == 20 and runs == rand.runs(seed=3)
    assert all(1e-5 <= r["lr"] <= 1e-3 and r["n"] in (1, 2, 3, 4) for r in runs)


def test_command_fills_args_and_run_folder(tmp_path):
    spec = load_spec(str(ROOT / "experiments" / "digits_grid.yaml"))
    argv = build_command(spec, spec.runs()[0], tmp_path / "r000", "r000")
    assert argv[:3] == [sys.executable, "-m", "sfd_lightning"]
    assert "--model.init_args.alpha=1.0" in argv and "--model.init_args.g_forget_coef=0.05" in argv
    assert f"--trainer.default_root_dir={tmp_path / 'r000'}" in argv
    assert "--trainer.logger.init_args.group=digits_grid" in argv


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_shipped_spec_setting_parses(path, tmp_path, monkeypatch):
    """Each setting of each experiment becomes a valid `sfd fit` command (parsed and instantiated, not run)."""
    monkeypatch.chdir(ROOT)
    spec = load_spec(str(path))
    runs = spec.runs()
    for params in runs if spec.method == "grid" and len(runs) <= 8 else runs[:2]:
        argv = build_command(spec, params, tmp_path / "r", "r")
        cli = SFDLightningCLI(args=argv[argv.index("fit") + 1:], run=False)
        for key, value in params.items():
            if key.startswith("model.init_args.") and "." not in key[len("model.init_args."):]:
                got = getattr(cli.model.hparams, key.rsplit(".", 1)[-1])
                assert got == value or isinstance(value, dict), key


def test_local_sweep_writes_table_and_plot(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("WANDB_MODE", "offline")
    config = short_forget_config(tmp_path, iterations=2, every_n_iterations=0, n_per_label=2, teacher_steps=2)
    spec = write_spec(tmp_path, name="tiny", command=["sfd", "fit", "--config", str(config), "${args}"],
                      parameters={"model.init_args.alpha": {"values": [1.0, 1.2]}})
    sweep_main([spec, "--out", str(tmp_path / "sweeps")])
    out = tmp_path / "sweeps" / "tiny"
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["model.init_args.alpha"] for r in rows] == ["1.0", "1.2"] and all(r["status"] == "ok" for r in rows)
    assert all(0 <= float(r["forget/accuracy"]) <= 1 and float(r["fid/generator"]) > 0 for r in rows)
    assert "| run | model.init_args.alpha |" in (out / "summary.md").read_text()
    assert (out / "plots.png").stat().st_size > 1000
