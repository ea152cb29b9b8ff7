"""``sfd eval --forget-label 0,3``: several forgotten classes judged per class, the worst beside them; bad lists
refused in one line naming the option."""

import json

import numpy as np
import pytest
from project import ROOT

from sfd_lightning.errors import ConfigError
from sfd_lightning.evaluate.main import evaluate

CLASSIFIER = str(ROOT / "assets" / "digits_classifier.pt")


def forget_results(path, tmp_path, name, **options):
    return evaluate(
        str(path), metrics="forget", classifier=CLASSIFIER, out=str(tmp_path / name), device="cpu", **options
    )


def test_several_classes_are_each_the_rate_one_class_alone_gives(tmp_path, real_npz):
    alone = {c: forget_results(real_npz, tmp_path, f"{c}.json", forget_label=c) for c in (0, 3)}
    both = forget_results(real_npz, tmp_path, "both.json", forget_label=[0, 3], override_label=[1, None])
    for c in (0, 3):
        assert both[f"forget/accuracy_{c}"] == pytest.approx(alone[c]["forget/accuracy"])
        assert f"retained/accuracy_{c}" not in both
    rates = [alone[c]["forget/accuracy"] for c in (0, 3)]
    assert both["forget/accuracy"] == pytest.approx(max(rates))
    assert both["forget/accuracy_mean"] == pytest.approx(sum(rates) / 2)
    assert both["classes"] == [1, 2, 4, 5, 6, 7, 8, 9]
    counts = np.bincount(np.load(real_npz)["labels"])
    kept = both["classes"]
    expected = sum(alone[0][f"retained/accuracy_{c}"] * counts[c] for c in kept) / counts[kept].sum()
    assert both["retained/accuracy"] == pytest.approx(expected)
    assert not any(k.startswith("forget/accuracy_") for k in alone[0])  # one class: the keys it always had


def test_the_command_reads_comma_separated_lists(run_cli, tmp_path, real_npz):
    out = tmp_path / "cli.json"
    args = ["eval", str(real_npz), "--metrics", "forget", "--classifier", CLASSIFIER, "--device", "cpu"]
    assert run_cli([*args, "--forget-label", "0,3", "--override-label", "1", "--out", str(out)]) == 0
    cli = json.loads(out.read_text())
    python = forget_results(real_npz, tmp_path, "py.json", forget_label=[0, 3], override_label=1)
    assert cli == python and {"forget/accuracy_0", "forget/accuracy_3", "forget/override_rate"} <= set(cli)


@pytest.mark.parametrize(
    "forget, override, message",
    [
        ("0,0", None, "--forget-label: lists class 0 twice"),
        ("0,12", None, "--forget-label: 12 is not among the samples' labels"),
        ("0,x", None, "--forget-label: must be a class index or a comma-separated list"),
        ("0,3", "3", "--override-label: overrides class 0 with class 3, which is forgotten too"),
        ("0", "0", "--override-label: overrides class 0 with its own class"),
        ("0,3", "1,2,4", "--override-label: has 3 entries for 2 forgotten classes"),
    ],
)
def test_bad_lists_are_one_line_naming_the_option(run_cli, tmp_path, real_npz, capsys, forget, override, message):
    args = ["eval", str(real_npz), "--metrics", "forget", "--classifier", CLASSIFIER, "--forget-label", forget]
    args += ["--override-label", override] if override else []
    assert run_cli([*args, "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_the_python_function_checks_its_lists_too(tmp_path, real_npz):
    with pytest.raises(ConfigError, match="--forget-label: lists class 3 twice"):
        evaluate(str(real_npz), metrics="forget", forget_label=(3, 3), out=str(tmp_path / "x.json"))
    with pytest.raises(ConfigError, match="--override-label: must be a class index"):
        evaluate(str(real_npz), metrics="forget", forget_label=[0, 3], override_label=[1, True])
