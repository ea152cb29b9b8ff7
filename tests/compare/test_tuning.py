"""A compare method's ``tuned:`` record: the grid read from its sweep spec, the config's setting checked to be one of
the grid's, and the footnote that says both."""
import pytest
import yaml

from sfd_lightning.compare.tuning import read_tuning, tuning_note
from sfd_lightning.errors import ConfigError


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "esd.yaml"
    config.write_text(yaml.safe_dump({"model": {"init_args": {"eta": 1.0, "optimizer": {"init_args": {"lr": 3e-5}}}},
                                      "data": {"init_args": {"iterations": 100}}}))
    sweep = tmp_path / "tune.yaml"
    sweep.write_text(yaml.safe_dump({"name": "tune", "method": "grid", "command": ["sfd", "fit", "${args}"],
                                     "metric": {"name": "final/fid/ratio", "goal": "minimize"},
                                     "parameters": {"model.init_args.optimizer.init_args.lr": {"values": [1e-5, 3e-5, 1e-4]},
                                                    "data.init_args.iterations": {"values": [100, 300]},
                                                    "model.init_args.eta": {"values": [0.5, 1.0]}}}, sort_keys=False))
    return str(config), str(sweep)


def test_the_footnote_gives_the_grid_the_rule_and_the_setting(files):
    config, sweep = files
    tuning = read_tuning({"sweep": sweep, "constraint": "final/forget/accuracy<=0.05"}, config, [], "methods[2].tuned")
    assert tuning.chosen == {"model.init_args.optimizer.init_args.lr": 3e-5, "data.init_args.iterations": 100,
                             "model.init_args.eta": 1.0}
    note = tuning_note(tuning)
    assert note.startswith("tuned over lr {1e-05, 3e-05, 0.0001} x iterations {100, 300} x eta {0.5, 1} (12 runs, ")
    assert "the lowest final/fid/ratio among the settings with final/forget/accuracy<=0.05" in note
    assert note.endswith("this row: lr 3e-05, iterations 100, eta 1")
    overridden = read_tuning({"sweep": sweep, "constraint": "forget/accuracy<=0.05"}, config,
                             ["--model.init_args.eta=0.5"], "methods[2].tuned")
    assert overridden.chosen["model.init_args.eta"] == 0.5  # the method's args win over its config


def test_a_setting_outside_the_grid_or_a_bad_record_is_refused(files, tmp_path):
    config, sweep = files
    with pytest.raises(ConfigError, match=r"methods\[2\].tuned: the config's model.init_args.eta = 2.0 is not a setting"):
        read_tuning({"sweep": sweep, "constraint": "forget/accuracy<=0.05"}, config, ["--model.init_args.eta=2.0"], "methods[2].tuned")
    with pytest.raises(ConfigError, match=r"^methods\[2\].tuned.constraint: must read METRIC<=VALUE"):  # the spec's key
        read_tuning({"sweep": sweep, "constraint": "forget below five percent"}, config, [], "methods[2].tuned")
    with pytest.raises(ConfigError, match=r"methods\[2\].tuned: must be a mapping with sweep"):
        read_tuning({"sweep": sweep}, config, [], "methods[2].tuned")
    with pytest.raises(ConfigError, match=r"methods\[2\].tuned.sweep: no such sweep spec: 'missing.yaml'"):
        read_tuning({"sweep": "missing.yaml", "constraint": "forget/accuracy<=0.05"}, config, [], "methods[2].tuned")
    with pytest.raises(ConfigError, match="from a config"):
        read_tuning({"sweep": sweep, "constraint": "forget/accuracy<=0.05"}, None, [], "methods[2].tuned")
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump({"model": {"init_args": {}}}))
    with pytest.raises(ConfigError, match="the config sets no 'model.init_args.optimizer.init_args.lr'"):
        read_tuning({"sweep": sweep, "constraint": "forget/accuracy<=0.05"}, str(bare), [], "methods[2].tuned")
