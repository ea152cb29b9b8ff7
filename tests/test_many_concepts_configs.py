"""The many-people configs' prompts (every person with forget prompts, none in the retained ones, an even share of
forget rows) and experiments/many_concepts' table (a row per run, the goal judged per row)."""

import pytest
import torch
from project import CONFIGS, ROOT, load_config

from experiments.many_concepts.forget_prompts import concept_names, forget_prompts
from experiments.many_concepts.run import Chain, chains, forget_rates, request_args
from experiments.many_concepts.table import misses, results_table
from sfd_lightning.data import PromptDataModule
from sfd_lightning.data.concept_prompts import draw_forget

CELEBRITIES = ["sd_celebrities_forget.yaml", "sdxl_celebrities_forget.yaml"]


def test_the_forget_prompt_file_is_the_scripts_output_for_the_list():
    names = concept_names(str(ROOT / "configs/prompts/celebrities.csv"))
    written = (ROOT / "configs/prompts/celebrities_prompts.txt").read_text().splitlines()
    assert len(names) == 50 and names[0] == "brad pitt" and written == forget_prompts(names)


@pytest.mark.parametrize("name", CELEBRITIES)
def test_each_person_has_forget_prompts_and_an_even_share_of_forget_rows(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    init = load_config(CONFIGS / name)["data"]["init_args"]
    data = PromptDataModule(**init)
    people = [c.concept for c in data.forget_set]
    assert len(people) == 50 and data.concept == "brad pitt"
    assert [len(m) for m in data.members] == [4] * 50
    assert not any(p.lower() in o.lower() for o in data.override_prompts for p in people)
    assert not any(p in r.lower() for r in data.retained_prompts for p in people)
    assert data.override_prompts[0] == "a photo of a middle aged man"
    assert len(data.validation_prompts["forget"]) == 50  # one per person
    drawn = draw_forget(data.members, 500, torch.Generator().manual_seed(0))
    counts = [sum(i in m for i in drawn) for m in data.members]
    assert counts == [10] * 50


def run(experiment="joint", step=1, forget=None, judge=None, retained=0.97, fid=1.1):
    return {
        "experiment": experiment,
        "seed": 0,
        "step": step,
        "request": "0->1, 3->8, 5->6",
        "forget": {"0": 0.005, "3": 0.01, "5": 0.0} if forget is None else forget,
        "judge_forget": judge,
        "retained": retained,
        "fid_ratio": fid,
        "seconds": 151.7,
    }


def test_the_goal_names_each_miss():
    assert misses(run()) == []
    assert misses(run(fid=None)) == []  # the text configs measure no FID
    assert misses(run(forget={"0": 0.005, "3": 0.03})) == ["3 forget 3.00% > 2.00%"]
    assert misses(run(judge={"0": 0.025})) == ["0 forget (judge) 2.50% > 2.00%"]
    assert misses(run(retained=0.94, fid=1.31)) == ["retained 94.00% < 95.00%", "FID ratio 1.310 > 1.3"]
    assert misses(run(forget={"5": None})) == ["5 forget n/a > 2.00%"]


def test_the_table_has_a_row_per_run_and_counts_the_passes():
    table = results_table([run(), run("sequential", 2, forget={"0": 0.04, "3": 0.01}, fid=None)])
    lines = table.splitlines()
    assert lines[2] == (
        "| joint | 0 | 1 | 0->1, 3->8, 5->6 | 0: 0.50%, 3: 1.00%, 5: 0.00% | n/a | 97.00% | 1.100 | 152 | PASS |"
    )
    assert lines[3].endswith("| 0: 4.00%, 3: 1.00% | n/a | 97.00% | n/a | 152 | MISS |")
    assert "1 of 2 rows PASS" in table and lines[-1] == "- sequential seed 0 step 2: 0 forget 4.00% > 2.00%"


def test_forget_rates_read_per_class_keys_when_several_are_forgotten():
    report = {"forget/accuracy": 0.02, "forget/accuracy_0": 0.01, "forget/accuracy_3": 0.02, "retained/accuracy": 0.9}
    assert forget_rates(report, [0, 3]) == {"0": 0.01, "3": 0.02}
    assert forget_rates(report, [0]) == {"0": 0.02}
    assert forget_rates({"forget/accuracy_big_ben": 0.5}, ["big ben", "seven"]) == {"big ben": 0.5, "seven": None}


def test_each_step_continues_the_previous_export_with_its_own_request():
    joint, sequential, text_joint, text_sequential = chains(["joint", "sequential", "text"])
    assert request_args(joint, joint.steps[0], None) == [
        "--model.init_args.forget_label=[0,3,5]",
        "--model.init_args.override_label=[1,8,6]",
    ]
    assert len(sequential.steps) == 3
    assert request_args(sequential, sequential.steps[1], "out/step1/export") == [
        "--model.init_args.init_ckpt=null",
        "--model.init_args.previous=out/step1/export",
        "--model.init_args.forget_label=3",
        "--model.init_args.override_label=8",
    ]
    assert (
        request_args(text_joint, text_joint.steps[0], None)[-1]
        == "--data.init_args.concepts=[[seven,one],[three,eight]]"
    )
    assert request_args(text_sequential, text_sequential.steps[1], "e")[2:] == [
        "--data.init_args.concept=three",
        "--data.init_args.replacement=eight",
    ]
    assert isinstance(joint, Chain) and not joint.text and text_joint.text
