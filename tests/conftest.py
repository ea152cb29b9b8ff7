"""Shared fixtures: tiny networks built in the tests, the repository root, and CLI runners."""

from sfd_lightning.runtime.openmp import prefer_passive_wait

prefer_passive_wait()  # as the sfd command does, before torch loads; the processes the tests start inherit it

import pytest  # noqa: E402
import torch  # noqa: E402
from project import ROOT  # noqa: E402  (tests/helpers is on the path: setup.cfg's pythonpath)

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def user_cache(tmp_path_factory, monkeypatch):
    """Each test its own user result cache (``SFD_CACHE_DIR``, inherited by subprocesses): never ~/.cache, and
    no result computed by one test read by another."""
    path = tmp_path_factory.mktemp("user_cache")
    monkeypatch.setenv("SFD_CACHE_DIR", str(path))
    return path


@pytest.fixture
def tiny_denoiser():
    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.models.components import DDPMUNet

    def make(num_classes: int = 3, ch: int = 8, seed: int = 0):
        torch.manual_seed(seed)
        net = DDPMUNet(
            in_channels=1,
            resolution=8,
            ch=ch,
            ch_mult=(1, 2),
            num_res_blocks=1,
            attn_resolutions=(4,),
            dropout=0.0,
            num_classes=num_classes,
            norm_groups=4,
        )
        return VPDenoiser(net)

    return make


@pytest.fixture
def built_on(monkeypatch):
    """The devices of the UNets built while the test runs (``meta``: a skeleton that allocated nothing)."""
    from sfd_lightning.models.components import ddpm_unet

    devices = []
    init = ddpm_unet.DDPMUNet.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        devices.append(next(self.parameters()).device.type)

    monkeypatch.setattr(ddpm_unet.DDPMUNet, "__init__", recording_init)
    return devices


@pytest.fixture
def run_cli(monkeypatch, tmp_path):
    """Run ``sfd ARGS`` in-process from the repo root; returns (exit code, stderr text)."""
    from sfd_lightning.cli import main

    def run(args, capsys=None):
        monkeypatch.chdir(ROOT)
        try:
            main(list(args))
            return 0
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 1

    return run


@pytest.fixture(scope="session")
def short_digits_run(tmp_path_factory):
    """The checkpoint of a three-iteration digits forgetting run (``short_forget_config``), shared by the tests
    that read one (export, attack): one short ``sfd fit`` per session."""
    from project import short_forget_config

    from sfd_lightning.cli import main

    tmp = tmp_path_factory.mktemp("short_digits_run")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setenv("SFD_CACHE_DIR", str(tmp / "user_cache"))
        main(["fit", "--config", str(short_forget_config(tmp))])
    return next((tmp / "run").rglob("last.ckpt"))


@pytest.fixture(scope="session")
def tiny_sd_run(tmp_path_factory):
    """(checkpoint, tiny CLIP folder) of a two-iteration SFD run on a tiny random Stable Diffusion
    (``configs/sd_nudity_forget.yaml`` without its nudity callback), shared by the tests that read one (benchmark)."""
    import yaml
    from tiny_sd import make_tiny_clip, make_tiny_sd, tiny_sd_config

    from sfd_lightning.cli import main

    root = tmp_path_factory.mktemp("tiny_sd_run")
    tiny = (make_tiny_sd(root / "sd"), make_tiny_clip(root / "clip"))
    config = tiny_sd_config("sd_nudity_forget.yaml", root, tiny)
    config["trainer"]["callbacks"] = [c for c in config["trainer"]["callbacks"] if "Nudity" not in str(c)]
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setenv("SFD_CACHE_DIR", str(root / "user_cache"))
        main(["fit", "--config", str(root / "config.yaml")])
    return next((root / "logs").rglob("last.ckpt")), tiny[1]
