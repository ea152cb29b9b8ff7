"""`sfd sweep`: W&B sweep specs expand into runs, every shipped spec's runs parse, and a local sweep writes its table
and plot."""

import csv
import math
import sys

import pytest
import yaml
from project import ROOT, short_forget_config

from sfd_lightning.cli import SFDLightningCLI
from sfd_lightning.errors import ConfigError
from sfd_lightning.sweep import load_spec
from sfd_lightning.sweep.local import build_command, gpu_slots
from sfd_lightning.sweep.main import fresh_folder
from sfd_lightning.sweep.main import main as sweep_main
from sfd_lightning.sweep.search import Search

EXPERIMENTS = sorted(
    [*(ROOT / "experiments" / "sweeps").glob("*.yaml"), *(ROOT / "experiments" / "tuning").glob("*.yaml")]
)  # sweep specs


def write_spec(tmp_path, **spec):
    base = dict(
        method="grid", command=["sfd", "fit", "--config", "c.yaml", "${args}"], parameters={"a": {"values": [1, 2]}}
    )
    base.update(spec)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(base))
    return str(path)


@pytest.mark.parametrize(
    "spec, field",
    [
        (dict(method="hyperband"), "sweep.method"),
        (dict(command=["sfd", "fit"]), "sweep.command"),
        (dict(command=["touch", "PWNED", "${args}"]), "sweep.command"),  # a spec from others runs no program but sfd
        (dict(program="evil.py", command=["${env}", "${interpreter}", "${program}", "${args}"]), "sweep.command"),
        (dict(parameters={}), "sweep.parameters"),
        (dict(parameters={"a": {"min": 2, "max": 1}}), "sweep.parameters.a"),
        (dict(parameters={"a": {"min": 0, "max": 1, "distribution": "log_uniform_values"}}), "sweep.parameters.a.min"),
        (dict(method="grid", parameters={"a": {"min": 0.0, "max": 1.0}}), "sweep.parameters.a"),  # uniform: no grid
        (dict(parameters={"a": {"distribution": "lognormal"}}), "sweep.parameters.a.distribution"),
        (dict(parameters={"a": {"values": [1, 2], "probabilities": [0.5, 0.6]}}), "sweep.parameters.a.probabilities"),
        (dict(parameters={"a": {"distribution": "normal", "mu": 0, "sigma": 0}}), "sweep.parameters.a.sigma"),
        (dict(parameters={"a": {"distribution": "normal", "min": 0}}), "sweep.parameters.a"),  # not a normal's key
        (dict(parameters={"g": {"parameters": {"a": {"values": []}}}}), "sweep.parameters.g.a.values"),
        (dict(parameters={"g": {"parameters": {}}}), "sweep.parameters.g"),
        (dict(method="bayes"), "sweep.metric"),  # nothing to optimise
        (dict(metric={"name": "fid/ratio", "goal": "lowest"}), "sweep.metric.goal"),
        (dict(early_stop=True), "sweep.early_stop"),  # not a W&B key
    ],
)
def test_bad_specs_name_the_key(tmp_path, spec, field):
    with pytest.raises(ConfigError) as err:
        Search(load_spec(write_spec(tmp_path, **spec)))
    assert err.value.field == field


def test_grid_is_the_cartesian_product_of_values_and_integer_ranges(tmp_path):
    grid = Search(
        load_spec(
            write_spec(
                tmp_path,
                parameters={
                    "a": {"values": [1, 2, 3]},
                    "g": {"parameters": {"b": {"min": 1, "max": 2}}},  # nested; int_uniform
                    "c": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
                    "d": {"value": 0},
                },
            )
        )
    )
    runs = [p.params for p in iter(grid.ask, None)]
    assert runs[:2] == [{"a": 1, "c": 0, "d": 0, "g.b": 1}, {"a": 1, "c": 0, "d": 0, "g.b": 2}]  # last key fastest
    assert len(runs) == 18 and {(r["a"], r["g.b"], r["c"]) for r in runs} == {
        (a, b, c) for a in (1, 2, 3) for b in (1, 2) for c in (0, 0.5, 1)
    }
    capped = Search(load_spec(write_spec(tmp_path, run_cap=4, parameters={"a": {"min": 1, "max": 9}})))
    assert [p.params["a"] for p in iter(capped.ask, None)] == [1, 2, 3, 4]


