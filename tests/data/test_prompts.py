"""Prompt data for text-to-image SFD: files, concept replacement, nudity mode, batches, errors."""

import pytest
import torch

from sfd_lightning.data import PromptDataModule
from sfd_lightning.diffusion import conditions
from sfd_lightning.errors import ConfigError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_concept_replacement_is_case_insensitive(tmp_path):
    forget = write(tmp_path, "forget.txt", "Brad Pitt on a red carpet\n\na portrait of BRAD PITT, oil painting\n")
    data = PromptDataModule(
        retained_prompts=["a photo of a cat", "a city at night"],
        forget_prompts=forget,
        concept="brad pitt",
        replacement="a middle aged man",
    )
    assert data.forget_prompts == ["Brad Pitt on a red carpet", "a portrait of BRAD PITT, oil painting"]
    assert data.override_prompts == [
        "a middle aged man on a red carpet",
        "a portrait of a middle aged man, oil painting",
    ]


def test_pool_split_by_concept_and_aligned_batches():
    pool = ["a handwritten seven", "the digit seven", "a handwritten one", "the digit two", "three"]
    data = PromptDataModule(shape=(1, 8, 8), batch_size=16, retained_prompts=pool, concept="seven", replacement="one")
    assert data.forget_prompts == ["a handwritten seven", "the digit seven"]
    assert data.retained_prompts == ["a handwritten one", "the digit two", "three"]
    both = data.batch_for(5, rank=1)
    batch = both["generator"]
    assert batch["z"].shape == (32, 1, 8, 8) and set(batch["labels"]) <= set(data.retained_prompts)
    assert [f.replace("seven", "one") for f in batch["forget_labels"]] == batch["override_labels"]
    again, other_rank = data.batch_for(5, rank=1)["generator"], data.batch_for(5, rank=0)["generator"]
    assert torch.equal(batch["z"], again["z"]) and batch["labels"] == again["labels"]
    assert not torch.equal(batch["z"], other_rank["z"])
    # The generator update redraws its prompts and noise, as the reference's SD loop does.
    fake = both["fake_score"]
    assert not torch.equal(fake["z"], batch["z"])
    assert fake["labels"] != batch["labels"] or fake["forget_labels"] != batch["forget_labels"]
    assert "negative_labels" not in batch  # concept mode: the empty prompt stays guidance's null condition


def test_nudity_mode_puts_keywords_before_or_after_subjects(tmp_path):
    data = PromptDataModule(
        mode="nudity",
        subjects=["a photo of a woman", "a statue"],
        keywords=write(tmp_path, "k.txt", "nude\nnsfw\n"),
        batch_size=64,
    )
    assert data.forget_prompts == [
        "a photo of a woman, nude",
        "nude a photo of a woman",
        "a photo of a woman, nsfw",
        "nsfw a photo of a woman",
        "a statue, nude",
        "nude a statue",
        "a statue, nsfw",
        "nsfw a statue",
    ]
    assert data.override_prompts == ["a photo of a woman"] * 4 + ["a statue"] * 4
    assert data.retained_prompts == ["a photo of a woman", "a statue"]
    batch = data.batch_for(0)["fake_score"]
    assert set(batch["forget_labels"]) == set(data.forget_prompts)  # 64 draws: every placement occurs
    assert batch["negative_labels"] == ["nude, nsfw"] * 64  # the keywords: the forget terms' unconditional branch
    mine = PromptDataModule(mode="nudity", subjects=["a statue"], keywords=["nude"], negative_prompt="blurry")
    assert mine.batch_for(0)["generator"]["negative_labels"] == ["blurry"]


def test_validation_prompts_are_deterministic_and_spread():
    pool = [f"prompt {i}" for i in range(20)] + ["a dog"]
    data = PromptDataModule(
        retained_prompts=pool, forget_prompts=["a dog", "two dogs"], concept="dog", replacement="cat", n_validation=4
    )
    assert data.validation_prompts["retained"] == ["prompt 0", "prompt 5", "prompt 10", "prompt 15"]
    assert data.validation_overrides == ["a cat", "two cats"]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "prompt file not found"),
        (b"", "holds no prompts"),
        (b"\n   \n", "holds no prompts"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is a binary file"),
        (b"caf\xe9 au lait\n", "is not UTF-8 text"),
        (b"x" * (10 * 2**20 + 1), "prompt files are at most 10 MiB"),
        (b"a dog\n" + b"x" * 2**20 + b"\n", "prompt 2 of .* has 1,048,576 characters; prompts have at most 2,000"),
    ],
)
def test_bad_prompt_files_name_the_field(tmp_path, content, message):
    path = tmp_path / "retained.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"data.retained_prompts: .*{message}"):
        PromptDataModule(retained_prompts=str(path), forget_prompts=["a dog"], concept="dog", replacement="cat")


