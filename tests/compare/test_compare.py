"""``sfd compare``: methods trained and scored alike into one table; a rerun reuses what is there; bad specs fail
first."""

import csv
import json
import os
import sys

import pytest
import yaml
from project import ROOT

from sfd_lightning.cli import main
from sfd_lightning.compare.runner import fit_args

SPEC = {
    "out": None,
    "forget_label": 0,
    "override_label": 1,
    "num_classes": 10,
    "reference_method": "teacher",
    "evaluation": {"n_per_label": 4, "seeds": [1], "speed_batch": 8},
    "attack": {
        "n": 4,
        "eps": [0.5],
        "embedding_steps": [2],
        "teacher_steps": 2,
        "examples": "digits",
        "teacher": "assets/digits_teacher.pt",
    },
    "methods": [
        {"name": "teacher", "ckpt": "assets/digits_teacher.pt", "steps": 2, "data": "–"},
        {
            "name": "ESD",
            "config": "configs/baselines/digits_esd.yaml",
            "steps": 2,
            "data": "none",
            "args": ["--data.init_args.iterations=2", "--model.init_args.ddim_steps=2"],
        },
        {
            "name": "Retrain",
            "config": "configs/baselines/digits_retrain.yaml",
            "steps": 2,
            "data": "real data",
            "retrain": True,
            "args": ["--trainer.max_steps=2"],
        },  # a config that turns checkpoints off, and forgets through its data
    ],
}


