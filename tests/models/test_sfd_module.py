"""SFDModule: frozen teacher, gradients into generator and fake score, checkpoints without the teacher."""

import copy

import pytest
import torch
from sfd_modules import fit, make_module, spy_on_steps

from sfd_lightning.errors import ConfigError
from sfd_lightning.models.reference_order import ReferencePassOrder
from sfd_lightning.models.sfd_settings import Guidance, LossWeights, Timesteps
from sfd_lightning.override import RandomOverride


def params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def test_teacher_frozen_and_networks_start_equal(tiny_denoiser):
    m = make_module(tiny_denoiser)
    assert not any(p.requires_grad for p in m.teacher.parameters())
    assert not m.teacher.training
    for net in (m.fake_score, m.generator):
        for (k, a), b in zip(net.state_dict().items(), m.teacher.state_dict().values()):
            torch.testing.assert_close(a, b)
    m.train()
    assert not m.teacher.training  # Lightning's .train() must not unfreeze it


def test_one_iteration_updates_generator_and_fake_score_never_teacher(tiny_denoiser, tmp_path):
    m = make_module(tiny_denoiser)
    before = params(m)
    teacher_before = copy.deepcopy(m.teacher.state_dict())
    fit(m, iterations=2, tmp_path=tmp_path)
    after = params(m)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("generator.") for k in changed)
    assert any(k.startswith("fake_score.") for k in changed)
    for k, v in m.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k
    assert all(p.grad is None for p in m.teacher.parameters())
    assert m.iteration == 2


def test_each_update_moves_only_its_own_network(tiny_denoiser, tmp_path):
    """Through the module's own steps in `Trainer.fit`: the generator update changes the generator only (the
    fake score and the teacher feel no step), the fake-score update the fake score only."""
    m = make_module(tiny_denoiser)
    log = spy_on_steps(m)
    fit(m, iterations=2, tmp_path=tmp_path)
    moved = [(step, sorted(name for name, keys in changes.items() if keys)) for step, changes in log]
    assert moved == [("fake_score_step", ["fake_score"]), ("generator_step", ["generator"])] * 2
    assert all(p.grad is None for p in m.teacher.parameters())


def test_forget_rows_ask_the_teacher_for_the_override_and_the_fake_score_for_the_forget_label(tiny_denoiser, tmp_path):
    """SFD's core, inside SFDModule: on the forget rows the generator and the fake score are conditioned on c_f
    and the teacher on c_o; the retained rows give all three their own label; every generator call has fresh noise."""
    m = make_module(tiny_denoiser, forget_label=0, override_label=1)
    calls = []
    for name in ("generator", "fake_score", "teacher"):
        net = getattr(m, name).net
        net.forward = (
            lambda forward, name: (
                lambda x, t, labels: calls.append((name, x.detach().clone(), labels.tolist())) or forward(x, t, labels)
            )
        )(net.forward, name)
    fit(m, iterations=1, tmp_path=tmp_path)
    retained = calls[0][2][:4]
    assert set(retained) <= {1, 2} and len(calls) == 5
    assert [(name, labels) for name, _, labels in calls] == [
        ("generator", retained + [0] * 4),
        ("fake_score", retained + [0] * 4),  # fake-score update
        ("generator", retained + [0] * 4),
        ("fake_score", retained + [0] * 4),
        ("teacher", retained + [1] * 4),
    ]
    fake_update_noise, generator_update_noise = calls[0][1], calls[2][1]
    rows = torch.cat([fake_update_noise, generator_update_noise]).flatten(1)
    assert len({tuple(r.tolist()) for r in rows}) == 16  # retained, forget, and both updates: all different noise


