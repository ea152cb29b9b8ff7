"""``sfd eval`` on a tiny run: digits samples and real digits, the digits classifier as feature space."""

import json

import numpy as np
import pytest
import torch
from bad_images import BAD_KINDS, write_bad_image
from PIL import Image
from project import ROOT

from sfd_lightning.data import DigitsDataset

CLASSIFIER = str(ROOT / "assets" / "digits_classifier.pt")


def eval_json(run_cli, tmp_path, *args):
    out = tmp_path / "metrics.json"
    assert (
        run_cli(
            [
                "eval",
                *map(str, args),
                "--out",
                str(out),
                "--features",
                f"classifier:{CLASSIFIER}",
                "--prc-features",
                "same",
                "--device",
                "cpu",
                "--overwrite",
            ]
        )
        == 0
    )
    return json.loads(out.read_text())


def test_an_existing_out_is_kept_unless_overwrite(run_cli, capsys, tmp_path, real_npz):
    out = tmp_path / "metrics.json"
    out.write_text('{"fid": 1.5}')
    args = [
        "eval",
        str(real_npz),
        "--reference",
        str(real_npz),
        "--metrics",
        "fid",
        "--features",
        f"classifier:{CLASSIFIER}",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert run_cli(args) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"sfd: error: --out: '{out}' exists; give a new name, or --overwrite to replace it"
    assert out.read_text() == '{"fid": 1.5}' and captured.out == ""  # refused before any feature was computed
    assert run_cli([*args, "--overwrite"]) == 0 and abs(json.loads(out.read_text())["fid"]) < 1e-6


@pytest.mark.parametrize(
    "name, message",
    [
        ("stats.npz", "'{path}' exists; give a new name, or --overwrite to replace it"),
        ("stats", "must end in .npz (numpy would write '{path}.npz'), got '{path}'"),
    ],
)
def test_reference_stats_are_kept_and_written_where_named(run_cli, capsys, tmp_path, real_npz, name, message):
    stats = tmp_path / name
    stats.write_bytes(b"earlier statistics")
    args = [
        "eval",
        str(real_npz),
        "--reference",
        str(real_npz),
        "--metrics",
        "fid",
        "--features",
        f"classifier:{CLASSIFIER}",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "m.json"),
        "--save-reference-stats",
        str(stats),
    ]
    assert run_cli(args) == 2
    assert capsys.readouterr().err.strip() == f"sfd: error: --save-reference-stats: {message.format(path=stats)}"
    assert stats.read_bytes() == b"earlier statistics" and not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("field", ["--out", "--save-reference-stats"])
def test_an_output_that_is_an_input_is_refused_even_with_overwrite(run_cli, capsys, tmp_path, real_npz, field):
    """Statistics written over the reference images (or metrics over the samples) would destroy them."""
    before = real_npz.read_bytes()
    link = tmp_path / "same.npz"
    link.symlink_to(real_npz)  # another name of the same file
    outputs = {"--out": str(tmp_path / "m.json"), "--save-reference-stats": None, field: str(link)}
    args = [
        "eval",
        str(real_npz),
        "--reference",
        str(real_npz),
        "--metrics",
        "fid",
        "--features",
        f"classifier:{CLASSIFIER}",
        "--device",
        "cpu",
        "--overwrite",
        *[a for k, v in outputs.items() if v for a in (k, v)],
    ]
    assert run_cli(args) == 2
    assert (
        capsys.readouterr().err.strip() == f"sfd: error: {field}: '{link}' is the input '{real_npz}' of this command; "
        "writing it would destroy it: give another name"
    )
    assert real_npz.read_bytes() == before