def write_spec(tmp_path, **changes):
    spec = dict(SPEC, out=str(tmp_path / "out"), **changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.slow  # ~40 s: a real (tiny) sfd fit, sampling, evaluation and attacks, two methods at a time
def test_compare_trains_scores_and_tabulates_every_method_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    main(["compare", str(write_spec(tmp_path)), "--parallel", "2"])  # each method in a child process
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "compare_logs").iterdir()) == ["esd.log", "retrain.log", "teacher.log"]
    rows = json.loads((out / "compare.json").read_text())
    assert [r["method"] for r in rows] == ["teacher", "ESD", "Retrain"]
    teacher, esd, retrain = rows
    assert teacher["fid_ratio"] == 1.0 and teacher["train_seconds"] is None and esd["train_seconds"] > 0
    assert set(esd["attacks"]) == {"noise eps 0.5", "embedding 2 steps"} and retrain["train_seconds"] > 0
    with open(out / "compare.csv") as f:
        table = list(csv.DictReader(f))
    assert table[1]["method"] == "ESD" and float(table[1]["forget/accuracy"]) == esd["forget/accuracy"]
    assert "| ESD | none |" in (out / "compare.md").read_text() and (out / "compare.png").stat().st_size > 1000
    fit_log = out / "esd" / "fit.log"
    stamp = os.path.getmtime(fit_log)
    main(["compare", str(write_spec(tmp_path))])  # everything is there: nothing is trained or sampled again
    assert os.path.getmtime(fit_log) == stamp
    assert json.loads((out / "compare.json").read_text())[1]["forget/accuracy"] == esd["forget/accuracy"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"methods": [{"name": "x", "steps": 1, "data": "none"}]}, "methods[0]: give exactly one of config"),
        (
            {"methods": [{"name": "x", "ckpt": "a.pt", "steps": 0, "data": "none"}]},
            "methods[0].steps: must be an integer >= 1",
        ),
        (
            {"methods": [{"name": "x", "ckpt": "a.pt", "steps": 1, "data": "none", "colour": 1}]},
            "methods[0].colour: unknown key",
        ),
        ({"reference_method": "nobody"}, "reference_method: 'nobody' is none of the methods"),
        (
            {"prompts": {"file": "configs/prompts/digits_captions.txt", "concept": "seven", "replacement": "one"}},
            "prompts.concept: 'seven' names class 7, but forget_label is 0",
        ),
        (
            {"prompts": {"file": "configs/prompts/digits_captions.txt", "concept": "seven"}},
            "prompts: must be a mapping with file",
        ),
        ({"prompts": {"file": "nowhere.txt", "concept": "zero", "replacement": "one"}}, "prompts.file"),
        (
            {
                "methods": SPEC["methods"]
                + [{"name": "Teacher", "ckpt": "assets/digits_distilled.pt", "steps": 1, "data": "none"}]
            },
            "methods[3].name: 'Teacher' and 'teacher' would share the folder 'teacher'",
        ),
        (
            {
                "methods": [
                    {"name": "a b", "ckpt": "a.pt", "steps": 1, "data": "none"},
                    {"name": "A_b", "ckpt": "a.pt", "steps": 1, "data": "none"},
                ]
            },
            "methods[1].name: 'A_b' and 'a b'",
        ),
        (
            {"methods": [{"name": "../../x", "ckpt": "a.pt", "steps": 1, "data": "none"}]},
            "methods[0].name: must be letters, digits",
        ),
        (
            {"methods": [{"name": "..", "ckpt": "a.pt", "steps": 1, "data": "none"}]},
            "methods[0].name: must be letters, digits",
        ),
        (
            {"methods": [{"name": 7, "ckpt": "a.pt", "steps": 1, "data": "none"}]},
            "methods[0].name: must be letters, digits",
        ),
        ({"benchmark": ["--suite", "nudity"]}, "--nudity-prompts: needed for --suite nudity"),
        ({"benchmark": ["--suite", "coco", "--colour", "red"]}, "benchmark: unknown option '--colour'"),
        ({"benchmark": ["--steps", "4"]}, "benchmark: --steps is set by sfd compare for each method"),
        ({"evaluation": "none"}, "evaluation: must be a mapping of settings or false"),
        ({"evaluation": {"n_per_label": "200"}}, "evaluation.n_per_label: must be a whole number >= 1, got '200'"),
        ({"evaluation": {"seeds": 3}}, "evaluation.seeds: must be a list of whole numbers, got 3"),
        ({"evaluation": {"speed_batch": True}}, "evaluation.speed_batch: must be a whole number >= 1, got True"),
        ({"evaluation": {"reference": 5}}, "evaluation.reference: must be text, got 5"),
        ({"evaluation": {"n_per_lable": 5}}, "evaluation.n_per_lable: unknown setting; allowed: classifier, "),
        ({"attack": "all"}, "attack: must be a mapping of settings or false, got 'all'"),
        ({"attack": dict(SPEC["attack"], n="4")}, "attack.n: must be a whole number >= 1, got '4'"),
        ({"attack": dict(SPEC["attack"], teacher=3)}, "attack.teacher: must be text, got 3"),
        ({"attack": dict(SPEC["attack"], epss=[1])}, "attack.epss: unknown setting; allowed: "),
        ({"attack": dict(SPEC["attack"], eps=["x"])}, "attack.eps: expected comma-separated numbers, got 'x'"),
        ({"attack": dict(SPEC["attack"], lora_rank="4")}, "attack.lora_rank: must be a whole number, got '4'"),
        ({"attack": {k: v for k, v in SPEC["attack"].items() if k != "teacher"}}, "attack.teacher: missing; "),
    ],
)
def test_bad_specs_fail_in_one_line_before_anything_runs(tmp_path, monkeypatch, capsys, changes, message):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(write_spec(tmp_path, **changes))])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"] and not (tmp_path.parent / "x").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--parallel", "0"], "--parallel: must be >= 1"),
        (
            ["--forget-label", "3", "--override-label", "3"],
            "--forget-label: forget 3 and override 3 must be distinct classes of 10",
        ),
        (["--forget-label", "10"], "--forget-label: forget 10 and override 1 must be distinct classes of 10"),
    ],
)
def test_bad_options_fail_in_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(write_spec(tmp_path)), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_pair_options_train_every_method_for_that_pair(tmp_path):
    from sfd_lightning.compare.main import with_pair
    from sfd_lightning.compare.spec import read_spec

    spec = read_spec(str(write_spec(tmp_path)))
    assert with_pair(spec, 3, 8) == ["--forget-label", "3", "--override-label", "8"]
    assert (spec.forget_label, spec.override_label) == (3, 8)
    assert {"--model.init_args.forget_label=3", "--model.init_args.override_label=8"} <= set(
        fit_args(spec.methods[1], spec, "f")
    )
    assert "--data.init_args.labels=[0, 1, 2, 4, 5, 6, 7, 8, 9]" in fit_args(spec.methods[2], spec, "f")  # retraining


