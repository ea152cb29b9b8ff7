"""The one Markdown table writer of every report: the run report, the sweep summary, ``sfd compare``,
``sfd attack`` and ``sfd benchmark``."""

from typing import Any, Sequence


def markdown_table(
    head: Sequence[str],
    rows: Sequence[Sequence[Any]],
    floats: str = "",
    widths: Sequence[int] = (),
    align: str = "",
) -> str:
    """A header line, a rule and a line per row, joined by newlines (no final one).

    Args:
        head: the column headings.
        rows: the cells of each row, written as ``str(cell)``.
        floats: a format spec for float cells (``".4g"``); empty: ``str``, like every other cell.
        widths: each column's width; given, every cell is padded to it and the rule spans it, so the table also
            lines up as plain text (the run report printed in a terminal). Empty: no padding, a ``---`` rule.
        align: one character per padded column, ``<`` (left, the default) or ``>`` (right).
    """

    def text(value: Any) -> str:
        return format(value, floats) if floats and isinstance(value, float) else str(value)

    def line(cells: Sequence[Any]) -> str:
        texts = [text(c) for c in cells]
        if widths:
            texts = [f"{t:{(align[i : i + 1] or '<')}{w}}" for i, (t, w) in enumerate(zip(texts, widths))]
        return "| " + " | ".join(texts) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|" if widths else "|" + "---|" * len(head)
    return "\n".join([line(head), rule] + [line(row) for row in rows])
