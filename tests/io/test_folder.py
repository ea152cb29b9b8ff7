"""An exported folder is read as untrusted input: a damaged or crafted ``sfd_generator.json`` or
``model.safetensors`` is one line naming the file and the key, before any network is built."""

import json
import random

import pytest
import torch
from generator_folders import rewrite_config, write_generator_folder
from project import ASSETS

from sfd_lightning import ConfigError, load_generator

CONFIG, WEIGHTS = "sfd_generator.json", "model.safetensors"


def net_args(meta):
    return meta["denoiser"]["init_args"]["net"]["init_args"]


CONFIGS = {  # name: (edit of the stored metadata, or JSON text; what the error must say)
    "bad JSON": ("{not json", "is not readable JSON"),
    "not an object": ("[1, 2]", "is not an object of format"),
    "no denoiser": (lambda m: m.pop("denoiser"), "has no 'denoiser'"),
    "denoiser without class_path": (lambda m: m.update(denoiser={"init_args": {}}), "'denoiser' has no class_path"),
    "t_init missing": (lambda m: m.pop("t_init"), "has no 't_init'"),
    "t_init a string": (lambda m: m.update(t_init="440"), "'t_init' is '440'; it must be an integer"),
    "t_init a bool": (lambda m: m.update(t_init=True), "'t_init' is True"),
    "t_init past the schedule": (
        lambda m: m.update(t_init=5000),
        "stores t_init 5000; it must be an integer timestep of the denoiser's schedule, in [0, 999]",
    ),
    "negative t_init": (lambda m: m.update(t_init=-1), "stores t_init -1"),
    "settings not an object": (lambda m: m.update(settings="x"), "'settings' is 'x'; it must be an object or null"),
    "an argument the class does not take": (
        lambda m: net_args(m).update(bogus=1),
        "cannot rebuild the network stored in",
    ),
    "forget_label a float": (lambda m: m.update(forget_label=0.5), "'forget_label' is 0.5"),
    "200,000 nested arrays": ("[" * 200_000, "is not readable JSON (RecursionError"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_damaged_config_is_one_line_naming_the_file_and_key(tmp_path, name):
    change, message = CONFIGS[name]
    folder = write_generator_folder(tmp_path / "g", change if callable(change) else None)
    if isinstance(change, str):
        rewrite_config(folder, change)
    with pytest.raises(ConfigError) as err:
        load_generator(str(folder))
    text = str(err.value)
    assert text.startswith("path: ") and "\n" not in text and message in text, text
    assert str(folder) in text


def header_length_past_the_end(data: bytes) -> bytes:
    return (len(data) + 1).to_bytes(8, "little") + data[8:]


WEIGHT_FILES = {  # name: what becomes of model.safetensors's bytes
    "zero bytes": lambda data: b"",
    "cut short": lambda data: data[: len(data) - 100],
    "cut inside the header": lambda data: data[:20],
    "random bytes": lambda data: random.Random(0).randbytes(len(data)),
    "header length past the end": header_length_past_the_end,
    "huge header length": lambda data: (2**62).to_bytes(8, "little") + data[8:],
}


@pytest.mark.parametrize("name", list(WEIGHT_FILES))
def test_a_damaged_weights_file_is_one_line_naming_it(tmp_path, name):
    folder = write_generator_folder(tmp_path / "g")
    weights = folder / WEIGHTS
    weights.write_bytes(WEIGHT_FILES[name](weights.read_bytes()))
    with pytest.raises(ConfigError) as err:
        load_generator(str(folder))
    text = str(err.value)
    assert text.startswith(f"path: {str(weights)!r} is not a readable safetensors file (SafetensorError: ")
    assert "\n" not in text


def test_a_missing_weights_file_is_one_line(tmp_path):
    folder = write_generator_folder(tmp_path / "g")
    (folder / WEIGHTS).unlink()
    with pytest.raises(ConfigError, match=f"has no {WEIGHTS}"):
        load_generator(str(folder))


def test_a_huge_width_is_refused_by_the_shape_check_before_anything_is_allocated(tmp_path, built_on):
    folder = write_generator_folder(tmp_path / "g", lambda m: net_args(m).update(ch=4096))
    with pytest.raises(ConfigError) as err:
        load_generator(str(folder))
    text = str(err.value)
    assert "does not match the architecture in the generator's denoiser config" in text and "\n" not in text
    assert "has shape (16,) in the checkpoint but (4096,)" in text  # the first mismatching weight, named
    assert built_on == ["meta"]  # only the skeleton: the network was never built for real


def test_a_matching_folder_is_built_once_for_real(tmp_path, built_on):
    folder = write_generator_folder(tmp_path / "g")
    pipe = load_generator(str(folder))
    assert built_on == ["meta", "cpu"]
    stored = torch.load(ASSETS / "digits_teacher.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(v, stored[k]) for k, v in pipe.generator.denoiser.state_dict().items())
    assert json.loads((folder / CONFIG).read_text())["t_init"] == pipe.generator.t_init


def test_sfd_sample_on_a_damaged_folder_is_one_line(tmp_path, run_cli, capsys):
    folder = write_generator_folder(tmp_path / "g", lambda m: m.update(t_init=5000))
    assert run_cli(["sample", "--ckpt", str(folder), "--out", str(tmp_path / "s.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sfd: error: --ckpt: ") and "t_init 5000" in err and "\n" not in err
    assert not (tmp_path / "s.npz").exists()
