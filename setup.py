"""Build step that puts the book's data into the wheel (everything else is in pyproject.toml).

The chapters read the paper's tables, stored results and stored models from ``book/data``. When
a wheel is built, that folder is copied, as it is then, into the package as
``radarode_lite/book_data``, where :func:`radarode_lite.bookdata.book_file` finds it after a
plain ``pip install``. Editable installs read ``book/data`` of the checkout directly.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BOOK_DATA = Path(__file__).resolve().parent / "book" / "data"


class BuildPyWithBookData(build_py):
    """``build_py`` that also copies ``book/data`` into the built package."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        if not BOOK_DATA.is_dir():
            raise FileNotFoundError(f"no book data folder at {BOOK_DATA}: build from a checkout or its sdist")
        target = Path(self.build_lib) / "radarode_lite" / "book_data"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(BOOK_DATA, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))


setup(cmdclass={"build_py": BuildPyWithBookData})
