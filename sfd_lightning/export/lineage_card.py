"""The model card's account of a release's forget requests: what the generator forgets in all, and its lineage, one
row per request (``forgetting/lineage.py``)."""

from typing import Any, Dict, List, Sequence

from sfd_lightning.io.markdown_table import markdown_table


def describe_request(forget: Dict[str, Any]) -> str:
    """One step's request in words: ``0 -> 1, 3 -> 8``, ``"seven" -> "one"``, ``nudity`` or ``nothing``."""
    if forget.get("classes"):
        return ", ".join(
            f"{c['label']} -> {c['override'] if c['override'] is not None else 'policy'}" for c in forget["classes"]
        )
    if forget.get("concepts"):
        return ", ".join(f'"{c["concept"]}" -> "{c["replacement"]}"' for c in forget["concepts"])
    return "nudity" if "nudity" in forget else "nothing (distillation only)"


def lineage_section(lineage: Sequence[Dict[str, Any]]) -> List[str]:
    """The card's ``Forget requests`` section: a table of the lineage's steps; nothing for a release without one."""
    if not lineage:
        return []
    rows = [
        [
            i + 1,
            describe_request(entry["forget"]),
            entry.get("date", ""),
            entry.get("config_hash", ""),
            entry["teacher"],
        ]
        for i, entry in enumerate(lineage)
    ]
    return [
        "## Forget requests (lineage)",
        "",
        "Every request this generator carries out, in order; a later request started from the earlier release and",
        "forgot the union (`model.previous`). The teacher column is the fingerprint of the teacher's weights.",
        "",
        markdown_table(["step", "forgot (-> shown instead)", "date", "settings hash", "teacher"], rows),
        "",
    ]
