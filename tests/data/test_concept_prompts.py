"""Several prompt concepts in one run (data.concepts): lists and files, the single concept as a list of one, forget
rows shared evenly over the concepts, overrides, validation prompts, a sequential step's earlier concepts, errors."""

from collections import Counter
from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.data import PromptDataModule
from sfd_lightning.data.concept_prompts import draw_forget, replace_concepts
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
POOL = [f"{form} {w}" for w in WORDS for form in ("a handwritten", "the digit", "a drawing of")]
TWO = [{"concept": "seven", "replacement": "one"}, ["three", "eight"]]


def concept_of(prompt, concepts=("seven", "three", "five")):
    return next(c for c in concepts if c in prompt)


def test_a_list_of_one_is_the_single_concept_exactly(tmp_path):
    table = tmp_path / "one.csv"
    table.write_text("concept,replacement\nseven,one\n")
    kw = dict(shape=(1, 4, 4), batch_size=8, seed=5, retained_prompts=POOL, n_validation=2)
    single = PromptDataModule(**kw, concept="seven", replacement="one")
    for concepts in ([{"concept": "seven", "replacement": "one"}], [["seven", "one"]], str(table)):
        listed = PromptDataModule(**kw, concepts=concepts)
        for name in ("forget_prompts", "override_prompts", "retained_prompts", "validation_prompts", "request"):
            assert getattr(listed, name) == getattr(single, name), name
        assert listed.forget_set == single.forget_set == (Concept("seven", "one"),)
        for iteration, rank in ((0, 0), (9, 1)):
            a, b = single.batch_for(iteration, rank), listed.batch_for(iteration, rank)
            for update in a:
                assert torch.equal(a[update]["z"], b[update]["z"])
                assert {k: v for k, v in a[update].items() if k != "z"} == {
                    k: v for k, v in b[update].items() if k != "z"
                }


@pytest.mark.parametrize("sep, suffix", [(",", "csv"), ("\t", "tsv")])
def test_concepts_from_a_csv_or_tsv_file(tmp_path, sep, suffix):
    table = tmp_path / f"concepts.{suffix}"
    table.write_text(f"concept{sep}replacement\nseven{sep}one\nthree{sep}a digit eight\n")
    data = PromptDataModule(retained_prompts=POOL, concepts=str(table))
    assert data.request == data.forget_set == (Concept("seven", "one"), Concept("three", "a digit eight"))
    assert data.concept == "seven" and data.replacement == "one"  # the first, for code that knows only one
    assert sorted(data.forget_prompts) == sorted(p for p in POOL if "seven" in p or "three" in p)
    assert not [p for p in data.retained_prompts if "seven" in p or "three" in p] and len(data.retained_prompts) == 24


def test_forget_rows_are_shared_evenly_over_the_concepts():
    concepts = [["seven", "one"], ["three", "eight"], ["five", "six"]]
    data = PromptDataModule(shape=(1, 2, 2), batch_size=7, retained_prompts=POOL, concepts=concepts)
    totals = Counter()
    for iteration in range(60):
        for update, batch in data.batch_for(iteration, rank=iteration % 2).items():
            counts = Counter(concept_of(p) for p in batch["forget_labels"])
            assert set(counts) == {"seven", "three", "five"}
            assert max(counts.values()) - min(counts.values()) <= 1, (iteration, update, counts)
            totals.update(counts)
            assert batch["override_labels"] == [replace_concepts(p, data.forget_set) for p in batch["forget_labels"]]
    # 120 updates of 7 rows: each concept 2 or 3 rows an update, the extra row at a random concept: 280 expected
    # each, a binomial spread of about sqrt(120 * 2/9) ~ 5 around it.
    assert all(abs(n - 280) <= 25 for n in totals.values()), totals
    seen = Counter(p for i in range(60) for p in data.batch_for(i)["generator"]["forget_labels"])
    assert set(seen) == set(data.forget_prompts)  # every prompt of each concept is drawn
    assert data.batch_for(3, 1)["generator"]["forget_labels"] == data.batch_for(3, 1)["generator"]["forget_labels"]


def test_balanced_draw_picks_uniformly_within_a_concept():
    g = torch.Generator().manual_seed(0)
    members = [[0], [1, 2, 3, 4]]
    drawn = Counter(i for _ in range(400) for i in draw_forget(members, 4, g))
    assert drawn[0] == 800  # half of the 1600 rows, every time
    assert all(abs(drawn[i] - 200) <= 50 for i in (1, 2, 3, 4)), drawn  # binomial(800, 1/4): sd ~ 12


def test_a_prompt_naming_two_concepts_belongs_to_both_and_loses_both():
    forget = ["a seven next to a three", "a seven", "a three", "Three Sevens"]
    data = PromptDataModule(retained_prompts=["a two"], forget_prompts=forget, concepts=TWO)
    assert data.members == [[0, 1, 3], [0, 2, 3]]
    assert data.override_prompts == ["a one next to a eight", "a one", "a eight", "eight ones"]
    # Replacements are not rewritten by another concept: "seven" -> "one", then "one" is no concept.
    assert replace_concepts("one seven", [Concept("seven", "one"), Concept("one", "two")]) == "two one"


