"""``sfd export`` and ``load_generator``: an SFD run's generator as a folder, read back to the same images."""

import json
import os
import shutil
import stat

import numpy as np
import pytest
import torch
from process_limits import file_size_limit, umask
from project import ROOT

from sfd_lightning import ConfigError, load_generator
from sfd_lightning.cli import main


@pytest.fixture(scope="module")
def run(short_digits_run, tmp_path_factory):
    """A three-iteration digits run: its checkpoint, and its export."""
    tmp = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        main(["export", "--ckpt", str(short_digits_run), "--out", str(tmp / "exported")])
    return short_digits_run, tmp / "exported", tmp


def sample_npz(args, out):
    main(["sample", *args, "--labels", "0-9", "--n-per-label", "3", "--seed", "5", "--out", str(out)])
    return np.load(out)["images"]


def test_export_writes_weights_config_and_a_model_card(run):
    ckpt, folder, _ = run
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "model.safetensors", "sfd_generator.json"]
    meta = json.loads((folder / "sfd_generator.json").read_text())
    assert meta["t_init"] == 440 and meta["forget_label"] == 0 and meta["override_label"] == 1
    assert meta["sigma_init"] == pytest.approx(float(load_generator(str(folder)).generator.sigma_init))
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: sfd-lightning\ntags: [")  # a local teacher is no Hub base_model
    assert '`"digits_teacher.pt"`' in card  # settings name the teacher's file, not its path here
    assert "forgets class 0 (shown the teacher's class 1 instead)" in card
    assert "forget-class accuracy" in card and "FID ratio generator / teacher" in card  # the run's report
    assert "sfd fit --config config.yaml" in card and "sfd export --ckpt checkpoints/last.ckpt --out exported" in card
    for path in (str(ckpt.parent), str(folder.parent), str(ROOT)):  # a card for the Hub names no path of this machine
        assert path not in card


def test_folder_checkpoint_and_sfd_sample_give_the_same_images(run, monkeypatch):
    ckpt, folder, tmp = run
    monkeypatch.chdir(ROOT)
    from_ckpt = sample_npz(["--ckpt", str(ckpt)], tmp / "ckpt.npz")
    from_folder = sample_npz(["--ckpt", str(folder)], tmp / "folder.npz")
    pipe = load_generator(str(folder))
    images = pipe.sample(list(range(10)), n=3, seed=5).numpy()
    assert np.array_equal(from_ckpt, from_folder) and np.array_equal(from_ckpt, images)
    assert np.array_equal(
        load_generator(str(ckpt)).sample([4], n=2, seed=1).numpy(), pipe.sample([4], n=2, seed=1).numpy()
    )
    g = torch.Generator().manual_seed(0)
    assert pipe([1, 2], num_images_per_prompt=2, generator=g).shape == (4, 1, 8, 8)
    with pytest.raises(ConfigError, match="labels must be in"):
        pipe.sample([10])


def test_an_exported_folder_starts_a_second_stage(run, tiny_denoiser):
    """``model.previous`` (a release that forgot something; ``model.init_ckpt`` refuses one): the folder's EMA
    generator becomes the generator (and its EMA); the fake score is the teacher."""
    from safetensors.torch import load_file

    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.models import SFDModule
    from sfd_lightning.models.components import DDPMUNet

    _, folder, _ = run
    meta = json.loads((folder / "sfd_generator.json").read_text())
    net = DDPMUNet(**meta["denoiser"]["init_args"]["net"]["init_args"])
    teacher_ckpt = str(ROOT / "assets" / "digits_teacher.pt")
    with pytest.raises(ConfigError, match="^model.init_ckpt: .* already forgot something; continue it with model.prev"):
        SFDModule(teacher=VPDenoiser(net), teacher_ckpt=teacher_ckpt, init_ckpt=str(folder))
    module = SFDModule(teacher=VPDenoiser(net), teacher_ckpt=teacher_ckpt, previous=str(folder))
    weights = load_file(folder / "model.safetensors")
    for name, value in module.generator.state_dict().items():
        assert torch.equal(value, weights[name]), name
    assert all(torch.equal(a, b) for a, b in zip(module.fake_score.parameters(), module.teacher.parameters()))


def test_push_to_hub_uploads_the_folder_and_a_hub_id_loads(run, tmp_path, monkeypatch):
    """Against a local stand-in of the Hub API: the repository is created, the folder uploaded, and
    ``load_generator("user/repo")`` reads what was uploaded."""
    import huggingface_hub

    ckpt, folder, _ = run
    hub = tmp_path / "hub"
    calls = []

    class LocalHub:
        def create_repo(self, repo_id, private=False, exist_ok=False):
            calls.append(("create", repo_id, private))

        def upload_folder(self, folder_path, repo_id, commit_message):
            calls.append(("upload", repo_id))
            shutil.copytree(folder_path, hub / repo_id, dirs_exist_ok=True)

    monkeypatch.setattr(huggingface_hub, "HfApi", LocalHub)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo_id, revision=None: str(hub / repo_id))
    monkeypatch.chdir(ROOT)
    main(
        [
            "export",
            "--ckpt",
            str(ckpt),
            "--out",
            str(tmp_path / "out"),
            "--push-to-hub",
            "me/digits-forget-0",
            "--private",
        ]
    )
    assert calls == [("create", "me/digits-forget-0", True), ("upload", "me/digits-forget-0")]
    assert (hub / "me/digits-forget-0" / "model.safetensors").read_bytes() == (
        folder / "model.safetensors"
    ).read_bytes()
    from_hub = load_generator("me/digits-forget-0").sample([3], n=2, seed=0)
    assert torch.equal(from_hub, load_generator(str(folder)).sample([3], n=2, seed=0))


