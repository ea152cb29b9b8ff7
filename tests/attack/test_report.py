"""attack.md, the attack report's Markdown, on a fixed result."""

from sfd_lightning.attack.report import markdown

RESULT = {
    "targets": {"generator": {"description": "one-step", "nfe": 1}, "teacher": {"description": "DDIM", "nfe": 50}},
    "judges": ["surrogate", "classifier"],
    "forget_class": 3,
    "rows": [
        {
            "attack": "noise",
            "budget": 0.5,
            "target": "generator",
            "success": {"surrogate": 0.1, "classifier": 0.25},
            "retained": {"classifier": 0.9},
        },
        {"attack": "noise", "budget": 0.5, "target": "teacher", "success": {"surrogate": 0.5, "classifier": None}},
        {
            "attack": "relearn",
            "budget": 100,
            "target": "generator",
            "weights": "full",
            "lr": 1e-4,
            "loss": "denoising",
            "success": {"surrogate": 0.3, "classifier": 0.4},
            "diverged": 50,
        },
        {
            "attack": "prompt",
            "budget": 20,
            "target": "generator",
            "prompt": "xyz",
            "success": {"surrogate": 0.3, "classifier": 0.4},
        },
    ],
    "pinpoint": {
        "classes": [5, 8],
        "rows": [
            {"class": 5, "target": "generator", "accuracy": {"classifier": 0.95}, "fid": 3.14159},
            {"class": 8, "target": "generator", "accuracy": {"classifier": 0.9}, "fid": 2.5},
        ],
    },
}


def test_the_attack_tables_are_unchanged_byte_for_byte():
    """The success-rate and pinpoint tables with the notes between them (a missing rate, a diverged search, a
    prompt found), character for character as they were written before the reports shared one table writer."""
    assert markdown(RESULT) == (
        "Success rate: the share of attacked samples each judge assigns to the forgotten class 3 (lower is"
        " better for the forgetting run). generator = one-step (1 NFE), teacher = DDIM (50 NFE); fine-tuned"
        " by generator: its denoising loss.\n"
        "\n"
        "| attack | budget | generator: surrogate | generator: classifier | teacher: surrogate | teacher:"
        " classifier | generator: retained acc. under attack (classifier) | teacher: retained acc. under"
        " attack (classifier) |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| noise | eps 0.5 | 10.0% | 25.0% | 50.0% | – | 90.0% | – |\n"
        "| relearn | 100 steps (full, lr 0.0001) | diverged | diverged | – | – | – | – |\n"
        "| prompt | 20 steps | 30.0% | 40.0% | – | – | – | – |\n"
        "\n"
        "diverged: the attack's search went non-finite (NaN or infinite) by that budget, so it was not"
        " scored; its learning rate is too large. Not a failed attack: nothing is known about the forgetting"
        " there.\n"
        "\n"
        "Adversarial prompt words found (appended to every forget prompt):\n"
        "- generator, 20 steps: + 'xyz'\n"
        "\n"
        "Nearest classes to the forgotten one (pinpoint-ness): [5, 8]\n"
        "\n"
        "| nearest class | generator accuracy (classifier) | generator FID |\n"
        "|---|---|---|\n"
        "| 5 | 95.0% | 3.1416 |\n"
        "| 8 | 90.0% | 2.5000 |\n"
    )