def test_real_against_itself_and_against_a_generator(run_cli, tmp_path, real_npz):
    same = eval_json(
        run_cli,
        tmp_path,
        real_npz,
        "--reference",
        real_npz,
        "--forget-label",
        "0",
        "--override-label",
        "1",
        "--classifier",
        CLASSIFIER,
    )
    assert same["classes"] == list(range(1, 10)) and same["n_samples"] == same["n_reference"] == 1797 - 178
    assert abs(same["fid"]) < 1e-6
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    assert 1.0 < same["is_mean"] <= 10.0
    assert same["forget/accuracy"] > 0.9 and same["retained/accuracy"] > 0.9  # real zeros are recognised as zeros

    # Samples of the shipped teacher, 4 DDIM steps: worse than the real images, all metrics finite.
    samples = tmp_path / "teacher.npz"
    assert (
        run_cli(
            [
                "sample",
                "--ckpt",
                "assets/digits_teacher.pt",
                "--steps",
                "4",
                "--labels",
                "0-9",
                "--n-per-label",
                "20",
                "--out",
                str(samples),
            ]
        )
        == 0
    )
    gen = eval_json(
        run_cli, tmp_path, samples, "--reference", real_npz, "--forget-label", "0", "--classifier", CLASSIFIER
    )
    assert gen["n_samples"] == 180 and gen["fid"] > same["fid"] + 1e-3 and gen["precision"] < 1.0
    assert all(np.isfinite(v) for v in gen.values() if isinstance(v, float))

    # Uniform noise: far from digits in every metric (KID's estimate is noisy in a classifier's space,
    # and overlapping subsets pull a set-against-itself estimate slightly below zero).
    noise = tmp_path / "noise.npz"
    np.savez(
        noise,
        images=np.random.default_rng(0).uniform(-1, 1, (900, 1, 8, 8)).astype(np.float32),
        labels=np.repeat(np.arange(10), 90),
    )
    far = eval_json(
        run_cli, tmp_path, noise, "--reference", real_npz, "--forget-label", "0", "--metrics", "fid,kid,prc"
    )
    assert (
        far["fid"] > 10 * gen["fid"]
        and far["kid_mean"] > 10 * abs(same["kid_mean"])
        and far["precision"] < gen["precision"]
    )


def test_folder_input_and_stats_file(run_cli, tmp_path, real_npz):
    data = np.load(real_npz)
    folder = tmp_path / "images"
    for i, (image, label) in enumerate(zip(data["images"][:300], data["labels"][:300])):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(((image[0] + 1) * 127.5).round().astype(np.uint8)).save(folder / str(label) / f"{i}.png")
    stats = tmp_path / "stats.npz"
    first = eval_json(
        run_cli, tmp_path, folder, "--reference", real_npz, "--metrics", "fid,kid", "--save-reference-stats", stats
    )
    assert first["n_samples"] == 300 and first["classes"] == list(range(10))
    second = eval_json(run_cli, tmp_path, folder, "--reference", stats, "--metrics", "fid")
    assert second["fid"] == pytest.approx(first["fid"], rel=1e-6)