def test_a_non_empty_out_is_refused_unless_overwrite_replaces_it_whole(run, tmp_path, monkeypatch, capsys):
    """A user's README.md and a stale subfolder are not mixed into an export: refused, or replaced with --overwrite;
    an export that fails leaves the folder as it was."""
    ckpt, exported, _ = run
    out = tmp_path / "mine"
    (out / "unet").mkdir(parents=True)
    (out / "README.md").write_text("my notes")
    (out / "unet" / "stale.bin").write_text("old")
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--ckpt", str(ckpt), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert (
        exit_.value.code == 2
        and err
        == f"sfd: error: --out: '{out}' is not empty; give an empty or new folder, or --overwrite to replace it whole"
    )
    assert (out / "README.md").read_text() == "my notes"

    import sfd_lightning.export.main as export_main

    def broken(denoiser, folder):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(export_main, "write_diffusers_parts", broken)
        with pytest.raises(SystemExit):
            main(["export", "--ckpt", str(ckpt), "--out", str(out), "--overwrite"])
    err = capsys.readouterr().err.strip()
    assert err == f"sfd: error: --out: cannot write '{out}' (OSError: disk full); the previous mine there is intact"
    assert (out / "README.md").read_text() == "my notes" and (out / "unet" / "stale.bin").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no half-written folder left beside it

    main(["export", "--ckpt", str(ckpt), "--out", str(out), "--overwrite"])
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "model.safetensors", "sfd_generator.json"]
    assert (out / "model.safetensors").read_bytes() == (exported / "model.safetensors").read_bytes()
    assert (out / "README.md").read_text().startswith("---\nlibrary_name: sfd-lightning")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ckpt", "missing.ckpt", "--out", "x"], "--ckpt: checkpoint file not found"),
        (
            ["--ckpt", "assets/digits_teacher.pt", "--out", "x"],
            "--ckpt: 'assets/digits_teacher.pt' is not an SFD checkpoint",
        ),
    ],
)
def test_bad_input_is_one_line(args, message, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["export", *args])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and err.startswith(f"sfd: error: {message}") and "\n" not in err
    with pytest.raises(ConfigError, match="is not an exported SFD generator"):
        load_generator(str(tmp_path))


def refused(args, capsys):
    """``sfd export ARGS`` exits 2 with one line; returns it."""
    with pytest.raises(SystemExit) as exit_:
        main(["export", *args])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "\n" not in err, err
    return err


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_an_out_holding_the_checkpoint_or_the_run_files_is_refused_and_nothing_is_deleted(
    run, tmp_path, monkeypatch, capsys
):
    """``--out`` the run folder (``--overwrite`` replaced it whole: checkpoint, config and report gone), or a folder
    holding the checkpoint, with or without ``--overwrite``, is one line naming --out; every file stays."""
    ckpt, _, _ = run
    copy = tmp_path / "run"
    shutil.copytree(ckpt.parent.parent, copy)
    before = listing(copy)
    last = copy / "checkpoints" / ckpt.name
    monkeypatch.chdir(ROOT)
    for out, extra in ((copy, ["--overwrite"]), (copy, []), (copy / "checkpoints", ["--overwrite"]), (last, [])):
        err = refused(["--ckpt", str(last), "--out", str(out), *extra], capsys)
        assert (
            err == f"sfd: error: --out: '{out}' holds '{last}', an input of this command, which replacing the "
            "folder would delete; give another folder"
        )
    assert "report.json" in before and "config.yaml" in before and listing(copy) == before
    (copy / "attack").mkdir(exist_ok=True)
    (copy / "attack" / "attack.md").write_text("| attack |")  # read into the card
    err = refused(["--ckpt", str(last), "--out", str(copy / "attack"), "--overwrite"], capsys)
    assert f"holds '{copy / 'attack' / 'attack.md'}', an input of this command" in err
    assert (copy / "attack" / "attack.md").is_file()


