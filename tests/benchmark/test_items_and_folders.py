"""The pieces under sfd benchmark's sampling: seeds per image, the noise diffusers draws for a seed, batches that
share a guidance scale, and the PNG folders a run resumes from."""

import json

import pytest
import torch

from sfd_lightning.benchmark.draw import batches
from sfd_lightning.benchmark.image_folder import as_float, missing, prepare, read_pngs, write_png
from sfd_lightning.benchmark.items import Item, item_noise, items_digest, repeated
from sfd_lightning.errors import ConfigError


def test_seeds_are_the_file_s_where_it_gives_them_else_the_base_seed_plus_the_image_index():
    items = repeated(["a", "b"], 2, seed=10)
    assert [(i.prompt, i.seed) for i in items] == [("a", 10), ("a", 11), ("b", 12), ("b", 13)]
    items = repeated(["a", "b"], 2, seed=10, seeds=[4000000000, None], guidance=[7.0, 9.5], group="forget")
    assert [(i.seed, i.guidance, i.group) for i in items] == [
        (4000000000, 7.0, "forget"),
        (4000000001, 7.0, "forget"),
        (12, 9.5, "forget"),
        (13, 9.5, "forget"),
    ]


def test_the_noise_of_a_seed_is_the_latents_diffusers_pipelines_draw_for_it():
    from diffusers.utils.torch_utils import randn_tensor

    expected = randn_tensor((1, 4, 8, 8), generator=torch.Generator().manual_seed(1234), device=torch.device("cpu"))
    assert torch.equal(item_noise(1234, (4, 8, 8)), expected)
    assert not torch.equal(item_noise(1235, (4, 8, 8)), expected)


def test_batches_share_a_guidance_scale_only_for_guided_models():
    items = [Item("p", i, g) for i, g in enumerate([7.5, 7.5, 7.5, 9.0, 7.5])]
    assert list(batches(items, [0, 1, 2, 3, 4], 2, guided=True)) == [[0, 1], [2], [3], [4]]
    assert list(batches(items, [0, 1, 2, 3, 4], 2, guided=False)) == [[0, 1], [2, 3], [4]]
    assert list(batches(items, [1, 3, 4], 8, guided=True)) == [[1], [3], [4]]
    assert list(batches(items, [1, 4], 8, guided=True)) == [[1, 4]]  # items drawn already leave no gap


def test_a_folder_keeps_images_drawn_with_the_same_settings_and_refuses_others(tmp_path):
    folder = str(tmp_path / "sfd")
    manifest = {"model": "one-step EMA generator", "items": items_digest(repeated(["a"], 3, 0))}
    prepare(folder, manifest, overwrite=False)
    image = torch.linspace(-1, 1, 3 * 4 * 5).reshape(3, 4, 5)
    write_png(folder, 1, image)
    assert missing(folder, 3) == [0, 2]
    back = read_pngs(folder, [1])
    assert back.shape == (1, 3, 4, 5) and back.dtype == torch.uint8
    assert torch.allclose(as_float(back)[0], image, atol=1 / 127.5)

    prepare(folder, manifest, overwrite=False)  # the same settings: a resumed run keeps what is there
    assert missing(folder, 3) == [0, 2]
    other = dict(manifest, items=items_digest(repeated(["b"], 3, 0)))
    with pytest.raises(
        ConfigError, match=r"--out: .* holds images drawn with other settings \(items\); give a new --out"
    ):
        prepare(folder, other, overwrite=False)
    prepare(folder, other, overwrite=True)
    assert missing(folder, 3) == [0, 1, 2]
    assert json.loads((tmp_path / "sfd" / "manifest.json").read_text()) == other


def test_seeds_past_torch_s_range_are_refused_naming_where_they_came_from():
    """torch's generators take seeds in [0, 2^64): the last image's seed must be one, whether the base seed or a
    file's seed plus the image index put it there."""
    assert repeated(["a"], 2, seed=2**64 - 2)[-1].seed == 2**64 - 1
    with pytest.raises(
        ConfigError, match=r"^--seed: image 3 \(prompt 'b'\) would have seed 18446744073709551616, past"
    ):
        repeated(["a", "b"], 2, seed=2**64 - 3)
    with pytest.raises(ConfigError, match=r"^--nudity-prompts: image 1 .* lower the seeds or --n-per-prompt"):
        repeated(["a"], 2, seed=0, seeds=[2**64 - 1], field="--nudity-prompts")


@pytest.mark.parametrize("case", ["no manifest", "not json", "not an object"])
def test_a_folder_whose_manifest_cannot_say_what_drew_it_is_refused_unless_overwrite(tmp_path, case):
    folder = tmp_path / "sfd"
    manifest = {"model": "one-step EMA generator", "items": items_digest(repeated(["a"], 2, 0))}
    prepare(str(folder), manifest, overwrite=False)
    write_png(str(folder), 0, torch.zeros(3, 4, 4))
    text = {"no manifest": None, "not json": "{", "not an object": "[1, 2]"}[case]
    (folder / "manifest.json").unlink()
    if text is not None:
        (folder / "manifest.json").write_text(text)
    with pytest.raises(ConfigError, match="^--out: .*sfd' holds (images but no manifest|a manifest.json that)"):
        prepare(str(folder), manifest, overwrite=False)
    assert missing(str(folder), 2) == [1]  # nothing removed
    prepare(str(folder), manifest, overwrite=True)
    assert missing(str(folder), 2) == [0, 1]


def test_a_png_replaced_by_something_else_is_one_line_naming_out(tmp_path):
    folder = str(tmp_path / "sfd")
    write_png(folder, 0, torch.zeros(3, 4, 4))
    (tmp_path / "sfd" / "00001.png").write_text("not a png")
    with pytest.raises(ConfigError, match="^--out: cannot read image .*00001.png"):
        read_pngs(folder, [0, 1])
    write_png(folder, 1, torch.zeros(3, 8, 8))
    with pytest.raises(ConfigError, match="^--out: the batch read holds images of 2 sizes"):
        read_pngs(folder, [0, 1])
