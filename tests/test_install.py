"""The environment the tests run in is the one `make install` pins: every direct dependency at its constraint."""

import re
from importlib.metadata import PackageNotFoundError, version

from project import ROOT


def pins():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line.strip() and not line.startswith("#"))


def requirement_names():
    """The install requirements and the dev extra's (what `make install` installs)."""
    text = (ROOT / "setup.cfg").read_text()
    blocks = [text.split(key, 1)[1].split("\n\n", 1)[0] for key in ("install_requires =", "\ndev =")]
    return {
        re.split(r"[<>=\[;]", line.strip())[0].lower()
        for block in blocks
        for line in block.splitlines()
        if line.strip()
    }


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_direct_dependency_is_pinned():
    assert {canonical(n) for n in requirement_names()} <= {canonical(n) for n in pins()}


def test_the_installed_versions_are_the_pinned_ones():
    wrong = {}
    for name, pinned in pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed is None or installed.split("+")[0] != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"installed versions differ from constraints.txt (pinned, installed): {wrong}"
