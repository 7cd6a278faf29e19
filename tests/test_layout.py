"""The package's layout: each stage imports only the stages above it, the studies and the tools
stand apart, conventions are defined once, and functions and modules stay short (CONTRIBUTING.md)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from radarode_lite import conventions

PACKAGE = Path(__file__).resolve().parents[1] / "radarode_lite"

# The stages in the order of the data flow (shared helpers first); a module may import its own
# stage and the stages before it, never one after it. Private fast paths count as their stage.
STAGES = [
    {"_checks", "_files", "_children", "conventions"},
    {"noise"},
    {"signals"},
    {"timefreq", "_timefreq_fast", "_ssq", "_polyphase"},
    {"ode", "_ode_fast"},
    {"data"},
    {"models"},
    {"losses"},
    {"mtl"},
    {"distributed"},
    {"checkpoints"},
    {"metrics", "_metrics_checks"},
    {"evaluation"},
    {"train"},
    {"reconstruct"},
    {"plotting"},
    {"bookdata"},
    {"studies"},
    {"cli"},
]
RANK = {name: i for i, names in enumerate(STAGES) for name in names}

#: Modules allowed beyond about 600 lines, each saying why in its docstring.
LONG_MODULES = {"signals.py", "studies/digits.py", "cli/train.py"}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _stage(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_stages(path: Path) -> set[str]:
    """The first-level package modules that ``path`` imports (absolute or relative)."""
    tree = ast.parse(path.read_text())
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = list(path.relative_to(PACKAGE).parts[:depth])
                parts = parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else [])
                names = ".".join(parts).split(".") if parts else []
                if names and names[0]:
                    found.add(names[0])
                elif not node.module:
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("radarode_lite"):
                rest = node.module.split(".")[1:]
                found.update(rest[:1] if rest else (alias.name for alias in node.names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                rest = alias.name.split(".")[1:] if alias.name.startswith("radarode_lite") else []
                found.update(rest[:1])
    return {name for name in found if name in RANK}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_the_stages_above_it(path):
    stage = _stage(path)
    if stage not in RANK:
        assert stage == "__init__", f"{path.name} is not in the stage list of tests/test_layout.py"
        return
    later = sorted(name for name in _imported_stages(path) if RANK[name] > RANK[stage])
    assert not later, f"{path.relative_to(PACKAGE)} (stage {stage}) imports later stages {later}"


def test_the_pipeline_never_imports_the_studies_or_the_tools():
    for path in _modules():
        if _stage(path) not in ("studies", "cli"):
            assert not _imported_stages(path) & {"studies", "cli"}, path


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_longer_than_80_lines(path):
    tree = ast.parse(path.read_text())
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]  # fmt: skip
    assert not long, f"{path.relative_to(PACKAGE)}: {long}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short_or_say_why(path):
    n_lines = len(path.read_text().splitlines())
    rel = str(path.relative_to(PACKAGE))
    if rel in LONG_MODULES:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "lines" in doc, f"{rel} is long ({n_lines} lines) and its docstring must say why"
    else:
        assert n_lines <= MAX_MODULE_LINES + 20, f"{rel} has {n_lines} lines"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_conventions_are_defined_only_in_conventions(path):
    """No module writes out again a value of :mod:`radarode_lite.conventions` under its name (a
    study's own ``TASKS``, for another problem, is a different value and allowed)."""
    if path.name == "conventions.py":
        return
    tree = ast.parse(path.read_text())
    written = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if isinstance(node.value if targets else None, (ast.Constant, ast.Tuple, ast.Dict, ast.List)):
            written.update(t.id for t in targets if isinstance(t, ast.Name) and t.id in conventions.__all__)
    if not written:
        return
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    module = importlib.import_module(".".join(("radarode_lite",) + tuple(p for p in parts if p != "__init__")))
    same = sorted(name for name in written if getattr(module, name) == getattr(conventions, name))
    assert not same, f"{path.relative_to(PACKAGE)} writes out {same} again; import them from radarode_lite.conventions"
