"""One run per folder: a logger-less run does not start where another run's files are, and continues its own."""

import hashlib
import multiprocessing
import os
import time

import pytest
import torch
from project import short_forget_config

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.run_lock import check_run_folder, claim_run_folder


def digests(folder):
    return {
        p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_second_run_in_a_folder_is_refused_and_the_first_continues(run_cli, capsys, tmp_path):
    config = short_forget_config(tmp_path, iterations=2, every_n_iterations=0, n_per_label=2, teacher_steps=2)
    root = tmp_path / "shared"
    common = ["fit", "--config", str(config), "--trainer.logger=false", f"--trainer.default_root_dir={root}"]
    assert run_cli(common) == 0
    assert not (root / ".sfd-run.lock").exists()  # the run's claim on the folder, released at its end
    first = digests(root)
    assert {"config.yaml", "report.json"} <= {str(p) for p in first} and (root / "checkpoints" / "last.ckpt").is_file()
    capsys.readouterr()

    assert run_cli([*common, "--model.init_args.forget_label=3", "--model.init_args.override_label=8"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"sfd: error: trainer.default_root_dir: '{root}' already holds another run") and "\n" not in err
    )
    assert digests(root) == first  # nothing of run A was touched

    last = root / "checkpoints" / "last.ckpt"
    assert run_cli([*common, "--trainer.max_epochs=2", f"--ckpt_path={last}"]) == 0  # continuing A writes into it
    assert torch.load(last, map_location="cpu", weights_only=False)["sfd_iteration"] == 4


def test_a_checkpoint_from_elsewhere_does_not_continue_the_folder_s_run(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.ckpt").write_bytes(b"")
    check_run_folder(str(tmp_path / "empty"), None)  # a new folder: a new run
    check_run_folder(str(tmp_path / "run"), str(tmp_path / "run" / "checkpoints" / "last.ckpt"))
    check_run_folder(str(tmp_path / "run"), "last")
    with pytest.raises(
        ConfigError, match=r"trainer.default_root_dir: .* already holds another run \(checkpoints/last.ckpt\)"
    ):
        check_run_folder(str(tmp_path / "run"), str(tmp_path / "other" / "last.ckpt"))
    with pytest.raises(ConfigError, match="already holds another run"):
        check_run_folder(str(tmp_path / "run"), None)


def test_of_two_claims_on_one_folder_the_second_is_refused_until_the_first_is_released(tmp_path):
    folder = str(tmp_path / "new")
    first = claim_run_folder(folder, None)
    with pytest.raises(
        ConfigError, match=rf"trainer.default_root_dir: .* is in use by another run \(pid {os.getpid()} on "
    ):
        claim_run_folder(folder, None)
    first.release()
    assert not os.path.exists(folder)  # the claim made it and nothing was written: gone with the claim
    claim_run_folder(folder, None).release()


def _claim_and_wait(folder, claimed):
    claim_run_folder(folder, None)
    claimed.set()
    time.sleep(600)  # until killed


def hold_claim(folder):
    """Another process holding ``folder``'s claim, as a running ``sfd fit`` does (returned once it holds it)."""
    context = multiprocessing.get_context("fork")  # forked: nothing to import again
    claimed = context.Event()
    proc = context.Process(target=_claim_and_wait, args=(str(folder), claimed), daemon=True)
    proc.start()
    assert claimed.wait(60)
    return proc


def test_a_run_started_beside_a_running_one_is_refused_and_a_killed_one_s_claim_holds_nothing(
    run_cli, capsys, tmp_path
):
    config = short_forget_config(tmp_path, iterations=2, every_n_iterations=0, n_per_label=2, teacher_steps=2)
    root = tmp_path / "shared"
    other = hold_claim(root)  # run A, between its check and its first file
    try:
        assert (
            run_cli(["fit", "--config", str(config), "--trainer.logger=false", f"--trainer.default_root_dir={root}"])
            == 2
        )
        err = capsys.readouterr().err.strip()
        assert err.startswith(
            f"sfd: error: trainer.default_root_dir: '{root}' is in use by another run (pid {other.pid} on "
        )
        assert "\n" not in err and [p.name for p in root.iterdir()] == [".sfd-run.lock"]  # run B wrote nothing
    finally:
        other.kill()  # SIGKILL: its claim file stays, unlocked
        other.join()
    assert (root / ".sfd-run.lock").is_file()
    claim_run_folder(str(root), None).release()  # a dead run's claim holds nothing (nor blocks its resume)