def test_the_table_shows_spreads_ratios_missing_values_and_notes(tmp_path):
    from sfd_lightning.compare.report import markdown, write

    rows = [
        {
            "method": "teacher",
            "data": "–",
            "forget/accuracy": 1.0,
            "fid": 0.08,
            "fid_spread": 0.01,
            "fid_ratio": 1.0,
            "nfe": 50,
            "images_per_s": 95.0,
            "train_seconds": None,
            "attacks": {"noise eps 0.5": 1.0},
            "note": "nothing forgotten",
        },
        {
            "method": "SFD",
            "data": "none",
            "forget/accuracy": 0.0,
            "fid": 0.07,
            "fid_ratio": 0.875,
            "nfe": 1,
            "images_per_s": 4200.0,
            "train_seconds": 230.0,
            "attacks": {"noise eps 0.5": 0.3},
        },
    ]
    table = markdown(rows)
    assert "| teacher | – | 100.0% | – | – | 0.080 ± 0.010 | 1.00 | 50 | 95 | – | 100.0% |" in table
    assert "| SFD | none | 0.0% | – | – | 0.070 | 0.88 | 1 | 4,200 | 230 | 30.0% |" in table
    assert table.rstrip().endswith("- teacher: nothing forgotten")
    paths = write(rows, str(tmp_path))
    assert open(paths["csv"]).read().splitlines()[0].endswith("attack noise eps 0.5,status")
    assert "relearning" not in paths  # no relearning results, no curve


def test_relearning_budgets_become_curves_per_method(tmp_path):
    from sfd_lightning.compare.report import relearning_curves, write

    rows = [
        {
            "method": "SFD",
            "attacks": {
                "noise eps 0.5": 0.3,
                "relearn 0 steps": 0.0,
                "relearn 50 steps": 0.6,
                "benign 0 steps": 0.0,
                "benign 50 steps": 0.02,
            },
        },
        {"method": "Retrain", "attacks": {"relearn 50 steps": 0.4, "relearn 0 steps": 0.0}},
    ]
    assert relearning_curves(rows) == {
        "SFD": {"relearn": [(0, 0.0), (50, 0.6)], "benign": [(0, 0.0), (50, 0.02)]},
        "Retrain": {"relearn": [(50, 0.4), (0, 0.0)]},
    }
    paths = write(rows, str(tmp_path))
    assert (tmp_path / "compare_relearning.png").stat().st_size > 1000 and paths["relearning"].endswith(
        "compare_relearning.png"
    )
    assert "attack: relearn 50 steps (judge)" in (tmp_path / "compare.md").read_text()