def test_the_working_directory_or_a_folder_above_it_is_refused(run, tmp_path, monkeypatch, capsys):
    ckpt, _, _ = run
    sub = tmp_path / "scratch" / "sub"
    sub.mkdir(parents=True)
    (sub / "notes.txt").write_text("mine")
    shutil.copy(ckpt, sub / "my.ckpt")
    monkeypatch.chdir(sub)
    for out in (".", "..", str(sub), "./"):
        err = refused(["--ckpt", "my.ckpt", "--out", out, "--overwrite"], capsys)
        assert err.startswith(f"sfd: error: --out: '{out}' is the working directory or a folder above it"), err
    assert sorted(p.name for p in sub.iterdir()) == ["my.ckpt", "notes.txt"]
    main(["export", "--ckpt", "my.ckpt", "--out", "exported"])  # a new folder inside it is fine
    assert (sub / "exported" / "model.safetensors").is_file() and (sub / "notes.txt").read_text() == "mine"


def test_a_full_disk_is_one_line_and_the_old_folder_stays(run, tmp_path, monkeypatch, capsys):
    """``ulimit -f`` below the weights' size: one line naming --out, the earlier export intact, nothing left beside."""
    ckpt, exported, _ = run
    out = tmp_path / "old"
    shutil.copytree(exported, out)
    before = {name: (out / name).read_bytes() for name in listing(out)}
    monkeypatch.chdir(ROOT)
    with file_size_limit((exported / "model.safetensors").stat().st_size // 2):
        err = refused(["--ckpt", str(ckpt), "--out", str(out), "--overwrite"], capsys)
    assert (
        err == f"sfd: error: --out: cannot write '{out}' (SafetensorError: Error while serializing: I/O error: File "
        "too large (os error 27)); the previous old there is intact"
    )
    assert {name: (out / name).read_bytes() for name in listing(out)} == before
    assert [p.name for p in tmp_path.iterdir()] == ["old"]


def test_exported_files_and_folders_get_the_umasks_modes(run, tmp_path, monkeypatch):
    """Not the 0600 safetensors gives its files: a server running as another user reads the export."""
    ckpt, _, _ = run
    monkeypatch.chdir(ROOT)
    with umask(0o027):
        main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "e")])
    modes = {
        str(p.relative_to(tmp_path)): stat.S_IMODE(os.stat(p).st_mode)
        for p in [tmp_path / "e", *(tmp_path / "e").rglob("*")]
    }
    assert modes == {"e": 0o750, "e/README.md": 0o640, "e/model.safetensors": 0o640, "e/sfd_generator.json": 0o640}


def test_a_failed_upload_is_one_line_naming_push_to_hub_and_the_folder_stays(run, tmp_path, monkeypatch, capsys):
    """No network (here: a Hub endpoint that refuses connections): one line, and the export is kept."""
    import huggingface_hub

    ckpt, _, _ = run
    real = huggingface_hub.HfApi
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: real(endpoint="http://127.0.0.1:9", token="hf_none"))
    monkeypatch.chdir(ROOT)
    out = tmp_path / "push"
    err = refused(["--ckpt", str(ckpt), "--out", str(out), "--push-to-hub", "rt-test/none-such"], capsys)
    assert err.startswith("sfd: error: --push-to-hub: cannot upload to 'rt-test/none-such' (ConnectError: "), err
    assert err.endswith(f"the export in '{out}' is kept: upload it with `hf upload rt-test/none-such {out}`")
    assert (out / "model.safetensors").is_file()
    err = refused(["--ckpt", str(ckpt), "--out", str(tmp_path / "p2"), "--push-to-hub", "not a repo"], capsys)
    assert (
        err.startswith("sfd: error: --push-to-hub: 'not a repo' is not a Hub repository id")
        and not (tmp_path / "p2").exists()
    )


def test_the_export_carries_the_lineage_and_a_sequential_step_continues_it(run):
    """``sfd export`` writes the run's lineage; ``model.previous`` on the folder forgets its class and the new one,
    and a teacher with other weights is refused."""
    from sfd_lightning.diffusion import VPDenoiser
    from sfd_lightning.forgetting import ForgetClass
    from sfd_lightning.models import SFDModule
    from sfd_lightning.models.components import DDPMUNet

    _, folder, _ = run
    meta = json.loads((folder / "sfd_generator.json").read_text())
    (step,) = meta["lineage"]
    assert step["forget"] == {"classes": [{"label": 0, "override": 1}]} and len(step["teacher"]) == 16
    assert "## Forget requests (lineage)" in (folder / "README.md").read_text()

    def teacher():
        return VPDenoiser(DDPMUNet(**meta["denoiser"]["init_args"]["net"]["init_args"]))

    teacher_ckpt = str(ROOT / "assets" / "digits_teacher.pt")
    module = SFDModule(teacher(), teacher_ckpt, forget_label=3, override_label=8, previous=str(folder))
    assert module.forget_classes == (ForgetClass(0, 1), ForgetClass(3, 8))
    with pytest.raises(ConfigError, match="^model.previous: .* was made from another teacher"):
        SFDModule(teacher(), None, forget_label=3, override_label=8, previous=str(folder))
