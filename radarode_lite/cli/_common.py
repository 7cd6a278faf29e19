"""What the command-line tools share: the default results folder, how a stored command starts,
and how a tool starts another as a child.

Imports nothing heavy, so that every tool's ``--help`` answers at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The folder of the ``radarode_lite`` package.
PACKAGE = Path(__file__).resolve().parents[1]

#: How ``--help`` states the default results folder.
RESULTS_RULE = ("default: the checkout's book/data/results/{sub} when run from a clone of the book, "
                "else ./results/{sub} in the current folder")  # fmt: skip


def checkout() -> Path | None:
    """The root of the book's repository when the package runs from a clone of it, else ``None``.

    A clone: the package folder's parent holds ``book/`` and ``_toc.yml``.
    """
    root = PACKAGE.parent
    return root if (root / "book").is_dir() and (root / "_toc.yml").is_file() else None


def results_root() -> Path:
    """Default folder of the stored results: ``<checkout>/book/data/results`` from a clone, else ``./results``."""
    root = checkout()
    return root / "book" / "data" / "results" if root is not None else Path("results")


def command_prefix(tool: str) -> str:
    """How a stored command line that remakes a result of ``tool`` starts.

    ``radarode-<tool>`` when this process is one of the console scripts, else
    ``python data_scripts/<tool>.py`` from a clone, else ``python -m radarode_lite.cli.<tool>``.
    """
    if Path(sys.argv[0] if sys.argv else "").stem.startswith("radarode-"):
        return "radarode-" + tool.replace("_", "-")
    if checkout() is not None:
        return f"python data_scripts/{tool}.py"
    return f"python -m radarode_lite.cli.{tool}"


def child_command(tool: str, *args: str) -> list[str]:
    """The command that runs ``tool`` in a child process (``python -m radarode_lite.cli.<tool>``)."""
    return [sys.executable, "-m", f"radarode_lite.cli.{tool}", *args]


def child_cwd() -> Path | None:
    """Working folder of a child tool: the checkout from a clone (``-m`` then finds the package
    there even when it is not installed), else the current folder."""
    return checkout()


#: The backbone stages with deformable convolutions by the value of ``--deformable``
#: (``radarode-train``, ``radarode-run-noise``): the preset's (None), or none at all, plain
#: convolutions everywhere (the right-sized network of chapter 12).
DEFORMABLE_OPTIONS = {"preset": None, "none": (False, False, False, False)}
