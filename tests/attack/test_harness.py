"""A whole attack run on tiny networks: every attack and budget, judged by judges the attacks never use."""

import json

import torch
from conftest import tiny_classifier
from torch import nn

from sfd_lightning.attack.harness import run_attacks
from sfd_lightning.attack.report import flat, markdown, write


class SpyJudge(nn.Module):
    """A judge that records how it is called: with gradients enabled or on images that carry them."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x):
        self.calls.append((torch.is_grad_enabled(), x.requires_grad))
        return self.inner(x)


def surrogate_view(result):
    return [
        (r["attack"], r["budget"], r["target"], r["success"]["surrogate"], (r["retained"] or {}).get("surrogate"))
        for r in result["rows"]
    ]


def test_the_judge_never_enters_an_attacks_gradient(targets, context):
    spy = SpyJudge(tiny_classifier(1, mlp=True))
    with_spy = run_attacks(targets, context(judge=spy, attacks=("noise", "embedding")), log=lambda _: None)
    assert spy.calls and not any(grad or requires for grad, requires in spy.calls)
    # another judge entirely: the attacks find the same samples (the surrogate's verdicts do not change)
    other = run_attacks(
        targets, context(judge=tiny_classifier(7, mlp=True), attacks=("noise", "embedding")), log=lambda _: None
    )
    assert surrogate_view(with_spy) == surrogate_view(other)


def test_a_run_has_every_attack_budget_and_target_and_writes_its_report(targets, context, tmp_path):
    result = run_attacks(targets, context(attacks=("noise", "embedding")), log=lambda _: None)
    seen = {(r["attack"], r["budget"], r["target"]) for r in result["rows"]}
    assert seen == {
        (a, b, t)
        for a, budgets in (("noise", (0.0, 0.5)), ("embedding", (0, 10)))
        for b in budgets
        for t in ("teacher", "sfd")
    }
    noise = [r for r in result["rows"] if r["attack"] == "noise"]
    assert all(set(r["retained"]) == {"surrogate", "judge"} for r in noise)
    assert all(0.0 <= v <= 1.0 for r in result["rows"] for v in r["success"].values())
    pin = result["pinpoint"]
    assert len(pin["classes"]) == 1 and pin["classes"][0] in (1, 2)
    paths = write(result, str(tmp_path))
    assert json.loads(open(paths["json"]).read())["rows"] == result["rows"]
    table = markdown(result)
    assert "| noise | eps 0.5 |" in table and "| embedding | 10 steps |" in table and "Nearest classes" in table
    assert (tmp_path / "attack.png").stat().st_size > 1000
    assert flat(result)["attack/noise/0.5/sfd/judge"] == noise[-1]["success"]["judge"]


def test_noise_rates_at_zero_budget_are_the_unattacked_samples(targets, context):
    ctx = context(attacks=("noise",), eps=(0.0,), pinpoint_k=0)
    result = run_attacks(targets, ctx, log=lambda _: None)
    teacher, sfd = targets
    z0 = ctx.noise(16, sfd.shape)
    with torch.no_grad():
        pred = ctx.judges["judge"].classes(sfd.generate(z0, torch.zeros(16, dtype=torch.long)))
    row = next(r for r in result["rows"] if r["target"] == "sfd")
    assert row["success"]["judge"] == (pred == 0).float().mean().item()


def test_a_prompt_search_that_diverges_is_marked_diverged_not_scored(tmp_path, capsys):
    """``sfd attack --prompt-lr inf`` on the digits text model used to report 0% after 2 steps with the words 'a a a'
    (every NaN embedding projects onto word 0): a destroyed search read as robust forgetting. The options now refuse
    inf; a search that still goes non-finite stops, and its later budgets are rows marked diverged."""
    from project import ROOT

    from sfd_lightning.attack.adversarial_prompt import adversarial_prompt_rows
    from sfd_lightning.attack.context import AttackContext
    from sfd_lightning.attack.forget_spec import prompt_spec
    from sfd_lightning.attack.inputs import DIGIT_WORDS
    from sfd_lightning.attack.registry import AttackSettings
    from sfd_lightning.data.prompt_files import read_prompt_file
    from sfd_lightning.judges.classifier import ClassifierJudge
    from sfd_lightning.judges.protocol import Surrogate
    from sfd_lightning.pipelines.load import load_pipeline

    teacher = str(ROOT / "assets" / "digits_text_teacher.pt")
    target = load_pipeline(teacher, steps=2, device=torch.device("cpu"))
    spec = prompt_spec(
        read_prompt_file(str(ROOT / "configs" / "prompts" / "digits_captions.txt"), "--prompts"), "seven", DIGIT_WORDS
    )
    surrogate = ClassifierJudge.load(
        str(ROOT / "assets" / "digits_classifier.pt"), "--surrogate", torch.device("cpu"), "attack judge surrogate"
    )
    settings = AttackSettings(
        attacks=("prompt",), n=8, prompt_steps=(0, 2, 4), prompt_lr=float("inf"), embedding_batch=4, pinpoint_k=0
    )
    ctx = AttackContext(spec, Surrogate(surrogate), {"surrogate": surrogate}, settings, torch.device("cpu"))
    rows = adversarial_prompt_rows(target, ctx)
    assert [(r["budget"], r.get("diverged")) for r in rows] == [(0, None), (2, 1), (4, 1)]
    assert rows[0]["success"]["surrogate"] is not None and rows[1]["success"] == {"surrogate": None}
    err = capsys.readouterr().err
    assert (
        "attack prompt on the teacher, 2-step DDIM: the search went non-finite (NaN or infinite) at step 1; its "
        "budgets from 1 steps on are marked diverged, not scored (lower --prompt-lr)"
    ) in err.splitlines()
    result = {
        "forget_class": 7,
        "forget": spec.forget,
        "judges": ["surrogate"],
        "rows": rows,
        "targets": {"model": {"description": target.description, "nfe": 2}},
    }
    table = write(result, str(tmp_path))
    text = (tmp_path / "attack.md").read_text()
    assert "| prompt | 2 steps | diverged | – |" in text and "| prompt | 4 steps | diverged | – |" in text
    assert "diverged: the attack's search went non-finite" in text and "'a a a'" not in text
    assert "png" in table and flat(result) == {"attack/prompt/0/model/surrogate": rows[0]["success"]["surrogate"]}
