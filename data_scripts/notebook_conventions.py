"""The conventions every chapter notebook follows, in one place.

- The first code cell is :data:`COLAB_CELL`, identical in every notebook (a test checks it).
- The second code cell imports what the chapter needs and calls ``plotting.use_style()``.
- Notebooks are stored with their outputs; ``execute_notebooks.py`` refreshes them.

Run ``python data_scripts/notebook_conventions.py book/chXX_name.ipynb "Title"`` to start a
new chapter with the two set-up cells in place, and
``python data_scripts/notebook_conventions.py --rewrite-setup book/*.ipynb`` to replace the
first code cell of existing chapters with the current :data:`COLAB_CELL` (sources only: the
notebooks must be re-executed afterwards with ``execute_notebooks.py``).

The Colab cell installs the book's release of the package (``radarode-lite==<version>``, the
version of ``radarode_lite/__init__.py``) and nothing else: the package's lower bounds are met
by what Colab ships, so Colab's numpy, torch and matplotlib stay as they are. Should an install
ever replace a module Colab had already imported, the cell says to restart the runtime.
"""

from __future__ import annotations

import sys
from pathlib import Path

from radarode_lite import __version__

COLAB_CELL = f'''# Set-up for Google Colab: install the book's release of its package; Colab
# keeps its own numpy, torch and matplotlib. Elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "radarode-lite[notebooks]=={__version__}"
    from radarode_lite.bookdata import check_colab_runtime

    check_colab_runtime()'''

COLAB_CELL_TAGS = ["hide-input", "remove-output"]

STYLE_CELL = """import numpy as np
import matplotlib.pyplot as plt

from radarode_lite import plotting

plotting.use_style()"""


def new_notebook(path: str | Path, title: str):
    """Write a new chapter notebook with the title and the two set-up cells."""
    import nbformat

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"path {path} exists already; refusing to overwrite it")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}"),
        nbformat.v4.new_code_cell(COLAB_CELL, metadata={"tags": list(COLAB_CELL_TAGS)}),
        nbformat.v4.new_code_cell(STYLE_CELL),
    ]
    nbformat.write(nb, path)
    return path


def rewrite_setup_cell(path: str | Path) -> bool:
    """Make the first code cell of the notebook at ``path`` the current Colab cell; True if it changed.

    Only the cell's source and tags change (its outputs are cleared); nothing is executed.
    """
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    if not cells:
        raise ValueError(f"{path} has no code cell to rewrite")
    cell = cells[0]
    tags = list(cell.metadata.get("tags", []))
    if cell.source == COLAB_CELL and set(COLAB_CELL_TAGS) <= set(tags):
        return False
    cell.source = COLAB_CELL
    cell.outputs = []
    cell.metadata["tags"] = tags + [t for t in COLAB_CELL_TAGS if t not in tags]
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    """Start a new chapter notebook, or rewrite the set-up cell of existing ones."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", nargs="?", help="path of the new notebook, e.g. book/ch16_name.ipynb")
    parser.add_argument("title", nargs="?", help="the chapter's title")
    parser.add_argument("--rewrite-setup", nargs="+", metavar="NOTEBOOK",
                        help="make the first code cell of these notebooks the current Colab cell")
    args = parser.parse_args(argv)
    if args.rewrite_setup:
        for path in args.rewrite_setup:
            print(f"{path}: {'rewritten' if rewrite_setup_cell(path) else 'already current'}")
        return 0
    if args.notebook is None or args.title is None:
        parser.error("give the new notebook's path and its title, or --rewrite-setup NOTEBOOK ...")
    print(new_notebook(args.notebook, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
