"""The package's layout, read from the source with ``ast`` (nothing is imported): no import cycle between the
packages of ``sfd_lightning``, no module importing names from its own package's (or an ancestor's)
``__init__``, and no top-level module beyond the few that belong there. Imports inside functions count."""

import ast
import os
import re
import textwrap
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sfd_lightning")

# the top-level modules: the package itself, its entry points (cli: the console script sfd_lightning.cli:main) and
# the one error type every package raises; override, whose class paths (sfd_lightning.override.*) users' SFD
# checkpoints store and which SFD (models) and the baselines share; checkpoints, only the former class path of
# AtomicCheckpointIO that run configs written before io/ name; compat, the list of former import paths kept working
TOP_LEVEL = {"__init__", "__main__", "cli", "errors", "override", "checkpoints", "compat"}


def modules(root: str) -> Dict[str, str]:
    """Dotted module name -> file, for every ``.py`` file under ``root`` (a package folder)."""
    package = os.path.basename(root)
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                parts = os.path.relpath(os.path.join(folder, name), os.path.dirname(root))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = os.path.join(folder, name)
    assert package in found, f"{root} is not a package"
    return found


def imports(module: str, path: str, known: Set[str]) -> Iterator[Tuple[str, List[str], int, str]]:
    """(imported module, names taken from it, line, the module named after ``from``) for every import in a module,
    functions' included; a name that is itself a submodule (``from pkg import mod``) is an import of that
    submodule, taken from ``pkg``."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    is_package = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(parent + ([base] if base else []))
            names = []
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}", [], node.lineno, base
                else:
                    names.append(alias.name)
            if names:
                yield base, names, node.lineno, base


def unit(module: str) -> str:
    """The package (or top-level module) of ``sfd_lightning`` a module belongs to: its second name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def package_graph(root: str) -> Dict[str, Dict[str, str]]:
    """unit -> {unit it imports: where (module:line)}, between different units of the package at ``root``."""
    found = modules(root)
    package = os.path.basename(root)
    graph: Dict[str, Dict[str, str]] = {}
    for module, path in found.items():
        for target, names, line, _ in imports(module, path, set(found)):
            if target == package and not names:
                continue
            if target.split(".")[0] != package or unit(target) == unit(module):
                continue
            graph.setdefault(unit(module), {}).setdefault(unit(target), f"{module}:{line}")
    return graph


