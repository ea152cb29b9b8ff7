"""The relearning attack: fine-tuning the attacked network in place and handing it back unchanged, the loss each
model gets, the judge kept out of every gradient, and a class a digits teacher was made to forget coming back."""

import pytest
import torch

from sfd_lightning.attack.harness import run_attacks
from sfd_lightning.attack.inputs import attack_examples
from sfd_lightning.attack.relearn import denoising_objective, relearn_curve, trainable
from sfd_lightning.attack.search_steps import Diverged
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.source import Source
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.protocol import rates
from sfd_lightning.pipelines.checkpoints import load_multistep
from sfd_lightning.pipelines.multi_step import MultiStepPipeline


def test_the_network_is_fine_tuned_in_place_and_handed_back_unchanged():
    net = torch.nn.Linear(2, 1).requires_grad_(False)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    target = torch.tensor(3.0)

    def loss(g):
        return (net.bias - target).square().sum()

    curve = relearn_curve(net, loss, lambda: {"bias": float(net.bias.detach())}, (0, 5, 50), lr=0.1, seed=0)
    assert sorted(curve) == [0, 5, 50]
    assert curve[0]["bias"] == pytest.approx(float(before["bias"])) and abs(curve[50]["bias"] - 3) < abs(
        curve[5]["bias"] - 3
    )
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    assert not any(p.requires_grad for p in net.parameters())
    with pytest.raises(RuntimeError, match="inside"), trainable(net):
        net.weight.data.add_(1.0)
        raise RuntimeError("inside")
    assert torch.equal(net.weight, before["weight"])  # restored after a failure too


def test_each_model_gets_its_own_loss_and_the_judge_never_sees_a_gradient(targets, context):
    ctx = context(
        n=8,
        relearn_steps=(0, 2),
        relearn_lr=(1e-3,),
        relearn_weights=("full", "lora"),
        lora_rank=2,
        pinpoint_k=0,
        attacks=("relearn", "benign"),
    )
    ctx.retained_examples = (ctx.examples[:4], torch.tensor([1, 2, 1, 2]))
    calls = []
    judge = ctx.judges["judge"]
    forward = judge.classifier.forward

    def watched(images):
        calls.append((torch.is_grad_enabled(), images.requires_grad))
        return forward(images)

    judge.classifier.forward = watched
    weights = {t.name: {k: v.clone() for k, v in t.net.state_dict().items()} for t in targets}
    result = run_attacks(list(targets), ctx, log=lambda m: None)
    rows = [(r["attack"], r["budget"], r["target"], r["loss"], r["weights"]) for r in result["rows"]]
    assert rows == [
        (attack, step, target, loss, weights)
        for attack in ("relearn", "benign")
        for target, loss in (("teacher", "denoising"), ("sfd", "mmd"))
        for weights in ("full", "lora r2")
        for step in (0, 2)
    ]
    assert all(r["lr"] == 1e-3 for r in result["rows"])
    assert calls and not any(enabled or requires for enabled, requires in calls)
    for t in targets:  # fine-tuned and LoRA-adapted in place, handed back as they were
        assert set(t.net.state_dict()) == set(weights[t.name])
        assert all(torch.equal(v, weights[t.name][k]) for k, v in t.net.state_dict().items())


@pytest.mark.parametrize("lora_rank, lr", [(0, 1e-3), (4, 1e-2)], ids=["full", "lora"])
def test_a_class_the_teacher_was_made_to_forget_comes_back_with_its_denoising_loss(lora_rank, lr):
    """The digits teacher made to forget 3 (its class-3 embedding row replaced by 8's: label 3 draws eights), then
    fine-tuned on 16 real threes under label 3, every weight or rank-4 LoRA adapters: the independent judge sees
    threes again."""
    device = torch.device("cpu")
    denoiser, _, _ = load_multistep(
        read_checkpoint(Source("assets/digits_teacher.pt", "--ckpt")), "assets/digits_teacher.pt", device
    )
    with torch.no_grad():
        denoiser.net.classes_emb.weight[3] = denoiser.net.classes_emb.weight[8]
    target = MultiStepPipeline(denoiser, 4)
    judges = {"judge": ClassifierJudge.load("assets/digits_judge.pt", "--judge", device, "attack judge judge")}
    z = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    threes = torch.full((64,), 3)

    def rate():
        with torch.no_grad():
            return rates(judges, target.generate(z, threes), torch.tensor(3))

    from sfd_lightning.attack.forget_spec import class_spec
    from sfd_lightning.attack.registry import AttackSettings

    settings = AttackSettings(attacks=("relearn",), k_examples=16)
    examples, _ = attack_examples("digits", class_spec(10, 3), target, settings, device)
    loss = denoising_objective(denoiser, examples, torch.full((16,), 3))
    curve = relearn_curve(target.net, loss, rate, (0, 60), lr=lr, seed=0, lora_rank=lora_rank)
    assert curve[0]["judge"] < 0.1 and curve[60]["judge"] > curve[0]["judge"] + 0.4


def test_fine_tuning_stops_where_the_loss_goes_non_finite_and_shows_its_progress(capsys):
    net = torch.nn.Linear(2, 1).requires_grad_(False)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    losses = iter([1.0, 1.0, float("nan")])

    def loss(g):
        return net.bias.sum() * 0 + next(losses)

    with pytest.raises(Diverged) as stop:
        relearn_curve(net, loss, lambda: {"bias": float(net.bias.detach())}, (2, 4), lr=0.1, seed=0, desc="relearn x")
    assert stop.value.step == 3 and sorted(stop.value.done) == [2]  # step 2 was judged; 4 never happens
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())  # handed back unchanged all the same
    assert capsys.readouterr().err.splitlines()[0].startswith("relearn x: 1/4 steps (")
