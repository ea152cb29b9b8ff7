"""The one Markdown table writer: plain (``---`` rule, cells as ``str``), floats in a format spec, and padded
columns aligned left or right."""

from sfd_lightning.io.markdown_table import markdown_table


def test_a_plain_table_writes_cells_as_they_are():
    assert markdown_table(["a", "b"], [[1, 0.5], ["x", ""]]) == "| a | b |\n|---|---|\n| 1 | 0.5 |\n| x |  |"
    assert markdown_table(["a"], []) == "| a |\n|---|"


def test_floats_take_the_format_spec_and_other_cells_stay_str():
    assert markdown_table(["v"], [[0.0123456], [3], [True]], floats=".3g").splitlines()[2:] == [
        "| 0.0123 |",
        "| 3 |",
        "| True |",
    ]


def test_padded_columns_line_up_left_or_right():
    table = markdown_table(["metric", "value"], [["fid", "1.5"]], widths=(6, 5), align="<>")
    assert table == "| metric | value |\n|--------|-------|\n| fid    |   1.5 |"
    assert len({len(line) for line in table.splitlines()}) == 1
