"""The identity suite with several erased people (``--erased-people``): one subfolder of photos per person under
``--reference-folder``, each person's images drawn from the prompts naming them and judged against their own photos,
the worst and the mean reported beside each; bad lists refused in one line naming the option. Real photographs that
ship in installed packages: scikit-image's astronaut (Eileen Collins), matplotlib's Grace Hopper, a coffee cup."""

import json

import pytest
from photos import grace_hopper, photo_folder
from PIL import Image

from sfd_lightning.benchmark.erased_people import read_names
from sfd_lightning.benchmark.figure import draw_figure
from sfd_lightning.benchmark.identity import IdentitySuite
from sfd_lightning.benchmark.report import flat_numbers, headline
from sfd_lightning.errors import ConfigError

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """photos/<name>/ for two erased people, and prompts naming each (and one naming nobody)."""
    root = tmp_path_factory.mktemp("people")
    photo_folder(root / "photos" / "Eileen Collins", skimage_data.astronaut())
    photo_folder(root / "photos" / "grace hopper", grace_hopper(), "photo.jpg")
    (root / "prompts.txt").write_text("a photo of eileen collins\na portrait of grace hopper\na bowl of ramen\n")
    return root


def build(people, names="eileen collins,grace hopper", **kwargs):
    return IdentitySuite(str(people / "prompts.txt"), str(people / "photos"), 2, 10, erased_people=names, **kwargs)


def test_each_erased_person_is_judged_against_their_own_photos_with_the_worst_and_the_mean(people, tmp_path):
    suite = build(people)
    assert [(i.prompt, i.seed, i.group) for i in suite.items] == [
        ("a photo of eileen collins", 10, "erased/eileen collins"),
        ("a photo of eileen collins", 11, "erased/eileen collins"),
        ("a portrait of grace hopper", 12, "erased/grace hopper"),
        ("a portrait of grace hopper", 13, "erased/grace hopper"),
    ]
    assert suite.header()["reference_photos"] == {"eileen collins": 1, "grace hopper": 1}
    assert suite.header()["erased_people"] == ["eileen collins", "grace hopper"]
    images = tmp_path / "sfd"
    images.mkdir()
    # Collins still shown in one of her two images; Hopper's images show Collins and a cup: not Hopper
    for k, photo in enumerate(
        [skimage_data.astronaut(), skimage_data.coffee(), skimage_data.astronaut(), skimage_data.coffee()]
    ):
        Image.fromarray(photo).resize((256, 256)).save(images / f"{k:05d}.png")
    r = suite.judge(str(images), None)
    assert r["erased/eileen collins"] == {"matched": 0.5, "faces_found": 0.5, "images": 2}
    assert r["erased/grace hopper"] == {"matched": 0.0, "faces_found": 0.5, "images": 2}
    assert r["forget"] == {"matched": 0.5, "faces_found": 0.5, "images": 2, "person": "eileen collins"}
    assert r["erased_mean"] == {"matched": 0.25, "faces_found": 0.5} and "retained" not in r
    table = suite.table({"sfd": r})
    assert table.splitlines()[2] == "| model | person | matched | faces found |"
    assert "| sfd | erased: grace hopper | 0.00% | 50.00% |" in table
    assert "| sfd | erased, worst: eileen collins | 50.00% | 50.00% |" in table
    assert "| sfd | erased, mean | 25.00% | 50.00% |" in table
    assert headline({"identity": {"sfd": r}}, "sfd") == {
        "erased person matched": 0.5,
        "erased people matched (mean)": 0.25,
    }
    assert flat_numbers({"identity": {"sfd": r}})["identity/sfd/erased/grace hopper/matched"] == 0.0
    json.dumps(r)  # the results go to benchmark.json as they are
    draw_figure({"identity": {"sfd": r}}, str(tmp_path / "b.png"))
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_retained_people_are_reported_beside_the_erased_ones(people):
    photo_folder(people / "kept" / "hopper", grace_hopper(), "photo.jpg")
    (people / "kept.txt").write_text("grace hopper at a desk\n")
    suite = build(
        people,
        names=["eileen collins"],
        retained_people=[f"grace hopper={people / 'kept' / 'hopper'}"],
        retained_prompts=str(people / "kept.txt"),
    )
    assert [i.group for i in suite.items] == ["erased/eileen collins"] * 2 + ["grace hopper"] * 2
    results = {
        "sfd": {
            "forget": {"matched": 0.0, "faces_found": 1.0, "person": "eileen collins"},
            "erased_mean": {"matched": 0.0, "faces_found": 1.0},
            "erased/eileen collins": {"matched": 0.0, "faces_found": 1.0},
            "grace hopper": {"matched": 1.0, "faces_found": 1.0},
            "retained": {"matched": 1.0, "faces_found": 1.0},
        }
    }
    rows = suite.table(results).splitlines()[4:]
    assert rows == [
        "| sfd | erased: eileen collins | 0.00% | 100.00% |",
        "| sfd | erased, worst: eileen collins | 0.00% | 100.00% |",
        "| sfd | erased, mean | 0.00% | 100.00% |",
        "| sfd | retained: grace hopper | 100.00% | 100.00% |",
        "| sfd | retained, mean | 100.00% | 100.00% |",
    ]