KINDS = {  # every W&B distribution, and what each draw must satisfy
    "constant": ({"distribution": "constant", "value": 7}, lambda x: x == 7),
    "categorical": ({"values": ["a", "b"], "probabilities": [0.9, 0.1]}, lambda x: x in ("a", "b")),
    "int_uniform": ({"min": 2, "max": 5}, lambda x: isinstance(x, int) and 2 <= x <= 5),
    "uniform": ({"min": 0.5, "max": 1.5}, lambda x: 0.5 <= x <= 1.5),
    "q_uniform": (
        {"distribution": "q_uniform", "min": 0, "max": 100, "q": 10},
        lambda x: x % 10 == 0 and isinstance(x, int),
    ),
    "log_uniform": ({"distribution": "log_uniform", "min": -2, "max": 0}, lambda x: math.exp(-2) <= x <= 1),
    "log_uniform_values": (
        {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
        lambda x: 1e-4 <= x <= 1e-2,
    ),
    "q_log_uniform": ({"distribution": "q_log_uniform", "min": 0, "max": 4.6, "q": 1}, lambda x: 1 <= x <= 100),
    "q_log_uniform_values": (
        {"distribution": "q_log_uniform_values", "min": 8, "max": 512, "q": 8},
        lambda x: 8 <= x <= 512 and x % 8 == 0,
    ),
    "inv_log_uniform": ({"distribution": "inv_log_uniform", "min": 0, "max": 2}, lambda x: math.exp(-2) <= x <= 1),
    "inv_log_uniform_values": (
        {"distribution": "inv_log_uniform_values", "min": 0.1, "max": 10},
        lambda x: 0.1 <= x <= 10,
    ),
    "normal": ({"distribution": "normal", "mu": 5, "sigma": 0.1}, lambda x: 4 < x < 6),
    "q_normal": ({"distribution": "q_normal", "mu": 5, "sigma": 2, "q": 0.5}, lambda x: (x * 2) == int(x * 2)),
    "log_normal": ({"distribution": "log_normal", "mu": 0, "sigma": 0.1}, lambda x: 0.5 < x < 2),
    "q_log_normal": ({"distribution": "q_log_normal", "mu": 4, "sigma": 0.1, "q": 4}, lambda x: x % 4 == 0),
    "beta": ({"distribution": "beta", "a": 2, "b": 5}, lambda x: 0 < x < 1),
    "q_beta": (
        {"distribution": "q_beta", "a": 2, "b": 5, "q": 0.1},
        lambda x: 0 <= x <= 1 and round(x * 10, 9) == round(x * 10),
    ),
}


def test_random_search_draws_every_kind_within_its_law(tmp_path):
    """Each kind stays in its support, with W&B's meaning (exponents for log_uniform, 1/x for inv_), reproducibly."""
    spec = load_spec(
        write_spec(
            tmp_path,
            method="random",
            run_cap=200,
            parameters={"g": {"parameters": {k: p for k, (p, _) in KINDS.items()}}},
        )
    )
    runs = [p.params for p in iter(Search(spec, seed=3).ask, None)]
    assert len(runs) == 200 and runs == [p.params for p in iter(Search(spec, seed=3).ask, None)]
    for kind, (_, ok) in KINDS.items():
        values = [r[f"g.{kind}"] for r in runs]
        assert all(ok(v) for v in values), (kind, [v for v in values if not ok(v)][:3])
    mean = lambda k: sum(r[f"g.{k}"] for r in runs) / len(runs)  # noqa: E731
    assert abs(mean("normal") - 5) < 0.03 and abs(mean("beta") - 2 / 7) < 0.05
    assert 150 < sum(r["g.categorical"] == "a" for r in runs) < 195  # probabilities 0.9 / 0.1
    logs = sorted(math.log10(r["g.log_uniform_values"]) for r in runs)
    assert logs[len(logs) // 2] == pytest.approx(-3, abs=0.3)  # uniform in the exponent, not in the value


def test_bayes_search_learns_from_the_metric(tmp_path):
    """TPE, told each run's metric, proposes nearer the optimum than random draws with the same seed."""

    def later_distance(method):
        spec = load_spec(
            write_spec(
                tmp_path,
                method=method,
                run_cap=40,
                metric={"name": "final/loss", "goal": "minimize"},
                parameters={"x": {"min": 0.0, "max": 1.0}},
            )
        )
        search, distances = Search(spec, seed=0), []
        for proposal in iter(search.ask, None):
            distances.append(abs(proposal.params["x"] - 0.3))
            search.tell(proposal, distances[-1] ** 2)
        return sum(distances[-15:]) / 15

    assert later_distance("bayes") < 0.5 * later_distance("random")


def test_dry_run_prints_the_commands_and_starts_nothing(tmp_path, capsys):
    sweep_main([str(ROOT / "experiments" / "sweeps" / "digits_every_kind.yaml"), "--dry-run", "--out", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[digits_every_kind] random search, 4 runs (dry run")
    assert len(out) == 5 and all("--model.init_args.generator_optimizer.init_args.lr=" in line for line in out[1:])
    assert not any(tmp_path.iterdir())


def test_each_sweep_gets_a_fresh_folder_and_parallel_runs_their_own_gpu(tmp_path):
    assert fresh_folder(tmp_path, "s") != fresh_folder(tmp_path, "s")
    assert gpu_slots(3, None, 2) == ["0", "1", "0"] and gpu_slots(2, "4,6", 8) == ["4", "6"]
    assert gpu_slots(2, None, 0) == [None, None] and gpu_slots(1, None, 4) == [None]  # CPU; or one run: as given


def test_command_fills_args_and_run_folder(tmp_path):
    spec = load_spec(str(ROOT / "experiments" / "sweeps" / "digits_grid.yaml"))
    argv = build_command(spec, Search(spec).ask().params, tmp_path / "r000", "r000")
    assert argv[:3] == [sys.executable, "-m", "sfd_lightning"]
    assert "--model.init_args.alpha=1.0" in argv and "--model.init_args.loss_weights.g_forget=0.05" in argv
    assert f"--trainer.default_root_dir={tmp_path / 'r000'}" in argv
    assert "--trainer.logger.init_args.group=digits_grid" in argv


def test_a_logger_given_as_a_fragment_gets_the_sweeps_group(tmp_path):
    """A config naming its W&B logger by a fragment path (relative to the config) still gets the sweep's group."""
    (tmp_path / "loggers").mkdir()
    (tmp_path / "loggers" / "wandb.yaml").write_text("class_path: sfd_lightning.loggers.SFDWandbLogger\n")
    (tmp_path / "run.yaml").write_text("trainer:\n  logger: loggers/wandb.yaml\n")
    spec = load_spec(str(ROOT / "experiments" / "sweeps" / "digits_grid.yaml"))
    spec.command = ["sfd", "fit", "--config", str(tmp_path / "run.yaml"), "${args}"]
    argv = build_command(spec, Search(spec).ask().params, tmp_path / "r000", "r000")
    assert "--trainer.logger.init_args.group=digits_grid" in argv and "--trainer.logger.init_args.name=r000" in argv
    (tmp_path / "loggers" / "wandb.yaml").write_text("class_path: lightning.pytorch.loggers.CSVLogger\n")
    assert not any("group" in a for a in build_command(spec, Search(spec).ask().params, tmp_path / "r001", "r001"))


@pytest.mark.parametrize(
    "overlay, extra",
    [("trainer:\n  logger: false\n", []), ("", ["--trainer.logger=false"]), ("trainer:\n  logger: true\n", [])],
)
def test_a_run_without_a_logger_class_gets_no_logger_options(tmp_path, monkeypatch, overlay, extra):
    """``logger: false`` (in a later --config overlay or on the command line) or Lightning's default logger: no
    ``--trainer.logger.init_args.*`` (they made every run fail on an abstract Logger); the run still parses."""
    monkeypatch.chdir(ROOT)
    (tmp_path / "overlay.yaml").write_text(overlay or "{}\n")
    spec = load_spec(str(ROOT / "experiments" / "sweeps" / "digits_grid.yaml"))
    spec.command = [
        "sfd",
        "fit",
        "--config",
        "configs/digits_forget_2stage.yaml",
        "--config",
        str(tmp_path / "overlay.yaml"),
        *extra,
        "${args}",
    ]
    argv = build_command(spec, Search(spec).ask().params, tmp_path / "r000", "r000")
    assert not any(a.startswith("--trainer.logger.init_args") for a in argv)
    cli = SFDLightningCLI(args=argv[argv.index("fit") + 1 :], run=False)
    assert cli.trainer.default_root_dir == str(tmp_path / "r000")


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_shipped_spec_setting_parses(path, tmp_path, monkeypatch):
    """Each setting of each experiment becomes a valid `sfd fit` command (parsed and instantiated, not run)."""
    monkeypatch.chdir(ROOT)
    spec = load_spec(str(path))
    runs = list(Search(spec).preview())
    for params in [runs[0], runs[-1]]:  # the first and the last setting
        argv = build_command(spec, params, tmp_path / "r", "r")
        cli = SFDLightningCLI(args=argv[argv.index("fit") + 1 :], run=False)
        for key, value in params.items():
            if key.startswith("model.init_args.") and "." not in key[len("model.init_args.") :]:
                got = getattr(cli.model.hparams, key.rsplit(".", 1)[-1])
                assert got == value or isinstance(value, dict), key


@pytest.mark.slow  # ~22 s: four short fits; the failing-sweep test runs the same launcher by default
def test_local_sweep_writes_table_and_plot(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("WANDB_MODE", "offline")
    config = short_forget_config(tmp_path, iterations=2, every_n_iterations=0, n_per_label=2, teacher_steps=2)
    spec = write_spec(
        tmp_path,
        name="tiny",
        command=["sfd", "fit", "--config", str(config), "${args}"],
        metric={"name": "final/forget/accuracy", "goal": "minimize"},
        parameters={"model": {"parameters": {"init_args": {"parameters": {"alpha": {"values": [1.2]}}}}}},
    )
    sweep_main([spec, "--out", str(tmp_path / "sweeps")])
    (out,) = (tmp_path / "sweeps" / "tiny").iterdir()  # <date-time>: a folder of this invocation's own
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["model.init_args.alpha"] for r in rows] == ["1.2"] and all(r["status"] == "ok" for r in rows)
    assert all(0 <= float(r["final/forget/accuracy"]) <= 1 and float(r["fid/generator"]) > 0 for r in rows)
    assert (
        "| run | model.init_args.alpha | status | seconds | final/forget/accuracy |" in (out / "summary.md").read_text()
    )
    assert (out / "plots.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert (
        "best final/forget/accuracy" in printed and f"wrote {out / 'summary.csv'}" in printed and "plots.png" in printed
    )


def test_a_sweep_whose_runs_fail_says_so_and_names_only_what_it_wrote(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    spec = write_spec(
        tmp_path,
        name="broken",
        command=["sfd", "fit", "--config", str(tmp_path / "missing.yaml"), "${args}"],
        parameters={"model.init_args.alpha": {"value": 1.0}},
    )
    with pytest.raises(SystemExit) as exit_:
        sweep_main([spec, "--out", str(tmp_path / "sweeps"), "--local"])
    assert exit_.value.code == 1
    printed = capsys.readouterr().out
    assert "r000 FAILED" in printed and "summary.csv" in printed and "plots.png" not in printed


def test_printed_and_written_commands_run_the_same_argv_in_a_shell(tmp_path, monkeypatch, capsys):
    """A swept value such as ``$(touch X)`` reaches the run as text: pasting the dry run's line or command.txt into
    bash gives back exactly the run's argv and runs nothing of the value."""
    import subprocess

    monkeypatch.chdir(tmp_path)
    value = "$(touch PWNED) `touch PWNED2`; x's"
    spec = write_spec(
        tmp_path,
        name="quoted",
        command=["sfd", "fit", "--config", str(tmp_path / "missing.yaml"), "${args}"],
        parameters={"model.init_args.note": {"value": value}},
    )
    argv = build_command(
        load_spec(spec),
        {"model.init_args.note": value},
        tmp_path / "sweeps" / "quoted" / "<date-time>" / "r000",
        "r000",
    )

    def through_bash(line):  # the shell's words of the line, one a line
        return subprocess.run(
            ["bash", "-c", "printf '%s\\n' " + line], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.splitlines()

    sweep_main([spec, "--dry-run", "--out", str(tmp_path / "sweeps")])
    printed = capsys.readouterr().out.splitlines()[1]
    assert through_bash(printed[len("r000: ") :]) == argv
    with pytest.raises(SystemExit):  # the run fails (no config), after command.txt is written
        sweep_main([spec, "--out", str(tmp_path / "sweeps"), "--local"])
    (command,) = (tmp_path / "sweeps" / "quoted").glob("*/r000/command.txt")
    assert through_bash(command.read_text().strip()) == [
        a.replace("<date-time>", command.parent.parent.name) for a in argv
    ]
    assert f"--model.init_args.note={value}" in argv
    assert not list(tmp_path.glob("PWNED*")) and not list(ROOT.glob("PWNED*"))


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", 7])
def test_a_sweep_name_is_one_folder_under_out(tmp_path, name):
    """The name is the sweep's folder under --out: a separator or '..' would write elsewhere (compare names alike)."""
    with pytest.raises(ConfigError, match=r"^sweep.name: must be letters, digits"):
        load_spec(write_spec(tmp_path, name=name))


@pytest.mark.parametrize(
    "spec, field",
    [
        (dict(method="random", run_cap=10**12, parameters={"a": {"min": 0.0, "max": 1.0}}), "sweep.run_cap"),
        (dict(parameters={"a": {"min": 0, "max": 10**9}}), "sweep.parameters.a"),  # an int_uniform grid of 10^9 values
        (dict(parameters={"a": {"values": list(range(200))}, "b": {"values": list(range(200))}}), "sweep.parameters"),
    ],
)
def test_budgets_beyond_the_bound_fail_in_one_line_at_once(tmp_path, spec, field):
    with pytest.raises(ConfigError) as err:
        Search(load_spec(write_spec(tmp_path, **spec)))
    assert err.value.field == field and "10,000" in str(err.value)


def test_a_long_dry_run_prints_as_it_draws(tmp_path, capsys):
    """The bound itself (10,000 random runs) prints in seconds, header first; a capped grid of 40,000 settings
    prints its first run_cap without building the rest."""
    import time

    start = time.perf_counter()
    sweep_main(
        [write_spec(tmp_path, method="random", run_cap=10_000, parameters={"a": {"min": 0.0, "max": 1.0}}), "--dry-run"]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[spec] random search, 10000 runs") and len(lines) == 10_001
    assert time.perf_counter() - start < 30
    grid = dict(parameters={"a": {"values": list(range(200))}, "b": {"values": list(range(200))}}, run_cap=3)
    sweep_main([write_spec(tmp_path, **grid), "--dry-run"])
    assert [
        [w for w in line.split() if w.startswith(("--a=", "--b="))] for line in capsys.readouterr().out.splitlines()[1:]
    ] == [["--a=0", "--b=0"], ["--a=0", "--b=1"], ["--a=0", "--b=2"]]


FAKE_FIT = """
import json, os, pathlib, signal, sys, time
folder, a = pathlib.Path(sys.argv[1]), int(sys.argv[2])
if a == 1:  # finishes at once with its report
    (folder / "report.json").write_text(json.dumps({"forget/accuracy": 0.25}))
    sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: ((folder / "stopped").write_text("yes"), sys.exit(143)))
(folder / "pid").write_text(str(os.getpid()))
time.sleep(60)
"""


def test_a_signal_stops_the_sweeps_runs_and_writes_what_finished(tmp_path, monkeypatch, capsys):
    """SIGTERM to ``sfd sweep --parallel 2`` (this process, with stand-ins for ``sfd fit``): the runs get the signal
    and are waited for; the summary holds the finished run and the interrupted ones and says so; exit 143."""
    import signal

    from signals import running, signal_once_running

    from sfd_lightning.sweep import local

    (tmp_path / "fit.py").write_text(FAKE_FIT)
    monkeypatch.setattr(
        local,
        "build_command",
        lambda spec, params, run_dir, name: [sys.executable, str(tmp_path / "fit.py"), str(run_dir), str(params["a"])],
    )
    spec = write_spec(
        tmp_path,
        name="term",
        parameters={"a": {"values": [1, 2, 3]}},
        metric={"name": "forget/accuracy", "goal": "minimize"},
    )
    pid_files = lambda: list((tmp_path / "out").glob("term/*/r00[12]/pid"))  # noqa: E731
    signal_once_running(pid_files, 2, signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_:
        sweep_main([spec, "--local", "--parallel", "2", "--out", str(tmp_path / "out")])
    assert exit_.value.code == 143
    (folder,) = (tmp_path / "out" / "term").iterdir()
    assert [r["status"] for r in csv.DictReader(open(folder / "summary.csv"))] == ["ok", "interrupted", "interrupted"]
    headline = "Stopped by SIGTERM: finished r000; interrupted r001, r002; 0 of 3 runs not started"
    assert (folder / "summary.md").read_text().startswith(headline) and headline in capsys.readouterr().err
    assert all((folder / r / "stopped").exists() for r in ("r001", "r002"))  # each run was told, and ended
    assert not any(running(int(p.read_text())) for p in pid_files())
    assert '"stopped": "Stopped by SIGTERM' in (folder / "best.json").read_text()


def test_the_summary_table_is_unchanged_byte_for_byte(tmp_path):
    """summary.md on fixed rows (a headline, a float cut to 4 significant digits, a failed run's empty cells),
    character for character as it was written before the reports shared one table writer."""
    from sfd_lightning.sweep.summary import write_tables

    rows = [
        {
            "run": "000",
            "model.init_args.alpha": 0.5,
            "status": "ok",
            "seconds": 12,
            "final/forget/accuracy": 0.012345678,
            "fid/ratio": 1.0723,
        },
        {"run": "001", "model.init_args.alpha": 2, "status": "failed", "seconds": 3.25},
    ]
    write_tables(rows, ["model.init_args.alpha"], tmp_path, "final/forget/accuracy", headline="stopped by SIGINT")
    assert (tmp_path / "summary.md").read_text() == (
        "stopped by SIGINT\n"
        "\n"
        "| run | model.init_args.alpha | status | seconds | final/forget/accuracy | fid/ratio |\n"
        "|---|---|---|---|---|---|\n"
        "| 000 | 0.5 | ok | 12 | 0.01235 | 1.072 |\n"
        "| 001 | 2 | failed | 3.25 |  |  |\n"
    )
    write_tables(rows, ["model.init_args.alpha"], tmp_path)
    assert (tmp_path / "summary.md").read_text() == (
        "| run | model.init_args.alpha | status | seconds | fid/ratio |\n"
        "|---|---|---|---|---|\n"
        "| 000 | 0.5 | ok | 12 | 1.072 |\n"
        "| 001 | 2 | failed | 3.25 |  |\n"
    )
