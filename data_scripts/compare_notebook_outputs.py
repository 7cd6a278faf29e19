"""Compare the printed outputs of the chapters with those stored at a git revision.

    python data_scripts/compare_notebook_outputs.py            # against HEAD
    python data_scripts/compare_notebook_outputs.py main~5 book/ch12_training_and_optimisers.ipynb

After a change that should not alter any result (a refactoring), re-execute the chapters with
``execute_notebooks.py`` and run this: every code cell's text output (printed lines, the
value of its last line, errors) is compared with the same cell at ``REV``. Figures are not
compared (their bytes change with library versions); lines with a wall time ("in 1.3 s") or a speed ratio ("33x")
differ from run to run and are reported apart. Stream chunks are joined and blank lines
ignored, so that only the text counts. Exit status 1 if any other output differs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_TIMING = re.compile(r"\d+(\.\d+)? ?(s|ms|seconds?|x)\b")


def cell_texts(notebook: dict) -> list[str]:
    """The text output of every code cell, in order (streams joined, blank lines dropped)."""
    texts = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                parts.append("".join(out["text"]))
            elif out["output_type"] == "error":
                parts.append(f"ERROR {out['ename']}: {out['evalue']}")
            elif "text/plain" in out.get("data", {}):
                parts.append("".join(out["data"]["text/plain"]))
        texts.append("\n".join(line for line in "\n".join(parts).splitlines() if line.strip()))
    return texts


def compare(path: Path, rev: str) -> tuple[list, list]:
    """``(differences, timing-only differences)``: lists of ``(cell index, old, new)``."""
    shown = subprocess.run(["git", "show", f"{rev}:{path.relative_to(ROOT).as_posix()}"], cwd=ROOT,
                           capture_output=True, text=True)  # fmt: skip
    if shown.returncode != 0:
        raise FileNotFoundError(f"{path.name} is not in revision {rev!r}: {shown.stderr.strip()}")
    old, new = cell_texts(json.loads(shown.stdout)), cell_texts(json.loads(path.read_text()))
    if len(old) != len(new):
        return [(None, f"{len(old)} code cells", f"{len(new)} code cells")], []
    differ, timing = [], []
    for i, (a, b) in enumerate(zip(old, new)):
        if a != b:
            (timing if _TIMING.sub("T", a) == _TIMING.sub("T", b) else differ).append((i, a, b))
    return differ, timing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", nargs="?", default="HEAD", help="git revision to compare with (default HEAD)")
    parser.add_argument("notebooks", nargs="*", help="chapters (default every notebook under book/)")
    args = parser.parse_args(argv)
    paths = [Path(p).resolve() for p in args.notebooks] or sorted((ROOT / "book").glob("*.ipynb"))
    n_differ = 0
    for path in paths:
        differ, timing = compare(path, args.rev)
        n_differ += len(differ)
        print(f"{path.name}: {len(differ)} code cells differ, {len(timing)} in wall times only")
        for i, a, b in differ:
            print(f"  cell {i}:\n    was: {a[:400]!r}\n    now: {b[:400]!r}")
    return 1 if n_differ else 0


if __name__ == "__main__":
    sys.exit(main())