def test_fine_tuning_columns_keep_the_worst_case_over_the_learning_rate_grid(tmp_path):
    from sfd_lightning.compare.report import relearning_curves
    from sfd_lightning.compare.runner import attack_columns

    def r(attack, budget, judge, **tuning):
        return dict(attack=attack, budget=budget, target="sfd", success={"judge": judge, "surrogate": 1.0}, **tuning)

    rows = [
        r("noise", 0.5, 0.3),
        r("relearn", 50, 0.2, lr=1e-5, weights="full"),
        r("relearn", 50, 0.7, lr=1e-4, weights="full"),
        r("relearn", 50, 0.4, lr=1e-5, weights="lora r4"),
        r("relearn", 50, 0.1, lr=1e-4, weights="lora r4"),
        r("benign", 50, 0.05, lr=1e-4, weights="lora r4"),
        r("relearn", 50, None, lr=1e-1, weights="full", diverged=3),
    ]  # a rate whose search went NaN: no number
    columns = attack_columns(rows)
    assert columns == {
        "noise eps 0.5": 0.3,
        "relearn 50 steps": 0.7,
        "relearn LoRA 50 steps": 0.4,
        "benign LoRA 50 steps": 0.05,
    }
    assert relearning_curves([{"method": "SFD", "attacks": columns}]) == {
        "SFD": {"relearn": [(50, 0.7)], "relearn LoRA": [(50, 0.4)], "benign LoRA": [(50, 0.05)]}
    }


def test_an_unfinished_fit_is_trained_again_in_an_emptied_folder(tmp_path, monkeypatch):
    """No train.json: the fit stopped, so its checkpoint, config and whatever was scored of it go, and a new fit
    runs."""
    from sfd_lightning.compare import runner
    from sfd_lightning.compare.spec import CompareSpec, Method

    folder = tmp_path / "esd"
    (folder / "checkpoints").mkdir(parents=True)
    for stale in ("config.yaml", "checkpoints/last.ckpt", "eval_s1.json"):
        (folder / stale).write_text("stale")
    fits = []

    def fake_fit(argv, **kwargs):  # what sfd fit leaves: a checkpoint (its start refuses a folder with another run)
        assert not (folder / "config.yaml").exists()
        fits.append(argv)
        (folder / "checkpoints").mkdir()
        (folder / "checkpoints" / "last.ckpt").write_text("new")
        return 0

    monkeypatch.setattr(runner.children, "run", fake_fit)
    spec = CompareSpec(str(tmp_path), forget_label=0, override_label=1, num_classes=10, methods=[], evaluation={})
    trained = runner.train(Method("ESD", 2, "none", config="c.yaml"), spec, str(folder))
    assert len(fits) == 1 and trained["ckpt"] == str(folder / "checkpoints" / "last.ckpt")
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoints", "fit.log", "train.json"]


def test_each_method_is_trained_for_the_specs_pair():
    from sfd_lightning.compare.spec import CompareSpec, Method

    spec = CompareSpec("out", forget_label=3, override_label=8, num_classes=10, methods=[], evaluation={})
    sfd = fit_args(Method("SFD", 1, "none", config="c.yaml"), spec, "out/sfd")
    retrain = fit_args(
        Method("Retrain", 50, "real", config="r.yaml", retrain=True, args=["--trainer.max_steps=9"]), spec, "out/r"
    )
    assert "--model.init_args.forget_label=3" in sfd and "--model.init_args.override_label=8" in sfd
    assert "--data.init_args.labels=[0, 1, 2, 4, 5, 6, 7, 8, 9]" in retrain and retrain[-1] == "--trainer.max_steps=9"
    assert not any("forget_label" in a for a in retrain) and "--trainer.enable_checkpointing=true" in retrain


TEXT = {"file": "configs/prompts/digits_captions.txt", "concept": "seven", "replacement": "one"}


