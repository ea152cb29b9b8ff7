"""Every command in docs/ and README.md runs as written: each `sfd` line parses (configs resolved by --print_config,
other verbs' --help), each `make` target named exists, each config, spec or asset path named exists."""

import json
import re
import subprocess
import sys

from doc_commands import COMMAND_WORDS, as_run, commands, doc_files, sfd_arguments
from project import HELPERS, ROOT, subprocess_env

REPO_PATH = re.compile(r"(?<![\w/])(?:configs|experiments|assets)/[\w./-]+\.(?:ya?ml|txt|pt|json)\b")
BARE_CONFIG = re.compile(r"`([\w-]+\.ya?ml)`")
NOT_OURS = {"config.yaml", "mkdocs.yml", "cifar10_train.yml"}  # a run's resolved config; the docs'; the reference's
INLINE_MAKE = re.compile(r"`make ([a-z][\w-]*)")


def make_targets():
    return set(re.findall(r"^([a-z][\w-]*):(?!=)", (ROOT / "Makefile").read_text(), flags=re.M))


def test_the_docs_hold_commands_of_every_kind():
    """The parser finds the commands (a parser that found none would pass everything below)."""
    found = commands()
    kinds = {tokens[0] for _, _, tokens in found}
    assert {"sfd", "make", "torchrun"} <= kinds <= set(COMMAND_WORDS)
    verbs = {sfd_arguments(tokens)[0] for _, _, tokens in found if sfd_arguments(tokens)}
    assert {"fit", "validate", "predict", "sample", "eval", "export", "attack", "compare", "sweep"} <= verbs


def test_every_sfd_command_runs_as_written():
    runs = {}
    for path, line, tokens in commands():
        arguments = sfd_arguments(tokens)
        if arguments is not None:
            runs.setdefault(tuple(as_run(arguments)), []).append(f"{path}: {line}")
    assert any(argv[-1] == "--print_config" for argv in runs), "no fit/validate/predict command resolved a config"
    proc = subprocess.run(
        [sys.executable, "-c", "from doc_commands import run_all; run_all()"],
        input=json.dumps([list(argv) for argv in runs]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(PYTHONPATH=str(HELPERS), WANDB_MODE="offline"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    failed = [
        f"{runs[tuple(r['argv'])][0]}\n  ran: sfd {' '.join(r['argv'])}\n  {r['output'][-1500:]}"
        for r in json.loads(proc.stdout)
        if r["code"] != 0
    ]
    assert not failed, "\n\n".join(failed)
    for r in json.loads(proc.stdout):
        if r["argv"][-1] == "--print_config":
            assert "\ntrainer:" in r["head"] and "\nckpt_path:" in r["output"], r  # a whole config printed


def test_every_make_target_named_exists():
    targets = make_targets()
    named = {}
    for path, line, tokens in commands():
        if tokens[0] == "make":
            named.setdefault(next((t for t in tokens[1:] if "=" not in t), "install"), []).append(f"{path}: {line}")
    for path in doc_files():
        for target in INLINE_MAKE.findall(path.read_text(encoding="utf-8")):
            named.setdefault(target, []).append(str(path.relative_to(ROOT)))
    assert {"docs", "test", "demo"} <= set(named)
    missing = {target: where for target, where in named.items() if target not in targets}
    assert not missing, f"make targets named in the docs but not in the Makefile: {missing}"


def test_ci_runs_only_what_the_readme_tells_a_user_to_run():
    """.ci/run's commands are `make` targets the README's code blocks name, the lint first (it fails in seconds)."""
    readme = {tokens[1] for path, _, tokens in commands() if path == "README.md" and tokens[:1] == ["make"]}
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    steps = [line.split() for line in script if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert all(step[0] == "make" and len(step) == 2 for step in steps), steps
    ran = [step[1] for step in steps]
    assert set(ran) <= readme, f"CI runs make targets the README does not name: {set(ran) - readme}"
    assert ran[0] == "lint" and {"test", "test-slow"} <= set(ran), ran


def test_every_config_spec_and_asset_named_exists():
    shipped = {p.name for folder in ("configs", "experiments") for p in (ROOT / folder).rglob("*.y*ml")}
    missing = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        missing += [f"{path.name}: {name}" for name in REPO_PATH.findall(text) if not (ROOT / name).exists()]
        missing += [
            f"{path.name}: {name}"
            for name in BARE_CONFIG.findall(text)
            if name not in NOT_OURS and name not in shipped and not name[0].isupper()
        ]
    assert not missing, f"files named in the docs that do not exist: {missing}"


PACKAGE_FILE = re.compile(r"(?<![\w/])sfd_lightning/[\w/]+\.py\b")
DOTTED_NAME = re.compile(r"(?<![\w.])sfd_lightning(?:\.\w+)+")


def resolves(dotted: str) -> bool:
    """A module, or a module's attribute (``sfd_lightning.io.AtomicCheckpointIO``), by its dotted name."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_every_module_and_class_path_named_exists():
    """A module moved or a class renamed fails here, not in a reader's shell (prose paths are not links, so the
    strict build cannot see them)."""
    missing = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        missing += [f"{path.name}: {name}" for name in PACKAGE_FILE.findall(text) if not (ROOT / name).exists()]
        missing += [f"{path.name}: {name}" for name in DOTTED_NAME.findall(text) if not resolves(name)]
    assert not missing, f"modules or names in the docs that do not exist: {missing}"
    assert resolves("sfd_lightning.io.AtomicCheckpointIO") and not resolves("sfd_lightning.io.NoSuchThing")