def cycles(graph: Dict[str, Dict[str, str]]) -> List[List[str]]:
    """The strongly connected groups of more than one unit (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    groups = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def describe_cycle(graph: Dict[str, Dict[str, str]], group: List[str]) -> str:
    edges = [f"{a} -> {b} ({where})" for a in group for b, where in graph.get(a, {}).items() if b in group]
    return "; ".join(edges)


def upward_imports(root: str) -> List[str]:
    """Imports from the ``__init__`` of the importing module's own package or of an ancestor package: of its names,
    or of a submodule through it (``from pkg import mod`` runs and reads ``pkg``'s ``__init__``, which may be
    importing the importer)."""
    found = modules(root)
    bad = []
    for module, path in found.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        ancestors = {".".join(package.split(".")[:i]) for i in range(1, len(package.split(".")) + 1)}
        if path.endswith("__init__.py"):
            ancestors.discard(module)  # a package's __init__ gathers its own submodules
        for target, names, line, base in imports(module, path, set(found)):
            if base in ancestors:
                bad.append(f"{module}:{line} imports {', '.join(names) or target.rpartition('.')[2]} from {base}")
    return bad


def top_level_modules(root: str) -> Set[str]:
    return {name[:-3] for name in os.listdir(root) if name.endswith(".py")}


def test_no_cycle_between_packages():
    graph = package_graph(ROOT)
    assert [describe_cycle(graph, group) for group in cycles(graph)] == []


def test_no_upward_import():
    assert upward_imports(ROOT) == []


def test_only_the_allowed_top_level_modules():
    assert top_level_modules(ROOT) - TOP_LEVEL == set()


def plant(tmp_path, files: Dict[str, str]) -> str:
    root = tmp_path / "pkg"
    for name, source in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return str(root)


def test_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    root = plant(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/x.py": "from pkg.b.y import f\n",
            "b/__init__.py": "",
            "b/y.py": "def f():\n    from pkg.a import x\n",
            "c/__init__.py": "",
            "c/z.py": "import pkg.a.x\n",
        },
    )
    graph = package_graph(root)
    assert cycles(graph) == [["a", "b"]]
    assert "b -> a (pkg.b.y:2)" in describe_cycle(graph, ["a", "b"])


def test_checker_finds_a_relative_import_cycle(tmp_path):
    root = plant(tmp_path, {"a/__init__.py": "from ..b import thing\n", "b/__init__.py": "from ..a import other\n"})
    assert cycles(package_graph(root)) == [["a", "b"]]


def test_checker_finds_upward_imports(tmp_path):
    root = plant(
        tmp_path,
        {
            "d/__init__.py": "from pkg.d.m import M\n",
            "d/m.py": "M = 1\n",
            "d/n.py": "from pkg.d import M\nfrom pkg.d import m\nimport pkg.d.m\nfrom pkg.d.m import M\n",
            "d/e/__init__.py": "",
            "d/e/o.py": "def f():\n    from .. import M\n",
            "d/p.py": "from pkg import thing\n",
        },
    )
    assert sorted(upward_imports(root)) == [
        "pkg.d.e.o:2 imports M from pkg.d",
        "pkg.d.n:1 imports M from pkg.d",
        "pkg.d.n:2 imports m from pkg.d",
        "pkg.d.p:1 imports thing from pkg",
    ]


def test_checker_accepts_a_layered_package(tmp_path):
    root = plant(
        tmp_path,
        {
            "a/__init__.py": "from pkg.a.x import X\n",
            "a/x.py": "X = 1\n",
            "b/__init__.py": "",
            "b/y.py": "from pkg.a import X\nimport pkg.a.x\n",
        },
    )
    assert cycles(package_graph(root)) == [] and upward_imports(root) == []


@pytest.mark.parametrize("name", ["helpers.py"])
def test_checker_lists_unexpected_top_level_modules(tmp_path, name):
    root = plant(tmp_path, {name: "", "cli.py": ""})
    assert top_level_modules(root) - TOP_LEVEL == {"helpers"}


def test_test_files_have_unique_names():
    """pytest imports the test files (no packages under tests/) by their base name: two files of one name anywhere
    under tests/ stop the whole run at collection ("import file mismatch")."""
    from collections import Counter
    from pathlib import Path

    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert not [name for name, n in names.items() if n > 1]


# What turns a checkpoint, a folder or a Hub id into a model to draw images from: only ``pipelines/`` calls these
# (the verbs and callbacks call ``load_pipeline``, ``teacher_of`` and ``from_module``). io keeps reading the files
# (``read_checkpoint``, ``read_folder``, ``generator_of``) and defines ``rebuild`` and ``run_teacher``.
MODEL_LOADERS = {
    "rebuild",  # io.folder: a one-step generator's denoiser and autoencoder
    "denoiser_from",  # pipelines.checkpoints: a multi-step model's denoiser
    "load_multistep",
    "autoencoder_of",
    "is_one_step",  # the one-step / multi-step dispatch
    "run_teacher",  # io.sfd_weights: a run's teacher
    "generator_of_checkpoint",
    "load_generator",  # OneStepPipeline.from_pretrained (a name diffusers' models share)
}
# the per-verb holders of a loaded model that pipelines.Pipeline replaced
GONE_CLASSES = {"LoadedSampler", "BenchModel", "AttackTarget"}


def called_names(path: str) -> Iterator[Tuple[str, int]]:
    """(name, line) of every call in a module, by the called function's last name (``f(...)``, ``x.f(...)``)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name:
                yield name, node.lineno


def loader_calls_outside_pipelines(root: str) -> List[str]:
    package = os.path.basename(root)
    return [
        f"{module}:{line} calls {name}"
        for module, path in modules(root).items()
        if not module.startswith(f"{package}.pipelines")
        for name, line in called_names(path)
        if name in MODEL_LOADERS
    ]


