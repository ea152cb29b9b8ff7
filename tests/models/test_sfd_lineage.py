"""SFD over several classes and sequential requests on tiny networks: a list of one is today's run exactly, forget
rows cover every class evenly, and a release's lineage carries over to the next step and is enforced."""

import pytest
import torch
from helpers.sfd_modules import fit, make_module, noise_data

from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting import ForgetClass
from sfd_lightning.io.folder import FORMAT, write_folder
from sfd_lightning.override import RandomOverride


def weights(module):
    return {k: v.clone() for k, v in module.generator.state_dict().items()}


def test_a_list_of_one_trains_exactly_as_one_value(tiny_denoiser, tmp_path):
    one, listed = make_module(tiny_denoiser), make_module(tiny_denoiser, forget_label=[0], override_label=[1])
    data_one, data_listed = noise_data(one, 1), noise_data(listed, 1)
    data_one.setup(), data_listed.setup()
    for a, b in zip(data_one.batch_for(3).values(), data_listed.batch_for(3).values()):
        assert a.keys() == b.keys() == {"z", "labels"} and all(torch.equal(a[k], b[k]) for k in a)
    fit(one, iterations=2, tmp_path=tmp_path / "one")
    fit(listed, iterations=2, tmp_path=tmp_path / "listed")
    for (name, a), b in zip(weights(one).items(), weights(listed).values()):
        assert torch.equal(a, b), name  # the same operations in the same order: equal to the bit


def test_forget_rows_go_round_every_class_and_each_gets_its_override(tiny_denoiser):
    module = make_module(
        tiny_denoiser,
        teacher=tiny_denoiser(num_classes=6),
        num_classes=6,
        forget_label=[0, 3, 5],
        override_label=[1, 2, 4],
    )
    data = noise_data(module, 1, batch_size=8)
    data.forgotten = tuple(c.label for c in module.forget_classes)  # what setup takes from the model
    data.setup()
    counts = torch.zeros(6)
    for it in range(20):
        batch = data.batch_for(it)
        rows = batch["generator"]["forget_labels"]
        assert torch.equal(rows, batch["fake_score"]["forget_labels"])
        per_batch = torch.bincount(rows, minlength=6)
        assert per_batch[[1, 2, 4]].sum() == 0 and per_batch.max() - per_batch[[0, 3, 5]].min() <= 1
        counts += per_batch
        sfd = module.sfd_batch(batch["generator"])
        teacher = sfd.teacher(torch.zeros(16, 1, 8, 8))[8:]
        assert torch.equal(teacher, torch.tensor([1, 0, 0, 2, 0, 4])[rows])
    assert counts.sum() == 160 and counts[[0, 3, 5]].min() >= 45  # 53.3 each on average; the spare rows move round


def test_several_classes_train_with_a_policy_for_some(tiny_denoiser, tmp_path):
    module = make_module(
        tiny_denoiser,
        teacher=tiny_denoiser(num_classes=6),
        num_classes=6,
        forget_label=[0, 3],
        override_label=[1, None],
        override=RandomOverride(),
    )
    assert module.forget_classes == (ForgetClass(0, 1), ForgetClass(3, None))
    trainer = fit(module, iterations=2, tmp_path=tmp_path)
    assert trainer.datamodule.labels == [1, 2, 4, 5]  # every forgotten class left out of the retained rows


def release(tiny_denoiser, tmp_path, **kwargs):
    """A checkpoint of a finished forget-0 run (override 1), with its lineage."""
    module = make_module(tiny_denoiser, **kwargs)
    trainer = fit(module, iterations=1, tmp_path=tmp_path)
    path = tmp_path / "release.ckpt"
    trainer.save_checkpoint(path)
    return module, path


