"""The console scripts (radarode_lite.cli): they resolve, answer --help without torch, share one
flag vocabulary, and data_scripts/<tool>.py runs the same code from a clone."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from radarode_lite import cli
from radarode_lite.cli import _common

ROOT = Path(__file__).resolve().parents[1]

_HELP_PROBE = """
import sys
from radarode_lite.cli import {tool} as tool
try:
    tool.main(["--help"])
except SystemExit as exc:
    code = exc.code
print("torch" in sys.modules, code, file=sys.stderr)
"""


def _scripts() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_entry_points_are_the_tools_and_resolve_to_a_callable_main():
    scripts = _scripts()
    assert sorted(scripts) == sorted("radarode-" + t.replace("_", "-") for t in cli.TOOLS)
    for name, target in scripts.items():
        module_name, _, attr = target.partition(":")
        assert attr == "main" and module_name == "radarode_lite.cli." + name[len("radarode-"):].replace("-", "_")
        assert callable(getattr(importlib.import_module(module_name), attr)), name


@pytest.mark.parametrize("tool", cli.TOOLS)
def test_help_prints_usage_without_importing_torch(tool):
    done = subprocess.run([sys.executable, "-c", _HELP_PROBE.format(tool=tool)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    torch_loaded, code = done.stderr.strip().splitlines()[-1].split()
    assert code in ("0", "None") and done.stdout.startswith("usage:"), done.stderr[-1000:]
    assert torch_loaded == "False", f"{tool} --help imports torch"
    as_module = subprocess.run([sys.executable, "-m", f"radarode_lite.cli.{tool}", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
    assert as_module.returncode == 0 and as_module.stdout.startswith("usage:"), as_module.stderr[-1000:]


@pytest.mark.parametrize("tool", cli.TOOLS)
def test_the_data_scripts_wrapper_runs_the_tool(tool):
    """``python data_scripts/<tool>.py`` is the tool: same ``--help``, same exit status."""
    wrapper = ROOT / "data_scripts" / f"{tool}.py"
    assert len(wrapper.read_text().splitlines()) <= 10  # a few lines: the code lives in the package
    via_script = subprocess.run([sys.executable, str(wrapper), "--help"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)  # fmt: skip
    module = importlib.import_module(f"radarode_lite.cli.{tool}")
    assert via_script.returncode == 0, via_script.stderr[-1000:]
    parser = module.build_parser()
    parser.prog = wrapper.name
    assert via_script.stdout.split() == parser.format_help().split()
    assert "chapter" in module.__doc__


def _parser(tool) -> argparse.ArgumentParser:
    return importlib.import_module(f"radarode_lite.cli.{tool}").build_parser()


def _visible_options(parser) -> dict:
    return {o: a for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings}


#: Names for an idea that the tools do not use: the one they use instead.
SYNONYMS = {"--force": "--overwrite", "--results": "--out", "--output": "--out", "--quiet": "--no-progress",
            "--progress": "--no-progress", "--jobs": "--threads", "--num-threads": "--threads",
            "--seed-list": "--seeds", "--n-epochs": "--epochs", "--dataset": "--data", "--runs": "--only"}  # fmt: skip


@pytest.mark.parametrize("tool", cli.TOOLS)
def test_one_flag_vocabulary(tool):
    parser = _parser(tool)
    options = _visible_options(parser)
    assert "--out" in options and "--overwrite" in options
    for old, new in SYNONYMS.items():
        if old in options:
            assert options[old] is options.get(new), f"{tool}: {old} is shown; the tools say {new}"
    if "--threads" in options:
        assert options["--threads"].default == 1, tool
    if "--no-progress" in options:
        assert options["--no-progress"].dest == "progress" and options["--no-progress"].default is True, tool
    seeds = "--seeds" if tool.startswith("run_") else "--seed"  # a grid has several, a run one
    assert seeds in options or tool == "convert_mmecg", tool


def test_results_default_to_the_checkout_from_a_clone_else_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(_common, "PACKAGE", tmp_path / "site-packages" / "radarode_lite")
    assert _common.checkout() is None and _common.results_root() == Path("results")
    assert _common.command_prefix("train") in ("python -m radarode_lite.cli.train", "radarode-train")
    clone = tmp_path / "clone"
    (clone / "book").mkdir(parents=True)
    (clone / "_toc.yml").write_text("")
    monkeypatch.setattr(_common, "PACKAGE", clone / "radarode_lite")
    assert _common.checkout() == clone and _common.results_root() == clone / "book" / "data" / "results"
    monkeypatch.setattr(sys, "argv", ["data_scripts/run_noise.py"])
    assert _common.command_prefix("run_noise") == "python data_scripts/run_noise.py"
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/radarode-run-experiments"])
    assert _common.command_prefix("train") == "radarode-train"


def test_this_checkout_is_found_and_children_run_the_package_module():
    assert _common.checkout() == ROOT
    assert _common.child_command("train", "--smoke")[1:] == ["-m", "radarode_lite.cli.train", "--smoke"]


def test_help_states_the_default_results_folder():
    for tool in ("run_experiments", "run_noise", "run_digits"):
        text = " ".join(_parser(tool).format_help().split())
        assert "when run from a clone of the book, else ./results" in text, tool
