"""``sfd compare`` with several forgotten classes or concepts: the spec's lists checked in one line naming the field
(the baselines, which forget one class, refused by name) before anything runs; each method trained on the whole
list; samples scored per forgotten class by sfd eval (each class's forget accuracy, the worst, the mean, the accuracy
over the retained classes, their FID); attacks run per class, each column the worst; the table's per-class columns.
Nothing is trained here: real digits stand in for a method's samples."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from project import ROOT

from sfd_lightning.cli import main
from sfd_lightning.compare.runner import fit_args

SFD = {"name": "SFD", "config": "configs/digits_forget_2stage.yaml", "steps": 1, "data": "none"}
RETRAIN = {"name": "Retrain", "config": "configs/baselines/digits_retrain.yaml", "steps": 2, "data": "real"}
ESD = {"name": "ESD", "config": "configs/baselines/digits_esd.yaml", "steps": 2, "data": "none"}
TEACHER = {"name": "teacher", "ckpt": "assets/digits_teacher.pt", "steps": 2, "data": "–"}
SPEC = {
    "forget_label": [0, 3, 5],
    "override_label": [1, 8, 6],
    "num_classes": 10,
    "evaluation": {"n_per_label": 4, "seeds": [1, 2], "speed_batch": 8},
    "methods": [TEACHER, SFD, dict(RETRAIN, retrain=True)],
}
TEXT = {"file": "configs/prompts/digits_captions.txt", "concept": ["seven", "three"], "replacement": ["one", "eight"]}


def write_spec(tmp_path, **changes):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(dict(SPEC, out=str(tmp_path / "out"), **changes)))
    return path


def read(tmp_path, **changes):
    from sfd_lightning.compare.spec import read_spec

    return read_spec(str(write_spec(tmp_path, **changes)))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"forget_label": [0, 3, 0], "override_label": 1}, "forget_label: lists class 0 twice"),
        ({"override_label": [1, 3, 6]}, "override_label: overrides class 3 with its own class"),
        ({"override_label": [1, 5, 6]}, "override_label: overrides class 3 with class 5, which is forgotten too"),
        ({"override_label": [1, 8]}, "override_label: has 2 entries for 3 forgotten classes"),
        ({"forget_label": [], "override_label": 1}, "forget_label: is empty"),
        ({"forget_label": [0, "x"]}, "forget_label: must be a class (a whole number) or a list of them"),
        ({"forget_label": [0, 12, 5]}, "forget_label: must be in [0, 9], got 12"),
        ({"forget_label": 0}, "override_label: is a list ([1, 8, 6]) but forget_label is one class (0)"),
        (
            {"methods": [TEACHER, SFD, ESD]},
            "forget_label: lists 3 classes to forget, but 'ESD' (methods[2], ESDModule) forgets one",
        ),
        (
            {"forget_label": [7, 3], "override_label": [1, 8], "prompts": dict(TEXT, concept=["seven", "Seven"])},
            "prompts.concept: lists the concept 'Seven' twice",
        ),
        (
            {"forget_label": [7, 3], "override_label": [1, 8], "prompts": dict(TEXT, replacement=["one"])},
            "prompts.replacement: must be a list of as many replacements as prompts.concept (2)",
        ),
        (
            {"forget_label": [7, 4], "override_label": [1, 8], "prompts": TEXT},
            "prompts.concept: 'three' names class 3, but forget_label[1] is 4",
        ),
        (
            {"forget_label": [7, 3], "override_label": [1, 9], "prompts": TEXT},
            "prompts.replacement: 'eight' names class 8, but override_label[1] is 9",
        ),
        (
            {
                "forget_label": [7, 3],
                "override_label": [1, 8],
                "prompts": dict(TEXT, concept="seven", replacement="one"),
            },
            "prompts.concept: is one concept but forget_label is a list; give a list of concepts",
        ),
        (
            {"forget_label": [7, 3], "override_label": [1, 8], "prompts": TEXT, "methods": [TEACHER, ESD]},
            "prompts.concept: lists 2 concepts to forget, but 'ESD' (methods[1], ESDModule) forgets one",
        ),
    ],
)
def test_bad_lists_fail_in_one_line_naming_the_field_before_anything_runs(
    tmp_path, monkeypatch, capsys, changes, message
):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(write_spec(tmp_path, **changes))])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and f"sfd: error: {message}" in err, err
    assert not (tmp_path / "out").exists()


def test_each_method_trains_on_the_whole_list(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = read(tmp_path, override_label=[1, None, 6])
    sfd, retrain = (fit_args(m, spec, "f") for m in spec.methods[1:])
    assert "--model.init_args.forget_label=[0, 3, 5]" in sfd and "--model.init_args.override_label=[1, null, 6]" in sfd
    assert "--data.init_args.labels=[1, 2, 4, 6, 7, 8, 9]" in retrain and not any("forget_label" in a for a in retrain)
    assert read(tmp_path, override_label=4).override_label == [4, 4, 4]  # one override for every class
    text = read(tmp_path, forget_label=[7, 3], override_label=[1, 8], prompts=TEXT, methods=[TEACHER, SFD])
    concepts = [a for a in fit_args(text.methods[1], text, "f") if a.startswith("--data.init_args.concept")]
    assert concepts == [
        '--data.init_args.concepts=[{"concept": "seven", "replacement": "one"}, '
        '{"concept": "three", "replacement": "eight"}]'
    ]


def test_the_pair_options_keep_the_specs_list_where_not_given(tmp_path, monkeypatch):
    from sfd_lightning.compare.main import with_pair
    from sfd_lightning.errors import ConfigError

    monkeypatch.chdir(ROOT)
    spec = read(tmp_path)
    assert with_pair(spec, None, 2) == ["--override-label", "2"] and spec.override_label == [2, 2, 2]
    with pytest.raises(ConfigError, match=r"^--override-label: overrides class 0 with its own class"):
        with_pair(read(tmp_path), None, 0)


def digit_samples(path, forgotten_as):
    """Real digits, 12 a class, labelled by class; the images of each class in ``forgotten_as`` replaced by another
    class's (a method that shows that class instead)."""
    from sfd_lightning.data.digits import DigitsDataset

    data = DigitsDataset(split="all")
    labels = data.labels.numpy()
    pick = {c: np.flatnonzero(labels == c)[:12] for c in range(10)}
    images = np.concatenate([data.images.numpy()[pick[forgotten_as.get(c, c)]] for c in range(10)])
    np.savez(path, images=images, labels=np.repeat(np.arange(10), 12))
    return path