def test_validation_prompts_spread_over_the_concepts():
    data = PromptDataModule(retained_prompts=POOL, concepts=TWO, n_validation=4)
    forget = data.validation_prompts["forget"]
    assert [concept_of(p) for p in forget] == ["seven", "seven", "three", "three"]
    assert data.validation_concepts == {
        p: Concept(concept_of(p), {"seven": "one", "three": "eight"}[concept_of(p)]) for p in forget
    }
    assert data.validation_overrides == [replace_concepts(p, data.forget_set) for p in forget]
    few = PromptDataModule(retained_prompts=POOL, concepts=TWO + [["five", "six"]], n_validation=2)
    assert sorted({c.concept for c in few.validation_concepts.values()}) == ["five", "seven", "three"]  # one each


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(concepts=[]), "data.concepts: is empty"),
        (dict(concepts=[["seven", "one"], ["Seven", "two"]]), "data.concepts: lists the concept 'Seven' twice"),
        (dict(concepts=[["seven", "Seven"]]), "data.concepts: replaces 'seven' with itself"),
        (dict(concepts=TWO, concept="seven"), "data.concepts: give either data.concepts or data.concept, not both"),
        (dict(concepts=TWO, override_prompts=["x"]), "data.concepts: give either .* or data.override_prompts"),
        (dict(concepts=TWO + [["eleven", "two"]]), "data.concepts: 'eleven' occurs in none of the 6 forget prompts"),
        (
            dict(concepts=TWO, forget_prompts=["a seven", "a three", "a dog"]),
            "data.forget_prompts: prompt 'a dog' names none of the forgotten concepts",
        ),
        (
            dict(concepts=TWO, forget_prompts=["a seven"]),
            "data.concepts: 'three' occurs in none of the 1 forget prompts",
        ),
        (
            dict(concepts=TWO, forget_prompts=["a seven", "a three"]),
            "data.retained_prompts: prompt 'a handwritten three' names the forgotten concept 'three'",
        ),
    ],
)
def test_bad_concept_lists_are_refused_in_one_line(kw, message):
    with pytest.raises(ConfigError, match=message) as error:
        PromptDataModule(retained_prompts=POOL, **kw)
    assert "\n" not in str(error.value)


def test_a_single_concept_keeps_its_retained_prompts_and_forget_prompts_without_it():
    # As before lists: given forget prompts may lack the concept (a warning), retained prompts may name it.
    with pytest.warns(UserWarning, match="missing from 1 forget prompts"):
        data = PromptDataModule(
            retained_prompts=["a seven", "a two"], forget_prompts=["a seven", "a dog"], concept="seven", replacement="1"
        )
    assert data.retained_prompts == ["a seven", "a two"] and data.override_prompts == ["a 1", "a dog"]


def attach(data, previous):
    data.trainer = SimpleNamespace(lightning_module=SimpleNamespace(forget_concepts=previous))
    data.setup("fit")
    return data


def test_setup_adds_the_concepts_the_release_forgot_before():
    data = PromptDataModule(shape=(1, 2, 2), batch_size=4, retained_prompts=POOL, concept="seven", replacement="one")
    assert data.forget_set == data.request == (Concept("seven", "one"),) and len(data.forget_prompts) == 3
    attach(data, (Concept("three", "eight"),))
    assert data.request == (Concept("seven", "one"),)
    assert data.forget_set == (Concept("three", "eight"), Concept("seven", "one"))
    assert sorted(data.forget_prompts) == sorted(p for p in POOL if "seven" in p or "three" in p)
    assert not [p for p in data.retained_prompts if "seven" in p or "three" in p]
    counts = Counter(concept_of(p) for p in data.batch_for(0)["generator"]["forget_labels"])
    assert counts == {"seven": 2, "three": 2}
    again = attach(PromptDataModule(retained_prompts=POOL, concepts=TWO), (Concept("three", "eight"),))
    assert again.forget_set == (Concept("three", "eight"), Concept("seven", "one"))  # requested again: once
    plain = attach(PromptDataModule(retained_prompts=POOL, concepts=TWO), ())
    assert plain.forget_set == plain.request == (Concept("seven", "one"), Concept("three", "eight"))


@pytest.mark.parametrize(
    "previous, message",
    [
        ((Concept("seven", "two"),), "data.concepts: 'seven' was forgotten before with replacement 'two'"),
        ((Concept("eleven", "two"),), "data.concepts: 'eleven' occurs in none of the 6 forget prompts"),
    ],
)
def test_setup_refuses_a_release_it_cannot_continue(previous, message):
    data = PromptDataModule(retained_prompts=POOL, concepts=TWO)
    with pytest.raises(ConfigError, match=message):
        attach(data, previous)


def test_nudity_mode_forgets_no_concept():
    data = PromptDataModule(mode="nudity", subjects=["a statue"], keywords=["nude"])
    assert data.forget_set == data.request == () and data.validation_concepts == {}
    with pytest.raises(ConfigError, match="data.mode: nudity mode cannot continue"):
        attach(data, (Concept("seven", "one"),))
