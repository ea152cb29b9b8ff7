"""make bench-judges prints each judge's seconds per 1,000 images (the figures of the docs' cost section)."""

import re

from benchmarks.bench_judges import main, portraits


def test_prints_a_figure_per_judge(capsys):
    main(["--images", "2", "--size", "160", "--batch", "2"])
    out = capsys.readouterr().out
    assert "'nudenet': '3.4.2'" in out and "'face_recognition_models': '0.3.0'" in out
    figures = re.findall(r"^(.+?)\s+([\d.]+) s per 1,000 images$", out, flags=re.M)
    assert [name.strip() for name, _ in figures] == [
        "NudeNet 320n (nudity)",
        "dlib HOG + ResNet (identity), upsample 1",
        "dlib HOG + ResNet (identity), upsample 0",
    ]
    assert all(float(seconds) > 0 for _, seconds in figures)
    assert portraits(3, 64).shape == (3, 3, 64, 64)
