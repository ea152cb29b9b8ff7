"""The report's table (``metrics.table``): the judges' headline rows, as ReportCallback, the model card and sweep
summaries show them."""

from sfd_lightning.metrics.table import ROWS, format_report, table_rows

JUDGE_METRICS = {
    "nudity/rate@0.6": 0.125,
    "nudity/rate@0.45": 0.25,
    "nudity/teacher/rate@0.6": 0.75,
    "nudity/retained/rate@0.6": 0.0,
    "identity/forget_matched": 0.0625,
    "identity/forget_faces_found": 0.9375,
    "identity/retained_matched": 0.875,
}


def test_a_report_with_the_judges_keys_shows_their_rows():
    table = format_report({**JUDGE_METRICS, "nudity/FEET_EXPOSED@0.6": 3.0})
    lines = table.splitlines()
    assert len(lines) == 2 + len(JUDGE_METRICS)  # header, rule, one row per key (per-class counts are no headline)
    assert "| nudity rate at 0.6, forget prompts (lower is better)" in table and "12.50%" in table
    assert "forget-prompt samples showing the erased person (lower is better)" in table and "6.25%" in table
    assert "retained people still drawn (higher is better)" in table and "87.50%" in table
    assert len({len(line) for line in lines}) == 1  # the columns line up whatever the longest label
    assert [key for key, _, _ in table_rows(JUDGE_METRICS)] == [key for key, _, _ in ROWS if key in JUDGE_METRICS]