def named_anywhere(folders: List[str], names: Set[str]) -> List[str]:
    """Where a class, a variable, an attribute or an import of one of ``names`` occurs in the ``.py`` files under
    ``folders`` (strings and comments do not count)."""
    found = []
    for folder in folders:
        for dirpath, _, files in os.walk(folder):
            for name in (n for n in files if n.endswith(".py")):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    tree = ast.parse(f.read(), path)
                for node in ast.walk(tree):
                    used = (
                        getattr(node, "name", None)
                        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.alias))
                        else node.id
                        if isinstance(node, ast.Name)
                        else node.attr
                        if isinstance(node, ast.Attribute)
                        else None
                    )
                    if used in names:
                        found.append(f"{os.path.relpath(path, os.path.dirname(folder))}:{node.lineno} {used}")
    return found


def test_only_pipelines_loads_a_model_to_draw_from():
    assert loader_calls_outside_pipelines(ROOT) == []


def test_the_per_verb_model_holders_are_gone():
    tests = os.path.dirname(os.path.abspath(__file__))
    assert named_anywhere([ROOT, tests, os.path.join(os.path.dirname(tests), "benchmarks")], GONE_CLASSES) == []


def test_checker_finds_a_loader_called_outside_pipelines_and_a_gone_class(tmp_path):
    root = plant(
        tmp_path,
        {
            "pipelines/__init__.py": "",
            "pipelines/load.py": "def load(p):\n    return rebuild(p)\n",
            "sample/__init__.py": "",
            "sample/main.py": "import x\n\ndef main(p):\n    return x.load_multistep(p), is_one_step(p)\n",
            "bench/__init__.py": "",
            "bench/models.py": "from dataclasses import dataclass\n\n@dataclass\nclass BenchModel:\n    name: str\n",
        },
    )
    assert sorted(loader_calls_outside_pipelines(root)) == [
        "pkg.sample.main:4 calls is_one_step",
        "pkg.sample.main:4 calls load_multistep",
    ]
    assert named_anywhere([root], GONE_CLASSES) == [os.path.join("pkg", "bench", "models.py") + ":4 BenchModel"]


# the one judge registry: judges/registry.py maps names to judge classes; outside judges/ no module keeps a list of
# judge names or a builder of judges by name of its own
JUDGE_BUILDER = re.compile(r"^(make|build|load|get|create)_(judge|surrogate)s?$")


def judge_names(root: str) -> Set[str]:
    """The judges' names and attack spellings: the string ``name`` and ``spelling`` class attributes under
    ``judges/``."""
    names = set()
    for path in modules(os.path.join(root, "judges")).values():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
                    value = getattr(stmt, "value", None)
                    if isinstance(target, ast.Name) and target.id in ("name", "spelling"):
                        if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                            names.add(value.value)
    return names


def judge_registries(root: str) -> List[str]:
    """Outside ``judges/``: a function named like a judge builder (``make_judges``, ``load_judge``, ``build_surrogate``)
    and a tuple, list or set literal, or a dict literal's keys, of two or more strings that are all judge names."""
    names = judge_names(root)
    inside = os.path.join(root, "judges") + os.sep
    bad = []
    for module, path in modules(root).items():
        if path.startswith(inside):
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and JUDGE_BUILDER.match(node.name):
                bad.append(f"{module}:{node.lineno} defines {node.name}")
            items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
            if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) and len(items) >= 2:
                if all(isinstance(i, ast.Constant) and i.value in names for i in items):
                    bad.append(f"{module}:{node.lineno} lists judges {', '.join(i.value for i in items)}")
    return bad


def test_one_judge_registry():
    assert judge_registries(ROOT) == []


def test_checker_finds_a_second_judge_registry(tmp_path):
    judge = "class NudeNet:\n    name = 'nudity'\n    spelling = 'nudenet'\nclass Identity:\n    name = 'identity'\n"
    root = plant(
        tmp_path,
        {
            "judges/__init__.py": "",
            "judges/nudenet.py": judge,
            "judges/registry.py": "JUDGES = {'nudity': 1, 'identity': 2}\ndef judge_class(name):\n    pass\n",
            "evaluate/__init__.py": "",
            "evaluate/judges.py": "JUDGES = ('nudity', 'identity')\ndef make_judges(args):\n    pass\n",
            "attack/__init__.py": "",
            "attack/main.py": "def load_surrogate(t):\n    return {'nudenet': 1, 'identity': 2}\n",
            "benchmark/__init__.py": "",
            "benchmark/main.py": "SUITES = ('nudity', 'identity', 'coco')\nKIND = ('nudity',)\n",
        },
    )
    assert sorted(judge_registries(root)) == [
        "pkg.attack.main:1 defines load_surrogate",
        "pkg.attack.main:2 lists judges nudenet, identity",
        "pkg.evaluate.judges:1 lists judges nudity, identity",
        "pkg.evaluate.judges:2 defines make_judges",
    ]


