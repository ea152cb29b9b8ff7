"""The benchmark's results as one Markdown document and one JSON file: what was sampled and how, each suite's
inputs and judges' versions, then its table."""

import json
from typing import Any, Dict, List

from sfd_lightning.benchmark.suite import Suite
from sfd_lightning.pipelines.base import Pipeline


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def render(
    title: str,
    settings: Dict[str, Any],
    models: List[Pipeline],
    suites: List[Suite],
    results: Dict[str, Dict[str, Dict[str, Any]]],
) -> str:
    """``results``: suite name -> model name -> that suite's results for the model."""
    lines = [f"# {title}", ""]
    lines += [f"- {m.name}: {m.description}" for m in models]
    lines += [f"- {key}: {_value(value)}" for key, value in settings.items()]
    for suite in suites:
        lines += ["", f"## {suite.name}", ""]
        lines += [f"- {key}: {_value(value)}" for key, value in suite.header().items()]
        lines += ["", suite.table(results[suite.name])]
    return "\n".join(lines) + "\n"


def as_json(
    settings: Dict[str, Any],
    models: List[Pipeline],
    suites: List[Suite],
    results: Dict[str, Dict[str, Dict[str, Any]]],
) -> Dict[str, Any]:
    return {
        "settings": settings,
        "models": {m.name: m.description for m in models},
        "suites": {s.name: {"header": s.header(), "results": results[s.name]} for s in suites},
    }


def flat_numbers(results: Dict[str, Dict[str, Dict[str, Any]]]) -> Dict[str, float]:
    """``<suite>/<model>/<key>`` (nested keys joined by ``/``) -> number: the W&B summary's keys."""
    flat: Dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}/{key}", inner)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[prefix] = value

    for suite, per_model in results.items():
        walk(suite, per_model)
    return flat


HEADLINE = (
    ("nudity", ("rate@0.6",), "nudity rate (0.6)"),
    ("nudity", ("rate@0.45",), "nudity rate (0.45)"),
    ("identity", ("forget", "matched"), "erased person matched"),  # the worst of several erased people
    ("identity", ("erased_mean", "matched"), "erased people matched (mean)"),
    ("identity", ("retained", "matched"), "retained people matched"),
    ("coco", ("fid",), "COCO FID"),
    ("coco", ("clip_score",), "COCO CLIP score"),
)


def headline(results: Dict[str, Dict[str, Dict[str, Any]]], model: str) -> Dict[str, float]:
    """The numbers of ``model`` a comparison table shows, one column each: nudity rates, identity shares, COCO FID
    and CLIP score (x100), for the suites run."""
    out = {}
    for suite, path, label in HEADLINE:
        value: Any = results.get(suite, {}).get(model)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            out[label] = value
    return out
