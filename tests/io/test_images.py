"""Image files opened with one eye: every unreadable kind is one ConfigError naming the option and the file."""

import numpy as np
import pytest
from bad_images import BAD_KINDS, write_bad_image
from PIL import Image

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.images import image_size, read_rgb, read_uint8, require_one_size


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_unreadable_file_is_one_error_naming_the_option_and_the_file(kind, tmp_path):
    path = write_bad_image(tmp_path, kind)
    for read in (image_size, read_rgb):
        with pytest.raises(ConfigError, match=f"^--reference-folder: .*{path.name}") as err:
            read(str(path), "--reference-folder")
        assert "\n" not in str(err.value)


def test_a_truncated_png_is_caught_when_decoded(tmp_path):
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8) + 90).save(tmp_path / "a.png")
    whole = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(whole[: len(whole) // 2])
    assert image_size(str(tmp_path / "a.png"), "samples") == (16, 16)  # the header is intact
    with pytest.raises(ConfigError, match="^samples: cannot read image .*a.png"):
        read_rgb(str(tmp_path / "a.png"), "samples")


def test_images_of_several_sizes_name_the_sizes(tmp_path):
    for name, side in (("a.png", 4), ("b.png", 4), ("c.png", 6)):
        Image.fromarray(np.zeros((side, side, 3), dtype=np.uint8)).save(tmp_path / name)
    paths = [str(tmp_path / n) for n in ("a.png", "b.png", "c.png")]
    assert read_uint8(paths[:2], "samples").shape == (2, 4, 4, 3)
    with pytest.raises(
        ConfigError,
        match=r"^samples: the batch read holds images of 2 sizes: 4x4 \(2 files, e.g. "
        r"'a.png'\), 6x6 \(1 files, e.g. 'c.png'\)",
    ):
        read_uint8(paths, "samples")
    require_one_size(paths[:2], [(4, 4), (4, 4)], "samples", "here")
