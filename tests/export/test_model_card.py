"""The model card: what was forgotten and how to use it (its snippets run), and no path of the exporting machine:
files by name, the base model by its Hub id."""

import json
import re

import pytest
import torch
import yaml
from project import ASSETS, ROOT

from sfd_lightning.export.model_card import base_model, portable, render


def sd_meta(pretrained, teacher_ckpt=None):
    net = {"class_path": "sfd_lightning.models.components.SDUNet", "init_args": {"pretrained": pretrained}}
    return {
        "denoiser": {"class_path": "sfd_lightning.diffusion.VPDenoiser", "init_args": {"net": net}},
        "t_init": 625,
        "num_classes": None,
        "settings": {"teacher_ckpt": teacher_ckpt, "init_ckpt": pretrained},
    }


def test_a_hub_id_is_the_base_model_and_a_local_folder_is_named_by_its_name(tmp_path):
    hub = sd_meta("stable-diffusion-v1-5/stable-diffusion-v1-5")
    assert base_model(hub) == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    card = render(hub, None, "sfd export --ckpt checkpoints/last.ckpt --out sd-forget")
    assert 'base_model: "stable-diffusion-v1-5/stable-diffusion-v1-5"' in card
    local = tmp_path / "my-sd"
    local.mkdir()
    meta = sd_meta(str(local), teacher_ckpt=str(tmp_path / "teacher.pt"))
    assert base_model(meta) is None
    card = render(meta, None, "sfd export --ckpt checkpoints/last.ckpt --out sd-forget")
    assert str(tmp_path) not in card and "base_model" not in card
    assert '"my-sd"' in card and '"teacher.pt"' in card


def test_portable_keeps_values_that_are_no_paths_here(tmp_path):
    assert portable({"a": [str(tmp_path), 3, "user/repo"]}) == {"a": [tmp_path.name, 3, "user/repo"]}
    assert portable("/nowhere/file.pt") == "file.pt"  # an absolute path, even one this machine lacks


def one_step_run(tmp_path, asset, data=None):
    """A run folder whose ``checkpoints/last.ckpt`` holds ``asset``'s network as the EMA generator (with a class run's
    default labels, which a prompt run records too), and a ``config.yaml`` with ``data`` as its data settings."""
    teacher = torch.load(ASSETS / asset, weights_only=True)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    hparams = {
        "teacher": teacher["config"],
        "num_classes": 10,
        "forget_label": 0,
        "override_label": 1,
        "timesteps": {"t_init": 440},
    }
    state = {"generator_ema.module." + k: v for k, v in teacher["state_dict"].items()}
    torch.save({"hyper_parameters": hparams, "state_dict": state}, run / "checkpoints" / "last.ckpt")
    if data is not None:
        (run / "config.yaml").write_text(yaml.safe_dump({"data": {"init_args": data}}))
    return run / "checkpoints" / "last.ckpt"


CASES = {  # name: (teacher asset, the run's data settings, the card's title, the images the snippet draws)
    "class": ("digits_teacher.pt", None, "forgets class 0 (shown the teacher's class 1 instead)", 16),
    "prompt concept": (
        "digits_text_teacher.pt",
        {"concept": "seven", "replacement": "one"},
        'forgets the prompt concept "seven" (prompts naming it show "one" instead)',
        16,
    ),
    "prompt, no config": (
        "digits_text_teacher.pt",
        None,
        "forgets the concept of its forget prompts (a prompt-conditioned "
        "run whose config.yaml was not beside its checkpoint)",
        8,
    ),
    "nudity": (
        "digits_text_teacher.pt",
        {"mode": "nudity"},
        "forgets nudity (its forget prompts are subjects with a nudity keyword; it shows the bare subject instead)",
        8,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_cards_title_says_what_is_forgotten_and_its_use_snippet_runs(tmp_path, monkeypatch, name):
    """The card's ``load_generator`` snippet, run as written against the exported folder, draws images; a prompt
    run's card names its concept and replacement, not the class defaults its checkpoint also records."""
    from sfd_lightning.cli import main

    asset, data, title, n_images = CASES[name]
    ckpt = one_step_run(tmp_path, asset, data)
    out = tmp_path / "exported"
    monkeypatch.chdir(ROOT)
    main(["export", "--ckpt", str(ckpt), "--out", str(out)])
    card = (out / "README.md").read_text()
    assert f"# One-step generator that {title}\n" in card
    snippet = re.search(r"## Use\n\n```python\n(.*?)```", card, re.S).group(1)
    scope = {}
    exec(snippet.replace("PATH_OR_HUB_ID", str(out)), scope)
    assert scope["images"].shape == (n_images, 1, 8, 8) and scope["images"].abs().max() <= 1
    meta = json.loads((out / "sfd_generator.json").read_text())
    if name != "class":
        assert meta["num_classes"] is None and meta["forget_label"] is None and meta["override_label"] is None
        assert "class 0" not in card and "[0, 1]" not in snippet


def test_a_single_file_export_names_the_comfyui_nodes_of_its_workflow():
    from sfd_lightning.export.model_card import comfyui_usage

    text = "\n".join(comfyui_usage("sfd_generator_single_file.safetensors", 14.6146, 625))
    for node in (
        "Load Checkpoint",
        "CLIP Text Encode",
        "BasicScheduler** (1 step)",
        "SetFirstSigma** (sigma 14.6146)",
        "SamplerCustom** (sampler `euler`",
        "cfg 1",
        "VAE Decode",
        "`comfyui_workflow.json`",
    ):
        assert node in text, node


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("report.json", "{not json", "is not readable JSON (JSONDecodeError: "),
        ("report.json", "[" * 100_000, "is not readable JSON (RecursionError: "),
        ("report.json", '{"forget/accuracy": "high"}', "is not an object of numbers"),
        ("report.json", b"\xff\xfe{}", "is not readable text (UnicodeDecodeError: "),
        ("attack/attack.md", b"\xff\xfe| attack |", "is not readable text (UnicodeDecodeError: "),
    ],
)
def test_a_damaged_run_file_the_card_reads_is_one_line_and_nothing_is_written(
    tmp_path, monkeypatch, capsys, name, text, message
):
    from sfd_lightning.cli import main

    ckpt = one_step_run(tmp_path, "digits_teacher.pt")
    path = ckpt.parent.parent / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "exported")])
    err = capsys.readouterr().err.strip()
    assert (
        exit_.value.code == 2
        and "\n" not in err
        and err.startswith(f"sfd: error: --ckpt: the run's '{path}' {message}")
    )
    assert not (tmp_path / "exported").exists()