def test_concept_absent_from_forget_prompts_and_mismatched_overrides():
    with pytest.raises(ConfigError, match="data.concept: 'brad pitt' occurs in none of the 2 forget prompts"):
        PromptDataModule(
            retained_prompts=["a cat"], forget_prompts=["a man", "a woman"], concept="brad pitt", replacement="x"
        )
    with pytest.raises(ConfigError, match="data.override_prompts: has 1 prompts for 2 forget prompts"):
        PromptDataModule(retained_prompts=["a cat"], forget_prompts=["a man", "a woman"], override_prompts=["a person"])


def test_conditions_handle_prompts_like_labels():
    prompts = ["a cat", "a dog"]
    assert conditions.cat(prompts, ["x"]) == ["a cat", "a dog", "x"]
    assert conditions.null_like(prompts) == ["", ""]
    assert conditions.dropped(prompts, torch.tensor([True, False])) == ["", "a dog"]
    labels = torch.tensor([3, 4])
    assert conditions.dropped(labels, torch.tensor([False, True])).tolist() == [3, -1]


def test_text_unet_null_prompt_and_word_order():
    from sfd_lightning.models.components import TextUNet

    torch.manual_seed(0)
    net = TextUNet(vocabulary=["a", "handwritten", "seven", "one"], ch=8, ch_mult=(1, 2), norm_groups=4)
    x, t = torch.randn(3, 1, 8, 8), torch.tensor([10, 10, 10])
    out = net(x, t, ["a handwritten seven", "seven handwritten a", ""])
    torch.testing.assert_close(out[:1], net(x[:1], t[:1], ["a handwritten seven"]), atol=1e-5, rtol=1e-5)
    # Word order: the mean of 3 embeddings (|e| < 4) summed in another order moves by < 2 eps * 4 = 1e-6; the MLP's
    # two 32-wide layers (|W| <= 32 ** -0.5 at init, SiLU's slope <= 1.1) scale that by at most 35: < 4e-5.
    anchor, reordered, other = (
        net.text([p]) for p in ("a handwritten seven", "seven handwritten a", "a handwritten one")
    )
    torch.testing.assert_close(reordered, anchor, atol=4e-5, rtol=0)
    assert (other - anchor).abs().max() > 1e-2  # another word moves it far beyond that
    assert torch.equal(net.text([""])[0], net.text.null)
    with pytest.raises(TypeError, match="conditioned on prompts"):
        net(x, t, torch.tensor([1, 2, 3]))


def test_predict_samples_the_evaluated_forget_and_retained_prompts(tmp_path):
    import numpy as np

    from sfd_lightning.callbacks.sample_writer import save_samples

    data = PromptDataModule(
        retained_prompts=["a one", "a two"],
        forget_prompts=["a seven"],
        concept="seven",
        replacement="one",
        n_validation=2,
        predict_n_per_label=2,
    )
    prompts = data.predict_conditions()
    assert prompts == ["a seven", "a seven", "a one", "a one", "a two", "a two"]
    grid = save_samples(str(tmp_path / "s.npz"), torch.zeros(6, 1, 8, 8), prompts, n_per_condition=2)
    assert list(np.load(tmp_path / "s.npz")["prompts"]) == prompts and grid.endswith("s.png")


def test_a_long_prompt_list_entry_is_refused():
    with pytest.raises(ConfigError, match="data.forget_prompts: prompt 1 of the list has 2,001 characters"):
        PromptDataModule(
            retained_prompts=["a cat"], forget_prompts=["a dog " + "x" * 1995], concept="dog", replacement="cat"
        )


def test_a_caption_longer_than_its_strip_is_cut_quickly():
    from sfd_lightning.callbacks.image_grid import caption

    strip = caption("a handwritten seven " * 50_000, width=60, channels=1)  # a megabyte: measured whole, it never ended
    assert strip.shape == (1, 14, 60) and strip.min() < 1
