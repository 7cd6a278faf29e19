"""Figure style and small plotting helpers shared by the book's chapters.

Every chapter calls :func:`use_style` once in its second cell, so that all figures share
one look: readable in greyscale (line styles and markers carry meaning, not only colour),
labelled axes with units, and a modest resolution that keeps stored notebooks small.
"""

from __future__ import annotations

from cycler import cycler

#: Colour-blind-safe palette (Okabe & Ito) that stays distinguishable in greyscale when
#: paired with :data:`LINESTYLES`.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["-", "--", "-.", ":", "-", "--", "-.", ":"]

STYLE = {
    "figure.figsize": (8.0, 3.2),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "figure.autolayout": False,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.4,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the book's matplotlib style (taught implicitly by every chapter)."""
    import matplotlib as mpl

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=PALETTE) + cycler(linestyle=LINESTYLES)


def label_axes(ax, xlabel: str, ylabel: str, title: str | None = None):
    """Set the axis labels (with units) and an optional title; returns ``ax``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax
