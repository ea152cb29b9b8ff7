"""Nothing runs from a file a user loads: crafted checkpoints at every entry point are refused, in one line,
with nothing executed and nothing imported; the shipped assets still load; a user's own classes need an opt-in."""

import functools
import os
import sys

import pytest
import torch
from project import ASSETS, ROOT

from sfd_lightning.cli import main
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.allow_list import TRUST_ENV, resolve_class
from sfd_lightning.io.asset import FORMAT, load_exported
from sfd_lightning.io.source import Source

PAYLOAD_MODULE = "sfd_payload_probe"  # written into tmp_path; importing it creates a marker file


def payloads(marker):
    """Configs that would run code, or build what is not a network, if rebuilt blindly."""
    touch = ["touch", str(marker)]
    return {
        "subprocess": {"class_path": "subprocess.Popen", "init_args": {"args": touch}},
        "os.system": {"class_path": "os.system", "init_args": {"command": f"touch {marker}"}},
        "eval": {"class_path": "builtins.eval", "init_args": {"source": f"open({str(marker)!r}, 'w')"}},
        "non-module": {"class_path": "sfd_lightning.data.noise.NoiseLabelDataModule", "init_args": {}},
        "re-export": {"class_path": "sfd_lightning.io.atomic.TorchCheckpointIO", "init_args": {}},
        "nested": {
            "class_path": "sfd_lightning.diffusion.VPDenoiser",
            "init_args": {"net": {"class_path": "subprocess.Popen", "init_args": {"args": touch}}},
        },
        "import side effect": {"class_path": f"{PAYLOAD_MODULE}.Net", "init_args": {}},
    }


KINDS = list(payloads("m"))


