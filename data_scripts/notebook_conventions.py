"""The conventions every chapter notebook follows, in one place.

- The first code cell is :data:`COLAB_CELL`, identical in every notebook (a test checks it).
- The second code cell imports what the chapter needs and calls ``plotting.use_style()``.
- Notebooks are stored with their outputs; ``execute_notebooks.py`` refreshes them.

Run ``python data_scripts/notebook_conventions.py book/chXX_name.ipynb "Title"`` to start a
new chapter with the two set-up cells in place.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = "https://github.com/radarode-mtl-book/radarode-mtl-book"

COLAB_CELL = f'''# Set-up for Google Colab: install the book's package from its repository.
# Anywhere else (a local install, CI) this cell does nothing.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "radarode-lite[notebooks] @ git+{REPOSITORY}"'''

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


def main(argv=None) -> int:
    """Start a new chapter notebook from the command line."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", help="path of the new notebook, e.g. book/ch16_name.ipynb")
    parser.add_argument("title", help="the chapter's title")
    args = parser.parse_args(argv)
    print(new_notebook(args.notebook, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
