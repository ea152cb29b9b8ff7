"""LoRA SFD (``model.lora``): adapters on one frozen base shared with the teacher."""

import pytest
import torch
from sfd_modules import fit, make_module, spy_on_steps

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.folder import generator_of
from sfd_lightning.io.source import Source
from sfd_lightning.models.lora import LoRA
from sfd_lightning.models.sfd_settings import LossWeights


def lora_module(tiny_denoiser, rank=2, **kwargs):
    return make_module(tiny_denoiser, lora=LoRA(rank=rank), **kwargs)


def test_three_networks_equal_the_teacher_at_the_start_and_share_its_weights(tiny_denoiser):
    m = lora_module(tiny_denoiser)
    x, sigma, labels = torch.randn(4, 1, 8, 8), torch.tensor([0.5, 1.0, 2.0, 5.0]), torch.tensor([0, 1, 2, -1])
    want = m.teacher(x, sigma, labels)
    for net in (m.fake_score, m.generator, m.generator_ema.module):
        torch.testing.assert_close(net(x, sigma, labels), want, rtol=0, atol=0)
    teacher = {id(p) for p in m.teacher.parameters()}
    for net in (m.fake_score, m.generator, m.generator_ema.module):
        base = [p for n, p in net.named_parameters() if "lora_" not in n]
        assert base and all(id(p) in teacher for p in base)  # the teacher's tensors, not copies
        assert all(
            p.requires_grad == ("lora_" in n) for n, p in net.named_parameters() if net is not m.generator_ema.module
        )
    ema_adapters = {id(p) for n, p in m.generator_ema.module.named_parameters() if "lora_" in n}
    assert ema_adapters and not ema_adapters & {id(p) for p in m.generator.parameters()}


def test_each_update_moves_only_its_own_adapter_and_the_teacher_never(tiny_denoiser, tmp_path):
    m = lora_module(tiny_denoiser)
    log = spy_on_steps(m)
    fit(m, iterations=2, tmp_path=tmp_path)
    assert [name for name, _ in log] == ["fake_score_step", "generator_step"] * 2
    for step_name, changes in log:
        own = "fake_score" if step_name == "fake_score_step" else "generator"
        assert changes[own] and all("lora_" in k for k in changes[own]), changes[own][:3]
        assert not changes["teacher"] and not changes["generator" if own == "fake_score" else "fake_score"]
    assert all(p.grad is None and not p.requires_grad for p in m.teacher.parameters())
    ema_moved = [n for n, p in m.generator_ema.module.named_parameters() if "lora_B" in n and p.abs().sum() > 0]
    assert ema_moved  # the EMA follows the generator's adapters


def test_optimisers_hold_the_adapters_only(tiny_denoiser, tmp_path):
    m = lora_module(tiny_denoiser)
    trainer = fit(m, iterations=1, tmp_path=tmp_path)
    for opt, net in zip(trainer.optimizers, (m.fake_score, m.generator)):
        held = {id(p) for group in opt.param_groups for p in group["params"]}
        assert held == {id(p) for n, p in net.named_parameters() if "lora_" in n}


def test_checkpoint_holds_the_adapters_and_the_merged_generator(tiny_denoiser, tmp_path):
    """No frozen base in the checkpoint; its generator (what sfd sample and sfd export read) is the EMA generator
    with its adapters merged. (Exact resume: tests/test_faults.py.)"""
    first = lora_module(tiny_denoiser)
    trainer = fit(first, iterations=2, tmp_path=tmp_path / "first")
    path = tmp_path / "first.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    keys = ckpt["state_dict"].keys()
    assert not any(".base_layer." in k or k.startswith("teacher.") for k in keys)
    assert not any(k.startswith(("fake_score.", "generator.")) and "lora_" not in k for k in keys)
    ckpt["hyper_parameters"]["teacher"] = {"class_path": "built in Python here; sfd fit records the config"}
    meta, state = generator_of(ckpt, Source(str(path), "ckpt"))
    plain = tiny_denoiser()
    plain.load_state_dict(state)  # the network's own names, strictly
    x, sigma, labels = torch.randn(3, 1, 8, 8), torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0, 1, 2])
    # Merged W + BA against W x + B (A x): one more rounding per weight and per sum in each of the UNet's ~20 layers;
    # measured 1e-6 of outputs up to 4, the tolerance ~100 float32 eps
    torch.testing.assert_close(
        plain(x, sigma, labels), first.generator_ema.module(x, sigma, labels), rtol=1e-5, atol=1e-5
    )