def test_loss_noise_is_no_copy_of_the_generator_noise(tiny_denoiser, tmp_path):
    """Data noise and the step's draws both derive from (seed, iteration, rank), in separate streams: the
    loss noise is no copy, shifted or not, of any noise the generator gets (one stream made it exactly z)."""
    m = make_module(
        tiny_denoiser, loss_weights=LossWeights(sg_forget=0.0, g_forget=0.0)
    )  # as many rows as labels: the streams lined up
    zs, noises = [], []
    draw = m.draw

    def spy(update, z):
        out = draw(update, z)
        zs.append(z.flatten())
        noises.append(out.noise.flatten())
        return out

    m.draw = spy
    fit(m, iterations=2, tmp_path=tmp_path)
    generator_noise = torch.cat(zs)
    for noise in noises:
        for start in range(0, len(noise), 64):
            window = noise[start : start + 16]
            assert not any(torch.equal(generator_noise[k : k + 16], window) for k in range(len(generator_noise) - 15))


def test_ema_tracks_generator(tiny_denoiser, tmp_path):
    m = make_module(tiny_denoiser, ema_decay=0.0)  # decay 0: the average is the latest generator
    fit(m, iterations=2, tmp_path=tmp_path)
    for a, b in zip(m.generator_ema.module.parameters(), m.generator.parameters()):
        torch.testing.assert_close(a, b)


def test_lr_schedule_steps_once_per_iteration_for_both_optimisers(tiny_denoiser, tmp_path):
    def schedule(opt):
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.1)

    module = make_module(
        tiny_denoiser, lr_scheduler=schedule, generator_optimizer=lambda p: torch.optim.Adam(p, lr=3e-4)
    )
    trainer = fit(module, iterations=3, tmp_path=tmp_path)
    fake_opt, gen_opt = trainer.optimizers
    assert fake_opt.param_groups[0]["lr"] == pytest.approx(1e-4)  # dropped after iteration 2, not after step 2 of 6
    assert gen_opt.param_groups[0]["lr"] == pytest.approx(3e-5)
    assert trainer.callback_metrics["lr/generator"] == pytest.approx(3e-5)


def test_checkpoint_omits_teacher_and_reloads(tiny_denoiser, tmp_path):
    m = make_module(tiny_denoiser)
    trainer = fit(m, iterations=1, tmp_path=tmp_path)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=False)
    keys = ckpt["state_dict"].keys()
    assert not any(k.startswith("teacher.") for k in keys)
    assert any(k.startswith("generator_ema.") for k in keys) and any(k.startswith("fake_score.") for k in keys)
    assert len(ckpt["optimizer_states"]) == 2
    fresh = make_module(tiny_denoiser, teacher=tiny_denoiser(seed=1))
    fresh.on_load_checkpoint(ckpt)
    fresh.load_state_dict(ckpt["state_dict"])
    for a, b in zip(fresh.generator.parameters(), m.generator.parameters()):
        torch.testing.assert_close(a, b)
    assert fresh.iteration == 1


def test_clip_fake_score_false_clips_the_generator_only(tiny_denoiser, tmp_path):
    from lightning.pytorch import Callback

    class MaxGrad(Callback):
        seen = []

        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            params = [p for group in optimizer.param_groups for p in group["params"]]
            self.seen.append(max(float(p.grad.abs().max()) for p in params if p.grad is not None))

    m = make_module(tiny_denoiser, grad_clip_value=1e-6, clip_fake_score=False)
    fit(m, iterations=1, tmp_path=tmp_path, callbacks=[MaxGrad()])
    fake_score_max, generator_max = MaxGrad.seen
    assert fake_score_max > 1e-6 >= generator_max


def test_fake_score_label_dropout_follows_guidance_unless_given(tiny_denoiser):
    """The reference drops 10% of the fake score's conditions whenever the fake score is guided."""

    def dropout(**guidance):
        return make_module(tiny_denoiser, guidance=Guidance(**guidance)).guidance.dropout

    assert dropout() == 0.0
    assert dropout(fake_score=4.5) == 0.1 and dropout(fake_score_train=4.5) == 0.1
    assert dropout(fake_score=4.5, label_dropout=0.2) == 0.2


