"""The DDPM UNet against the SFD reference implementation, and ``load_teacher``.

``tests/fixtures/reference_ddpm.pt`` was made by ``tests/fixtures/make_reference_ddpm.py``: it built the
reference ``Conditional_Model`` (tqch/score-forgetting-distillation@3771028, ``DDPM/models/
diffusion.py``) with ch 128, ch_mult (1, 2), one res block, attention at 4px on 8x8 RGB inputs,
filled it with the seeded weights of ``helpers/seeded_weights.py``, and ran it in eval mode on six
stored inputs (conditional and null-class). It also holds the reference's key names and shapes
for that model and for the full CIFAR-10 model; it holds no weights.
"""

import pytest
import torch
from project import ROOT
from seeded_weights import seeded_state_dict

from sfd_lightning import ConfigError, load_teacher
from sfd_lightning.diffusion import VPDenoiser
from sfd_lightning.io.reference import unet_kwargs
from sfd_lightning.models.components import DDPMUNet

FIXTURE = torch.load(ROOT / "tests" / "fixtures" / "reference_ddpm.pt", weights_only=True)


def reference_config(fields):
    """The reference YAML's model/data sections for the fixture's flat field dict."""
    data = {"image_size": fields["image_size"], "n_classes": fields["n_classes"], "dataset": "CIFAR10"}
    model = {k: v for k, v in fields.items() if k not in data}
    model.update(var_type="fixedlarge", ema_rate=0.9999, ema=True)
    return {"model": model, "data": data, "diffusion": {"num_diffusion_timesteps": 1000}}


def write_reference_ckpt(path, model_state, ema_state=None, epoch=True):
    """A checkpoint laid out as the reference's DDPM trainer saves it (DDP keys, Adam state)."""
    params = [torch.nn.Parameter(v.clone()) for v in model_state.values()][:2]
    opt = torch.optim.Adam(params)
    opt.zero_grad()
    sum(p.sum() for p in params).backward()
    opt.step()
    states = [{"module." + k: v for k, v in model_state.items()}, opt.state_dict()] + ([3] if epoch else []) + [1234]
    if ema_state is not None:
        states.append(ema_state)
    torch.save(states, path)


@pytest.mark.parametrize("key", ["config", "cifar10_config"])
def test_state_dict_layout_matches_the_reference(key):
    shapes_key = "shapes" if key == "config" else "cifar10_shapes"
    ours = DDPMUNet(**unet_kwargs(reference_config(FIXTURE[key]))).state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == [(k, tuple(s)) for k, s in FIXTURE[shapes_key]]


def test_same_eps_as_the_reference_for_the_same_weights(tmp_path):
    """Max abs difference <= 1e-5 (float32, dropout off), conditional and null class, via the EMA weights."""
    ema = seeded_state_dict(FIXTURE["shapes"])
    other = seeded_state_dict(FIXTURE["shapes"], salt="training weights ")
    path = str(tmp_path / "ckpt.pth")
    write_reference_ckpt(path, other, ema)
    net = load_teacher(reference_config(FIXTURE["config"]), path)
    assert not net.training
    x, t, labels = FIXTURE["x"], FIXTURE["t"], FIXTURE["labels"]
    with torch.no_grad():
        eps, eps_null = net(x, t, labels), net(x, t, torch.full_like(labels, -1))
    assert (eps - FIXTURE["eps"]).abs().max() <= 1e-5
    assert (eps_null - FIXTURE["eps_null"]).abs().max() <= 1e-5
    # The training (non-EMA) weights are a different network: the check above could fail.
    raw = load_teacher(reference_config(FIXTURE["config"]), path, use_ema=False)
    with torch.no_grad():
        assert (raw(x, t, labels) - FIXTURE["eps"]).abs().max() > 1e-2


def test_checkpoint_without_ema_or_epoch_loads_model_weights(tmp_path):
    path = str(tmp_path / "ckpt.pth")
    write_reference_ckpt(path, seeded_state_dict(FIXTURE["shapes"]), ema_state=None, epoch=False)
    net = load_teacher(reference_config(FIXTURE["config"]), path)
    with torch.no_grad():
        torch.testing.assert_close(
            net(FIXTURE["x"], FIXTURE["t"], FIXTURE["labels"]), FIXTURE["eps"], atol=1e-5, rtol=0
        )


def test_mismatched_reference_config_names_the_key(tmp_path):
    path = str(tmp_path / "ckpt.pth")
    write_reference_ckpt(path, seeded_state_dict(FIXTURE["shapes"]))
    config = reference_config(dict(FIXTURE["config"], ch_mult=[1, 2, 2]))
    with pytest.raises(ConfigError, match="ckpt_path: .*does not match"):
        load_teacher(config, path)
    with pytest.raises(ConfigError, match="model_config.model: unknown fields \\['chmult'\\]"):
        load_teacher({"model": {**config["model"], "chmult": 1}, "data": config["data"]}, path)
    with pytest.raises(ConfigError, match="missing reference fields: data.n_classes"):
        load_teacher({"model": config["model"], "data": {"image_size": 8}}, path)


