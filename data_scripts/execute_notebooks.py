"""Execute the book's notebooks in place, so that they are stored with fresh outputs.

    python data_scripts/execute_notebooks.py            # every notebook under book/
    python data_scripts/execute_notebooks.py book/ch04_dataset.ipynb

Each notebook runs top to bottom in a fresh kernel with ``book/`` as working directory,
as nbval and a reader would run it. The wall time of each is printed; chapters are meant
to run in under 90 s on a 2-core CPU. A notebook that fails is left unchanged on disk.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def execute(path: Path, timeout_s: int = 600) -> float:
    """Run one notebook in place; return its wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    from radarode_lite import _files

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    # an interrupted write never truncates a chapter
    _files.atomic_write(path, lambda tmp: nbformat.write(nb, tmp))
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all under book/)")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell time limit in seconds")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    failed = []
    for path in paths:
        if not path.exists():
            parser.error(f"notebook {path} does not exist")
        try:
            elapsed = execute(path, args.timeout)
        except Exception as exc:  # report and go on with the others
            failed.append(path)
            print(f"FAILED {path}: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
            continue
        flag = "  (over the 90 s budget)" if elapsed > 90 else ""
        print(f"{elapsed:6.1f} s  {path.relative_to(ROOT) if path.is_absolute() else path}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
