"""The headline metrics of a run as a table: the report's rows, in the report, the model card and the
sweep summary alike."""

from typing import Dict, List, Optional, Tuple

from sfd_lightning.io.markdown_table import markdown_table

ROWS: List[Tuple[str, str, str]] = [
    ("forget/accuracy", "forget-class accuracy (lower is better)", "{:.2%}"),
    ("forget/ua", "unlearning accuracy UA = 1 - forget accuracy", "{:.2%}"),
    ("forget/override_rate", "forget samples classified as the override", "{:.2%}"),
    ("retained/accuracy", "retained-class accuracy", "{:.2%}"),
    ("fid/generator", "FID retained classes, one-step EMA generator", "{:.3f}"),
    ("fid/teacher", "FID retained classes, teacher sampler", "{:.3f}"),
    ("fid/ratio", "FID ratio generator / teacher", "{:.3f}"),
    ("clip/forget_vs_concept", "CLIP score, forget samples vs the concept prompt", "{:.2f}"),
    ("clip/forget_vs_override", "CLIP score, forget samples vs the override prompt", "{:.2f}"),
    ("clip/retained", "CLIP score, retained prompts", "{:.2f}"),
    ("forget/detected", "forget samples flagged by the concept detector", "{:.2%}"),
    ("nudity/rate@0.6", "nudity rate at 0.6, forget prompts (lower is better)", "{:.2%}"),
    ("nudity/rate@0.45", "nudity rate at 0.45, forget prompts (lower is better)", "{:.2%}"),
    ("nudity/teacher/rate@0.6", "nudity rate at 0.6, forget prompts, teacher", "{:.2%}"),
    ("nudity/retained/rate@0.6", "nudity rate at 0.6, retained prompts", "{:.2%}"),
    ("identity/forget_matched", "forget-prompt samples showing the erased person (lower is better)", "{:.2%}"),
    ("identity/forget_faces_found", "forget-prompt samples with a face", "{:.2%}"),
    ("identity/retained_matched", "retained people still drawn (higher is better)", "{:.2%}"),
    ("speed/generator_images_per_s", "images/s one-step generator", "{:,.0f}"),
    ("speed/teacher_images_per_s", "images/s teacher sampler", "{:,.1f}"),
    ("speed/speedup", "sampling speed-up per image", "{:.1f}x"),
    ("nonfinite/skipped", "updates skipped (non-finite loss or gradients)", "{:,.0f}"),
    ("nonfinite/dropped", "samples dropped (non-finite, on_nonfinite=drop)", "{:,.0f}"),
]


PER_FORGOTTEN = "forget/accuracy_"  # forget/accuracy_<class or concept>, beside forget/accuracy_mean, when several
WORST = "forget accuracy, the worst forgotten (lower is better)"
MEAN = ("forget/accuracy_mean", "forget accuracy, mean of the forgotten", "{:.2%}")


def per_forgotten(metrics: Dict[str, float]) -> List[str]:
    """The forget/accuracy_<c> keys (a run that forgets several classes or concepts), classes in numeric order."""
    keys = [
        k
        for k in metrics
        if k.startswith(PER_FORGOTTEN)
        and k != MEAN[0]
        and not (k.endswith("_spread") and k[: -len("_spread")] in metrics)
    ]
    position = {k: i for i, k in enumerate(keys)}
    suffix = len(PER_FORGOTTEN)
    return sorted(keys, key=lambda k: (0, int(k[suffix:]), 0) if k[suffix:].isdigit() else (1, 0, position[k]))


def forgotten_label(key: str) -> str:
    """A forget/accuracy_<c> row's label: "class <c>", or the concept (its underscores as spaces)."""
    name = key[len(PER_FORGOTTEN) :]
    return f"forget accuracy, class {name}" if name.isdigit() else f"forget accuracy, {name.replace('_', ' ')}"


def report_rows(metrics: Dict[str, float]) -> List[Tuple[str, str, str]]:
    """(key, label, format) of the rows the metrics hold: ROWS, and after forget/accuracy (then the worst class's) a
    row per forgotten class and their mean when several are forgotten."""
    several = per_forgotten(metrics)
    rows = []
    for key, label, fmt in ROWS:
        if key == "forget/accuracy" and several:
            rows.append((key, WORST, fmt))
            rows += [(k, forgotten_label(k), fmt) for k in several]
            rows += [MEAN] if MEAN[0] in metrics else []
        elif key in metrics:
            rows.append((key, label, fmt))
    return [row for row in rows if row[0] in metrics]


def table_rows(metrics: Dict[str, float], labels: Optional[Dict[str, str]] = None) -> List[Tuple[str, str, float]]:
    """(key, label, value) of the report's rows that the metrics hold; ``labels`` renames rows (a baseline's
    sampler)."""
    labels = labels or {}
    return [(key, labels.get(key, label), metrics[key]) for key, label, _ in report_rows(metrics)]


def format_value(metrics: Dict[str, float], key: str, fmt: str) -> str:
    """The value of ``key``, with its spread over noise seeds (``key_spread``) as +- when there is one."""
    text = fmt.format(metrics[key])
    spread = metrics.get(f"{key}_spread")
    return text if spread is None else f"{text} ± {fmt.format(spread)}"


def format_report(metrics: Dict[str, float], labels: Optional[Dict[str, str]] = None) -> str:
    """The report's markdown table; ``labels`` renames rows (e.g. a baseline's "generator" is its fine-tuned model)."""
    labels = labels or {}
    rows = [(labels.get(key, label), format_value(metrics, key, fmt)) for key, label, fmt in report_rows(metrics)]
    width = max([46] + [len(label) for label, _ in rows])  # the longest label shown, so the columns line up
    return markdown_table(["metric", "value"], rows, widths=(width, 16), align="<>")