def test_a_list_of_names_reads_from_text_a_concept_list_or_one_name_a_line(tmp_path):
    (tmp_path / "concepts.csv").write_text("concept,replacement\nbrad pitt,a man\n angelina jolie ,a woman\n")
    (tmp_path / "names.txt").write_text("brad pitt\n\nangelina jolie\n")
    for value in ("brad pitt, angelina jolie", str(tmp_path / "concepts.csv"), str(tmp_path / "names.txt")):
        assert read_names(value) == ["brad pitt", "angelina jolie"]
    (tmp_path / "bad.csv").write_text("name\nbrad pitt\n")
    with pytest.raises(ConfigError, match=r"^--erased-people: .*bad.csv' has no 'concept' column"):
        read_names(str(tmp_path / "bad.csv"))


@pytest.mark.parametrize(
    "names, error",
    [
        ("eileen collins,Eileen Collins", "--erased-people: lists 'Eileen Collins' twice"),
        ("eileen collins, ", "--erased-people: holds a blank name"),
        ([], "--erased-people: is empty"),
        ("eileen collins,tom hanks", "--reference-folder: .* has no subfolder named 'tom hanks'"),
        ("eileen collins,nobody", "--reference-folder: no images .*nobody"),
        ("eileen collins,ramen", "--reference-folder: no face found .*ramen"),
        ("eileen collins,grace", "--reference-folder: .* has subfolders 'Grace' and 'grace': one 'grace' only"),
        ("eileen collins,ada lovelace", "--erased-people: none of the 5 --identity-prompts names 'ada lovelace'"),
    ],
)
def test_bad_lists_of_people_are_one_line_naming_the_option(people, tmp_path, names, error):
    photos = tmp_path / "photos"
    photo_folder(photos / "eileen collins", skimage_data.astronaut())
    photo_folder(photos / "ada lovelace", skimage_data.astronaut())
    photo_folder(photos / "ramen", skimage_data.coffee())
    (photos / "nobody").mkdir()
    photo_folder(photos / "grace", grace_hopper(), "photo.jpg")
    photo_folder(photos / "Grace", grace_hopper(), "photo.jpg")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("eileen collins\nnobody\na bowl of ramen\ngrace hopper\ntom hanks\n")
    with pytest.raises(ConfigError, match=f"^{error}"):
        IdentitySuite(str(prompts), str(photos), 1, 0, erased_people=names)


def test_a_person_both_erased_and_retained_is_refused(people):
    with pytest.raises(ConfigError, match=r"^--retained-person: 'Grace Hopper' is one of the erased people"):
        build(
            people,
            retained_people=[f"Grace Hopper={people / 'photos' / 'grace hopper'}"],
            retained_prompts=str(people / "prompts.txt"),
        )


def test_the_command_refuses_a_bad_list_in_one_line_before_any_model_is_loaded(people, tmp_path, run_cli, capsys):
    args = ["benchmark", "--ckpt", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "out"), "--suite", "identity"]
    args += ["--identity-prompts", str(people / "prompts.txt"), "--reference-folder", str(people / "photos")]
    assert run_cli([*args, "--erased-people", "grace hopper,brad pitt"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sfd: error: --reference-folder: " in err and "'brad pitt'" in err
    assert not (tmp_path / "out").exists()
