"""What the attacks attack in class and prompt runs, and the paraphrase attack on a tiny text model."""

import pytest
import torch
from conftest import tiny_classifier

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.embedding import token_renderer
from sfd_lightning.attack.forget_spec import class_spec, prompt_spec
from sfd_lightning.attack.inputs import attack_target
from sfd_lightning.attack.paraphrase import paraphrase_rows
from sfd_lightning.attack.registry import AttackSettings
from sfd_lightning.diffusion import VPDenoiser
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.protocol import Surrogate
from sfd_lightning.models.components import TextUNet
from sfd_lightning.models.one_step import OneStepGenerator
from sfd_lightning.pipelines.one_step import OneStepPipeline

WORDS = ["zero", "one", "two"]
POOL = ["a handwritten zero", "the digit zero", "a handwritten one", "the number one", "a handwritten two"]


def test_class_spec_attacks_the_forget_label_and_keeps_the_others():
    spec = class_spec(4, 2)
    assert spec.forget_conditions(3).tolist() == [2, 2, 2] and spec.token == 2
    conditions, classes = spec.retained_conditions(6)
    assert torch.equal(conditions, classes) and set(classes.tolist()) == {0, 1, 3}
    with pytest.raises(ConfigError, match="forget_label"):
        class_spec(4, 4)


def test_prompt_spec_splits_the_pool_by_the_concept():
    spec = prompt_spec(POOL, "One", WORDS, ["1", "uno"])
    assert spec.forget == ["a handwritten one", "the number one"] and spec.forget_class == 1
    assert spec.context == ["a handwritten", "the number"] and spec.token == "one"
    assert sorted({k for _, k in spec.retained}) == [0, 2]
    assert spec.class_conditions(2, 2) == ["a handwritten two"] * 2
    with pytest.raises(ConfigError, match="--concept"):
        prompt_spec(POOL, "seven", WORDS)
    with pytest.raises(ConfigError, match="--prompts"):
        prompt_spec(["a one"], "one", WORDS)


def test_paraphrase_rows_score_each_held_out_prompt_and_all_together():
    torch.manual_seed(0)
    net = TextUNet(["a", "handwritten", "the", "digit", "number"] + WORDS, ch=8, ch_mult=(1, 2), norm_groups=4)
    target = attack_target(OneStepPipeline(OneStepGenerator(VPDenoiser(net), 400), lambda x: x, {}))
    spec = prompt_spec(POOL, "one", WORDS, ["1", "uno", "the number after zero"])
    surrogate = tiny_classifier(0)
    judges = {
        "surrogate": ClassifierJudge(surrogate, "attack judge surrogate"),
        "judge": ClassifierJudge(tiny_classifier(1, mlp=True), "attack judge judge"),
    }
    ctx = AttackContext(spec, Surrogate(judges["surrogate"]), judges, AttackSettings(n=24), torch.device("cpu"))
    rows = paraphrase_rows(target, ctx)
    assert [r.get("prompt") for r in rows] == ["1", "uno", "the number after zero", None]
    assert rows[-1]["budget"] == -1 and rows[-1]["n"] == 24
    pooled = sum(r["success"]["judge"] * r["n"] for r in rows[:-1]) / rows[-1]["n"]
    assert rows[-1]["success"]["judge"] == pytest.approx(pooled)
    render, init = token_renderer(target, ctx)
    assert torch.equal(init, net.condition_token("one"))


def test_a_text_runs_spec_comes_from_its_network_not_the_checkpoints_class_count(tmp_path):
    """SFD records num_classes for prompt runs too (the linked data argument): the network decides."""
    import argparse

    from sfd_lightning.attack.inputs import spec_of

    torch.manual_seed(0)
    net = TextUNet(["a", "handwritten"] + WORDS, ch=8, ch_mult=(1, 2), norm_groups=4)
    target = attack_target(OneStepPipeline(OneStepGenerator(VPDenoiser(net), 400), lambda x: x, {}))
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(POOL))
    args = argparse.Namespace(
        ckpt=str(tmp_path / "none.ckpt"),
        concept="two",
        prompts=str(pool),
        class_words=",".join(WORDS),
        paraphrases=None,
    )
    spec = spec_of({"num_classes": 10, "forget_label": 0}, target, args)
    assert spec.forget == ["a handwritten two"] and spec.forget_class == 2 and spec.context == ["a handwritten"]
