"""The model card's forget requests: the lineage as a table, and the title naming every forgotten class."""

from sfd_lightning.export.lineage_card import describe_request, lineage_section
from sfd_lightning.export.model_card import render


def lineage():
    return [
        {"forget": {}, "config_hash": "a", "date": "2026-01-01", "teacher": "t1"},
        {"forget": {"classes": [{"label": 0, "override": 1}, {"label": 3, "override": None}]}, "teacher": "t1"},
        {"forget": {"concepts": [{"concept": "seven", "replacement": "one"}]}, "date": "2026-03-01", "teacher": "t1"},
    ]


def test_each_request_in_words():
    assert [describe_request(e["forget"]) for e in lineage()] == [
        "nothing (distillation only)",
        "0 -> 1, 3 -> policy",
        '"seven" -> "one"',
    ]
    assert describe_request({"nudity": []}) == "nudity"


def test_the_card_has_a_row_per_step_and_names_every_forgotten_class():
    section = "\n".join(lineage_section(lineage()))
    assert "| 2 | 0 -> 1, 3 -> policy |  |  | t1 |" in section and '| 3 | "seven" -> "one" | 2026-03-01 |' in section
    assert lineage_section([]) == []
    meta = {"t_init": 440, "num_classes": 10, "forget_label": [0, 3], "override_label": [1, 8], "lineage": lineage()}
    card = render(meta, None, "sfd fit ...")
    assert "# One-step generator that forgets classes 0 (shown 1), 3 (shown 8)" in card
    assert "## Forget requests (lineage)" in card
