"""PromptAccuracyCallback with one or several forgotten prompt concepts: each concept judged as its class."""

from types import SimpleNamespace

import pytest
import torch
from pixel_classifier import PixelClassifier

from sfd_lightning.callbacks.prompt_accuracy import PromptAccuracyCallback
from sfd_lightning.data import PromptDataModule
from sfd_lightning.data.prompts import class_of
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.classifier import ClassifierJudge

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
POOL = [f"{form} {w}" for w in WORDS for form in ("a handwritten", "the digit")]
K = len(WORDS)


def module(shown):
    """A generator that draws, for a prompt naming class c, class ``shown[c]`` (default c itself)."""

    def sample_images(noise, prompts):
        drawn = torch.tensor([shown.get(class_of(p, WORDS), class_of(p, WORDS)) for p in prompts]) / K
        return drawn.to(noise.dtype).view(-1, 1, 1, 1).expand_as(noise).clone()

    return SimpleNamespace(device=torch.device("cpu"), sample_images=sample_images)


def evaluate(data, shown):
    callback = PromptAccuracyCallback("assets/digits_classifier.pt", WORDS, n_per_prompt=3, batch_size=7)
    callback.judge = ClassifierJudge(PixelClassifier(K))
    trainer = SimpleNamespace(global_rank=0, world_size=1, datamodule=data)
    return callback.evaluate(trainer, module(shown), final=True)


def test_each_concept_is_judged_and_the_worst_is_forget_accuracy():
    """seven is drawn as its replacement one; three and five are still drawn as themselves."""
    concepts = [["seven", "one"], ["three", "eight"], ["five", "six"]]
    data = PromptDataModule(shape=(1, 2, 2), retained_prompts=POOL, concepts=concepts, n_validation=6)
    shown = {7: 1, 3: 3}
    out = evaluate(data, shown)
    assert out["forget/accuracy_seven"] == 0.0 and out["forget/accuracy_three"] == 1.0
    assert out["forget/accuracy_five"] == 1.0 and out["forget/accuracy"] == 1.0
    assert out["forget/accuracy_mean"] == pytest.approx(2 / 3)
    assert out["forget/override_rate"] == pytest.approx(1 / 3)  # seven's samples only are shown their override
    assert out["retained/accuracy"] == 1.0 and "retained/accuracy_7" not in out and "retained/accuracy_0" in out
    spaced = PromptDataModule(
        shape=(1, 2, 2), retained_prompts=POOL, concepts=[["digit seven", "digit one"], ["three", "eight"]]
    )
    assert {"forget/accuracy_digit_seven", "forget/accuracy_three"} <= set(evaluate(spaced, {7: 1}))


def test_one_concept_keeps_the_keys_it_had():
    for kw in (dict(concept="seven", replacement="one"), dict(concepts=[["seven", "one"]])):
        data = PromptDataModule(shape=(1, 2, 2), retained_prompts=POOL, n_validation=4, **kw)
        out = evaluate(data, {7: 1})
        assert not any(k.startswith("forget/accuracy_") for k in out)
        assert out["forget/accuracy"] == 0.0 and out["forget/override_rate"] == 1.0 and out["retained/accuracy"] == 1.0


def test_two_concepts_of_one_class_are_refused():
    data = PromptDataModule(
        shape=(1, 2, 2), retained_prompts=POOL, concepts=[["handwritten seven", "one"], ["digit seven", "two"]]
    )
    with pytest.raises(ConfigError, match="class_words: two forgotten concepts name the same class"):
        evaluate(data, {})
