"""Configs and specs the user gives are read as plain YAML: damaged or hostile files are one line, for every verb."""

import pytest

from sfd_lightning.cli import main

FILES = {
    "empty": (b"", "is empty; it must hold"),
    "malformed": (b"foo: [1, 2\n", "is not valid YAML at line 2, column 1: expected ',' or ']'"),
    "python tag": (
        b'!!python/object/apply:os.system ["touch PWNED"]\n',
        "could not determine a constructor for the tag",
    ),
    "a list": (b"- 1\n- 2\n", "holds a list; it must hold"),
    "not utf-8": (bytes(range(128, 256)) * 4, "is not UTF-8 text (byte 0)"),
}
VERBS = {"fit": (["fit", "--config"], "--config"), "sweep": (["sweep"], "SWEEP"), "compare": (["compare"], "spec")}


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("kind", FILES)
def test_a_damaged_yaml_file_is_one_line(verb, kind, tmp_path, monkeypatch, capsys):
    content, message = FILES[kind]
    words, field = VERBS[verb]
    if verb == "compare" and kind in ("empty", "a list"):
        field, message = "methods", "must hold a non-empty list of methods"
    path = tmp_path / "file.yaml"
    path.write_bytes(content)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*words, str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"sfd: error: {field}: '{path}'") and message in err[0], err[0]
    assert not (tmp_path / "PWNED").exists()
