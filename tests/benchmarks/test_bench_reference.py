"""``make bench REFERENCE=<clone>`` without the clone: the refusals of a bad REFERENCE, the arguments, the
timing arithmetic, the settings handed to the reference's loop, and the loop's CPU shims on a stand-in runner."""

import shutil
import subprocess
import types

import pytest
import torch

import benchmarks.bench as bench
import benchmarks.bench_reference as bench_reference
from benchmarks.bench_reference import periods, pooled_median, round_ratios, unet_changes
from benchmarks.reference_loop import (
    REFERENCE_COMMIT,
    LabelLoader,
    ReferenceSetupError,
    check_clone,
    check_imports,
    ddpm_config,
    run_train_sfd,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git_repo(path, with_loop: bool):
    path.mkdir()

    def git(*a):
        return subprocess.run(["git", "-C", str(path), *a], check=True, capture_output=True)

    git("init", "-q")
    if with_loop:
        (path / "DDPM" / "runners").mkdir(parents=True)
        (path / "DDPM" / "runners" / "diffusion.py").write_text("")
    (path / "README.md").write_text("not the reference\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return path


@needs_git
@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "no such folder; git clone https://github.com/tqch/score-forgetting-distillation DIR"),
        ("plain folder", "is not the top folder of a git clone"),
        ("subfolder of a clone", "is not the top folder of a git clone"),
        ("another repository", "has no DDPM/runners/diffusion.py: not a clone of"),
        ("wrong commit", f"not {REFERENCE_COMMIT}; run git -C"),
    ],
)
def test_a_bad_reference_is_one_line_naming_reference_and_the_fix(tmp_path, case, expected):
    path = {
        "missing": lambda: tmp_path / "nothing",
        "plain folder": lambda: tmp_path,
        "subfolder of a clone": lambda: git_repo(tmp_path / "clone", with_loop=True) / "DDPM",
        "another repository": lambda: git_repo(tmp_path / "other", with_loop=False),
        "wrong commit": lambda: git_repo(tmp_path / "clone", with_loop=True),
    }[case]()
    with pytest.raises(ReferenceSetupError) as err:
        check_clone(str(path))
    message = str(err.value)
    assert message.startswith(f"REFERENCE={path}") and expected in message and "\n" not in message


def test_a_missing_reference_import_names_the_install():
    with pytest.raises(
        ReferenceSetupError, match=r"^REFERENCE=/clone needs no_such_module_here, .* -m pip install einops"
    ):
        check_imports("/clone", ["torch", "no_such_module_here"])


def test_bench_refuses_a_bad_reference_before_building_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "build", lambda *a: pytest.fail("built a model for a bad REFERENCE"))
    with pytest.raises(SystemExit) as err:
        bench.main(["--reference", str(tmp_path / "nothing")])
    assert str(err.value).startswith(f"bench: REFERENCE={tmp_path / 'nothing'}: no such folder")
    assert "\n" not in str(err.value)


def test_arguments():
    args = bench.parse_args(["--reference", "/clone", "--rounds", "3", "--iterations", "4", "--warmup", "1"])
    assert (args.reference, args.rounds, args.iterations, args.warmup, args.batch_size) == ("/clone", 3, 4, 1, None)
    assert bench.parse_args([]).reference is None and bench.parse_args([]).warmup == 2
    for bad in (["--reference", "/clone", "--iteration-only"], ["--iterations", "0"], ["--warmup", "-1"]):
        with pytest.raises(SystemExit) as err:
            bench.parse_args(bad)
        assert err.value.code == 2


def test_periods_ratios_and_medians():
    assert periods([0.0, 1.0, 3.0, 6.0, 10.0], warmup=1) == [2.0, 3.0, 4.0]
    assert periods([5.0, 6.0], warmup=0) == [1.0]
    ours, theirs = [[1.0, 2.0, 9.0], [2.0, 2.0]], [[2.0, 2.0, 2.0], [1.0, 7.0]]
    assert round_ratios(ours, theirs) == [1.0, 0.5]  # medians 2/2, then 2/4
    assert pooled_median(ours) == 2.0 and pooled_median(theirs) == 2.0


def test_only_the_reference_unets_width_and_groups_change():
    digits = dict(ch=16, norm_groups=8, norm_eps=1e-6, gradient_checkpointing=False, ch_mult=[1, 2, 2])
    assert unet_changes(digits) == {"ch": (16, 128), "norm_groups": (8, 32)}
    assert unet_changes({**digits, "ch": 128, "norm_groups": 32}) == {}


