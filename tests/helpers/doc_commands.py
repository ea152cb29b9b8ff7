"""The commands the docs tell a user to run: every `sfd`, `python -m sfd_lightning`,
`torchrun/srun ... -m sfd_lightning` and `make` line in the code blocks of docs/ and README.md, and what running one
"as written" means without training.

`fit`, `validate` and `predict` run with `--print_config`, so every config they name must resolve (a stale path or
option fails); a `--ckpt_path` naming no file is a placeholder (`runs/.../last.ckpt`) and is left out. A line with a
placeholder config (`C.yaml`: no folder) or an elided part (`...`), and every other verb, runs with `--help`.
`run_all` runs a batch of such argument lists in one process (the CLI's imports are paid once) and prints the
exit status and output of each as JSON.
"""

import contextlib
import io
import json
import os
import re
import shlex
import sys
import traceback
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from project import ROOT

LIGHTNING_VERBS = ("fit", "validate", "predict")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
NOT_SHELL = ("python", "markdown", "md", "yaml", "json", "text")  # blocks whose lines are not commands
PLACEHOLDER = "PLACEHOLDER"
COMMAND_WORDS = ("sfd", "make", "python", "python3", "torchrun", "srun")


def doc_files() -> List[Path]:
    return sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def code_blocks(text: str) -> Iterator[Tuple[str, List[str]]]:
    """(language, lines) of each top-level fenced block; a fence closes only on a bare fence at least as long, so a
    ```` block may hold ``` blocks (a model card shown as a whole)."""
    fence, language, lines = None, "", []
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence, language, lines = match.group(1), match.group(2).lower(), []
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not match.group(2):
            yield language, lines
            fence = None
        else:
            lines.append(line)


def shell_lines(lines: List[str]) -> Iterator[str]:
    """The block's lines with backslash continuations joined."""
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield (pending + line).strip()
        pending = ""
    if pending:
        yield pending.strip()


def words(line: str) -> List[str]:
    """The line as the shell splits it, `<run id>`-style placeholders made one word, comments dropped."""
    line = re.sub(r"<[^<>]*>", PLACEHOLDER, line)
    return shlex.split(line, comments=True)


def sfd_arguments(tokens: List[str]) -> Optional[List[str]]:
    """The arguments after `sfd` or `-m sfd_lightning`, or None when the line is no such command."""
    while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):  # VAR=value sfd ...
        tokens = tokens[1:]
    if tokens[:1] == ["sfd"]:
        return tokens[1:]
    for i in range(len(tokens) - 1):
        if tokens[i] == "-m" and tokens[i + 1] == "sfd_lightning":
            launcher = os.path.basename(tokens[0])
            if launcher in ("torchrun", "srun", "python", "python3"):
                return tokens[i + 2 :]
    return None


def commands() -> List[Tuple[str, str, List[str]]]:
    """(file, line, words) of every command line in the docs' shell blocks."""
    found = []
    for path in doc_files():
        for language, lines in code_blocks(path.read_text(encoding="utf-8")):
            if language in NOT_SHELL:
                continue
            for line in shell_lines(lines):
                line = line.removeprefix("$ ")
                first = re.sub(r"^([A-Z_][A-Z0-9_]*=\S*\s+)+", "", line).split(" ", 1)[0]
                if first in COMMAND_WORDS:  # not a printout, a comment or a Python line
                    found.append((str(path.relative_to(ROOT)), line, words(line)))
    return found


def unbracketed(arguments: List[str]) -> List[str]:
    """Optional parts written `[--a=1 --b=2]` taken as given."""
    return [word.lstrip("[").rstrip("]") for word in arguments if word.lstrip("[").rstrip("]")]


def as_run(arguments: List[str]) -> List[str]:
    """What running these `sfd` arguments as written means here (see the module docstring)."""
    arguments = unbracketed(arguments)
    verb = arguments[0] if arguments and not arguments[0].startswith("-") else None
    if verb is None:
        return ["--help"]
    if verb not in LIGHTNING_VERBS:
        return [verb, "--help"]
    if "--help" in arguments:
        return arguments
    kept, skip = [], False
    for i, word in enumerate(arguments):
        if skip:
            skip = False
            continue
        if word == "--ckpt_path" and i + 1 < len(arguments) and not os.path.exists(arguments[i + 1]):
            skip = True
            continue
        if word.startswith("--ckpt_path=") and not os.path.exists(word.split("=", 1)[1]):
            continue
        kept.append(word)
    configs = [kept[i + 1] for i, word in enumerate(kept[:-1]) if word in ("-c", "--config")]
    configs += [word.split("=", 1)[1] for word in kept if word.startswith("--config=")]
    if "..." in kept or any("/" not in config for config in configs):
        return [verb, "--help"]
    return [word for word in kept if word != "--print_config"] + ["--print_config"]


def sfd_entry_point():
    """The `sfd` console script's function, as setup.cfg names it (wherever the CLI module lives)."""
    import importlib

    target = re.search(r"^\s*sfd\s*=\s*([\w.]+):(\w+)", (ROOT / "setup.cfg").read_text(), flags=re.M)
    return getattr(importlib.import_module(target.group(1)), target.group(2))


def run_all() -> None:
    """Run each argument list (JSON on stdin) through the `sfd` entry point; JSON results on stdout."""
    main = sfd_entry_point()
    results = []
    real_stdout = sys.stdout
    for argv in json.load(sys.stdin):
        out = io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                main(argv)
            except SystemExit as err:
                code = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
            except Exception:  # noqa: BLE001 (reported with the command that raised it)
                traceback.print_exc()
                code = 1
        text = out.getvalue()
        results.append({"argv": argv, "code": code, "head": text[:1000], "output": text[-3000:]})
    real_stdout.write(json.dumps(results))