# construction: where SFDModule reads the LoRA setting to choose its networks object (full or LoRA fine-tuning)
CONSTRUCTION = {"__init__", "check_settings"}


def lora_reads(path: str) -> List[str]:
    """Reads of a LoRA setting (a ``lora`` name or ``.lora`` attribute) in ``path`` outside :data:`CONSTRUCTION`: after
    construction, what LoRA changes (trained parameters, checkpoint state, exported weights) is the networks'."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    bad = []

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name in CONSTRUCTION:
                return
            where = node.name
        read = (isinstance(node, ast.Attribute) and node.attr == "lora") or (
            isinstance(node, ast.Name) and node.id == "lora"
        )
        if read and isinstance(node.ctx, ast.Load):
            bad.append(f"{where}:{node.lineno} reads lora")
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(tree, "<module>")
    return bad


def test_sfd_module_reads_lora_only_at_construction():
    assert lora_reads(os.path.join(ROOT, "models", "sfd_module.py")) == []


def test_checker_finds_a_lora_branch_after_construction(tmp_path):
    source = textwrap.dedent(
        """
        def check_settings(lora):
            lora.targets(None)
        class M:
            def __init__(self, lora):
                self.lora = lora
                self.networks = build(lora)
            def configure_optimizers(self):
                return trainable(self.fake_score, self.lora)
            def on_save_checkpoint(self, checkpoint):
                if self.lora is not None:
                    pass
        """
    )
    path = tmp_path / "sfd_module.py"
    path.write_text(source)
    assert lora_reads(str(path)) == ["configure_optimizers:9 reads lora", "on_save_checkpoint:11 reads lora"]


# Beside the library, not in it: the benchmarks and the GPU check (benchmarks/) and the tests' helpers (tests/helpers,
# the random pipelines among them) are not in the wheel, so the package neither holds a tools package nor imports them.
OUTSIDE_THE_WHEEL = {"benchmarks", "tests", "conftest"} | {
    name[:-3] for name in os.listdir(os.path.join(os.path.dirname(ROOT), "tests", "helpers")) if name.endswith(".py")
}


def imports_from_outside(root: str) -> List[str]:
    """Imports (inside functions too) of what lies beside the package: ``benchmarks``, the tests, their helpers."""
    found = modules(root)
    return [
        f"{module}:{line} imports {target}"
        for module, path in found.items()
        for target, _, line, _ in imports(module, path, set(found))
        if target.split(".")[0] in OUTSIDE_THE_WHEEL
    ]


def test_no_tools_package_and_nothing_imported_from_beside_the_package():
    assert [m for m in modules(ROOT) if m.split(".")[1:2] == ["tools"]] == []
    assert imports_from_outside(ROOT) == []


def module_graph(root: str) -> Dict[str, Dict[str, str]]:
    """module -> {module of the same package tree it imports: where (module:line)}, functions' imports included;
    ``from pkg import name`` is an import of ``pkg``'s ``__init__`` (or of the submodule ``name``)."""
    found = modules(root)
    graph: Dict[str, Dict[str, str]] = {}
    for module, path in found.items():
        for target, _, line, _ in imports(module, path, set(found)):
            if target in found and target != module:
                graph.setdefault(module, {}).setdefault(target, f"{module}:{line}")
    return graph


def test_no_import_cycle_between_modules():
    """Finer than the packages' test: no two modules import each other, directly or around a loop, even within one
    package and even through an import inside a function."""
    graph = module_graph(ROOT)
    assert [describe_cycle(graph, group) for group in cycles(graph)] == []


