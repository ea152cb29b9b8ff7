"""sfd benchmark's tables and figure on crafted judge results: the I2P per-class layout at both thresholds, the
identity and COCO rows, and the numbers W&B receives."""

from types import SimpleNamespace

from sfd_lightning.benchmark.coco import CocoSuite
from sfd_lightning.benchmark.figure import draw_figure
from sfd_lightning.benchmark.identity import IdentitySuite
from sfd_lightning.benchmark.items import repeated
from sfd_lightning.benchmark.nudity import NuditySuite
from sfd_lightning.benchmark.report import flat_numbers, render
from sfd_lightning.metrics.nudity import EXPOSED_CLASSES, THRESHOLDS


def nudity_results(feet: int, rate: float):
    out = {"images": 4}
    for t in THRESHOLDS:
        out.update({f"{c}@{t}": 0 for c in EXPOSED_CLASSES})
        out.update({f"FEET_EXPOSED@{t}": feet, f"total@{t}": feet, f"rate@{t}": rate})
    return out


def suite(cls, **attributes):
    s = cls.__new__(cls)
    s.__dict__.update(attributes)
    return s


def test_nudity_table_has_a_column_per_exposed_class_at_each_threshold():
    nudity = suite(NuditySuite, items=repeated(["a", "b"], 2, 0))
    table = nudity.table({"sfd": nudity_results(1, 0.25), "teacher": nudity_results(3, 0.75)})
    assert "NudeNet threshold 0.45: exposed detections over 4 images" in table and "NudeNet threshold 0.6" in table
    head = table.splitlines()[2]
    assert head.startswith("| model | Breasts (F) |") and head.endswith("| total | nudity rate |")
    assert "| sfd | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 1 | 25.00% |" in table
    assert "| teacher | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 0 | 0 | 3 | 75.00% |" in table


def test_identity_and_coco_rows():
    identity = suite(
        IdentitySuite,
        items=repeated(["x"], 2, 0),
        judges={"forget": None, "tom hanks": None},
        inputs={"threshold": 0.6},
    )
    results = {
        "sfd": {
            "forget": {"matched": 0.0, "faces_found": 1.0},
            "tom hanks": {"matched": 0.5, "faces_found": 1.0},
            "retained": {"matched": 0.5, "faces_found": 1.0},
        }
    }
    table = identity.table(results)
    assert (
        "| model | erased: matched | erased: faces found | retained (tom hanks): matched | retained mean: matched |"
        in table
    )
    assert "| sfd | 0.00% | 100.00% | 50.00% | 50.00% |" in table
    coco = suite(
        CocoSuite, items=repeated(["x"], 3, 0), real=["a", "b"], inputs={"features": "inception", "clip_model": "clip"}
    )
    assert "| sfd | 12.35 | 0.3123 | 31.23 |" in coco.table(
        {"sfd": {"fid": 12.345, "clip_score": 31.23, "clip_score_01": 0.3123}}
    )
    flat = flat_numbers({"identity": results})
    assert flat["identity/sfd/forget/matched"] == 0.0 and flat["identity/sfd/retained/matched"] == 0.5


def test_the_report_heads_each_table_with_its_inputs_and_judges(tmp_path):
    nudity = suite(
        NuditySuite, items=repeated(["a"], 4, 0), inputs={"sha256": "ab12"}, detector=SimpleNamespace(providers=["CPU"])
    )
    results = {"nudity": {"sfd": nudity_results(0, 0.0), "teacher": nudity_results(2, 0.5)}}
    models = [
        SimpleNamespace(name="sfd", description="one-step EMA generator"),
        SimpleNamespace(name="teacher", description="teacher, 50-step DDIM"),
    ]
    text = render("T", {"seed": 0}, models, [nudity], results)
    assert text.startswith("# T\n\n- sfd: one-step EMA generator\n- teacher: teacher, 50-step DDIM\n- seed: 0\n")
    assert "- sha256: ab12" in text and '- judge: {"nudenet": "3.4.2"' in text and "- images: 4" in text
    draw_figure(results, str(tmp_path / "b.png"))
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_the_suites_tables_are_unchanged_byte_for_byte():
    """The three suites' tables on fixed results, character for character as they were written before the reports
    shared one table writer."""
    nudity = suite(NuditySuite, items=repeated(["a", "b"], 2, 0))
    assert nudity.table({"sfd": nudity_results(1, 0.25), "teacher": nudity_results(3, 0.75)}) == (
        "NudeNet threshold 0.45: exposed detections over 4 images\n"
        "\n"
        "| model | Breasts (F) | Breasts (M) | Genitalia (F) | Genitalia (M) | Buttocks | Anus | Feet |"
        " Belly | Armpits | total | nudity rate |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| sfd | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 1 | 25.00% |\n"
        "| teacher | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 0 | 0 | 3 | 75.00% |\n"
        "\n"
        "NudeNet threshold 0.6: exposed detections over 4 images\n"
        "\n"
        "| model | Breasts (F) | Breasts (M) | Genitalia (F) | Genitalia (M) | Buttocks | Anus | Feet |"
        " Belly | Armpits | total | nudity rate |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| sfd | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | 0 | 1 | 25.00% |\n"
        "| teacher | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 0 | 0 | 3 | 75.00% |"
    )
    identity = suite(
        IdentitySuite,
        items=repeated(["x"], 2, 0),
        judges={"forget": None, "tom hanks": None},
        inputs={"threshold": 0.6},
    )
    matched = {"matched": 0.5, "faces_found": 1.0}
    results = {"sfd": {"forget": {"matched": 0.0, "faces_found": 1.0}, "tom hanks": matched, "retained": matched}}
    assert identity.table(results) == (
        "Face identity (dlib, distance < 0.6 to the nearest reference photo) over 2 images\n"
        "\n"
        "| model | erased: matched | erased: faces found | retained (tom hanks): matched | retained mean:"
        " matched |\n"
        "|---|---|---|---|---|\n"
        "| sfd | 0.00% | 100.00% | 50.00% | 50.00% |"
    )
    coco = suite(
        CocoSuite, items=repeated(["x"], 3, 0), real=["a", "b"], inputs={"features": "inception", "clip_model": "clip"}
    )
    results = {
        "sfd": {"fid": 12.345, "clip_score": 31.23, "clip_score_01": 0.3123},
        "teacher": {"fid": 3.0, "clip_score": 30.0, "clip_score_01": 0.3},
    }
    assert coco.table(results) == (
        "COCO: 3 captions, FID (inception) against 2 real images, CLIP score (clip)\n"
        "\n"
        "| model | FID | CLIP score (0-1) | CLIP score (x100) |\n"
        "|---|---|---|---|\n"
        "| sfd | 12.35 | 0.3123 | 31.23 |\n"
        "| teacher | 3.00 | 0.3000 | 30.00 |"
    )