def test_random_override_asks_the_teacher_for_other_classes(tiny_denoiser, tmp_path):
    """RandomOverride: the teacher's forget rows carry a retained class drawn afresh, never the forget label."""
    m = make_module(tiny_denoiser, override_label=None, override=RandomOverride())
    teacher_labels = []
    forward = m.teacher.net.forward
    m.teacher.net.forward = lambda x, t, labels: teacher_labels.append(labels.tolist()) or forward(x, t, labels)
    fit(m, iterations=3, tmp_path=tmp_path)
    overrides = [label for labels in teacher_labels for label in labels[4:]]  # rows 4..7: the forget rows
    assert len(overrides) == 12 and set(overrides) == {1, 2}


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(forget_label=3), "model.forget_label"),
        (dict(forget_label=-1), "model.forget_label"),
        (dict(override_label=0), "model.override_label"),
        (dict(override_label=5), "model.override_label"),
        (dict(override_label=None), "model.override_label"),
        (dict(override_label=2, override=RandomOverride()), "model.override_label"),
        (dict(num_classes=4), "model.num_classes"),
        (dict(timesteps=Timesteps(800, 400, 700)), "model.timesteps.t_min"),
        (dict(timesteps=Timesteps(20, 1000, 700)), "model.timesteps.t_init"),
        (dict(loss_weights=LossWeights(g_forget=-1.0)), "model.loss_weights.g_forget"),
        (dict(ema_decay=1.0), "model.ema_decay"),
        (dict(guidance=Guidance(label_dropout=1.0)), "model.guidance.label_dropout"),
        (dict(on_nonfinite="ignore"), "model.on_nonfinite"),
    ],
)
def test_bad_arguments_name_the_field(tiny_denoiser, kwargs, field):
    with pytest.raises(ConfigError) as err:
        make_module(tiny_denoiser, **kwargs)
    assert str(err.value).startswith(field + ":")


def test_two_stage_init_from_stage_one(tiny_denoiser, tmp_path):
    stage_one = make_module(tiny_denoiser, loss_weights=LossWeights(sg_forget=0.0, g_forget=0.0))
    fit(stage_one, iterations=2, tmp_path=tmp_path)
    path = tmp_path / "stage1.ckpt"
    torch.save({"state_dict": stage_one.export_state_dict()}, path)
    stage_two = make_module(tiny_denoiser, init_ckpt=str(path))
    for a, b in zip(stage_two.generator.parameters(), stage_one.generator_ema.module.parameters()):
        torch.testing.assert_close(a, b)
    for a, b in zip(stage_two.fake_score.parameters(), stage_one.fake_score.parameters()):
        torch.testing.assert_close(a, b)
    assert any(not torch.equal(g, t) for g, t in zip(stage_two.generator.parameters(), stage_two.teacher.parameters()))
    with pytest.raises(ConfigError, match="model.init_ckpt"):
        make_module(tiny_denoiser, init_ckpt=str(tmp_path / "missing.ckpt"))


@pytest.mark.slow  # ~25 s each
@pytest.mark.parametrize("policy", ["fixed", "random"])
def test_reference_pass_order_gives_the_same_updates(tiny_denoiser, tmp_path, policy):
    """The reference's pass order (retained, then forget passes; ``models/reference_order.py``) changes the
    speed, not the algorithm."""
    extra = {"override_label": None, "override": RandomOverride()} if policy == "random" else {}
    # SGD: updates linear in the gradients (Adam's normalisation would magnify float noise in near-zero gradients)
    extra.update(
        fake_score_optimizer=lambda p: torch.optim.SGD(p, lr=1e-2),
        generator_optimizer=lambda p: torch.optim.SGD(p, lr=1e-2),
    )
    batched, sequential = (
        make_module(tiny_denoiser, **extra),
        make_module(tiny_denoiser, cls=ReferencePassOrder, **extra),
    )
    fit(batched, iterations=3, tmp_path=tmp_path)
    fit(sequential, iterations=3, tmp_path=tmp_path)
    for name, value in params(batched).items():
        torch.testing.assert_close(params(sequential)[name], value, atol=2e-5, rtol=1e-4)
    moved = [
        n
        for n, v in params(batched).items()
        if n.startswith("generator.") and not torch.allclose(v, params(make_module(tiny_denoiser))[n])
    ]
    assert moved  # the comparison is between trained weights
