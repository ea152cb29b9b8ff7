"""The adversarial-prompt search (PEZ): continuous words optimised through their projection onto real words."""

from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.attack.adversarial_prompt import MAX_PROMPT_TOKENS, nearest_words, pez_search, prompt_room
from sfd_lightning.attack.search_steps import Diverged


def test_nearest_words_by_cosine():
    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert nearest_words(torch.tensor([[3.0, 0.2], [-0.3, -0.1], [-0.1, 5.0]]), table).tolist() == [0, 2, 1]


def test_the_search_finds_the_real_words_the_objective_wants():
    """Images are the projected words themselves; the objective rewards alignment with rows 7 and 2."""
    table = torch.randn(12, 6, generator=torch.Generator().manual_seed(0))
    wanted = torch.stack([table[7], table[2]])

    def render(z, words):
        return words.expand(z.shape[0], -1, -1)

    def objective(images):
        return -torch.nn.functional.cosine_similarity(images, wanted[None], dim=-1).mean()

    found = pez_search(
        render,
        table,
        objective,
        m=2,
        milestones=(0, 60),
        shape=(1,),
        batch=2,
        lr=0.1,
        generator=torch.Generator().manual_seed(1),
    )
    assert sorted(found) == [0, 60] and found[60].tolist() == [7, 2]
    assert found[0].tolist() != [7, 2]  # it started elsewhere


def test_a_search_whose_words_go_non_finite_stops_where_it_diverged():
    """An infinite step sends every continuous word to NaN, whose projection is always row 0: without the stop,
    'a a a' was scored as the words found."""
    table = torch.randn(12, 6, generator=torch.Generator().manual_seed(0))
    with pytest.raises(Diverged) as stop:
        pez_search(
            lambda z, words: words.expand(z.shape[0], -1, -1),
            table,
            lambda images: images.sum(),
            m=2,
            milestones=(0, 2, 5),
            shape=(1,),
            batch=2,
            lr=float("inf"),
            generator=torch.Generator().manual_seed(1),
        )
    assert stop.value.step == 1 and sorted(stop.value.done) == [0]  # step 0 (the random start) stands


def test_the_room_for_words_is_the_encoders_window_less_the_longest_prompt(tmp_path):
    from random_pipelines import write_tokenizer
    from transformers import CLIPTokenizer

    from sfd_lightning.models.components import TextUNet

    bag = TextUNet(["a", "handwritten", "seven"], ch=8, ch_mult=(1, 2), norm_groups=4)  # reads every word
    assert prompt_room(bag, ["a handwritten seven", "seven"]) == MAX_PROMPT_TOKENS - 3
    write_tokenizer(tmp_path, 16)  # a character-level CLIP tokenizer: 16 tokens with the start and end ones
    clip = SimpleNamespace(text=SimpleNamespace(tokenizer=CLIPTokenizer.from_pretrained(tmp_path)))
    assert prompt_room(clip, ["seven", "a seven"]) == 16 - 2 - 6  # 'a</w>' and five letters
    assert prompt_room(clip, ["a photo of the digit seven"]) == 0  # already cut off: no room
