"""``sfd attack`` on a tiny random Stable Diffusion run, every attack end to end (numbers meaningless, the pipeline
real): noise through the latents and the decoder, a learned CLIP word, paraphrases, adversarial prompt words,
relearning with each model's own loss (the teacher's denoising loss on the examples' VAE latents) and benign
fine-tuning; CLIP as the zero-shot surrogate and NudeNet as the judge."""

import json

import torch

from sfd_lightning.io.asset import export_weights
from sfd_lightning.models.components import ConvClassifier

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def classifier_asset(path, seed: int) -> str:
    """A random RGB digit-word classifier (any image size: it pools), exported as the attacks load classifiers."""
    torch.manual_seed(seed)
    config = {
        "class_path": "sfd_lightning.models.components.ConvClassifier",
        "init_args": {"in_channels": 3, "num_classes": 10, "width": 8, "num_features": 8},
    }
    net = ConvClassifier(in_channels=3, num_classes=10, width=8, num_features=8)
    export_weights(str(path), "classifier", config, net.state_dict())
    return str(path)


# ~8 s: every attack through a tiny SD's UNet, VAE and CLIP text encoder
def test_every_attack_runs_on_a_tiny_stable_diffusion_run(tiny_sd_run, tmp_path, run_cli, capsys):
    prompts = tmp_path / "prompts.txt"
    # short forget prompts: the tiny character-level tokenizer reads 14 tokens, and the adversarial words must fit
    # after them
    prompts.write_text("a seven\nthe seven\na photo of the digit one\na drawing of two\n")
    paraphrases = tmp_path / "paraphrases.txt"
    paraphrases.write_text("the number seven\n")
    out = tmp_path / "attack"
    code = run_cli(
        [
            "attack",
            "--ckpt",
            str(tiny_sd_run[0]),
            "--concept",
            "seven",
            "--prompts",
            str(prompts),
            "--class-words",
            ",".join(WORDS),
            "--paraphrases",
            str(paraphrases),
            "--surrogate",
            f"clip:{tiny_sd_run[1]}",
            "--judge",
            "nudenet",
            "--examples",
            "teacher",
            "--n",
            "2",
            "--eps",
            "0,0.5",
            "--pgd-steps",
            "1",
            "--restarts",
            "1",
            "--embedding-steps",
            "0,1",
            "--relearn-steps",
            "0,1",
            "--relearn-weights",
            "full,lora",
            "--lora-rank",
            "2",
            "--prompt-steps",
            "0,1",
            "--prompt-words",
            "2",
            "--k-examples",
            "2",
            "--teacher-steps",
            "2",
            "--pinpoint-k",
            "0",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err[-2000:]
    result = json.loads((out / "attack.json").read_text())
    done = {(r["attack"], r["target"]) for r in result["rows"]}
    assert done == {
        (a, t) for a in ("noise", "embedding", "paraphrase", "prompt", "relearn", "benign") for t in ("teacher", "sfd")
    }
    found = [r["prompt"] for r in result["rows"] if r["attack"] == "prompt"]
    assert len(found) == 4 and all(len(words.split()) == 2 for words in found)  # two typeable words each
    losses = {r["target"]: r["loss"] for r in result["rows"] if r["attack"] == "relearn"}
    assert losses == {"teacher": "denoising", "sfd": "mmd"}
    assert {r["weights"] for r in result["rows"] if r["attack"] == "relearn"} == {
        "full",
        "lora r2",
    }  # LoRA on UNet and CLIP
    table = (out / "attack.md").read_text()
    assert result["forget_class"] == 7 and "| relearn | 1 steps (lora r2, lr 0.0001) |" in table
    noise = next(r for r in result["rows"] if r["attack"] == "noise" and r["target"] == "sfd")
    assert (
        0 <= noise["success"]["judge"] <= 1 and noise["retained"]["judge"] is None
    )  # NudeNet: only the concept question
    assert 0 <= noise["retained"]["surrogate"] <= 1  # CLIP's zero-shot verdicts on the retained class words


def test_classifier_assets_judge_stable_diffusion_images_too(tiny_sd_run, tmp_path, run_cli, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a photo of the digit seven\na photo of the digit one\n")
    out = tmp_path / "attack"
    code = run_cli(
        [
            "attack",
            "--ckpt",
            str(tiny_sd_run[0]),
            "--concept",
            "seven",
            "--prompts",
            str(prompts),
            "--class-words",
            ",".join(WORDS),
            "--surrogate",
            classifier_asset(tmp_path / "surrogate.pt", 0),
            "--judge",
            classifier_asset(tmp_path / "judge.pt", 1),
            "--attack",
            "noise",
            "--n",
            "2",
            "--eps",
            "0.5",
            "--pgd-steps",
            "1",
            "--restarts",
            "1",
            "--teacher-steps",
            "2",
            "--pinpoint-k",
            "0",
            "--skip-teacher",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err[-2000:]
    row = json.loads((out / "attack.json").read_text())["rows"][0]
    assert set(row["success"]) == {"surrogate", "judge"} and row["retained"]["judge"] is not None
