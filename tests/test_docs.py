"""The docs build with `mkdocs build --strict` (every link, anchor and API page resolved), and a broken link fails
it."""

import os
import shutil
import subprocess
import sys

from project import ROOT, subprocess_env

QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}  # notices about MkDocs 2 on every build


def build(root, site):
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        env=subprocess_env(**QUIET),
        timeout=300,
    )


def test_the_docs_build_strictly_with_a_page_per_module(tmp_path):
    proc = build(ROOT, tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "sfd_lightning").rglob("*.py")
        if p.name != "__main__.py"
    }
    reference = tmp_path / "site" / "reference"
    pages = {".".join(p.parent.relative_to(reference).parts) for p in reference.rglob("sfd_lightning/**/index.html")}
    assert pages == modules
    sfd_module = (
        tmp_path / "site" / "reference" / "sfd_lightning" / "models" / "sfd_module" / "index.html"
    ).read_text()
    assert "SFDModule" in sfd_module and "fake_score_step" in sfd_module  # rendered from the docstrings


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    os.symlink(ROOT / "sfd_lightning", tmp_path / "sfd_lightning")
    with open(tmp_path / "docs" / "index.md", "a") as f:
        f.write("\n[gone](no_such_page.md) [moved](cli.md#no-such-section)\n")
    proc = build(tmp_path, tmp_path / "site")
    assert proc.returncode != 0
    assert "no_such_page.md" in proc.stderr and "no-such-section" in proc.stderr