def test_checkpoint_of_another_rank_base_or_full_run_is_refused(tiny_denoiser, tmp_path):
    m = lora_module(tiny_denoiser, rank=2)
    trainer = fit(m, iterations=1, tmp_path=tmp_path)
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    with pytest.raises(ConfigError, match=r"^model.lora.rank: .*another rank"):
        lora_module(tiny_denoiser, rank=4).on_load_checkpoint(torch.load(path, weights_only=True))
    with pytest.raises(ConfigError, match=r"^ckpt_path: its adapters were trained on another base"):
        lora_module(tiny_denoiser, teacher=tiny_denoiser(seed=1)).on_load_checkpoint(
            torch.load(path, weights_only=True)
        )
    full = make_module(tiny_denoiser)
    trainer = fit(full, iterations=1, tmp_path=tmp_path / "full")
    trainer.save_checkpoint(tmp_path / "full.ckpt")
    with pytest.raises(ConfigError, match=r"^ckpt_path: the checkpoint has no LoRA adapter"):
        lora_module(tiny_denoiser).on_load_checkpoint(torch.load(tmp_path / "full.ckpt", weights_only=True))


def test_two_stage_lora_starts_from_the_stage_one_networks_as_bases(tiny_denoiser, tmp_path):
    stage_one = make_module(tiny_denoiser, loss_weights=LossWeights(sg_forget=0.0, g_forget=0.0))
    fit(stage_one, iterations=2, tmp_path=tmp_path)
    path = tmp_path / "stage1.ckpt"
    torch.save({"state_dict": stage_one.export_state_dict()}, path)
    m = lora_module(tiny_denoiser, init_ckpt=str(path))
    x, sigma, labels = torch.randn(2, 1, 8, 8), torch.tensor([1.0, 2.0]), torch.tensor([0, 1])
    torch.testing.assert_close(m.generator(x, sigma, labels), stage_one.generator_ema.module(x, sigma, labels))
    torch.testing.assert_close(
        m.generator_ema.module(x, sigma, labels), stage_one.generator_ema.module(x, sigma, labels)
    )
    torch.testing.assert_close(m.fake_score(x, sigma, labels), stage_one.fake_score(x, sigma, labels))
    assert not torch.allclose(m.teacher(x, sigma, labels), m.generator(x, sigma, labels))  # the teacher stays itself
    fit(m, iterations=1, tmp_path=tmp_path / "two")
    exported = m.export_state_dict()  # merged, in the full run's layout: a third stage could start from it
    assert not any("lora_" in k or ".base_layer." in k for k in exported)
    assert set(exported) >= {k for k in stage_one.export_state_dict() if not k.endswith("n_averaged")}


@pytest.mark.parametrize(
    "lora, field",
    [
        (LoRA(rank=0), "model.lora.rank"),
        (LoRA(alpha=-1.0), "model.lora.alpha"),
        (LoRA(target_modules=["to_q"]), "model.lora.target_modules"),
        (LoRA(target_modules=[]), "model.lora.target_modules"),
    ],
)
def test_bad_lora_settings_name_the_field(tiny_denoiser, lora, field):
    with pytest.raises(ConfigError) as err:
        make_module(tiny_denoiser, lora=lora, teacher_ckpt="never/read.pt")
    assert str(err.value).startswith(field + ":")


def test_target_modules_choose_the_layers(tiny_denoiser):
    m = make_module(tiny_denoiser, lora=LoRA(rank=2, target_modules=["q", "proj_out"]))
    adapted = {n.split(".lora_")[0] for n, _ in m.generator.named_parameters() if "lora_" in n}
    assert adapted and {n.rsplit(".", 1)[1] for n in adapted} == {"q", "proj_out"}


