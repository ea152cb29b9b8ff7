"""``sfd attack`` on a short digits run: the table, JSON and plot, and bad input in one line."""
import json

import pytest

from project import ROOT, short_forget_config
from sfd_lightning.cli import main

SMALL = ["--n", "8", "--eps", "0,0.5", "--pgd-steps", "2", "--restarts", "1", "--embedding-steps", "0,2",
         "--teacher-steps", "2", "--pinpoint-k", "1", "--examples", "digits", "--reference", "digits"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attack")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        main(["fit", "--config", str(short_forget_config(tmp))])
    return next((tmp / "run").rglob("last.ckpt"))


def test_sfd_attack_writes_the_table_json_and_plot(ckpt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    main(["attack", "--ckpt", str(ckpt), *SMALL, "--out", str(tmp_path)])
    result = json.loads((tmp_path / "attack.json").read_text())
    assert result["forget_class"] == 0 and result["judges"] == ["surrogate", "judge"]
    assert {(r["attack"], r["target"]) for r in result["rows"]} == {(a, t) for a in ("noise", "embedding") for t in ("teacher", "sfd")}
    assert all("fid" in r for r in result["pinpoint"]["rows"])
    assert (tmp_path / "attack.png").exists()
    assert "| noise | eps 0.5 |" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--attack", "bogus"], "--attack: must be among"),
    (["--paraphrases", "configs/prompts/digits_seven_paraphrases.txt"], "--paraphrases: paraphrases attack prompt-conditional runs"),
    (["--teacher", "missing.pt"], "--teacher: the teacher 'missing.pt' does not exist"),
    (["--k-examples", "40"], "--k-examples: out of range"),
    (["--eps", "0,x"], "--eps: expected comma-separated numbers"),
])
def test_bad_input_is_one_line(ckpt, args, message, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["attack", "--ckpt", str(ckpt), *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