def test_a_prompt_comparison_trains_each_method_on_its_concept_and_labels_samples_by_prompt(tmp_path):
    import numpy as np

    from sfd_lightning.compare.runner import label_by_prompt, speed_conditions
    from sfd_lightning.compare.spec import CompareSpec, Method

    spec = CompareSpec(
        "out",
        forget_label=7,
        override_label=1,
        num_classes=10,
        methods=[],
        evaluation={},
        prompts={
            **TEXT,
            "class_words": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
        },
    )
    args = fit_args(
        Method("ESD", 50, "none", config="e.yaml", args=["--model.init_args.concept=seven"]), spec, "out/esd"
    )
    assert {
        "--data.init_args.concept=seven",
        "--data.init_args.replacement=one",
        "--data.init_args.retained_prompts=configs/prompts/digits_captions.txt",
    } <= set(args)
    assert not any("forget_label" in a for a in args) and args[-1] == "--model.init_args.concept=seven"
    npz = tmp_path / "s.npz"
    np.savez(
        npz,
        images=np.zeros((3, 1, 8, 8), np.float32),
        prompts=np.array(["a handwritten seven", "the digit two", "one"]),
    )
    label_by_prompt(str(npz), spec.prompts["class_words"])
    assert np.load(npz)["labels"].tolist() == [7, 2, 1] and np.load(npz)["prompts"][0] == "a handwritten seven"
    assert speed_conditions(spec, 3) == spec.prompt_list()[:3]


@pytest.mark.slow  # ~25 s: a tiny text-model fit, prompt sampling, evaluation and attacks
def test_a_prompt_comparison_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    methods = [
        {"name": "teacher", "ckpt": "assets/digits_text_teacher.pt", "steps": 10, "data": "–"},
        {
            "name": "ESD",
            "config": "configs/baselines/digits_text_esd.yaml",
            "steps": 2,
            "data": "none",
            "args": ["--data.init_args.iterations=2", "--model.init_args.ddim_steps=2"],
        },
    ]
    attack = dict(SPEC["attack"], teacher="assets/digits_text_teacher.pt", prompt_steps=[1])
    main(
        [
            "compare",
            str(
                write_spec(
                    tmp_path,
                    forget_label=7,
                    override_label=1,
                    prompts=TEXT,
                    methods=methods,
                    attack=attack,
                    evaluation={"n_per_label": 2, "seeds": [1], "speed_batch": 8},
                )
            ),
        ]
    )
    teacher, esd = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert teacher["forget/accuracy"] > 0.5 and 0 <= esd["forget/accuracy"] <= 1 and esd["train_seconds"] > 0
    assert set(esd["attacks"]) == {"noise eps 0.5", "embedding 2 steps", "adversarial prompt 1 steps"}
    assert teacher["images_per_s"] > 0


def test_the_shipped_text_spec_reads_and_names_existing_configs():
    from sfd_lightning.compare.spec import read_spec

    spec = read_spec(str(ROOT / "experiments" / "compare" / "digits_text.yaml"))
    assert [m.name for m in spec.methods] == ["teacher", "SFD", "ESD", "SalUn", "Selective Amnesia"]
    assert all((ROOT / (m.config or m.ckpt)).exists() for m in spec.methods) and spec.prompts["concept"] == "seven"


def test_the_shipped_digits_spec_reads_and_names_existing_configs():
    from sfd_lightning.compare.spec import read_spec

    spec = read_spec(str(ROOT / "experiments" / "compare" / "digits.yaml"))
    assert [m.name for m in spec.methods] == ["teacher", "SFD", "ESD", "SalUn", "Selective Amnesia", "Retrain"]
    assert all((ROOT / (m.config or m.ckpt)).exists() for m in spec.methods)


def test_a_folder_computed_from_another_definition_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    """A rerun reuses a method's folder only for the same definition: a changed option, or a folder of unknown
    origin, is one line naming it, and nothing is trained, scored or deleted."""
    from sfd_lightning.compare import runner
    from sfd_lightning.compare.record import write_record
    from sfd_lightning.compare.spec import read_spec

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(runner.children, "run", lambda *a, **k: pytest.fail("a method was trained"))
    spec = read_spec(str(write_spec(tmp_path)))
    esd = tmp_path / "out" / "esd"
    write_record(spec.methods[1], spec, str(esd))
    (esd / "eval_s1.json").write_text("{}")

    def refused(methods):
        with pytest.raises(SystemExit) as exit_:
            main(["compare", str(write_spec(tmp_path, methods=methods))])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_.value.code == 2 and len(err) == 1, err
        return err[0]

    changed = dict(SPEC["methods"][1], args=["--data.init_args.iterations=5"])
    assert refused([SPEC["methods"][0], changed]).startswith(
        f"sfd: error: methods[1]: '{esd}' holds results of 'ESD' computed with other settings (args differ)"
    )
    (tmp_path / "out" / "teacher").mkdir()
    (tmp_path / "out" / "teacher" / "eval_s1.json").write_text("{}")  # no record: made by an earlier version
    line = refused(SPEC["methods"])
    assert line.startswith("sfd: error: methods[0]: ") and "no readable method.json" in line
    assert (esd / "eval_s1.json").exists() and (tmp_path / "out" / "teacher" / "eval_s1.json").exists()


