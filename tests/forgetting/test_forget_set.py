"""Forget sets: one value is a list of one; each bad list is refused in one line naming its field."""

import pytest

from sfd_lightning.data.concept_list import read_concepts
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting import Concept, ForgetClass, forget_classes


def test_one_value_is_a_list_of_one_and_lists_pair_up():
    assert forget_classes(0, 1, 10) == forget_classes([0], [1], 10) == (ForgetClass(0, 1),)
    assert forget_classes([0, 3, 5], [1, 8, 6], 10) == (ForgetClass(0, 1), ForgetClass(3, 8), ForgetClass(5, 6))
    assert forget_classes([0, 3], 1, 10) == (ForgetClass(0, 1), ForgetClass(3, 1))
    assert forget_classes(["0", 3], [None, 4], 10) == (ForgetClass(0, None), ForgetClass(3, 4))


@pytest.mark.parametrize(
    "forget, override, field, message",
    [
        ([], 1, "model.forget_label", "is empty"),
        ([0, 3, 0], 1, "model.forget_label", "lists class 0 twice"),
        ([0, 12], 1, "model.forget_label", r"must be in \[0, 9\]"),
        ([0, 3], [1, 3], "model.override_label", "with its own class"),
        ([0, 3], [3, 8], "model.override_label", "class 3, which is forgotten too"),
        ([0, 3], [1], "model.override_label", "has 1 entries for 2 forgotten classes"),
    ],
)
def test_bad_class_lists_name_the_field(forget, override, field, message):
    with pytest.raises(ConfigError, match=f"^{field}: .*{message}"):
        forget_classes(forget, override, 10)


def test_concepts_from_a_list_pairs_a_csv_and_a_tsv(tmp_path):
    want = (Concept("seven", "one"), Concept("brad pitt", "a man"))
    assert read_concepts([{"concept": "seven", "replacement": "one"}, ["brad pitt", "a man"]]) == want
    (tmp_path / "c.csv").write_text("Concept, replacement\nseven,one\n\n brad pitt ,a man\n")
    (tmp_path / "c.tsv").write_text("concept\treplacement\nseven\tone\nbrad pitt\ta man\n")
    assert read_concepts(str(tmp_path / "c.csv")) == read_concepts(str(tmp_path / "c.tsv")) == want


@pytest.mark.parametrize(
    "value, message",
    [
        ([], "is empty"),
        ([["seven", "one"], ["Seven", "two"]], "lists the concept 'Seven' twice"),
        ([["seven", "Seven"]], "replaces 'seven' with itself"),
        ([["seven", "three"], ["three", "eight"]], "names the forgotten 'three'"),
        ([["seven"]], r"must be \{concept: \.\.\., replacement: \.\.\.\}"),
        ([{"concept": "seven", "replacement": 1}], "must be text"),
        (7, "must be a list of concept/replacement pairs or a CSV/TSV file"),
    ],
)
def test_bad_concept_lists_name_the_field(value, message):
    with pytest.raises(ConfigError, match=f"^data.concepts.*: .*{message}"):
        read_concepts(value)


def test_a_concept_file_without_its_columns_names_them(tmp_path):
    (tmp_path / "c.csv").write_text("name,replacement\nseven,one\n")
    with pytest.raises(ConfigError, match="^data.concepts: .*has no 'concept' column"):
        read_concepts(str(tmp_path / "c.csv"))