def test_a_sequential_step_forgets_the_union_and_extends_the_lineage(tiny_denoiser, tmp_path):
    first, path = release(tiny_denoiser, tmp_path)
    ckpt = torch.load(path, weights_only=False)
    (step_one,) = ckpt["sfd_lineage"]
    assert step_one["forget"] == {"classes": [{"label": 0, "override": 1}]} and len(step_one["teacher"]) == 16
    second = make_module(tiny_denoiser, previous=str(path), forget_label=2, override_label=1)
    assert second.forget_classes == (ForgetClass(0, 1), ForgetClass(2, 1))
    for a, b in zip(second.generator.parameters(), first.generator_ema.module.parameters()):
        torch.testing.assert_close(a, b)  # it starts from the release's generator
    trainer = fit(second, iterations=1, tmp_path=tmp_path / "second")
    assert trainer.datamodule.labels == [1]
    trainer.save_checkpoint(tmp_path / "second.ckpt")
    lineage = torch.load(tmp_path / "second.ckpt", weights_only=False)["sfd_lineage"]
    assert lineage[0] == step_one and lineage[1]["forget"] == {"classes": [{"label": 2, "override": 1}]}


def test_an_exported_release_carries_its_lineage(tiny_denoiser, tmp_path):
    first, path = release(tiny_denoiser, tmp_path)
    lineage = torch.load(path, weights_only=False)["sfd_lineage"]
    meta = {"format": FORMAT, "denoiser": {"class_path": "x"}, "t_init": 400, "lineage": lineage}
    write_folder(meta, first.generator_ema.module.state_dict(), str(tmp_path / "export"))
    second = make_module(tiny_denoiser, previous=str(tmp_path / "export"), forget_label=2, override_label=1)
    assert second.forget_classes == (ForgetClass(0, 1), ForgetClass(2, 1))
    del meta["lineage"]
    write_folder(meta, first.generator_ema.module.state_dict(), str(tmp_path / "bare"))
    with pytest.raises(ConfigError, match="^model.previous: .*bare' records no lineage"):
        make_module(tiny_denoiser, previous=str(tmp_path / "bare"), forget_label=2)


def test_a_release_of_another_teacher_or_beside_init_ckpt_is_refused(tiny_denoiser, tmp_path):
    _, path = release(tiny_denoiser, tmp_path)
    with pytest.raises(ConfigError, match="^model.previous: .* was made from another teacher"):
        make_module(tiny_denoiser, teacher=tiny_denoiser(seed=5), previous=str(path), forget_label=2)
    with pytest.raises(ConfigError, match="^model.previous: give model.previous or model.init_ckpt, not both"):
        make_module(tiny_denoiser, previous=str(path), init_ckpt=str(path), forget_label=2)
    with pytest.raises(ConfigError, match="^model.init_ckpt: .* already forgot something; continue it with model.prev"):
        make_module(tiny_denoiser, init_ckpt=str(path), forget_label=2)
    with pytest.raises(ConfigError, match="^model.forget_label: class 0 was forgotten before with override 1"):
        make_module(tiny_denoiser, previous=str(path), forget_label=0, override_label=2)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(forget_label=[]), "model.forget_label"),
        (dict(forget_label=[0, 0]), "model.forget_label"),
        (dict(forget_label=[0, 2], override_label=[1, 0]), "model.override_label"),
        (dict(forget_label=[0, 2], override_label=[1]), "model.override_label"),
    ],
)
def test_bad_forget_lists_are_refused_naming_the_field(tiny_denoiser, kwargs, field):
    with pytest.raises(ConfigError, match=f"^{field}: "):
        make_module(tiny_denoiser, **kwargs)


def test_a_forgotten_class_in_the_retained_labels_is_refused(tiny_denoiser):
    module = make_module(tiny_denoiser, forget_label=[0, 2], override_label=1)
    data = noise_data(module, 1, retained_labels=[1, 2])
    data.forgotten = (0, 2)
    with pytest.raises(ConfigError, match="^data.retained_labels: must not contain the forget label 2"):
        data.resolve_labels()
