"""I2P-format prompt suites: I2P's own CSV and the ESD/UnlearnDiffAtk CSVs, their filters, seeds and errors."""

import pytest

from sfd_lightning.data.i2p import PromptRow, read_i2p
from sfd_lightning.errors import ConfigError

I2P_HEADER = (
    "prompt,categories,hard,inappropriate_percentage,nudity_percentage,lexica_url,sd_seed,sd_guidance_scale,"
    "sd_image_width,sd_image_height,sd_model\n"
)
I2P_ROWS = [
    '"a stormy sea, oil painting","violence, shocking",1,60.0,0.0,https://lexica.art/a,4294967295,7.5,512,512,SD 1.5\n',
    'a crowded market at dusk,"sexual, hate",0,40.0,55.5,https://lexica.art/b,12,7,512,512,SD 1.5\n',
    "a lonely lighthouse,Sexual,1,80.0,90.0,https://lexica.art/c,,12.5,512,512,SD 1.5\n",
    "a burning candle,illegal activity,0,10.0,5.0,https://lexica.art/d,3,,512,512,SD 1.5\n",
]
ESD = (
    "case_number,prompt,evaluation_seed,evaluation_guidance\n"
    "0,a marble statue in a garden,2734,7.5\n1,a painting of a river,118,7\n"
)


def write(tmp_path, text, name="i2p.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def i2p(tmp_path):
    return write(tmp_path, I2P_HEADER + "".join(I2P_ROWS))


def test_i2p_rows_keep_their_seed_and_guidance(i2p):
    rows = read_i2p(i2p, "--prompts")
    assert rows == [
        PromptRow("a stormy sea, oil painting", 2**32 - 1, 7.5),
        PromptRow("a crowded market at dusk", 12, 7.0),
        PromptRow("a lonely lighthouse", None, 12.5),
        PromptRow("a burning candle", 3, None),
    ]
    assert isinstance(rows[0].seed, int)


def test_esd_columns_give_seed_and_guidance(tmp_path):
    rows = read_i2p(write(tmp_path, "\ufeff" + ESD.replace("prompt", " Prompt ")), "--prompts")
    assert rows == [PromptRow("a marble statue in a garden", 2734, 7.5), PromptRow("a painting of a river", 118, 7.0)]


def test_filters_categories_nudity_and_hard(i2p):
    def prompts(**filters):
        return [row.prompt for row in read_i2p(i2p, "--prompts", **filters)]

    assert prompts(categories=["SEXUAL "]) == ["a crowded market at dusk", "a lonely lighthouse"]
    assert prompts(categories="hate, shocking") == ["a stormy sea, oil painting", "a crowded market at dusk"]
    assert prompts(min_nudity=55.5) == ["a crowded market at dusk", "a lonely lighthouse"]
    assert prompts(hard_only=True) == ["a stormy sea, oil painting", "a lonely lighthouse"]
    assert prompts(categories=["sexual"], min_nudity=50, hard_only=True) == ["a lonely lighthouse"]


def test_an_emptied_suite_says_which_filter_emptied_it(i2p):
    with pytest.raises(
        ConfigError,
        match=r"--prompts: .*an empty suite.*--categories hate kept 1 of 4; "
        r"--hard-only kept 0 of 1",
    ):
        read_i2p(i2p, "--prompts", categories=["hate"], hard_only=True)


def test_filters_need_their_columns(tmp_path):
    esd = write(tmp_path, ESD)
    for option, filters in [
        ("--categories", {"categories": ["hate"]}),
        ("--min-nudity", {"min_nudity": 50}),
        ("--hard-only", {"hard_only": True}),
    ]:
        with pytest.raises(ConfigError, match=f"^{option}: needs a .* column.*'case_number', 'prompt'"):
            read_i2p(esd, "--prompts", **filters)


def test_unknown_category_lists_those_present(i2p):
    with pytest.raises(
        ConfigError, match="^--categories: nudity not among .*: hate, illegal activity, sexual, shocking, violence$"
    ):
        read_i2p(i2p, "--prompts", categories=["nudity", "hate"])
    with pytest.raises(ConfigError, match=r"^--min-nudity: is a percentage in \[0, 100\], got 150"):
        read_i2p(i2p, "--prompts", min_nudity=150)


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "prompt suite CSV not found"),
        ("", "holds no header line"),
        ("case_number,text\n0,a cat\n", "has no 'prompt' column \\(its columns: 'case_number', 'text'\\)"),
        ("prompt,sd_seed\n", "has a header and no prompt rows"),
        ("prompt,sd_seed\na cat,1\n  ,2\n", "row 2 \\(line 3\\) of .* has an empty prompt"),
        ("prompt,sd_seed\na cat,1\na dog,12x\n", "row 2 \\(line 3\\) of .* has sd_seed='12x'; it should be an integer"),
        ("prompt,sd_seed\na cat,1.5\n", "row 1 \\(line 2\\) of .* has sd_seed='1.5'"),
        ("prompt,evaluation_guidance\na cat,high\n", "has evaluation_guidance='high'; it should be a finite number"),
        ("prompt,sd_seed\na cat, with a comma,1\n", "row 1 \\(line 2\\) of .* has 3 cells and the header 2"),
        ("prompt\n" + "x" * 2001 + "\n", "prompt 1 of .* has 2,001 characters"),
    ],
)
def test_bad_files_name_the_field_and_row(tmp_path, text, message):
    path = str(tmp_path / "missing.csv") if text is None else write(tmp_path, text)
    with pytest.raises(ConfigError, match=f"^--prompts: .*{message}"):
        read_i2p(path, "--prompts")


def test_binary_and_non_utf8_files_are_refused(tmp_path):
    for raw, message in [(b"prompt\n\x00\x01", "is a binary file"), (b"prompt\ncaf\xe9\n", "is not UTF-8 text")]:
        (tmp_path / "bad.csv").write_bytes(raw)
        with pytest.raises(ConfigError, match=f"^--prompts: .*{message}"):
            read_i2p(str(tmp_path / "bad.csv"), "--prompts")


def test_bad_nudity_cell_names_row_and_column(tmp_path):
    path = write(tmp_path, I2P_HEADER + I2P_ROWS[0] + I2P_ROWS[1].replace(",55.5,", ",n/a,"))
    with pytest.raises(ConfigError, match=r"^--prompts: row 2 \(line 3\) .* has nudity_percentage='n/a'"):
        read_i2p(path, "--prompts", min_nudity=10)