def test_embedded_digits_reference_equals_the_same_images_from_a_file(run_cli, tmp_path, real_npz):
    samples = tmp_path / "teacher.npz"
    assert (
        run_cli(
            [
                "sample",
                "--ckpt",
                "assets/digits_teacher.pt",
                "--steps",
                "4",
                "--labels",
                "1-9",
                "--n-per-label",
                "20",
                "--out",
                str(samples),
            ]
        )
        == 0
    )
    from_file = eval_json(run_cli, tmp_path, samples, "--reference", real_npz, "--metrics", "fid")
    embedded = eval_json(run_cli, tmp_path, samples, "--reference", "digits", "--metrics", "fid")
    assert embedded["n_reference"] == from_file["n_reference"] == 1797 - 178  # classes 1-9 of all 1,797 images
    assert embedded["fid"] == pytest.approx(from_file["fid"], rel=1e-9)
    val = eval_json(run_cli, tmp_path, samples, "--reference", "digits:val", "--metrics", "fid")
    assert val["n_reference"] == sum(-(-n // 10) for n in np.bincount(np.load(real_npz)["labels"])[1:])
    assert val["fid"] != pytest.approx(embedded["fid"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "fid", "--reference", "digits:test"], "--reference: 'digits:test': split: must be"),
        (["--metrics", "fid,sharpness"], "--metrics: unknown"),
        (["--metrics", "forget", "--forget-label", "0"], "forget needs --forget-label and --classifier"),
        (["--metrics", "fid"], "--reference: needed for fid"),
        (["--metrics", "nudity,identity"], "--reference-folder: needed for identity"),
        (["--metrics", "fid", "--reference", "nowhere.npz"], "--reference: 'nowhere.npz' is not"),
        (
            ["--metrics", "forget", "--forget-label", "12", "--classifier", CLASSIFIER],
            "--forget-label: 12 is not among",
        ),
        (
            ["--metrics", "fid", "--reference", "digits", "--wandb-run", "a/b/c/d"],
            "--wandb-run: expected entity/project/run_id",
        ),
    ],
)
def test_bad_input_is_one_line(run_cli, tmp_path, real_npz, capsys, args, message):
    assert run_cli(["eval", str(real_npz), *args, "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "m.json").exists()


def bad_samples(kind, path):
    """A samples file as a broken run or a hostile hand could write it."""
    images, labels = np.zeros((20, 1, 8, 8), np.float32), np.repeat(np.arange(10), 2)
    if kind == "nan":
        images[[3, 7, 11]] = np.nan  # three NaN images: a NaN generator would give all twenty
        images[15, 0, 0, 0] = np.inf
    if kind == "object":
        np.savez(path, images=np.array([ExplodingPickle()], dtype=object), labels=labels)
        return
    if kind == "labels":
        labels = labels[:7]
    if kind == "int_images":
        images = images.astype(np.int32)
    if kind == "not_npz":
        path.write_text("not an archive")
        return
    np.savez(path, images=images, labels=labels)


class ExplodingPickle:
    """Unpickling this runs code: a file holding it must be refused without being unpickled."""

    def __reduce__(self):
        return (pytest.fail, ("an object array was unpickled",))


@pytest.mark.parametrize(
    "kind, message",
    [
        ("nan", "samples: 4 of 20 images in '{path}' are not finite (NaN or inf)"),
        ("object", "samples: '{path}' holds object (pickled) arrays, which are not read"),
        ("labels", "samples: '{path}' has 20 images but 7 labels"),
        ("int_images", "samples: '{path}': `images` must be uint8 or float in [-1, 1], got int32"),
        ("not_npz", "samples: '{path}' is not an .npz file"),
    ],
)
def test_unusable_samples_file_is_one_line(run_cli, tmp_path, capsys, kind, message):
    path = tmp_path / "samples.npz"
    bad_samples(kind, path)
    assert (
        run_cli(
            [
                "eval",
                str(path),
                "--metrics",
                "forget",
                "--forget-label",
                "0",
                "--classifier",
                CLASSIFIER,
                "--out",
                str(tmp_path / "m.json"),
                "--device",
                "cpu",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and err[0].startswith("sfd: error: " + message.format(path=path)), err
    assert not (tmp_path / "m.json").exists()


def test_stats_file_refuses_kid(run_cli, tmp_path, real_npz, capsys):
    stats = tmp_path / "s.npz"
    np.savez(stats, mu=np.zeros(3), sigma=np.eye(3))
    assert (
        run_cli(
            ["eval", str(real_npz), "--reference", str(stats), "--metrics", "kid", "--out", str(tmp_path / "m.json")]
        )
        == 2
    )
    assert "give real images for kid and prc" in capsys.readouterr().err


def test_uint8_npz_is_read_as_is(tmp_path):
    from sfd_lightning.metrics.image_sets import open_image_set

    images = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8).numpy()
    np.savez(tmp_path / "u.npz", images=images)
    batch, labels = next(open_image_set(str(tmp_path / "u.npz"), "samples").batches(5))
    assert labels is None and torch.equal(batch, torch.from_numpy(images))


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A weights file in torch-fidelity's Inception format, random values (the real file is a download)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    mp = pytest.MonkeyPatch()
    mp.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
    mp.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", lambda *a, **k: {})
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    mp.undo()
    path = tmp_path_factory.mktemp("inception") / "weights-inception.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.slow  # a full-size Inception on the CPU, ~20 s
def test_inception_path_with_local_weights(run_cli, tmp_path, real_npz, random_inception_weights):
    """The standard metrics' code path (Inception pool features + logits) with a local weights file."""
    small = tmp_path / "small.npz"
    data = np.load(real_npz)
    np.savez(small, images=data["images"][:40], labels=data["labels"][:40])
    out = tmp_path / "inception.json"
    assert (
        run_cli(
            [
                "eval",
                str(small),
                "--reference",
                str(small),
                "--metrics",
                "fid,is,kid,prc",
                "--prc-features",
                "same",
                "--inception-weights",
                str(random_inception_weights),
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["features"] == "inception" and result["n_samples"] == 40
    assert abs(result["fid"]) < 1e-3 and result["precision"] == 1.0 and np.isfinite(result["is_mean"])


def test_inception_features_callback_uses_the_local_file(random_inception_weights):
    from sfd_lightning.errors import ConfigError
    from sfd_lightning.metrics import InceptionFeatures

    features = InceptionFeatures(weights_path=str(random_inception_weights))
    assert features(torch.rand(2, 1, 8, 8) * 2 - 1).shape == (2, 2048)
    with pytest.raises(ConfigError, match="weights_path: file not found"):
        InceptionFeatures(weights_path="missing.pth")


def test_results_join_the_training_runs_wandb_page(run_cli, tmp_path, real_npz, monkeypatch):
    """--wandb-run with a run's checkpoint: the results land in that run's summary (offline here: its W&B id)."""
    from wandb_records import run_summary

    monkeypatch.setenv("WANDB_MODE", "offline")
    ckpt = tmp_path / "runs" / "sfd-lightning" / "abc123" / "checkpoints" / "last.ckpt"  # SFDWandbLogger's layout
    ckpt.parent.mkdir(parents=True)
    torch.save({"logger_version": "abc123", "state_dict": {}}, ckpt)
    eval_json(
        run_cli,
        tmp_path,
        real_npz,
        "--metrics",
        "forget",
        "--forget-label",
        "0",
        "--classifier",
        CLASSIFIER,
        "--wandb-run",
        ckpt,
    )
    summary = run_summary(tmp_path / "runs", "abc123", wanted="eval/real/forget/accuracy")
    assert summary["eval/real/forget/accuracy"] > 0.9 and "eval/real/retained/accuracy" in summary


def test_wandb_run_paths():
    from sfd_lightning.loggers.wandb_run import find_run

    assert vars(find_run("me/sfd-lightning/abc123")) == dict(
        id="abc123", project="sfd-lightning", entity="me", save_dir=None
    )
    assert find_run("https://wandb.ai/me/proj/runs/xyz9?nw=1").id == "xyz9"
    assert find_run("proj/xyz9").project == "proj" and find_run("proj/xyz9").entity is None


def digit_folder(folder, n=20):
    """``n`` digits as 8x8 PNG files in class subfolders ``0/``..``9/``."""
    data = DigitsDataset("all")
    for i in range(n):
        label = int(data.labels[i])
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = ((data.images[i, 0].numpy() + 1) * 127.5).round().astype(np.uint8)
        Image.fromarray(pixels).save(folder / str(label) / f"{i}.png")
    return folder


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_an_unreadable_file_in_a_samples_or_reference_folder_is_one_line(run_cli, tmp_path, capsys, kind):
    """A text file named ``bad.png``, an empty PNG, a broken link or a decompression bomb in a class folder: one line
    naming the option and the file, before any feature is computed (not PIL's traceback)."""
    folder = digit_folder(tmp_path / "s")
    bad = write_bad_image(folder / "3", kind)
    forget = ["--metrics", "forget", "--forget-label", "0", "--classifier", CLASSIFIER]
    for args, field in (
        (["eval", str(folder), *forget], "samples"),
        (["eval", "digits", "--metrics", "fid", "--reference", str(folder)], "--reference"),
    ):
        assert run_cli([*args, "--out", str(tmp_path / "m.json"), "--device", "cpu"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"sfd: error: {field}: ") and bad.name in err[0], err
        assert not (tmp_path / "m.json").exists()


def test_a_folder_of_mixed_image_sizes_names_the_sizes(run_cli, tmp_path, capsys):
    """Samples of two sizes (two runs' images in one folder): refused naming each size and a file of it, rather than
    resized one way the metrics do not define."""
    folder = digit_folder(tmp_path / "s")
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(folder / "3" / "big.png")
    assert (
        run_cli(
            [
                "eval",
                str(folder),
                "--metrics",
                "forget",
                "--forget-label",
                "0",
                "--classifier",
                CLASSIFIER,
                "--out",
                str(tmp_path / "m.json"),
                "--device",
                "cpu",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "samples: " in err[0]
        and "holds images of 2 sizes: 8x8 (20 files" in err[0]
        and "16x16 (1 files, e.g. 'big.png')" in err[0]
    ), err


def test_the_python_function_returns_what_the_command_writes(run_cli, tmp_path, real_npz):
    """``evaluate(samples, ...)``: the options as arguments (``metrics`` a list), the results returned as ``sfd eval``
    writes them; its checks name the command's options, before any feature is computed."""
    from sfd_lightning.errors import ConfigError
    from sfd_lightning.evaluate.main import evaluate

    cli = eval_json(
        run_cli, tmp_path, real_npz, "--metrics", "forget", "--forget-label", "3", "--classifier", CLASSIFIER
    )
    out = tmp_path / "python.json"
    results = evaluate(
        str(real_npz), metrics=["forget"], forget_label=3, classifier=CLASSIFIER, out=str(out), device="cpu"
    )
    assert results == cli == json.loads(out.read_text())
    with pytest.raises(ConfigError, match="--forget-label: 99 is not among"):
        evaluate(str(real_npz), metrics="forget", forget_label=99, out=str(tmp_path / "x.json"), device="cpu")
    with pytest.raises(TypeError, match="'colour'"):
        evaluate(str(real_npz), colour="red")
