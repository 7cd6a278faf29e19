"""Run chapters the way Google Colab runs them, offline, and fail if any cell fails.

    python3 .ci/colab_check.py               # the sampled chapters (SAMPLE below)
    python3 .ci/colab_check.py --all         # every chapter
    python3 .ci/colab_check.py ch03 ch12     # chosen chapters

What it does:

1. builds the package's wheel from this checkout (with the book's data, see setup.py), and a
   wheel of ssqueezepy, the one dependency Colab does not ship, into a local wheel folder;
2. makes a fresh virtual environment with what Colab ships, numpy pinned to Colab's release
   (COLAB_NUMPY), torch pinned to the CPU build, ipywidgets 7, and no radarode_lite;
3. copies each chapter into a folder outside the repository and executes it there with
   nbclient, after a first cell that imports ``google.colab`` (a stub module on the kernel's
   path, as Colab's kernel has the real one), numpy, torch and matplotlib, as Colab has them
   imported before the set-up cell runs. The set-up cell therefore takes its Colab branch:
   its ``pip install radarode-lite[notebooks]==<version>`` runs with ``PIP_NO_INDEX=1`` and the
   local wheel folder, so it cannot download anything, and fails if the package asked for
   more than Colab has;
4. after the last cell, checks that numpy is still Colab's release and that radarode_lite was
   imported from the installed wheel, not from the checkout.

Chapters are sampled to keep CI under 30 minutes on 2 cores (a chapter takes up to 90 s): the
sample covers the set-up cell once per chapter, the real ECG that ships with the package
(chapter 3), and every kind of book data the chapters read through ``bookdata.book_file``: the
paper's tables and stored results (12, 15) and stored models with results (13, 14). The other
chapters read no data file and use the package as chapter 3 does.

Measured on 2 shared cores (load 2-9): the wheels 7-30 s, the environment 130-340 s, a chapter
25-90 s; the sample took about 6 min on a quiet machine and 10 min on a busy one. All 15
chapters passed when run this way (in three parts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ("ch03", "ch12", "ch13", "ch14", "ch15")
COLAB_NUMPY = "2.1.3"  # the numpy release Google Colab ships (2.1.x)
# Colab's other preinstalled packages that the chapters use; torch pinned to the CPU build.
COLAB_BASE = [
    f"numpy=={COLAB_NUMPY}", "torch==2.13.0", "scipy", "matplotlib", "scikit-learn", "numba", "h5py", "tqdm",
    "ipywidgets>=7.7,<8", "ipykernel", "nbclient", "nbformat",
]
PROLOGUE = "import google.colab, numpy, torch, matplotlib  # imported by Colab before any cell"
EPILOGUE = f"""import importlib.metadata, numpy, radarode_lite
from radarode_lite.bookdata import check_colab_runtime
assert check_colab_runtime() == []  # numpy, scipy, torch, matplotlib: what was imported is what is installed
assert numpy.__version__ == importlib.metadata.version("numpy") == "{COLAB_NUMPY}", numpy.__version__
assert "site-packages" in radarode_lite.__file__, radarode_lite.__file__
print("colab check:", numpy.__version__, radarode_lite.__file__)"""


def main(argv) -> int:
    chapters, start = _chapters(argv), time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="radarode_colab_"))
    try:
        wheels, python = work / "wheels", work / "venv" / "bin" / "python"
        _timed("wheels", _build_wheels, wheels)
        _timed("Colab-like environment", _make_venv, work / "venv")
        stub = _google_colab_stub(work / "stub")
        failed = []
        for nb in chapters:
            ok = _timed(nb.name, _execute, python, nb, work / "run" / nb.stem, wheels, stub, work / "cache")
            failed += [] if ok else [nb.name]
        total = time.perf_counter() - start
        print(f"colab check: {len(chapters) - len(failed)} of {len(chapters)} chapters passed in {total:.0f} s")
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _chapters(argv) -> list[Path]:
    everything = sorted((ROOT / "book").glob("ch*.ipynb"))
    if argv == ["--all"]:
        return everything
    wanted = argv or list(SAMPLE)
    chosen = [nb for nb in everything if any(nb.name.startswith(w) for w in wanted)]
    if len(chosen) != len(wanted):
        sys.exit(f"colab_check.py: chapters {wanted} must each name one notebook in book/ (e.g. ch03)")
    return chosen


def _timed(what, function, *args):
    start = time.perf_counter()
    result = function(*args)
    print(f"colab check: {what}: {time.perf_counter() - start:.0f} s", flush=True)
    return result


def _pip(python, *args, env=None):
    subprocess.run([str(python), "-m", "pip", "--quiet", *args], check=True, env=env)


def _build_wheels(wheels: Path) -> None:
    source = wheels.parent / "source"  # a clean copy: no stale build/ folder can leak into the wheel
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "CITATION.cff"):
        shutil.copy(ROOT / name, source / name)
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "book_data", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "radarode_lite", source / "radarode_lite", ignore=junk)
    shutil.copytree(ROOT / "book" / "data", source / "book" / "data", ignore=junk)
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", wheels, str(source))
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", wheels, "ssqueezepy>=0.6.5")


def _make_venv(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    _pip(venv / "bin" / "python", "install", *COLAB_BASE)


def _google_colab_stub(folder: Path) -> Path:
    (folder / "google" / "colab").mkdir(parents=True)
    (folder / "google" / "__init__.py").write_text("")
    (folder / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s module in tests."""\n')
    return folder


def _execute(python, notebook: Path, folder: Path, wheels: Path, stub: Path, cache: Path) -> bool:
    folder.mkdir(parents=True)
    copy = folder / notebook.name
    shutil.copy(notebook, copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=str(stub), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), JUPYTER_DATA_DIR=str(folder / "jupyter"),
               RADARODE_DATA=str(cache), MPLBACKEND="Agg", PATH=f"{python.parent}:{env.get('PATH', '')}")
    code = f"""
import sys, nbformat, nbclient
nb = nbformat.read({str(copy)!r}, as_version=4)
nb.cells.insert(0, nbformat.v4.new_code_cell({PROLOGUE!r}))
nb.cells.append(nbformat.v4.new_code_cell({EPILOGUE!r}))
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={{"metadata": {{"path": {str(folder)!r}}}}}).execute()
print(nb.cells[-1].outputs[0]["text"].strip())
"""
    done = subprocess.run([str(python), "-c", code], cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode:
        print(f"colab check: {notebook.name} FAILED\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}", flush=True)
    else:
        print(done.stdout.strip(), flush=True)
    return done.returncode == 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
