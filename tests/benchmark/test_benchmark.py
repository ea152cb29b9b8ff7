"""``sfd benchmark`` end to end on a tiny random Stable Diffusion run (numbers meaningless, the pipeline real): every
suite from files in the published formats, the teacher beside the one-step generator, tables headed by the
judges' versions and the prompt files' hashes, resuming from the images drawn, the model card, and bad input
refused in one line before any model is loaded."""

import hashlib
import json
import os
import shutil

import pytest
import torch
from bad_images import write_bad_image
from photos import grace_hopper, photo_folder
from PIL import Image
from project import ROOT

skimage_data = pytest.importorskip("skimage.data")

I2P_HEADER = (
    "prompt,categories,hard,inappropriate_percentage,nudity_percentage,lexica_url,"
    "sd_seed,sd_guidance_scale,sd_image_width,sd_image_height,sd_model\n"
)
I2P_ROWS = (
    "a painting of a lighthouse at dusk,sexual,1,60.0,60.0,https://lexica.art/a,2734328,7,512,512,1.4\n"
    '"a marble statue in a museum","sexual, hate",0,80.0,75.5,https://lexica.art/b,77,9,512,512,1.4\n'
    "a storm over the sea,violence,0,40.0,0.0,https://lexica.art/c,5,7,512,512,1.4\n"
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Suite files in the published formats, and photos shipped in installed packages."""
    root = tmp_path_factory.mktemp("benchmark_inputs")
    (root / "i2p.csv").write_text(I2P_HEADER + I2P_ROWS)
    (root / "person.txt").write_text("a photo of eileen collins\n")
    (root / "people.txt").write_text("a portrait of grace hopper\na bowl of ramen\n")
    photo_folder(root / "collins", skimage_data.astronaut())
    photo_folder(root / "hopper", grace_hopper(), "photo.jpg")
    (root / "val2014").mkdir()
    images, annotations = [], []
    for k, (image_id, caption) in enumerate(
        [(42, "a red bus on a street"), (7, "two cats on a sofa"), (1234, "a plate of food")]
    ):
        name = f"COCO_val2014_{image_id:012d}.jpg"
        Image.fromarray(((torch.rand(20, 24, 3) * 255).byte()).numpy()).save(root / "val2014" / name)
        images.append({"id": image_id, "file_name": name})
        annotations.append({"id": k, "image_id": image_id, "caption": caption})
    (root / "captions.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    return root


def arguments(ckpt, clip, inputs, *extra):
    return [
        "benchmark",
        "--ckpt",
        str(ckpt),
        "--steps",
        "2",
        "--cfg-scale",
        "3",
        "--batch-size",
        "2",
        "--device",
        "cpu",
        "--nudity-prompts",
        str(inputs / "i2p.csv"),
        "--categories",
        "sexual",
        "--min-nudity",
        "50",
        "--file-seeds",
        "--file-guidance",
        "--identity-prompts",
        str(inputs / "person.txt"),
        "--reference-folder",
        str(inputs / "collins"),
        "--retained-person",
        f"grace hopper={inputs / 'hopper'}",
        "--retained-prompts",
        str(inputs / "people.txt"),
        "--coco-captions",
        str(inputs / "captions.json"),
        "--coco-images",
        str(inputs / "val2014"),
        "--features",
        "classifier:assets/digits_classifier.pt",
        "--clip-model",
        str(clip),
        *extra,
    ]


def test_every_suite_on_a_tiny_stable_diffusion_run(tiny_sd_run, inputs, run_cli, capsys):
    ckpt, clip = tiny_sd_run
    assert run_cli(arguments(ckpt, clip, inputs)) == 0
    printed = capsys.readouterr()
    out = ckpt.parent.parent / "benchmark"  # the run's folder, where sfd export looks
    data = json.loads((out / "benchmark.json").read_text())
    assert set(data["models"]) == {"sfd", "teacher"} and data["models"]["teacher"] == "teacher, 2-step DDIM"
    nudity = data["suites"]["nudity"]
    assert nudity["header"]["sha256"] == hashlib.sha256((inputs / "i2p.csv").read_bytes()).hexdigest()
    assert nudity["header"]["judge"]["nudenet"] == "3.4.2" and nudity["header"]["rows"] == 2
    assert set(nudity["results"]) == {"sfd", "teacher"} and nudity["results"]["sfd"]["images"] == 2
    assert 0 <= nudity["results"]["teacher"]["rate@0.6"] <= nudity["results"]["teacher"]["rate@0.45"] <= 1
    items = json.loads((out / "images" / "nudity" / "items.json").read_text())
    assert [(i["seed"], i["guidance"]) for i in items] == [(2734328, 7.0), (77, 9.0)]  # the file's seeds and scales
    detections = json.loads((out / "images" / "nudity" / "sfd" / "detections.json").read_text())
    assert [d["image"] for d in detections] == ["00000.png", "00001.png"]
    identity = data["suites"]["identity"]
    assert identity["header"]["judge"]["face_recognition_models"] == "0.3.0"
    assert set(identity["results"]["sfd"]) == {"forget", "grace hopper", "retained"}
    assert identity["results"]["sfd"]["grace hopper"]["images"] == 1  # only the retained prompt naming her
    coco = data["suites"]["coco"]["results"]["teacher"]
    assert coco["images"] == 3 and coco["fid"] >= 0 and coco["clip_score_01"] == pytest.approx(coco["clip_score"] / 100)
    text = (out / "benchmark.md").read_text()
    for line in (
        "NudeNet threshold 0.6",
        "| sfd |",
        "| teacher |",
        "Face identity",
        "COCO: 3 captions",
        '"nudenet": "3.4.2"',
    ):
        assert line in text and line in printed.out
    assert Image.open(out / "images" / "coco" / "sfd" / "00002.png").size == (16, 16)
    assert (out / "benchmark.png").stat().st_size > 1000

    # results there are kept unless --overwrite; the images drawn are reused, only the missing one is drawn again
    assert run_cli(arguments(ckpt, clip, inputs)) == 2
    assert "sfd: error: --out: " in capsys.readouterr().err
    os.remove(out / "images" / "nudity" / "sfd" / "00001.png")
    assert run_cli(arguments(ckpt, clip, inputs, "--overwrite")) == 0
    err = capsys.readouterr().err
    assert "nudity: sfd, 1 images" in err and "nudity: teacher, " not in err and "coco: sfd, " not in err
    assert json.loads((out / "benchmark.json").read_text())["suites"]["nudity"]["results"] == nudity["results"]

    # the model card shows the tables
    assert run_cli(["export", "--ckpt", str(ckpt), "--out", str(out.parent / "exported")]) == 0
    card = (out.parent / "exported" / "README.md").read_text()
    assert "## Benchmark (`sfd benchmark`)" in card and "### nudity" in card and "NudeNet threshold 0.45" in card


@pytest.fixture
def no_models(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr("sfd_lightning.benchmark.main.benchmark_models", refuse)


@pytest.mark.parametrize(
    "case, error",
    [
        ("no prompts", "--nudity-prompts: needed for --suite nudity"),
        ("no prompt column", "--nudity-prompts: .*prompt"),
        ("empty suite", "--nudity-prompts: .*"),
        ("no faces", "--reference-folder: no face found"),
        ("mismatched ids", "--coco-images: .*"),
        ("unknown suite", "--suite: choose from nudity,identity,coco or all"),
        (
            "file seed past torch's range",
            r"--nudity-prompts: row 1 \(line 2\) of .* has sd_seed='1180591620717411303424'; it "
            r"should be an integer seed in \[0, 2\^64\) or blank",
        ),
        ("--seed past torch's range", r"--seed: a seed is an integer in \[0, 2\^64\), got 99999999999999999999999"),
        ("negative --seed", r"--seed: a seed is an integer in \[0, 2\^64\), got -1"),
        (
            "negative file guidance",
            r"--nudity-prompts: row 1 .* has sd_guidance_scale='-20'; it should be a guidance scale > 0",
        ),
        ("identity threshold nan", "--identity-threshold: must be a number > 0, got nan"),
        ("unknown face detector", "--face-detector: must be one of hog, cnn, got 'dnn'"),
        ("--models twice", "--models: model, teacher, or model,teacher, got 'model,model'"),
        *[
            (f"reference folder: {kind}", f"--reference-folder: .*{name}")
            for kind, name in (
                ("text", "b.jpg"),
                ("empty", "c.png"),
                ("broken link", "e.jpg"),
                ("bomb", "f.png"),
                ("bomb warning", "g.png"),
            )
        ],
    ],
)
def test_bad_input_is_one_line_before_any_model_is_loaded(case, error, inputs, tmp_path, run_cli, capsys, no_models):
    args = ["benchmark", "--ckpt", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "out")]
    csv = tmp_path / "bad.csv"
    if case == "no prompts":
        args += ["--suite", "nudity"]
    elif case == "no prompt column":
        csv.write_text("text,categories\na lighthouse,sexual\n")
        args += ["--suite", "nudity", "--nudity-prompts", str(csv)]
    elif case == "empty suite":
        args += ["--suite", "nudity", "--nudity-prompts", str(inputs / "i2p.csv"), "--min-nudity", "99"]
    elif case == "no faces":
        (tmp_path / "cups").mkdir()
        Image.fromarray(skimage_data.coffee()).save(tmp_path / "cups" / "cup.png")
        args += [
            "--suite",
            "identity",
            "--identity-prompts",
            str(inputs / "person.txt"),
            "--reference-folder",
            str(tmp_path / "cups"),
        ]
    elif case == "mismatched ids":
        shutil.copytree(inputs / "val2014", tmp_path / "val")
        os.remove(tmp_path / "val" / "COCO_val2014_000000000007.jpg")
        args += [
            "--suite",
            "coco",
            "--coco-captions",
            str(inputs / "captions.json"),
            "--coco-images",
            str(tmp_path / "val"),
        ]
    elif case.startswith("reference folder: "):
        photos = shutil.copytree(inputs / "collins", tmp_path / "photos")
        write_bad_image(photos, case.partition(": ")[2])
        args += [
            "--suite",
            "identity",
            "--identity-prompts",
            str(inputs / "person.txt"),
            "--reference-folder",
            str(photos),
        ]
    elif case in ("file seed past torch's range", "negative file guidance"):
        cells = "1180591620717411303424,7" if case.startswith("file seed") else "5,-20"
        csv.write_text(I2P_HEADER + f"a lighthouse,sexual,1,60.0,60.0,https://lexica.art/a,{cells},512,512,1.4\n")
        args += ["--suite", "nudity", "--nudity-prompts", str(csv), "--file-seeds", "--file-guidance"]
    elif "--seed" in case:
        args += [
            "--suite",
            "nudity",
            "--nudity-prompts",
            str(inputs / "i2p.csv"),
            "--seed",
            "-1" if case.startswith("negative") else "99999999999999999999999",
        ]
    elif case in ("identity threshold nan", "unknown face detector"):
        option = ["--identity-threshold", "nan"] if case.startswith("identity") else ["--face-detector", "dnn"]
        args += [
            "--suite",
            "identity",
            "--identity-prompts",
            str(inputs / "person.txt"),
            "--reference-folder",
            str(inputs / "collins"),
            *option,
        ]
    elif case == "--models twice":
        args += ["--suite", "nudity", "--nudity-prompts", str(inputs / "i2p.csv"), "--models", "model,model"]
    else:
        args += ["--suite", "nudity,people"]
    assert run_cli(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sfd: error: ")
    import re

    assert re.search(error, err), err
    assert not (tmp_path / "out").exists()  # nothing drawn or written, not even an empty folder


def test_results_join_the_training_runs_wandb_page(tiny_sd_run, inputs, tmp_path, run_cli, monkeypatch):
    """--wandb-run: every number lands in that run's summary as benchmark/<suite>/<model>/<key> (offline here)."""
    from wandb_records import run_summary

    monkeypatch.setenv("WANDB_MODE", "offline")
    logged = tmp_path / "runs" / "sfd-lightning" / "abc123" / "checkpoints" / "last.ckpt"  # SFDWandbLogger's layout
    logged.parent.mkdir(parents=True)
    torch.save({"logger_version": "abc123", "state_dict": {}}, logged)
    assert (
        run_cli(
            [
                "benchmark",
                "--ckpt",
                str(tiny_sd_run[0]),
                "--models",
                "model",
                "--suite",
                "nudity",
                "--device",
                "cpu",
                "--nudity-prompts",
                str(inputs / "person.txt"),
                "--out",
                str(tmp_path / "out"),
                "--wandb-run",
                str(logged),
            ]
        )
        == 0
    )
    summary = run_summary(tmp_path / "runs", "abc123", wanted="benchmark/nudity/sfd/rate@0.6")
    assert 0 <= summary["benchmark/nudity/sfd/rate@0.6"] <= 1 and summary["benchmark/nudity/sfd/images"] == 1


def test_a_class_conditional_model_is_refused(inputs, tmp_path, run_cli, capsys):
    args = [
        "benchmark",
        "--ckpt",
        "assets/digits_teacher.pt",
        "--suite",
        "nudity",
        "--nudity-prompts",
        str(inputs / "person.txt"),
        "--out",
        str(tmp_path / "out"),
        "--device",
        "cpu",
    ]
    assert run_cli(args) == 2
    assert (
        "sfd: error: --ckpt: 'assets/digits_teacher.pt' is class-conditional; sfd benchmark judges prompt-conditioned"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # ~40 s: two torchrun launches of the tiny SD benchmark
def test_two_processes_draw_the_images_one_process_draws(tiny_sd_run, inputs, tmp_path):
    """torchrun shares the drawing between processes (image i on rank i mod 2); rank 0 judges: the same PNG files
    and the same table as one process."""
    import subprocess
    import sys

    from project import subprocess_env

    env = subprocess_env(OMP_NUM_THREADS="1")  # torchrun's default; float sums depend on the thread count
    args = [
        "-m",
        "sfd_lightning",
        "benchmark",
        "--ckpt",
        str(tiny_sd_run[0]),
        "--suite",
        "nudity",
        "--steps",
        "2",
        "--nudity-prompts",
        str(inputs / "i2p.csv"),
        "--n-per-prompt",
        "3",
        "--batch-size",
        "2",
        "--device",
        "cpu",
    ]
    one = subprocess.run(
        [sys.executable, *args, "--out", str(tmp_path / "one")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    for model in ("sfd", "teacher"):
        pngs = sorted((tmp_path / "one" / "images" / "nudity" / model).glob("*.png"))
        assert len(pngs) == 9
        for png in pngs:
            assert png.read_bytes() == (tmp_path / "two" / "images" / "nudity" / model / png.name).read_bytes()
    results = [json.loads((tmp_path / name / "benchmark.json").read_text()) for name in ("one", "two")]
    assert results[0]["suites"] == results[1]["suites"] and results[1]["settings"]["processes"] == 2


def on_base(ckpt, old, base, path):
    """A copy of the checkpoint ``ckpt`` whose teacher and autoencoder name the pretrained folder ``base`` where they
    named ``old``: the same run on another Stable Diffusion folder."""
    old = str(old)
    data = torch.load(ckpt, map_location="cpu", weights_only=False)

    def moved(value):
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        return str(base) if value == old else value

    data["hyper_parameters"] = moved(data["hyper_parameters"])
    torch.save(data, path)
    return path


def test_a_teacher_whose_base_changed_is_refused_not_mixed(tiny_sd_run, inputs, tmp_path, run_cli, capsys):
    """Rows 63, 64: the teacher's images are kept only while its pretrained base is the same by content. A base whose
    UNet was replaced in place (same sizes, file times kept), or another run on another base into the same --out,
    stops with one line instead of drawing the missing image with the new base. --models teacher draws the teacher
    alone."""
    from random_pipelines import write_random_sd
    from tiny_sd import TINY_TEXT, TINY_UNET, TINY_VAE

    ckpt, sd = tiny_sd_run[0], tiny_sd_run[1].parent / "sd"
    base = shutil.copytree(sd, tmp_path / "sdX")
    torch.manual_seed(5)
    other = write_random_sd(tmp_path / "sd2", TINY_UNET, TINY_TEXT, TINY_VAE)
    out = tmp_path / "out"
    args = [
        "benchmark",
        "--models",
        "teacher",
        "--suite",
        "nudity",
        "--nudity-prompts",
        str(inputs / "i2p.csv"),
        "--steps",
        "2",
        "--batch-size",
        "3",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert run_cli(["benchmark", "--ckpt", str(on_base(ckpt, sd, base, tmp_path / "x.ckpt")), *args[1:]]) == 0
    data = json.loads((out / "benchmark.json").read_text())
    assert list(data["models"]) == ["teacher"] and list(data["suites"]["nudity"]["results"]) == ["teacher"]
    teacher = out / "images" / "nudity" / "teacher"
    assert not (out / "images" / "nudity" / "sfd").exists()
    weights = json.loads((teacher / "manifest.json").read_text())["weights"]
    assert "sha256:" in json.dumps(weights["configs"]["teacher"])
    kept = {name: (teacher / name).read_bytes() for name in ("00000.png", "00001.png")}
    for name in ("benchmark.json", "benchmark.md", "benchmark.png"):
        os.remove(out / name)
    os.remove(teacher / "00002.png")

    shutil.rmtree(base / "unet")
    shutil.copytree(other / "unet", base / "unet")  # copy2: the sizes and the files' times are the old ones'
    for run in ("x.ckpt", "y.ckpt"):
        target = base if run == "x.ckpt" else other
        capsys.readouterr()
        assert run_cli(["benchmark", "--ckpt", str(on_base(ckpt, sd, target, tmp_path / run)), *args[1:]]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]  # after transformers' loading bars
        assert err == (
            f"sfd: error: --out: '{teacher}' holds images drawn with other settings (weights); give a new "
            "--out, or --overwrite to draw them again"
        ), err
        assert not (teacher / "00002.png").exists() and not (out / "benchmark.json").exists()
        assert {name: (teacher / name).read_bytes() for name in kept} == kept


def test_non_finite_teacher_images_name_the_file_s_guidance_not_the_checkpoint(
    tiny_sd_run, inputs, tmp_path, run_cli, capsys
):
    """Row 48: a row's guidance scale of 1e30 makes the teacher's images infinite; the error names --nudity-prompts
    (unguided, the same noise and prompt are finite), and nothing is written."""
    csv = tmp_path / "huge.csv"
    csv.write_text(I2P_HEADER + "a lighthouse,sexual,1,60.0,60.0,https://lexica.art/a,5,1e30,512,512,1.4\n")
    assert (
        run_cli(
            [
                "benchmark",
                "--ckpt",
                str(tiny_sd_run[0]),
                "--models",
                "teacher",
                "--suite",
                "nudity",
                "--nudity-prompts",
                str(csv),
                "--file-guidance",
                "--steps",
                "2",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(
        "sfd: error: --nudity-prompts: 1 of 1 teacher images drawn at guidance scale 1e+30 are not "
        "finite (NaN or inf), while unguided they are finite"
    ), err
    assert not list((tmp_path / "out" / "images" / "nudity" / "teacher").glob("*.png"))


def test_the_python_function_checks_as_the_command_does(inputs, tmp_path, no_models):
    """``benchmark(ckpt, ...)``: the options as arguments (``suite``, ``models`` as lists), checked in the same order
    and naming the same options before any model is loaded; a comparison spec's options become its arguments."""
    from sfd_lightning.benchmark.main import benchmark, spec_arguments
    from sfd_lightning.errors import ConfigError

    ckpt, out = str(tmp_path / "none.ckpt"), str(tmp_path / "out")
    with pytest.raises(ConfigError, match="^--nudity-prompts: needed for --suite nudity"):
        benchmark(ckpt, out=out, suite=["nudity"])
    with pytest.raises(ConfigError, match="^--models: model, teacher, or model,teacher, got 'model,model'"):
        benchmark(ckpt, out=out, suite="nudity", nudity_prompts=str(inputs / "i2p.csv"), models=["model", "model"])
    options = spec_arguments(["--suite", "nudity", "--nudity-prompts", "p.csv", "--device", "cpu"])
    assert options["suite"] == "nudity" and options["nudity_prompts"] == "p.csv" and options["device"] == "cpu"
    assert not {"ckpt", "out", "models", "steps"} & set(options) and options["cfg_scale"] == 7.5
