"""The comparison's table (``compare.md``, ``.csv``, ``.json``, ``.png``), written by the one process that runs the
comparison (never by its ``--parallel`` children) from what each method's folder records: its definition
(``method.json``) and, once the method was computed to the end, its row (``row.json``).

A method computed into the same ``out`` by an earlier invocation, under the same definition, keeps its row, so
computing one method again never shortens the table. A method that failed, was interrupted or never started in this
invocation has a row that says so (a ``status`` column). An earlier table with finished rows the new one lacks
(their definitions changed, or they failed now) is not overwritten: it is kept beside it as
``compare_earlier_<date-time>.*``, and the command says so.
"""

import json
import os
import time
from typing import Any, Callable, Dict, List, Optional

from sfd_lightning.compare.record import same_definition
from sfd_lightning.compare.report import finished, write
from sfd_lightning.compare.spec import CompareSpec, Method
from sfd_lightning.io.atomic import atomic_write

ROW = "row.json"
TABLE = ("md", "csv", "json", "png")


def save_row(row: Dict[str, Any], folder: str) -> None:
    """The method's finished row, in its folder (whole or not at all)."""
    atomic_write(os.path.join(folder, ROW), lambda f: f.write(json.dumps(row, indent=1).encode()))


def recorded_row(method: Method, spec: CompareSpec) -> Optional[Dict[str, Any]]:
    """The method's row as its folder records it, if the folder's results are of this definition."""
    folder = spec.folder_of(method)
    if not same_definition(method, spec, folder):
        return None
    try:
        with open(os.path.join(folder, ROW)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def table_rows(spec: CompareSpec, status: Dict[str, str]) -> List[Dict[str, Any]]:
    """A row for every method this invocation ran (``status``: ``ok``, or what stopped it) and every method an
    earlier one finished under the same definition, in the spec's order, with the FID ratio to the reference."""
    rows = []
    for method in spec.methods:
        state = status.get(method.name)
        row = recorded_row(method, spec) if state in (None, "ok") else None
        if row is not None:
            rows.append(dict(row, status="ok"))
        elif state is not None:
            rows.append(
                {
                    "method": method.name,
                    "data": method.data,
                    "nfe": method.steps,
                    "status": state if state != "ok" else "finished, but no row recorded",
                }
            )
    reference = next((r for r in rows if r["method"] == spec.reference_method and finished(r)), None)
    for r in rows:
        if reference and "fid" in r and reference.get("fid"):
            r["fid_ratio"] = r["fid"] / reference["fid"]
    return rows


def headline(rows: List[Dict[str, Any]], stopped_by: Optional[str]) -> str:
    """The line above an incomplete table: what did not finish (and the signal that stopped the comparison)."""
    unfinished = "; ".join(f"{r['method']} {r['status']}" for r in rows if not finished(r))
    if stopped_by:
        return f"Stopped by {stopped_by}: {unfinished or 'every method had finished'}."
    return f"Incomplete: {unfinished}." if unfinished else ""


def keep_earlier_table(out: str, rows: List[Dict[str, Any]], log: Callable[[str], None]) -> None:
    """Move the earlier table aside (``compare_earlier_<date-time>.*``) if it has finished rows ``rows`` lacks."""
    try:
        with open(os.path.join(out, "compare.json")) as f:
            earlier = json.load(f)
    except (OSError, ValueError):
        return
    done = {r["method"] for r in rows if finished(r)}
    lost = [r.get("method") for r in earlier if isinstance(r, dict) and finished(r) and r.get("method") not in done]
    if not lost:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for kind in TABLE:
        if os.path.isfile(os.path.join(out, f"compare.{kind}")):
            os.replace(os.path.join(out, f"compare.{kind}"), os.path.join(out, f"compare_earlier_{stamp}.{kind}"))
    log(
        f"the earlier table has finished rows this one lacks ({', '.join(lost)}): kept as "
        f"{os.path.join(out, f'compare_earlier_{stamp}.*')}"
    )


def write_table(
    spec: CompareSpec, status: Dict[str, str], stopped_by: Optional[str] = None, log: Callable[[str], None] = print
) -> Dict[str, str]:
    """Assemble and write the table; the paths written."""
    rows = table_rows(spec, status)
    keep_earlier_table(spec.out, rows, log)
    paths = write(rows, spec.out, headline(rows, stopped_by))
    paths["json"] = os.path.join(spec.out, "compare.json")
    atomic_write(paths["json"], lambda f: f.write(json.dumps(rows, indent=1).encode()))
    return paths
