"""The book's notebook conventions: the same Colab cell, listed in the table of contents,
stored executed with outputs, small figures."""

import base64
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _conventions():
    spec = importlib.util.spec_from_file_location("notebook_conventions", ROOT / "data_scripts" / "notebook_conventions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _code_cells(path):
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"], nb


def _source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _toc_files():
    text = (ROOT / "_toc.yml").read_text()
    return re.findall(r"(?:file|root):\s*([\w/.-]+)", text)


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_colab_cell(path):
    conventions = _conventions()
    cells, _ = _code_cells(path)
    assert _source(cells[0]) == conventions.COLAB_CELL, f"{path.name}: first code cell differs from the shared Colab cell"
    assert set(conventions.COLAB_CELL_TAGS) <= set(cells[0].get("metadata", {}).get("tags", []))
    assert "plotting.use_style()" in _source(cells[1]), f"{path.name}: second code cell must apply the shared style"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed(path):
    cells, nb = _code_cells(path)
    counts = [c.get("execution_count") for c in cells]
    assert all(isinstance(n, int) for n in counts), f"{path.name}: some code cells were never executed"
    assert counts == sorted(counts), f"{path.name}: cells were executed out of order"
    for cell in cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}: a stored output is an error"
            for mime, data in out.get("data", {}).items():
                if mime.startswith("image/") and mime != "image/svg+xml":
                    size = len(base64.b64decode("".join(data) if isinstance(data, list) else data))
                    assert size < 250_000, f"{path.name}: a {mime} figure is {size / 1e3:.0f} kB"
    assert path.stat().st_size < 3_000_000
    titles = [c for c in nb["cells"] if c["cell_type"] == "markdown" and re.match(r"^# ", _source(c))]
    assert len(titles) == 1, f"{path.name}: a chapter has exactly one top-level title"


def test_table_of_contents_lists_every_chapter_and_nothing_missing():
    listed = set(_toc_files())
    for path in NOTEBOOKS:
        assert str(path.relative_to(ROOT).with_suffix("")) in listed, f"{path} is not in _toc.yml"
    for entry in listed:
        matches = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb", "")]
        assert any(m.is_file() for m in matches), f"_toc.yml lists {entry}, which does not exist"


CODE_WIDTH = 80


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    """Code lines of at most 80 characters, so that no cell is cut off on screen or in print
    (the shared Colab cell, the same in every chapter, is exempt)."""
    cells, _ = _code_cells(path)
    long = [
        (i, line)
        for i, cell in enumerate(cells[1:], start=2)
        for line in _source(cell).splitlines()
        if len(line) > CODE_WIDTH
    ]
    assert not long, f"{path.name}: {len(long)} code lines over {CODE_WIDTH} characters, first in code cell {long[0][0]}: {long[0][1][:60]}..."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tooling_markers_are_cell_tags_not_comments(path):
    """nbval and formatter markers live in cell tags, out of the reader's view."""
    cells, _ = _code_cells(path)
    for cell in cells:
        for marker in ("# NBVAL_CHECK_OUTPUT", "# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP", "# fmt: skip", "# fmt: off"):
            assert marker not in _source(cell), f"{path.name}: a cell shows the comment {marker!r}; use a cell tag"