def test_a_bfloat16_base_keeps_adapters_and_schedule_in_float32(tiny_denoiser, tmp_path):
    m = make_module(tiny_denoiser, lora=LoRA(rank=2, base_dtype="bfloat16"))
    assert {p.dtype for p in m.teacher.parameters()} == {torch.bfloat16}
    for net in (m.fake_score, m.generator, m.generator_ema.module):
        assert {p.dtype for n, p in net.named_parameters() if "lora_" in n} == {torch.float32}
    assert m.teacher.schedule.sigmas.dtype == torch.float32
    fit(m, iterations=1, tmp_path=tmp_path, precision="bf16-mixed")
    assert m.iteration == 1 and all(torch.isfinite(p).all() for p in m.generator.parameters())
    with pytest.raises(ConfigError, match="^model.lora.base_dtype: "):
        make_module(tiny_denoiser, lora=LoRA(base_dtype="int8"))


def test_a_generator_folder_as_stage_one_leaves_the_fake_scores_base_the_teachers(tiny_denoiser, tmp_path):
    """A folder (sfd export, a distilled UNet) sets the generator only: no copy of the teacher for the fake score."""
    from sfd_lightning.io.folder import write_folder

    stage_one = make_module(tiny_denoiser, loss_weights=LossWeights(sg_forget=0.0, g_forget=0.0))
    fit(stage_one, iterations=1, tmp_path=tmp_path)
    state = stage_one.generator_ema.module.state_dict()
    net = {
        "class_path": "sfd_lightning.models.components.DDPMUNet",
        "init_args": dict(
            in_channels=1,
            resolution=8,
            ch=8,
            ch_mult=[1, 2],
            num_res_blocks=1,
            attn_resolutions=[4],
            dropout=0.0,
            num_classes=3,
            norm_groups=4,
        ),
    }
    meta = {
        "format": "sfd-lightning/one-step-generator/1",
        "t_init": 400,
        "denoiser": {"class_path": "sfd_lightning.diffusion.VPDenoiser", "init_args": {"net": net}},
    }
    write_folder(meta, state, str(tmp_path / "folder"))
    m = lora_module(tiny_denoiser, init_ckpt=str(tmp_path / "folder"))
    teacher = {id(p) for p in m.teacher.parameters()}
    assert all(id(p) in teacher for n, p in m.fake_score.named_parameters() if "lora_" not in n)
    assert not any(id(p) in teacher for n, p in m.generator.named_parameters() if "lora_" not in n)
    x, sigma, labels = torch.randn(2, 1, 8, 8), torch.tensor([1.0, 2.0]), torch.tensor([0, 1])
    torch.testing.assert_close(m.generator(x, sigma, labels), stage_one.generator_ema.module(x, sigma, labels))


def digits_lora_args(tmp_path, *args):
    """``sfd fit`` of the digits config cut to one iteration, with the LoRA overlay."""
    from project import ROOT, short_forget_config

    config = short_forget_config(tmp_path, iterations=1, every_n_iterations=0, n_per_label=2, teacher_steps=2)
    return ["fit", "--config", str(config), "--config", str(ROOT / "configs" / "overlays" / "digits_lora.yaml"), *args]


@pytest.mark.parametrize("base_dtype", ["bfloat16", "float16"])
def test_a_half_precision_base_without_mixed_precision_is_refused_in_one_line(run_cli, capsys, tmp_path, base_dtype):
    assert run_cli(digits_lora_args(tmp_path, f"--model.init_args.lora.base_dtype={base_dtype}")) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(
            f"sfd: error: model.lora.base_dtype: {base_dtype} computes only under trainer.precision "
            "bf16-mixed or 16-mixed, got trainer.precision=None"
        )
        and "\n" not in err
    ), err
    assert not (tmp_path / "run").exists()  # refused before anything was built or written


def test_a_bfloat16_base_trains_under_bf16_mixed_with_the_digits_fused_adam(run_cli, tmp_path):
    """What the error above asks for works: value clipping beside fused Adam, and the callbacks' sampling."""
    args = digits_lora_args(
        tmp_path,
        "--model.init_args.lora.base_dtype=bfloat16",
        "--trainer.precision=bf16-mixed",
        "--trainer.logger=false",
    )
    assert run_cli(args) == 0
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["sfd_iteration"] == 1
