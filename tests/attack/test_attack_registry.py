"""The attack registry: every registered attack's options are ``AttackSettings`` fields, ``sfd attack`` options and
``attack()`` keyword arguments alike, and an attack added to ``ATTACKS`` runs, is reported and is checked with no other
file changed."""

import inspect
from dataclasses import fields

import pytest
import torch

from sfd_lightning.attack.harness import run_attacks
from sfd_lightning.attack.main import attack, build_parser
from sfd_lightning.attack.options import Attack
from sfd_lightning.attack.registry import AFTER, ATTACKS, BEFORE, OPTIONS, AttackSettings, chosen, settings_from
from sfd_lightning.attack.report import flat, markdown
from sfd_lightning.attack.rows import row
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.protocol import rates


def test_every_option_is_a_setting_a_command_option_and_a_keyword_with_one_default():
    assert len(OPTIONS) == sum(len(a.options) for a in ATTACKS.values())  # a shared option is declared once
    names = [f.name for f in fields(AttackSettings)]
    assert names == ["attacks", *(o.name for o in (*BEFORE, *OPTIONS.values(), *AFTER))]
    settings = AttackSettings()
    settings.check()  # the defaults are in range
    parser = {a.dest: a for a in build_parser()._actions}
    keywords = inspect.signature(attack).parameters
    for option in OPTIONS.values():
        assert getattr(settings, option.name) == option.default
        if option.help is None:  # AttackCallback's settings only
            assert option.name not in parser and option.name not in keywords
            continue
        assert parser[option.name].default == option.default and parser[option.name].help == option.help
        assert keywords[option.name].default == option.default and keywords[option.name].kind.name == "KEYWORD_ONLY"


def test_options_read_as_text_or_lists_and_are_checked_by_name():
    settings = settings_from(["noise"], {"eps": "0,0.5", "embedding_steps": [0, 3], "relearn_weights": "full, lora"})
    assert (
        settings.eps == [0.0, 0.5]
        and settings.embedding_steps == [0, 3]
        and settings.relearn_weights
        == [
            "full",
            "lora",
        ]
    )
    with pytest.raises(ConfigError, match="^--pgd-steps: out of range: -1"):
        settings_from(["noise"], {"pgd_steps": -1})
    with pytest.raises(ConfigError, match=r"^--attack: must be among \('noise', "):
        settings_from(["bogus"], {})
    with pytest.raises(TypeError, match="unexpected keyword argument 'embedding_lr'"):
        attack("unused.ckpt", embedding_lr=0.1)  # a setting of AttackCallback only, as before: refused before any work


@pytest.mark.parametrize(
    "values, message",
    [
        ({"n": "16"}, "--n: must be a whole number, got '16'"),
        ({"lora_rank": 4.0}, "--lora-rank: must be a whole number, got 4.0"),
        ({"seed": True}, "--seed: must be a whole number, got True"),
        ({"prompt_lr": "0.1"}, "--prompt-lr: must be a number, got '0.1'"),
    ],
)
def test_a_number_given_as_text_or_of_another_type_is_refused_by_name(values, message):
    """A Python caller (``attack()``, compare's spec) passes values as they are: no command line converts them."""
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(".", r"\.") + "$"):
        settings_from(["noise"], values)


def test_all_leaves_the_prompt_only_attacks_out_of_class_runs():
    assert chosen(["all"], prompt_run=False) == [n for n, a in ATTACKS.items() if not a.prompt_only]
    assert chosen(["all"], prompt_run=True) == list(ATTACKS)


def test_an_attack_added_to_the_registry_runs_and_is_reported(targets, context, monkeypatch):
    """What a new attack needs beyond its module: its line in ``ATTACKS``. The harness runs it, the checks accept its
    name, the table labels its budgets and the plot gives it a panel."""

    def unattacked_rows(target, ctx):
        z = ctx.noise(ctx.settings.n, target.shape, offset=9)
        c = ctx.on_device(ctx.spec.forget_conditions(ctx.settings.n))
        with torch.no_grad():
            images = target.generate(z, c)
        return [row("toy", 0, target, rates(ctx.judges, images, torch.tensor(ctx.spec.forget_class)), None, 16)]

    monkeypatch.setitem(ATTACKS, "toy", Attack("toy", unattacked_rows, axis="toy steps", column="toy {budget}"))
    result = run_attacks(targets, context(attacks=("toy",), pinpoint_k=0), log=lambda _: None)
    assert [(r["attack"], r["target"]) for r in result["rows"]] == [("toy", "teacher"), ("toy", "sfd")]
    assert "| toy | 0 steps |" in markdown(result) and "attack/toy/0/sfd/judge" in flat(result)