def test_samples_are_scored_per_forgotten_class_worst_mean_and_retained(tmp_path, monkeypatch):
    """Class 0 shown as 1 (forgotten), 3 and 5 still shown: forget accuracy 0 for class 0, the worst is 3's or 5's;
    the retained accuracy is a one-class sfd eval's on the samples without the other forgotten classes; the FID is
    over the retained classes only."""
    from sfd_lightning.compare import runner
    from sfd_lightning.compare.spec import Method
    from sfd_lightning.evaluate.main import evaluate

    monkeypatch.chdir(ROOT)
    spec = read(tmp_path)
    npz = digit_samples(tmp_path / "samples.npz", {0: 1})
    monkeypatch.setattr("sfd_lightning.sample.main.sample", lambda ckpt, out, **kw: np.savez(out, **dict(np.load(npz))))
    folder = tmp_path / "sfd"
    folder.mkdir()
    result = runner.evaluate(Method("SFD", 1, "none", config="c.yaml"), "c.ckpt", spec, str(folder))
    seed = json.loads((folder / "eval_s1.json").read_text())  # sfd eval's, with the list
    assert seed["classes"] == [1, 2, 4, 6, 7, 8, 9]  # the FID's: the retained classes only
    assert result["forget/accuracy_0"] == 0.0 and result["forget/override_rate"] == pytest.approx(
        seed["forget/override_rate"]
    )
    assert result["forget/override_rate"] >= 1 / 3  # every 0 shown as its override 1
    per_class = [result[f"forget/accuracy_{c}"] for c in (0, 3, 5)]
    assert result["forget/accuracy"] == max(per_class) > 0.5
    assert result["forget/accuracy_mean"] == pytest.approx(sum(per_class) / 3)
    assert result["fid_spread"] == 0.0 and result["fid"] >= 0  # two seeds, the same samples
    with np.load(npz) as data:
        keep = ~np.isin(data["labels"], [3, 5])
        np.savez(tmp_path / "without.npz", images=data["images"][keep], labels=data["labels"][keep])
    alone = evaluate(
        str(tmp_path / "without.npz"),
        metrics="forget",
        forget_label=0,
        classifier="assets/digits_classifier.pt",
        out=str(tmp_path / "alone.json"),
    )
    assert result["retained/accuracy"] == pytest.approx(alone["retained/accuracy"])


