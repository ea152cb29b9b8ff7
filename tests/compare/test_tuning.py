"""A compare method's ``tuned:`` record: the grid read from its sweep spec, the setting the method trains with (read
by ``sfd fit``'s own parser: its config, ``--config`` overlays and options) checked to be one of the grid's, and the
footnote that says both."""

import pytest
import yaml
from project import ROOT

from sfd_lightning.compare.tuning import read_tuning, tuning_note
from sfd_lightning.errors import ConfigError

CONFIG = "configs/baselines/digits_esd.yaml"  # lr 1e-4, 300 iterations, eta 0.5: the grid's best
SWEEP = "experiments/tuning/digits_esd.yaml"  # lr {1e-5, 3e-5, 1e-4} x iterations {100, 300} x eta {0.5, 1.0}
LR, ITERATIONS, ETA = "model.init_args.optimizer.init_args.lr", "data.init_args.iterations", "model.init_args.eta"


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def tuned(args, constraint="final/forget/accuracy<=0.05", sweep=SWEEP, config=CONFIG):
    return read_tuning({"sweep": sweep, "constraint": constraint}, config, args, "methods[2].tuned")


def test_the_footnote_gives_the_grid_the_rule_and_the_setting():
    tuning = tuned([])
    assert tuning.chosen == {LR: 1e-4, ITERATIONS: 300, ETA: 0.5}
    note = tuning_note(tuning)
    assert note.startswith("tuned over lr {1e-05, 3e-05, 0.0001} x iterations {100, 300} x eta {0.5, 1} (12 runs, ")
    assert "the lowest final/fid/ratio among the settings with final/forget/accuracy<=0.05" in note
    assert note.endswith("this row: lr 0.0001, iterations 300, eta 0.5")


def test_the_setting_is_what_the_run_trains_with_overlays_and_options_included(tmp_path):
    """A --config overlay and ``--key value`` (not only ``--key=value``) change what the run trains with, so they
    change the footnote; the last one given wins, as in sfd fit."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        yaml.safe_dump({"model": {"init_args": {"eta": 1.0}}, "data": {"init_args": {"iterations": 100}}})
    )
    tuning = tuned(["--config", str(overlay), f"--{LR}", "3e-5"])
    assert tuning.chosen == {LR: 3e-5, ITERATIONS: 100, ETA: 1.0}
    assert tuning_note(tuning).endswith("this row: lr 3e-05, iterations 100, eta 1")
    assert tuned(["--config", str(overlay), f"--{ETA}=0.5"]).chosen[ETA] == 0.5


@pytest.mark.parametrize(
    "make_args",
    [
        lambda overlay: ["--config", overlay],  # the red team's tiny overlay: lr 0.5, eta 7.5, 3 iterations
        lambda overlay: [f"--{LR}", "0.5"],
        lambda overlay: [f"--{LR}=0.5"],
    ],
)
def test_a_setting_outside_the_grid_is_refused_however_it_is_given(tmp_path, make_args):
    overlay = tmp_path / "tiny_esd.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "model": {"init_args": {"eta": 7.5, "optimizer": {"init_args": {"lr": 0.5}}}},
                "data": {"init_args": {"iterations": 3}},
            }
        )
    )
    outside = (
        r"^methods\[2\].tuned: the method trains with \S+ = (0.5|7.5|3) \(its config, overlays and args\), which is not"
    )
    with pytest.raises(ConfigError, match=outside):
        tuned(make_args(str(overlay)))


def test_a_bad_record_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"^methods\[2\].tuned.constraint: must read METRIC<=VALUE"):  # the spec's key
        tuned([], constraint="forget below five percent")
    with pytest.raises(ConfigError, match=r"methods\[2\].tuned: must be a mapping with sweep"):
        read_tuning({"sweep": SWEEP}, CONFIG, [], "methods[2].tuned")
    with pytest.raises(ConfigError, match=r"methods\[2\].tuned.sweep: no such sweep spec: 'missing.yaml'"):
        tuned([], sweep="missing.yaml")
    with pytest.raises(ConfigError, match="from a config"):
        tuned([], config=None)
    sweep = tmp_path / "tune.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {
                "name": "tune",
                "method": "grid",
                "command": ["sfd", "fit", "${args}"],
                "metric": {"name": "final/fid/ratio", "goal": "minimize"},
                "parameters": {"model.init_args.colour": {"values": [1, 2]}},
            }
        )
    )
    with pytest.raises(ConfigError, match="sfd fit has no option 'model.init_args.colour'"):
        tuned([], sweep=str(sweep))
    with pytest.raises(ConfigError, match=r"^methods\[2\].tuned: sfd fit does not read the method's config and args"):
        tuned(["--model.init_args.bogus=1"])