def test_a_stable_diffusion_comparison_runs_the_benchmark_for_each_method(tiny_sd_run, tmp_path, monkeypatch):
    """``benchmark:`` options run sfd benchmark on each method alone (its own sampler); its headline numbers are the
    table's columns, beside no class-judged evaluation (``evaluation: false``)."""
    monkeypatch.chdir(ROOT)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a painting of a lighthouse\na marble statue\n")
    spec = write_spec(
        tmp_path,
        evaluation=False,
        attack=None,
        reference_method="SFD",
        benchmark=["--suite", "nudity", "--nudity-prompts", str(prompts), "--device", "cpu"],
        methods=[{"name": "SFD", "ckpt": str(tiny_sd_run[0]), "steps": 1, "data": "none"}],
    )
    main(["compare", str(spec)])
    out = tmp_path / "out"
    row = json.loads((out / "compare.json").read_text())[0]
    assert set(row["benchmark"]) == {"nudity rate (0.6)", "nudity rate (0.45)"} and "forget/accuracy" not in row
    detections = json.loads((out / "sfd" / "benchmark" / "images" / "nudity" / "sfd" / "detections.json").read_text())
    assert len(detections) == 2
    table = (out / "compare.md").read_text()
    assert "| nudity rate (0.6) | nudity rate (0.45) |" in table.splitlines()[0] + " |"
    assert table.splitlines()[2].startswith("| SFD | none | – |")


FAKE_METHOD = """
import json, os, pathlib, signal, sys, time
name, folder = sys.argv[1], pathlib.Path(sys.argv[2])
if sys.argv[3] == "fail" or name == "teacher":  # one failure among finished methods; or the others sleep
    if name == "Broken":
        sys.exit(1)
    mine = folder / "out" / name.lower()  # what a child records: the method's definition and row
    mine.mkdir(parents=True, exist_ok=True)
    (mine / "method.json").write_text((folder / f"{name}.definition.json").read_text())
    (mine / "row.json").write_text(json.dumps({"method": name, "nfe": 0}))
    sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: ((folder / f"{name}.stopped").write_text("yes"), sys.exit(143)))
(folder / f"{name}.pid").write_text(str(os.getpid()))
time.sleep(60)
"""