def test_the_worst_is_taken_of_the_seeds_means_so_it_is_one_of_the_per_class_columns():
    from sfd_lightning.compare.per_class import combine_seeds

    seeds = [
        {"forget/accuracy": 0.4, "forget/accuracy_0": 0.4, "forget/accuracy_3": 0.0, "retained/accuracy": 0.9},
        {"forget/accuracy": 0.2, "forget/accuracy_0": 0.0, "forget/accuracy_3": 0.2, "retained/accuracy": 0.7},
    ]
    out = combine_seeds(seeds, [0, 3])
    assert out["forget/accuracy_0"] == pytest.approx(0.2) and out["forget/accuracy_3"] == pytest.approx(0.1)
    assert out["forget/accuracy"] == pytest.approx(0.2)  # not 0.3, the mean of each seed's worst
    assert out["forget/accuracy_mean"] == pytest.approx(0.15) and out["retained/accuracy"] == pytest.approx(0.8)
    assert "forget/override_rate" not in out
    one = combine_seeds([{"forget/accuracy": 0.5, "retained/accuracy": 1.0}], [4])  # a list of one class
    assert one["forget/accuracy_4"] == one["forget/accuracy"] == one["forget/accuracy_mean"] == 0.5


def test_attacks_run_per_forgotten_class_and_each_column_keeps_the_worst(tmp_path, monkeypatch):
    from sfd_lightning.compare import runner
    from sfd_lightning.compare.spec import Method

    monkeypatch.chdir(ROOT)
    attack = {"n": 4, "eps": [0.5], "embedding_steps": [2], "teacher_steps": 2, "examples": "digits"}
    spec = read(tmp_path, attack=dict(attack, teacher="assets/digits_teacher.pt"))
    success = {0: (0.1, None), 3: (0.4, 0.2), 5: (0.3, None)}
    targets = []

    def fake_attack(ckpt, out, forget_label, **kwargs):
        targets.append((forget_label, out))
        noise, embedding = success[forget_label]
        rows = [
            {"target": "sfd", "attack": "noise", "budget": 0.5, "success": {"judge": noise}},
            {"target": "sfd", "attack": "embedding", "budget": 2, "success": {"judge": embedding}},
        ]
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "attack.json").write_text(json.dumps({"rows": rows}))

    monkeypatch.setattr("sfd_lightning.attack.main.attack", fake_attack)
    columns = runner.attack(Method("SFD", 1, "none", config="c"), "c.ckpt", spec, str(tmp_path / "sfd"))
    assert columns == {"noise eps 0.5": 0.4, "embedding 2 steps": 0.2}
    assert [(label, out.rsplit("/", 1)[1]) for label, out in targets] == [
        (0, "attack_0"),
        (3, "attack_3"),
        (5, "attack_5"),
    ]


def test_the_table_shows_each_forgotten_class_the_worst_and_the_mean(tmp_path):
    from sfd_lightning.compare.report import markdown, write

    row = {
        "method": "SFD",
        "data": "none",
        "forget/accuracy": 0.25,
        "forget/accuracy_0": 0.0,
        "forget/accuracy_3": 0.25,
        "forget/accuracy_mean": 0.125,
        "retained/accuracy": 0.9,
        "nfe": 1,
    }
    table = markdown([row]).splitlines()
    assert table[0].startswith(
        "| method | training data | forget acc. (worst) | forget acc. (0) | forget acc. (3) | forget acc. (mean) |"
        " override rate | retained acc. |"
    )
    assert table[2].startswith("| SFD | none | 25.0% | 0.0% | 25.0% | 12.5% | – | 90.0% |")
    write([row], str(tmp_path))
    head = (tmp_path / "compare.csv").read_text().splitlines()[0]
    assert head.startswith("method,data,forget/accuracy,forget/accuracy_0,forget/accuracy_3,forget/accuracy_mean,")