def test_the_digits_config_is_handed_to_the_reference_loop_at_its_width():
    module, data, net, schedule, note = bench_reference.build_shared("configs/digits_forget_2stage.yaml", [])
    assert "ch 16 -> 128, norm_groups 8 -> 32" in note and "untrained weights" in note and "1x8x8" in note
    config = bench_reference.reference_config(module, net, schedule, data.batch_size, n_iters=5)
    m, d, s, g = config.model, config.distill, config.sg_optim, config.g_optim
    assert (m.ch, m.ch_mult, m.num_res_blocks, m.attn_resolutions, m.in_channels, m.out_ch) == (
        128,
        [1, 2, 2],
        1,
        [4],
        1,
        1,
    )
    assert (config.data.image_size, config.data.channels, config.data.n_classes, m.ema_rate) == (8, 1, 10, 0.995)
    assert (d.alpha, d.t_min, d.t_init, d.t_max, d.label_to_override) == (1.0, 38, 440, 712, 1)
    assert (d.sg_remain_coef, d.sg_forget_coef, d.g_remain_coef, d.g_forget_coef) == (1.0, 0.1, 1.0, 0.1)
    assert (s.lr, g.lr, s.beta1, s.beta2, s.grad_clip) == (3e-4, 1e-4, 0.0, 0.999, 1.0)
    assert (config.training.batch_size, config.training.n_iters, config.training.snapshot_freq) == (64, 5, 10**9)
    states = bench_reference.reference_states(module)
    assert len(states) == 6 and states[0].keys() == states[2].keys() == states[5].keys()
    assert torch.equal(states[5]["conv_in.weight"], module.generator_ema.module.net.conv_in.weight)


def stand_in_runner(seen):
    """A module shaped like the reference's ``runners.diffusion``: its loop asks NCCL for a group, wraps a
    network in DDP with device ids, reads its checkpoint and takes one batch an iteration."""
    runner = types.ModuleType("runners.diffusion")
    runner.get_forget_dataset = lambda *a, **k: pytest.fail("the real dataset was asked for")

    class Diffusion:
        def __init__(self, args, config):
            self.args, self.config = args, config

        def train_sfd(self):
            torch.distributed.init_process_group("nccl", init_method="env://")
            seen["backend"] = torch.distributed.get_backend()
            torch.nn.parallel.distributed.DistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
            seen["states"] = torch.load(self.args.init_ckpt, weights_only=True)
            batches = iter(runner.get_forget_dataset(self.args, self.config, self.args.label_to_forget)[0])
            seen["batches"] = [next(batches) for _ in range(self.config.training.n_iters)]

    runner.Diffusion = Diffusion
    return runner


def test_the_loop_runs_on_a_cpu_gloo_group_with_our_loader_and_checkpoint():
    seen = {}
    runner = stand_in_runner(seen)
    original = runner.get_forget_dataset
    config = ddpm_config({}, {}, {}, {}, {}, batch_size=3, n_iters=4, log_freq=50)
    loader = bench_reference.StampedLoader((1, 8, 8), bench_reference.retained_labels([1, 2, 3], 3))
    run_train_sfd(runner, config, [{"w": torch.ones(2)}, {}, {}, {}, 0, {}], loader, forget_label=0)
    assert seen["backend"] == "gloo" and not torch.distributed.is_initialized()
    assert torch.equal(seen["states"][0]["w"], torch.ones(2))
    assert [x.shape for x, _ in seen["batches"]] == [(3, 1, 8, 8)] * 4
    assert all(set(c.tolist()) <= {1, 2, 3} for _, c in seen["batches"])
    assert len(loader.stamps) == 4 and runner.get_forget_dataset is original
    assert torch.nn.parallel.DistributedDataParallel.__name__ == "DistributedDataParallel"


def test_label_loader_yields_placeholder_images_of_the_labels_batch():
    x, c = next(iter(LabelLoader((3, 4, 4), lambda: torch.tensor([5, 6]))))
    assert x.shape == (2, 3, 4, 4) and not x.any() and c.tolist() == [5, 6]


def test_their_iterations_are_the_gaps_between_batches_after_the_warm_up():
    config = ddpm_config({}, {}, {}, {}, {}, batch_size=2, n_iters=5, log_freq=50)
    times = bench_reference.time_theirs(
        stand_in_runner({}),
        config,
        [{}, {}, {}, {}, 0, {}],
        (1, 8, 8),
        bench_reference.retained_labels([1, 2], 2),
        forget_label=0,
        warmup=1,
    )
    assert len(times) == 3 and all(t >= 0 for t in times)  # 5 batches: 4 gaps, the first left out
