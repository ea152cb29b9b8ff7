"""``sfd attack`` on a short digits run: the table, JSON and plot, and bad input in one line."""

import json

import pytest
from project import ROOT

from sfd_lightning.cli import main

SMALL = [
    "--n",
    "8",
    "--eps",
    "0,0.5",
    "--pgd-steps",
    "2",
    "--restarts",
    "1",
    "--embedding-steps",
    "0,2",
    "--teacher-steps",
    "2",
    "--pinpoint-k",
    "1",
    "--examples",
    "digits",
    "--reference",
    "digits",
    "--relearn-steps",
    "0,2",
    "--k-examples",
    "4",
]


@pytest.fixture
def ckpt(short_digits_run):
    return short_digits_run


def test_sfd_attack_writes_the_table_json_and_plot_and_joins_the_runs_wandb(ckpt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("WANDB_MODE", "offline")
    main(["attack", "--ckpt", str(ckpt), *SMALL, "--wandb-run", str(ckpt)])  # into <run>/attack/
    out = ckpt.parents[1] / "attack"
    result = json.loads((out / "attack.json").read_text())
    assert result["forget_class"] == 0 and result["judges"] == ["surrogate", "judge"]
    assert {(r["attack"], r["target"]) for r in result["rows"]} == {
        (a, t) for a in ("noise", "embedding", "relearn", "benign") for t in ("teacher", "sfd")
    }
    assert all("fid" in r for r in result["pinpoint"]["rows"])
    assert (out / "attack.png").exists()
    assert "| noise | eps 0.5 |" in capsys.readouterr().out
    run_id = ckpt.parents[1].name
    from wandb_records import run_summary

    summary = run_summary(ckpt.parents[3], run_id, wanted="attack/noise/0.5/sfd/judge")
    assert summary["attack/noise/0.5/sfd/judge"] == next(
        r["success"]["judge"]
        for r in result["rows"]
        if (r["attack"], r["budget"], r["target"]) == ("noise", 0.5, "sfd")
    )
    main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "exported")])  # the model card lists the attacks
    card = (tmp_path / "exported" / "README.md").read_text()
    assert "## Attacks on the forgetting" in card and "| noise | eps 0.5 |" in card