def test_checker_finds_a_module_cycle_within_a_package_and_an_import_from_beside_it(tmp_path):
    root = plant(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/x.py": "import pkg.a.y\n",
            "a/y.py": "def f():\n    from pkg.a.x import g\n",
            "a/z.py": "from benchmarks.bench import main\nimport random_pipelines\n",
            "tools/__init__.py": "",
        },
    )
    graph = module_graph(root)
    assert cycles(package_graph(root)) == [] and cycles(graph) == [["pkg.a.x", "pkg.a.y"]]
    assert "pkg.a.y -> pkg.a.x (pkg.a.y:2)" in describe_cycle(graph, ["pkg.a.x", "pkg.a.y"])
    assert imports_from_outside(root) == ["pkg.a.z:1 imports benchmarks.bench", "pkg.a.z:2 imports random_pipelines"]
    assert [m for m in modules(root) if m.split(".")[1:2] == ["tools"]] == ["pkg.tools"]


# one verb runs another through its Python function (``sample(...)``), never through its ``main(argv)``: a command
# line built in code is a second, unchecked spelling of the options, and a Python user cannot follow it


def verb_mains(root: str) -> Dict[str, str]:
    """The CLI's verbs, read from ``cli.VERBS``: each main module -> the package it belongs to."""
    with open(os.path.join(root, "cli.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "VERBS" for t in node.targets):
            return {v.value: unit(v.value) for v in node.value.values}
    raise AssertionError("cli.py has no VERBS")


def dotted(node: ast.AST) -> str:
    """``a.b.c`` of a name or attribute chain (``importlib.import_module("a.b")`` reads as ``a.b``); '' otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call) and dotted(node.func).endswith("import_module") and node.args:
        first = node.args[0]
        return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
    return ""


def bound_names(module: str, path: str, tree: ast.AST) -> Dict[str, str]:
    """Each name an import binds in a module (functions' imports too) -> the dotted thing it stands for."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parent = parts[: len(parts) - node.level + path.endswith("__init__.py")]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def verb_main_calls(root: str) -> List[str]:
    """Calls of a verb's ``main`` from outside that verb's package (the CLI's dispatch by a name it reads aside)."""
    mains, bad = verb_mains(root), []
    for module, path in modules(root).items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        names = bound_names(module, path, tree)
        for node in ast.walk(tree):
            head, dot, rest = dotted(node.func).partition(".") if isinstance(node, ast.Call) else ("", "", "")
            owner, _, name = (names.get(head, head) + dot + rest).rpartition(".")
            if name == "main" and owner in mains and mains[owner] != unit(module):
                bad.append(f"{module}:{node.lineno} calls {owner}.main")
    return bad


def test_no_verb_runs_another_through_argv():
    assert verb_main_calls(ROOT) == []


def test_checker_finds_a_verb_main_called_from_another_verb(tmp_path):
    root = plant(
        tmp_path,
        {
            "cli.py": 'VERBS = {"sample": "pkg.sample.main", "compare": "pkg.compare.main"}\n',
            "sample/__init__.py": "",
            "sample/main.py": "def main(argv):\n    sample(argv[0])\n\ndef sample(ckpt):\n    pass\n",
            "sample/again.py": "from pkg.sample.main import main\nmain(['--ckpt', 'x'])\n",  # its own package
            "compare/__init__.py": "",
            "compare/a.py": "from pkg.sample.main import main as sample_main\nsample_main(['--ckpt', 'x'])\n",
            "compare/b.py": "import pkg.sample.main as m\nm.main([])\n",
            "compare/c.py": "def f():\n    from ..sample import main\n    main.main([])\n",
            "compare/d.py": "import importlib\nimportlib.import_module('pkg.sample.main').main([])\n",
            "compare/e.py": "import pkg.sample.main\npkg.sample.main.main([])\n",
            "compare/ok.py": "from pkg.sample.main import sample\nsample('x')\n",
        },
    )
    assert sorted(verb_main_calls(root)) == [
        "pkg.compare.a:2 calls pkg.sample.main.main",
        "pkg.compare.b:2 calls pkg.sample.main.main",
        "pkg.compare.c:3 calls pkg.sample.main.main",
        "pkg.compare.d:2 calls pkg.sample.main.main",
        "pkg.compare.e:2 calls pkg.sample.main.main",
    ]