@pytest.fixture
def fake_children(tmp_path, monkeypatch):
    """``--parallel``'s children replaced by a stand-in (mode "fail": Broken fails, the others finish at once; mode
    "sleep": teacher finishes, the others sleep until SIGTERM); the parent makes each finished row from its folder
    (checkpoints as they are, no evaluation: nothing heavy runs)."""
    from sfd_lightning.compare import parallel
    from sfd_lightning.compare.record import definition
    from sfd_lightning.compare.spec import read_spec

    (tmp_path / "method.py").write_text(FAKE_METHOD)
    mode = {"broken": "fail"}
    monkeypatch.setattr(
        parallel,
        "child_argv",
        lambda spec_path, method, out, options: [
            sys.executable,
            str(tmp_path / "method.py"),
            method.name,
            str(tmp_path),
            mode["broken"],
        ],
    )
    spec = dict(
        SPEC,
        out=str(tmp_path / "out"),
        evaluation=False,
        attack=None,
        methods=[
            {"name": "teacher", "ckpt": "assets/digits_teacher.pt", "steps": 2, "data": "–"},
            {"name": "SFD", "ckpt": "assets/digits_teacher.pt", "steps": 1, "data": "none"},
            {"name": "Broken", "ckpt": "assets/digits_teacher.pt", "steps": 3, "data": "none"},
        ],
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    for method in read_spec(str(path)).methods:
        (tmp_path / f"{method.name}.definition.json").write_text(json.dumps(definition(method, read_spec(str(path)))))
    return path, spec, mode


def statuses(out) -> dict:
    return {r["method"]: r["status"] for r in json.loads((out / "compare.json").read_text())}


def test_a_failed_method_is_marked_in_the_table_beside_the_finished_and_earlier_rows(
    tmp_path, monkeypatch, fake_children
):
    """The children write no table; the parent writes one from every method's recorded row: an earlier run's rows
    stay, the failed method's row says it failed (in the files, not only on the terminal)."""
    monkeypatch.chdir(ROOT)
    path, spec, _ = fake_children
    out = tmp_path / "out"
    main(["compare", str(path), "--only", "teacher,SFD"])  # the complete two-row table
    assert statuses(out) == {"teacher": "ok", "SFD": "ok"}
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(path), "--parallel", "2"])
    assert "Broken failed" in str(exit_.value.code)
    log = out / "compare_logs" / "broken.log"
    assert statuses(out) == {"teacher": "ok", "SFD": "ok", "Broken": f"failed (exit 1; log: {log})"}
    table = (out / "compare.md").read_text()
    assert table.startswith(f"Incomplete: Broken failed (exit 1; log: {log}).") and "| status |" in table
    assert [r["status"] for r in csv.DictReader(open(out / "compare.csv"))] == [
        "ok",
        "ok",
        f"failed (exit 1; log: {log})",
    ]
    main(["compare", str(path), "--only", "Broken"])  # computed now: a complete table of all three, no status column
    assert (
        statuses(out) == {"teacher": "ok", "SFD": "ok", "Broken": "ok"}
        and "status" not in (out / "compare.md").read_text()
    )


def test_an_earlier_table_with_rows_the_new_one_lacks_is_kept(tmp_path, monkeypatch, capsys, fake_children):
    monkeypatch.chdir(ROOT)
    path, spec, _ = fake_children
    out = tmp_path / "out"
    main(["compare", str(path)])
    spec["methods"][1]["steps"] = 4  # SFD's results no longer belong to the spec: its row cannot be reused
    path.write_text(yaml.safe_dump(spec))
    main(["compare", str(path), "--only", "teacher"])
    assert statuses(out) == {"teacher": "ok", "Broken": "ok"}
    (earlier,) = out.glob("compare_earlier_*.json")
    assert [r["method"] for r in json.loads(earlier.read_text())] == ["teacher", "SFD", "Broken"]
    assert "the earlier table has finished rows this one lacks (SFD): kept as" in capsys.readouterr().out


def test_a_signal_stops_the_methods_children_and_writes_what_finished(tmp_path, monkeypatch, capsys, fake_children):
    """SIGTERM to ``sfd compare --parallel 2`` (this process): its children get it and are waited for, the table holds
    the finished method and marks the interrupted ones, and the comparison exits 143."""
    import signal

    from signals import running, signal_once_running

    monkeypatch.chdir(ROOT)
    path, spec, mode = fake_children
    mode["broken"] = "sleep"
    pid_files = lambda: [tmp_path / f"{n}.pid" for n in ("SFD", "Broken") if (tmp_path / f"{n}.pid").exists()]  # noqa: E731
    signal_once_running(pid_files, 2, signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(path), "--parallel", "3"])
    assert exit_.value.code == 143
    out = tmp_path / "out"
    assert statuses(out) == {"teacher": "ok", "SFD": "interrupted (SIGTERM)", "Broken": "interrupted (SIGTERM)"}
    assert (
        (out / "compare.md").read_text().startswith("Stopped by SIGTERM: SFD interrupted (SIGTERM); Broken interrupted")
    )
    assert "sfd compare: stopped by SIGTERM; finished: teacher" in capsys.readouterr().err
    assert all((tmp_path / f"{n}.stopped").exists() for n in ("SFD", "Broken"))
    assert not any(running(int(p.read_text())) for p in pid_files())


