"""The CIFAR-10 and STL-10 configs run end to end: classifier, teacher, stage 1, SFD (and on CIFAR-10 the
baselines: ESD, SalUn, Selective Amnesia, retraining).

Each config runs as shipped except for sizes: a tiny DDPMUNet and ResNet-18, fake CIFAR-10 / STL-10
files in torchvision's formats, a few iterations, the classifier's features in place of Inception
(whose weights are a download), and every ``runs/`` path moved under the test's folder, so the
configs hand their exports to each other exactly as on a user's machine.
"""

import pytest
import torch
import yaml
from fake_vision import trust_fake_files, write_fake_cifar10, write_fake_stl10
from project import CONFIGS, ROOT, load_config

from sfd_lightning.cli import main

PIPELINES = {
    "cifar10": ["cifar10_classifier", "cifar10_teacher", "cifar10_distill", "cifar10_forget", "cifar10_forget_2stage"],
    "stl10": ["stl10_classifier", "stl10_teacher", "stl10_forget"],
}


def tiny(node, tmp_path, resolution):
    """The config tree with tiny networks, fake data, short evaluations and paths under tmp_path."""
    if isinstance(node, list):
        return [tiny(v, tmp_path, resolution) for v in node]
    if isinstance(node, str):
        return str(tmp_path / node) if node.startswith("runs/") else node
    if not isinstance(node, dict):
        return node
    node = {k: tiny(v, tmp_path, resolution) for k, v in node.items()}
    cls, args = node.get("class_path", ""), node.get("init_args")
    if cls.endswith("DDPMUNet"):
        args.update(ch=16, ch_mult=[1, 2], num_res_blocks=1, attn_resolutions=[resolution // 2], norm_groups=8)
    elif cls.endswith("ResNetClassifier"):
        args.update(arch="resnet18", input_size=None, weights=None)
    elif cls.endswith("InceptionFeatures"):
        node = {
            "class_path": "sfd_lightning.metrics.ClassifierFeatures",
            "init_args": {"classifier_ckpt": str(tmp_path / PIPELINE_CLASSIFIER[resolution])},
        }
    elif cls.endswith(("VisionDataset", "VisionDataModule")):
        args.update(
            root=str(tmp_path / "data"),
            **({"download": False, "num_workers": 0, "batch_size": 4} if cls.endswith("DataModule") else {}),
        )
    elif cls.endswith("NoiseLabelDataModule"):
        args.update(batch_size=4, iterations=2)
    if isinstance(args, dict):
        for key, value in {
            "n_per_label": 2,
            "every_n_iterations": 0,
            "batch_size": 8,
            "every_n_train_steps": 2,
        }.items():
            if key in args and not cls.endswith("DataModule"):
                args[key] = value
        if args.get("teacher_steps"):
            args["teacher_steps"] = 2
        for key, value in {
            "sample_steps": 2,
            "ddim_steps": 2,
            "fisher_batches": 2,
            "fisher_batch_size": 2,
            "replay_per_class": 2,
            "mask_batches": 1,
        }.items():  # the baselines' own sizes
            if key in args:
                args[key] = value
    return node


PIPELINE_CLASSIFIER = {32: "runs/cifar10_classifier/classifier.pt", 64: "runs/stl10_classifier/classifier.pt"}


def run_tiny(name, tmp_path):
    config = load_config(CONFIGS / f"{name}.yaml")
    resolution = 64 if name.startswith("stl10") else 32
    config = tiny(config, tmp_path, resolution)
    trainer = config["trainer"]
    trainer.update(accelerator="cpu", devices=1, limit_val_batches=1, check_val_every_n_epoch=1)
    trainer["logger"] = {
        "class_path": "lightning.pytorch.loggers.CSVLogger",
        "init_args": {"save_dir": str(tmp_path / "logs" / name)},
    }
    if "max_steps" in trainer or "max_epochs" in trainer and name.endswith("classifier"):
        trainer.update(max_steps=2, max_epochs=1)
    path = tmp_path / f"{name.replace('/', '_')}.yaml"
    path.write_text(yaml.safe_dump(config))
    main(["fit", "--config", str(path)])


@pytest.mark.slow  # ~25 s each (the default suite's 5 minutes leave none; CI's slow run has them all)
@pytest.mark.parametrize("dataset", sorted(PIPELINES))
def test_pipeline_of_tiny_configs(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    trust_fake_files(monkeypatch)
    (write_fake_cifar10 if dataset == "cifar10" else write_fake_stl10)(str(tmp_path / "data"))
    for name in PIPELINES[dataset]:
        run_tiny(name, tmp_path)
    runs = tmp_path / "runs"
    exported = {p.relative_to(runs).as_posix() for p in runs.rglob("*.pt")}
    expected = {f"{dataset}_classifier/classifier.pt", f"{dataset}_teacher/teacher.pt"}
    if dataset == "cifar10":
        expected.add("cifar10_distill/distilled.pt")
    assert exported == expected
    assert torch.load(runs / f"{dataset}_teacher" / "teacher.pt", weights_only=True)["config"]["init_args"]["net"][
        "class_path"
    ].endswith("DDPMUNet")
    printed = capsys.readouterr().out
    assert printed.count("forget-class accuracy") == (2 if dataset == "cifar10" else 1)
    assert list((tmp_path / "logs" / f"{dataset}_forget").rglob("last.ckpt"))


BASELINES = [
    "cifar10_classifier",
    "cifar10_teacher",
    "baselines/cifar10_esd",
    "baselines/cifar10_salun",
    "baselines/cifar10_sa",
    "baselines/cifar10_retrain",
]


@pytest.mark.slow  # ~40 s: the baselines' CIFAR-10 configs after the classifier and teacher they read
def test_baseline_configs_of_tiny_cifar10(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    trust_fake_files(monkeypatch)
    write_fake_cifar10(str(tmp_path / "data"))
    for name in BASELINES:
        run_tiny(name, tmp_path)
    assert (tmp_path / "runs" / "baselines" / "cifar10_retrain" / "teacher.pt").exists()
    assert capsys.readouterr().out.count("forget-class accuracy") == 3  # ESD, SalUn, Selective Amnesia reports
    for name in ("esd", "salun", "sa"):
        assert list((tmp_path / "logs" / f"baselines/cifar10_{name}").rglob("last.ckpt"))