@pytest.mark.parametrize(
    "args, message",
    [
        (["--attack", "bogus"], "--attack: must be among"),
        (
            ["--paraphrases", "configs/prompts/digits_seven_paraphrases.txt"],
            "--paraphrases: paraphrases attack prompt-conditional runs",
        ),
        (["--teacher", "missing.pt"], "--teacher: the teacher 'missing.pt' does not exist"),
        (["--k-examples", "40"], "--k-examples: out of range"),
        (["--eps", "0,x"], "--eps: expected comma-separated numbers"),
        (["--eps", "0.5,inf"], "--eps: out of range"),  # an unbounded ball is no budget
        (["--relearn-steps", "0,-5"], "--relearn-steps: out of range"),
        (["--relearn-lr", "0"], "--relearn-lr: out of range"),
        (["--relearn-lr", "1e-4,x"], "--relearn-lr: expected comma-separated numbers"),
        (["--relearn-weights", "full,adapter"], "--relearn-weights: must be among full, lora"),
        (["--lora-rank", "0"], "--lora-rank: out of range"),
        # every learning rate finite and > 0 (nan, -5 and 1e39 were tracebacks inside Adam; inf ran and scored garbage)
        (["--prompt-lr", "nan"], "--prompt-lr: out of range: nan (allowed: finite numbers > 0 and <= 1,000)"),
        (["--prompt-lr=-5"], "--prompt-lr: out of range: -5.0 (allowed: finite numbers > 0 and <= 1,000)"),
        (["--relearn-lr", "1e-4,1e39"], "--relearn-lr: out of range: 1e+39 (allowed: finite numbers > 0 and <= 1,000)"),
        # every step budget bounded: 10^12 relearning steps ran silently for minutes
        (
            ["--relearn-steps", "0,1000000000000"],
            "--relearn-steps: out of range: 1000000000000 (allowed: finite numbers >= 0 and <= 100,000)",
        ),
        (["--relearn-steps", "0,inf"], "--relearn-steps: expected comma-separated whole numbers, got '0,inf'"),
        (["--embedding-steps", "0,2.5"], "--embedding-steps: expected comma-separated whole numbers"),
        (["--prompt-steps", "200000"], "--prompt-steps: out of range: 200000"),
        (["--pgd-steps", "200000"], "--pgd-steps: out of range: 200000"),
        (["--restarts", "101"], "--restarts: out of range: 101"),
        (["--teacher-steps", "0"], "--teacher-steps: out of range: 0 (allowed: finite numbers >= 1 and <= 1,000)"),
        (["--seed", "-1"], "--seed: out of range: -1"),
    ],
)
def test_bad_input_is_one_line(ckpt, args, message, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["attack", "--ckpt", str(ckpt), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_an_earlier_attack_is_kept_unless_overwrite(ckpt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "attack"
    out.mkdir()
    (out / "attack.json").write_text('{"earlier": true}')
    with pytest.raises(SystemExit) as exit_:
        main(["attack", "--ckpt", str(ckpt), *SMALL, "--attack", "noise", "--out", str(out)])
    assert exit_.value.code == 2 and "--out: " in capsys.readouterr().err
    assert json.loads((out / "attack.json").read_text()) == {"earlier": True}
    main(
        [
            "attack",
            "--ckpt",
            str(ckpt),
            *SMALL,
            "--attack",
            "noise",
            "--pinpoint-k",
            "0",
            "--skip-teacher",
            "--out",
            str(out),
            "--overwrite",
        ]
    )
    assert "rows" in json.loads((out / "attack.json").read_text())


TEXT = [
    "--ckpt",
    "assets/digits_text_teacher.pt",
    "--teacher",
    "assets/digits_text_teacher.pt",
    "--skip-teacher",
    "--attack",
    "prompt",
    "--concept",
    "seven",
    "--prompts",
    "configs/prompts/digits_captions.txt",
    "--n",
    "8",
    "--prompt-steps",
    "0,2",
    "--teacher-steps",
    "2",
    "--pinpoint-k",
    "0",
]


@pytest.mark.parametrize(
    "args, message",
    [
        # an infinite step destroyed the searched words, and the attack was scored as failed: 0%, robust forgetting
        (["--prompt-lr", "inf"], "--prompt-lr: out of range: inf (allowed: finite numbers > 0 and <= 1,000)"),
        # the words appended outweighed the forget prompt itself, and the table listed ~100,000 of them
        (
            ["--prompt-words", "100000"],
            "--prompt-words: the teacher, 2-step DDIM's text encoder reads at most {room} words "
            "after its longest forget prompt, got 100000",
        ),
    ],
)
def test_prompt_attack_settings_on_the_digits_text_model_are_one_line(args, message, tmp_path, run_cli, capsys):
    from sfd_lightning.attack.adversarial_prompt import MAX_PROMPT_TOKENS

    captions = (ROOT / "configs" / "prompts" / "digits_captions.txt").read_text().splitlines()
    room = MAX_PROMPT_TOKENS - max(len(c.split()) for c in captions if "seven" in c)
    assert run_cli(["attack", *TEXT, *args, "--out", str(tmp_path / "attack")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"sfd: error: {message.format(room=room)}"
    assert not (tmp_path / "attack").exists()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"attack": "bogus"}, "--attack: must be among"),
        ({"eps": [0, float("inf")]}, "--eps: out of range"),
        ({"embedding_steps": [0, 2.5]}, "--embedding-steps: expected comma-separated whole numbers"),
        ({"relearn_lr": [1e-4, 0]}, "--relearn-lr: out of range"),
        ({"relearn_weights": ["full", "adapter"]}, "--relearn-weights: must be among full, lora"),
    ],
)
def test_the_python_function_names_the_commands_options(ckpt, options, message, monkeypatch):
    """``attack(ckpt, ...)``: budgets and lists as Python lists (or the options' text), checked as ``sfd attack``
    checks them, errors naming its options, before any attack runs."""
    from sfd_lightning.attack.main import attack
    from sfd_lightning.errors import ConfigError

    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError, match=f"^{message}"):
        attack(str(ckpt), **options)