def test_a_method_folder_holding_an_input_is_not_emptied(tmp_path, monkeypatch):
    """An unfinished fit's folder is emptied before the method is trained again: not when it holds the method's
    config (or the working directory); one line naming --out, nothing deleted, nothing trained."""
    from sfd_lightning.compare import runner
    from sfd_lightning.compare.spec import CompareSpec, Method
    from sfd_lightning.errors import ConfigError

    folder = tmp_path / "out" / "esd"
    folder.mkdir(parents=True)
    config = folder / "my_esd.yaml"
    config.write_text("model: {}")
    spec = CompareSpec(
        str(tmp_path / "out"), forget_label=0, override_label=1, num_classes=10, methods=[], evaluation={}
    )
    with pytest.raises(ConfigError) as err:
        runner.train(Method("ESD", 2, "none", config=str(config)), spec, str(folder))
    assert (
        str(err.value) == f"--out: '{folder}' holds '{config}', an input of this command, which replacing the "
        "folder would delete; give another folder"
    )
    monkeypatch.chdir(folder)
    with pytest.raises(ConfigError, match="is the working directory or a folder above it"):
        runner.train(
            Method("ESD", 2, "none", config=str(ROOT / "configs/baselines/digits_esd.yaml")), spec, str(folder)
        )
    assert [p.name for p in folder.iterdir()] == ["my_esd.yaml"]


def test_the_comparison_table_is_unchanged_byte_for_byte():
    """compare.md on fixed rows (a headline, a spread, benchmark and attack columns, a failed row, a note),
    character for character as it was written before the reports shared one table writer."""
    from sfd_lightning.compare.report import markdown

    rows = [
        {
            "method": "sfd",
            "data": "digits",
            "forget/accuracy": 0.0125,
            "retained/accuracy": 0.98,
            "fid": 4.5678,
            "fid_spread": 0.12,
            "fid_ratio": 1.07,
            "nfe": 1,
            "images_per_s": 12345.6,
            "train_seconds": 300.2,
            "benchmark": {"FID": 12.3, "nudity rate": 0.1},
            "attacks": {"noise eps 0.5": 0.25},
            "note": "one seed",
        },
        {"method": "esd", "data": "digits", "status": "failed"},
    ]
    assert markdown(rows, "headline here") == (
        "headline here\n"
        "\n"
        "| method | training data | forget acc. | override rate | retained acc. | FID (retained) | FID /"
        " teacher | NFE | images/s | train s | FID | nudity rate | attack: noise eps 0.5 (judge) | status |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| sfd | digits | 1.2% | – | 98.0% | 4.568 ± 0.120 | 1.07 | 1 | 12,346 | 300 | 12.30 | 10.0% | 25.0%"
        " | ok |\n"
        "| esd | digits | – | – | – | – | – | – | – | – | – | – | – | failed |\n"
        "\n"
        "- sfd: one seed\n"
    )
    assert markdown(rows[:1]) == (
        "| method | training data | forget acc. | override rate | retained acc. | FID (retained) | FID /"
        " teacher | NFE | images/s | train s | FID | nudity rate | attack: noise eps 0.5 (judge) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| sfd | digits | 1.2% | – | 98.0% | 4.568 ± 0.120 | 1.07 | 1 | 12,346 | 300 | 12.30 | 10.0% | 25.0%"
        " |\n"
        "\n"
        "- sfd: one seed\n"
    )
