"""``gpu_check.md``: the GPU check's results as readable tables; and the CUDA column of docs/lora.md's memory table.

python -m benchmarks.gpu_report runs/gpu_check/gpu_check.json --fill-docs docs/lora.md
"""

import argparse
import json
from pathlib import Path
from typing import Dict, Iterable, List, Optional

DOCS_KEYS = (
    ("SD 1.5", "sd15"),
    ("DiT-XL/2", "dit"),
    ("CIFAR-10", "cifar10"),
    ("SDXL", "sdxl"),
    ("SD3", "sd3"),
    ("FLUX", "flux"),
)
CUDA_COLUMN = "CUDA: peak, s/iteration"
NOT_RUN = "not run yet"


def fmt(value, spec: str = ".2f", none: str = "–") -> str:
    return none if value is None else format(value, spec)


def iteration_rows(report: Dict) -> List[Dict]:
    """Every measured SFD iteration in the report (a variant's plain row and its variant row both)."""
    rows = []
    for step in report["steps"]:
        result = step.get("result") or {}
        if "s_per_iteration" in result:
            rows.append(result)
        for name in ("robust", "compile"):
            if name in result:
                rows += [result["plain"], dict(result[name], mode=f"{result[name]['mode']}, {name}")]
    return rows


def iteration_table(rows: Iterable[Dict]) -> List[str]:
    out = [
        "| row | mode | peak GiB | s/iteration | iteration / its passes | TFLOP/iteration | MFU (bf16 peak) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mfu = "unknown peak" if r.get("mfu") is None else f"{100 * r['mfu']:.1f}%"
        out.append(
            f"| {r['case']} | {r['mode']} | {fmt(r.get('peak_GiB'))} | {fmt(r['s_per_iteration'], '.3f')} | "
            f"{fmt(r.get('ratio_to_passes'))} | {fmt(r.get('tflop_per_iteration'), '.3g')} | {mfu} |"
        )
    return out


def variant_lines(report: Dict) -> List[str]:
    out = []
    for step in report["steps"]:
        result = step.get("result") or {}
        if "ratio" in result:
            out.append(f"- {step['title']}: x{result['ratio']:.2f} the plain iteration's time")
    return out


def smoke_table(report: Dict) -> List[str]:
    rows = next((s["result"]["smoke"] for s in report["steps"] if s["name"] == "smoke" and "result" in s), [])
    out = ["| backbone | parameters | dtype | finite | ms | peak GB |", "|---|---|---|---|---|---|"]
    return (
        out
        + [
            f"| {r['backbone']} | {r['params_M']:.1f}M | {r['dtype']} | {'yes' if r['ok'] else 'NO'} | {r['ms']:.1f} | "
            f"{fmt(r['peak_GB'])} |"
            for r in rows
        ]
        if rows
        else []
    )


def demo_lines(report: Dict) -> List[str]:
    step = next((s for s in report["steps"] if s["name"] == "digits-demo" and "result" in s), None)
    if step is None:
        return []
    r = step["result"]
    out = [
        f"`sfd fit` on {r['device']}: {r['wall_s']:.0f} s",
        "",
        "| metric | " + r["device"] + " | CPU (shipped run) |",
        "|---|---|---|",
    ]
    cpu = r.get("cpu_report", {})
    for key, value in sorted(r.get("report", {}).items()):
        out.append(
            f"| {key} | {fmt(value, '.4g') if isinstance(value, (int, float)) else value} | "
            f"{fmt(cpu.get(key), '.4g') if isinstance(cpu.get(key), (int, float)) else cpu.get(key, '–')} |"
        )
    figures = [f for f in r.get("figures", []) + r.get("cpu_figures", []) if f.endswith(".png")]
    out += [""] + [f"![{f}](steps/digits-demo/{f})" for f in figures]
    return out


def write_markdown(report: Dict, path: Path) -> None:
    env = next((s.get("result") for s in report["steps"] if s["name"] == "env" and s.get("result")), None) or {}
    dev = env.get("device", {})
    title = dev.get("name", "no CUDA device") + (" (TINY networks: a rehearsal)" if report.get("tiny") else "")
    lines = [
        f"# GPU check: {title}",
        "",
        f"Started {report.get('started')}, budget {report.get('budget_s')} s, "
        f"wall {report.get('wall_s', '(running)')} s; "
        f"python {env.get('python', '?')}, torch {env.get('packages', {}).get('torch', {}).get('version', '?')}.",
        "",
        "| step | status | wall s | cap s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {s['name']} | {s['status']} | {s.get('wall_s', '–')} | {s.get('cap_s', '–')} |" for s in report["steps"]
    ]
    rows = iteration_rows(report)
    if rows:
        lines += (
            ["", "## One SFD iteration inside Trainer.fit", ""] + iteration_table(rows) + [""] + variant_lines(report)
        )
    for heading, body in (
        ("Smoke test: every backbone, forward + backward", smoke_table(report)),
        ("Digits demo", demo_lines(report)),
    ):
        if body:
            lines += ["", f"## {heading}", ""] + body
    failed = [s for s in report["steps"] if s.get("last_lines")]
    for s in failed:
        lines += ["", f"## {s['name']}: {s['status']}", "", "```", *s["last_lines"], "```"]
    path.write_text("\n".join(lines) + "\n")


def docs_key(network_cell: str) -> Optional[str]:
    return next((key for prefix, key in DOCS_KEYS if network_cell.startswith(prefix)), None)


def fill_docs(report: Dict, text: str) -> str:
    """docs/lora.md with the CUDA column of its memory table filled from the report's rows (device named)."""
    measured = {(r["key"], r["mode"]): r for r in iteration_rows(report) if "key" in r}
    lines, network = text.splitlines(), None
    for i, line in enumerate(lines):
        cells = line.split(" | ")
        if not line.startswith("| ") or CUDA_COLUMN in line or len(cells) < 3:
            continue
        network = docs_key(cells[0][2:].strip()) or (network if not cells[0][2:].strip() else None)
        mode = next((m for m in ("full fp32", "full bf16", "LoRA bf16") if cells[1].strip().startswith(m)), None)
        row = measured.get((network, mode))
        if row is not None and cells[-1].strip().rstrip("|").strip() == NOT_RUN:
            cells[-1] = f"{row['peak_GiB']:.2f} GiB, {row['s_per_iteration']:.3f} s ({row['device_name']}) |"
            lines[i] = " | ".join(cells)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("report", help="gpu_check.json")
    p.add_argument("--markdown", default=None, help="write gpu_check.md here (default: beside the JSON)")
    p.add_argument(
        "--fill-docs", default=None, metavar="LORA_MD", help="fill the CUDA column of this docs page in place"
    )
    args = p.parse_args(argv)
    report = json.loads(Path(args.report).read_text())
    write_markdown(report, Path(args.markdown or Path(args.report).with_suffix(".md")))
    if args.fill_docs:
        page = Path(args.fill_docs)
        page.write_text(fill_docs(report, page.read_text()))


if __name__ == "__main__":
    main()