@pytest.fixture
def crafted(tmp_path, monkeypatch):
    """(marker, write(kind, payload_name) -> path): an asset of the given kind whose config is a payload."""
    marker = tmp_path / "PWNED"
    (tmp_path / f"{PAYLOAD_MODULE}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nfrom torch import nn\n\n\nclass Net(nn.Linear):\n"
        "    def __init__(self):\n        super().__init__(2, 2)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(TRUST_ENV, "")  # restored after the test, whatever the code under test sets
    sys.modules.pop(PAYLOAD_MODULE, None)
    teacher = torch.load(ASSETS / "digits_teacher.pt", weights_only=True)

    def write(kind: str, name: str) -> str:
        path = tmp_path / f"{kind}_{name.replace(' ', '_')}.pt"
        torch.save(
            {"format": FORMAT.format(kind=kind), "config": payloads(marker)[name], "state_dict": teacher["state_dict"]},
            path,
        )
        return str(path)

    yield marker, write
    sys.modules.pop(PAYLOAD_MODULE, None)


def assert_refused(message: str, field: str, path: str, marker) -> None:
    assert not marker.exists(), "the crafted file ran code"
    assert PAYLOAD_MODULE not in sys.modules, "the crafted file's module was imported"
    assert "\n" not in message.strip(), message
    assert field in message and path in message and "not allowed" in message, message


def run_sfd(run_cli, capsys, *args) -> str:
    """``sfd ARGS`` in-process; it must fail as bad input (status 2); its stderr."""
    assert run_cli(args) == 2
    return capsys.readouterr().err.strip()


@pytest.mark.parametrize("name", KINDS)
def test_sfd_sample_refuses_a_crafted_teacher(crafted, run_cli, capsys, tmp_path, name):
    marker, write = crafted
    path = write("denoiser", name)
    err = run_sfd(
        run_cli,
        capsys,
        "sample",
        "--ckpt",
        path,
        "--steps",
        "1",
        "--n-per-label",
        "1",
        "--out",
        str(tmp_path / "x.npz"),
    )
    assert err.startswith("sfd: error: --ckpt:")
    assert_refused(err, "--ckpt", path, marker)


@pytest.mark.parametrize("section", ["teacher", "autoencoder"])
def test_sfd_sample_refuses_crafted_hyperparameters_of_a_lightning_checkpoint(
    crafted, run_cli, capsys, tmp_path, section
):
    marker, _ = crafted
    teacher = torch.load(ASSETS / "digits_teacher.pt", weights_only=True)
    hparams = {"teacher": teacher["config"], "timesteps": {"t_init": 440}}
    hparams[section] = payloads(marker)["subprocess"]
    path = str(tmp_path / "last.ckpt")
    torch.save(
        {
            "hyper_parameters": hparams,
            "state_dict": {f"generator_ema.module.{k}": v for k, v in teacher["state_dict"].items()},
        },
        path,
    )
    err = run_sfd(run_cli, capsys, "sample", "--ckpt", path, "--n-per-label", "1", "--out", str(tmp_path / "x.npz"))
    assert_refused(err, "--ckpt", path, marker)


@pytest.mark.parametrize("flag", ["--classifier", "--features"])
@pytest.mark.parametrize("name", ["subprocess", "nested", "import side effect"])
def test_sfd_eval_refuses_a_crafted_classifier(crafted, run_cli, capsys, tmp_path, flag, name):
    marker, write = crafted
    path = write("classifier", name)
    samples = tmp_path / "s.npz"
    import numpy as np

    np.savez(samples, images=np.zeros((4, 1, 8, 8), np.float32), labels=np.arange(4))
    args = (
        ["--metrics", "forget", "--forget-label", "0", "--classifier", path]
        if flag == "--classifier"
        else ["--metrics", "fid", "--reference", "digits", "--features", f"classifier:{path}"]
    )
    err = run_sfd(run_cli, capsys, "eval", str(samples), "--out", str(tmp_path / "m.json"), *args)
    assert_refused(err, flag, path, marker)


def classifier_entry_points():
    """Every constructor that rebuilds a classifier asset, with the field its errors name."""
    from sfd_lightning.callbacks.clip_score import CLIPScoreCallback
    from sfd_lightning.callbacks.forget_accuracy import ForgetAccuracyCallback
    from sfd_lightning.callbacks.prompt_accuracy import PromptAccuracyCallback
    from sfd_lightning.metrics.features import ClassifierFeatures
    from sfd_lightning.override import ClassifierOverride

    return {
        "override": (lambda p, _: ClassifierOverride(classifier_ckpt=p), "model.override.init_args.classifier_ckpt"),
        "forget accuracy": (
            lambda p, _: ForgetAccuracyCallback(classifier_ckpt=p),
            "ForgetAccuracyCallback.classifier_ckpt",
        ),
        "prompt accuracy": (
            lambda p, _: PromptAccuracyCallback(classifier_ckpt=p, class_words=["zero"]),
            "PromptAccuracyCallback.classifier_ckpt",
        ),
        "features": (lambda p, _: ClassifierFeatures(classifier_ckpt=p), "feature_extractor.init_args.classifier_ckpt"),
        "clip detector": (
            lambda p, clip: CLIPScoreCallback(clip_model=clip, detector_ckpt=p),
            "CLIPScoreCallback.detector_ckpt",
        ),
    }


@pytest.mark.parametrize("entry", list(classifier_entry_points()))
@pytest.mark.parametrize("name", KINDS)
def test_classifier_assets_are_refused_at_every_entry_point(crafted, tmp_path, entry, name):
    marker, write = crafted
    make, field = classifier_entry_points()[entry]
    clip = None
    if entry == "clip detector":
        from tiny_sd import make_tiny_clip

        clip = str(make_tiny_clip(tmp_path / "clip"))
    path = write("classifier", name)
    with pytest.raises(ConfigError) as err:
        make(path, clip)
    assert_refused(str(err.value), field, path, marker)


@pytest.mark.parametrize("name", ["subprocess", "os.system", "nested", "import side effect"])
def test_load_teacher_refuses_a_crafted_asset(crafted, name):
    from sfd_lightning.io.teacher import load_teacher

    marker, write = crafted
    path = write("denoiser", name)
    with pytest.raises(ConfigError) as err:
        load_teacher(None, path)
    assert_refused(str(err.value), "model_config", path, marker)


@pytest.mark.parametrize("field", ["teacher_ckpt", "init_ckpt"])
def test_teacher_and_init_checkpoints_are_read_as_weights_only(crafted, tmp_path, field):
    """``model.teacher_ckpt``/``init_ckpt`` load weights into the YAML's own architecture: a crafted config is
    never rebuilt, and a pickled object (one whose unpickling would call os.system) is refused by torch."""
    from sfd_lightning.io.build import build
    from sfd_lightning.models.sfd_module import SFDModule

    marker, write = crafted
    teacher_asset = str(ASSETS / "digits_teacher.pt")
    net = build(torch.load(teacher_asset, weights_only=True)["config"], Source(teacher_asset, "config"))
    other = {"init_ckpt": None, "teacher_ckpt": teacher_asset}
    SFDModule(teacher=net, **{**other, field: write("denoiser", "subprocess")})  # weights taken, config unused
    assert not marker.exists() and PAYLOAD_MODULE not in sys.modules

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    pickled = tmp_path / "exploit.pt"
    torch.save({"state_dict": Exploit()}, pickled)
    with pytest.raises(ConfigError) as err:
        SFDModule(teacher=net, **{**other, field: str(pickled)})
    assert str(err.value).startswith(f"model.{field}: cannot read checkpoint") and not marker.exists()


def test_resume_reads_checkpoints_weights_only(monkeypatch):
    """``--ckpt_path`` goes to Lightning with ``weights_only=True`` (Lightning's default unpickles URLs)."""
    from lightning.pytorch import Trainer

    seen = {}

    @functools.wraps(Trainer.fit)  # the CLI builds its options from fit's signature
    def fit(self, *args, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr(Trainer, "fit", fit)
    monkeypatch.chdir(ROOT)
    main(
        [
            "fit",
            "--config",
            "configs/digits_forget_2stage.yaml",
            "--ckpt_path",
            "https://example.invalid/last.ckpt",
            "--trainer.logger=false",
        ]
    )
    assert seen["weights_only"] is True
    assert seen["ckpt_path"] == "https://example.invalid/last.ckpt"


def test_trusting_a_package_rebuilds_its_classes(crafted, run_cli, monkeypatch, capsys, tmp_path):
    marker, write = crafted
    path = write("classifier", "import side effect")
    with pytest.raises(ConfigError):
        load_exported(Source(path, "field"), "classifier")
    assert not marker.exists()
    monkeypatch.setenv(TRUST_ENV, PAYLOAD_MODULE)
    with pytest.raises(ConfigError, match="does not match the architecture"):  # rebuilt, then its weights checked
        load_exported(Source(path, "field"), "classifier")
    assert marker.exists()
    marker.unlink()
    monkeypatch.setenv(TRUST_ENV, "")
    sys.modules.pop(PAYLOAD_MODULE, None)
    import numpy as np

    np.savez(tmp_path / "s.npz", images=np.zeros((4, 1, 8, 8), np.float32), labels=np.arange(4))
    err = run_sfd(
        run_cli,
        capsys,
        "eval",
        str(tmp_path / "s.npz"),
        "--trust-classes",
        PAYLOAD_MODULE,
        "--metrics",
        "forget",
        "--forget-label",
        "0",
        "--classifier",
        path,
        "--out",
        str(tmp_path / "m.json"),
    )
    assert "does not match the architecture" in err and marker.exists()
    assert os.environ[TRUST_ENV] == PAYLOAD_MODULE  # the flag sets the variable, which child processes inherit


@pytest.mark.parametrize("asset", sorted(p.name for p in ASSETS.glob("*.pt")))
def test_the_shipped_assets_still_load(asset):
    from sfd_lightning.io.build import build
    from sfd_lightning.io.checkpoint import extract_state_dict
    from sfd_lightning.io.strict import load_state_into

    path = str(ASSETS / asset)
    stored = torch.load(path, weights_only=True)
    kind = stored["format"].split("/")[1]
    if kind == "sfd":  # a stage-1 result: generator EMA and fake score, both of the stored architecture
        module = build(stored["config"], Source(path, "asset"))
        load_state_into(
            module, extract_state_dict(stored, ["generator_ema.module."]), Source(path, "asset"), "generator"
        )
    else:
        module = load_exported(Source(path, "asset"), kind)
    assert isinstance(module, torch.nn.Module) and sum(p.numel() for p in module.parameters()) > 0


def test_importing_the_main_module_does_not_run_the_cli(monkeypatch):
    """``sfd_lightning.__main__`` is an allowed package's module: importing it must not run ``sfd`` on our argv."""
    import importlib

    import sfd_lightning.cli

    calls = []
    monkeypatch.setattr(sfd_lightning.cli, "main", lambda *args: calls.append(args))
    monkeypatch.delitem(sys.modules, "sfd_lightning.__main__", raising=False)
    importlib.import_module("sfd_lightning.__main__")
    assert calls == []


def test_a_folder_naming_the_main_module_is_refused_and_nothing_runs(monkeypatch, tmp_path):
    from generator_folders import write_generator_folder

    import sfd_lightning.cli
    from sfd_lightning import load_generator

    calls = []
    monkeypatch.setattr(sfd_lightning.cli, "main", lambda *args: calls.append(args))  # what running it would call
    monkeypatch.delitem(sys.modules, "sfd_lightning.__main__", raising=False)
    folder = write_generator_folder(
        tmp_path / "g", lambda m: m["denoiser"].update(class_path="sfd_lightning.__main__.X")
    )
    argv = list(sys.argv)
    with pytest.raises(ConfigError, match="'sfd_lightning.__main__.X', which is not allowed") as err:
        load_generator(str(folder))
    assert "\n" not in str(err.value) and str(folder) in str(err.value)
    assert calls == [] and "sfd_lightning.__main__" not in sys.modules and sys.argv == argv


@pytest.mark.parametrize(
    "class_path, message",
    [
        ("sfd_payload_probe.Missing", "'sfd_payload_probe' defines no 'Missing'"),  # trusted, but acts on import
        ("sfd_lightning.models.reference_order.Net", "'sfd_lightning.models.reference_order' defines no 'Net'"),
        ("sfd_lightning.no_such_module.Net", "no Python module 'sfd_lightning.no_such_module'"),
        ("sfd_lightning.__init__.Net", "not allowed"),
    ],
)
def test_a_class_is_checked_before_its_module_is_imported(crafted, monkeypatch, class_path, message):
    """A module that does not define the class, even in a trusted package, is never imported."""
    marker, _ = crafted
    monkeypatch.setenv(TRUST_ENV, PAYLOAD_MODULE)
    module = class_path.rpartition(".")[0]
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ConfigError, match=message):
        resolve_class(class_path, Source("file.pt", "field"))
    assert module not in sys.modules and not marker.exists()


@pytest.mark.parametrize("class_path", ["this.Callback", f"{PAYLOAD_MODULE}.Net", "__main__.Net"])
def test_a_resume_checkpoint_naming_a_foreign_class_is_refused_before_lightning_imports_it(
    crafted, run_cli, capsys, tmp_path, class_path
):
    """``--ckpt_path``: Lightning parses the checkpoint's hyper-parameters, importing each class they name; one the
    user's config has not imported already and that is not allowed is refused first (``this`` prints on import)."""
    marker, _ = crafted
    module = class_path.rpartition(".")[0]
    if module != "__main__":
        sys.modules.pop(module, None)
    path = str(tmp_path / "last.ckpt")
    torch.save(
        {
            "hyper_parameters": {
                "_class_path": "sfd_lightning.models.SFDModule",
                "teacher": {"class_path": class_path},
            },
            "state_dict": {},
        },
        path,
    )
    assert (
        run_cli(["fit", "--config", "configs/digits_forget_2stage.yaml", "--ckpt_path", path, "--trainer.logger=false"])
        == 2
    )
    out, err = capsys.readouterr()
    assert err.startswith("sfd: error: ckpt_path:") and repr(class_path) in err and "\n" not in err.strip()
    assert (module == "__main__" or module not in sys.modules) and not marker.exists()
    assert "Beautiful is better" not in out
