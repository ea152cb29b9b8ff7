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


def test_the_report_table_is_unchanged_byte_for_byte():
    """The run report's aligned table (a long renamed label widening the first column, a spread, a count),
    character for character as it was written before the reports shared one table writer."""
    metrics = {
        "forget/accuracy": 0.0125,
        "fid/ratio": 1.0723,
        "fid/ratio_spread": 0.0312,
        "speed/speedup": 57.0,
        "nonfinite/skipped": 10.0,
    }
    labels = {"fid/ratio": "FID ratio of the fine-tuned model to the teacher, retained classes only"}
    assert format_report(metrics, labels) == (
        "| metric                                                                  |            value |\n"
        "|-------------------------------------------------------------------------|------------------|\n"
        "| forget-class accuracy (lower is better)                                 |            1.25% |\n"
        "| FID ratio of the fine-tuned model to the teacher, retained classes only |    1.072 ± 0.031 |\n"
        "| sampling speed-up per image                                             |            57.0x |\n"
        "| updates skipped (non-finite loss or gradients)                          |               10 |"
    )
    assert format_report({"forget/accuracy": 0.0125, "speed/generator_images_per_s": 123456.0}) == (
        "| metric                                         |            value |\n"
        "|------------------------------------------------|------------------|\n"
        "| forget-class accuracy (lower is better)        |            1.25% |\n"
        "| images/s one-step generator                    |          123,456 |"
    )


def test_several_forgotten_classes_show_a_row_each_after_the_worst():
    """Rows in class order whatever the metrics' order (report.json sorts its keys: "_10" before "_3")."""
    metrics = {
        "forget/accuracy": 0.25,
        "forget/accuracy_10": 0.25,
        "forget/accuracy_3": 0.0,
        "forget/accuracy_mean": 0.125,
        "forget/ua": 0.75,
        "retained/accuracy": 0.9,
        "retained/accuracy_1": 0.8,
    }
    assert [key for key, _, _ in table_rows(metrics)] == [
        "forget/accuracy",
        "forget/accuracy_3",
        "forget/accuracy_10",
        "forget/accuracy_mean",
        "forget/ua",
        "retained/accuracy",
    ]
    lines = format_report(metrics).splitlines()
    assert "forget accuracy, the worst forgotten (lower is better)" in lines[2] and "25.00%" in lines[2]
    assert "forget accuracy, class 3" in lines[3] and "0.00%" in lines[3]
    assert "forget accuracy, mean of the forgotten" in lines[5] and "12.50%" in lines[5]


def test_forgotten_concepts_show_by_name_in_the_order_given():
    metrics = {"forget/accuracy": 0.5, "forget/accuracy_van_gogh": 0.5, "forget/accuracy_a_cat": 0.0}
    assert [label for _, label, _ in table_rows(metrics)] == [
        "forget accuracy, the worst forgotten (lower is better)",
        "forget accuracy, van gogh",
        "forget accuracy, a cat",
    ]