def test_any_width_builds_unlike_the_reference():
    net = DDPMUNet(
        in_channels=1,
        resolution=8,
        ch=16,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(4,),
        dropout=0.0,
        num_classes=3,
        norm_groups=8,
    )
    x = torch.randn(2, 1, 8, 8)
    out = net(x, torch.tensor([5, 600]), torch.tensor([2, -1]))
    assert out.shape == x.shape and torch.isfinite(out).all()
    torch.testing.assert_close(
        net(x, torch.tensor([5, 600]), None), net(x, torch.tensor([5, 600]), torch.tensor([-1, -1]))
    )


def test_load_teacher_reads_the_shipped_digits_asset():
    net = load_teacher(None, "assets/digits_teacher.pt")
    assert type(net).__name__ == "DDPMUNet" and not net.training
    assert net(torch.randn(2, 1, 8, 8), torch.tensor([10, 900]), torch.tensor([0, 1])).shape == (2, 1, 8, 8)


def test_sfd_module_takes_a_reference_teacher_checkpoint(tmp_path):
    """``model.teacher_ckpt`` accepts the reference format: the teacher's eps equals the fixture's."""
    from sfd_lightning.models import SFDModule

    path = str(tmp_path / "ckpt.pth")
    write_reference_ckpt(path, seeded_state_dict(FIXTURE["shapes"], salt="x"), seeded_state_dict(FIXTURE["shapes"]))
    net = DDPMUNet(**unet_kwargs(reference_config(FIXTURE["config"])))
    module = SFDModule(teacher=VPDenoiser(net), teacher_ckpt=path, num_classes=10)
    with torch.no_grad():
        eps = module.teacher.net(FIXTURE["x"], FIXTURE["t"], FIXTURE["labels"])
    assert (eps - FIXTURE["eps"]).abs().max() <= 1e-5
    with pytest.raises(ConfigError, match="model.init_ckpt: .*holds no fake score"):
        SFDModule(
            teacher=VPDenoiser(DDPMUNet(**unet_kwargs(reference_config(FIXTURE["config"])))),
            teacher_ckpt=path,
            init_ckpt=path,
            num_classes=10,
        )


def test_two_stage_from_a_reference_sfd_checkpoint(tmp_path):
    """``model.init_ckpt``: generator from the EMA shadow, fake score from element 0 of the SFD list."""
    from sfd_lightning.models import SFDModule

    shapes = FIXTURE["shapes"]
    fake, gen, ema = (seeded_state_dict(shapes, salt=s) for s in ("fake ", "gen ", "ema "))
    opt = {"state": {}, "param_groups": [{"lr": 1e-5, "params": []}]}
    path = str(tmp_path / "sfd.pth")
    torch.save([{"module." + k: v for k, v in fake.items()}, opt, gen, opt, 5000, ema], path)
    teacher_path = str(tmp_path / "ddpm.pth")
    write_reference_ckpt(teacher_path, seeded_state_dict(shapes))
    net = DDPMUNet(**unet_kwargs(reference_config(FIXTURE["config"])))
    module = SFDModule(teacher=VPDenoiser(net), teacher_ckpt=teacher_path, init_ckpt=path, num_classes=10)
    key = "conv_out.weight"
    assert torch.equal(module.generator.net.state_dict()[key], ema[key])
    assert torch.equal(module.generator_ema.module.net.state_dict()[key], ema[key])
    assert torch.equal(module.fake_score.net.state_dict()[key], fake[key])
    assert not torch.equal(module.teacher.net.state_dict()[key], ema[key])


def test_gradient_checkpointing_changes_memory_not_results():
    torch.manual_seed(0)
    kwargs = dict(
        in_channels=1,
        resolution=8,
        ch=16,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(4,),
        dropout=0.0,
        num_classes=3,
        norm_groups=8,
    )
    plain, ckpt = DDPMUNet(**kwargs), DDPMUNet(**kwargs, gradient_checkpointing=True)
    ckpt.load_state_dict(plain.state_dict())
    x, t, y = torch.randn(2, 1, 8, 8), torch.tensor([3, 700]), torch.tensor([0, 2])
    grads = []
    for net in (plain, ckpt):
        xi = x.clone().requires_grad_(True)
        net(xi, t, y).square().sum().backward()
        grads.append((xi.grad, net.conv_in.weight.grad))
    torch.testing.assert_close(grads[0], grads[1])
