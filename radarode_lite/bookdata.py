"""The book's data files and a real ECG, wherever the book runs (chapters 2, 3, 6-8, 12-15).

A chapter names a data file by its path below the book's data folder, ``book/data`` of the
repository, e.g. ``book_file("paper/table2_optimisers.csv")``. :func:`book_file` looks for it

1. in a checkout of the repository: the ``book/data`` beside an editable install, or the one
   of the current folder or a folder above it (the chapters run in ``book/``);
2. in the copy installed with the package (``radarode_lite/book_data``, copied from
   ``book/data`` when the wheel is built, see ``setup.py``);
3. on Google Colab only, at the book's release on GitHub (the tag :data:`radarode_lite.RELEASE`):
   the file is downloaded into ``<cache>/book_data/<release>/`` and one line says so.

Anywhere else a missing file is a ``FileNotFoundError`` that names it and says what to do.

:func:`mitbih_excerpt` loads five minutes of a real ECG (MIT-BIH Arrhythmia Database record
208, shipped in ``radarode_lite/files`` with its attribution and licence) for chapter 3, and
:func:`check_colab_runtime` tells, after the set-up cell's install, whether the runtime must restart.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import urllib.request
from pathlib import Path, PurePosixPath

import numpy as np

from radarode_lite import RELEASE, REPOSITORY

__all__ = ["book_file", "check_colab_runtime", "mitbih_excerpt", "release_url"]

PACKAGE = Path(__file__).resolve().parent
INSTALLED = PACKAGE / "book_data"  # the copy of book/data that the wheel carries
ECG_FILE = PACKAGE / "files" / "mitdb_208_mlii.npz"


def book_file(name="") -> Path:
    """Path of the book data file or folder ``name`` (below ``book/data``), found as the module says.

    Parameters
    ----------
    name : relative POSIX path such as ``"paper/table2_optimisers.csv"`` or ``"results/benchmark/table2"``;
        ``""`` is the data folder itself. Folders are never downloaded: they travel with the package.

    Returns
    -------
    Path of an existing file or folder.
    """
    parts = _parts(name)
    for root in _data_roots():
        path = root.joinpath(*parts)
        if path.exists():
            return path
    if "google.colab" in sys.modules and parts:
        return _download(parts)
    raise FileNotFoundError(
        f"book data file {name!r} is in neither a checkout's book/data nor the package's copy "
        f"({INSTALLED}); run the chapter from a clone of {REPOSITORY} or install the book's "
        f"release: pip install radarode-lite=={RELEASE[1:]}"
    )


def release_url(name) -> str:
    """Address of the book data file ``name`` at the book's release (tag ``RELEASE``) on GitHub."""
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{owner_repo}/{RELEASE}/book/data/{'/'.join(_parts(name))}"


def mitbih_excerpt() -> tuple[np.ndarray, int]:
    """Five minutes of a real ECG: record 208 of the MIT-BIH Arrhythmia Database, lead MLII (chapter 3).

    The excerpt (19:35-24:35) that ``scipy.datasets.electrocardiogram`` also serves: normal
    beats, many premature ventricular contractions and fusion beats. From PhysioNet, under the
    Open Data Commons Attribution License v1.0; cite Moody and Mark (IEEE EMB Magazine, 2001)
    and Goldberger et al. (Circulation, 2000), see ``radarode_lite/files/README.md``.

    Returns
    -------
    ecg : (108000,) float64 mV.
    fs : 360 Hz.
    """
    with np.load(ECG_FILE) as stored:
        ecg = (stored["adc"].astype(np.float64) - float(stored["baseline"])) / float(stored["gain"])
        return ecg, int(stored["fs"])


def check_colab_runtime(modules=("numpy", "scipy", "torch", "matplotlib")) -> list[str]:
    """Names of the ``modules`` that an install replaced after they were imported; prints what to do.

    The chapters' set-up cell calls it after installing the package on Colab: a module that was
    imported before the install and whose installed version now differs is stale until the
    runtime restarts. Returns ``[]`` (and prints nothing) when everything imported is current.
    """
    stale = []
    for name in modules:
        module = sys.modules.get(name)
        loaded = getattr(module, "__version__", None)
        if loaded is None:
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if loaded != installed:
            stale.append(f"{name} {loaded} -> {installed}")
    if stale:
        print(
            f"The install replaced modules this runtime had already imported ({', '.join(stale)}). "
            "Restart the runtime (Runtime > Restart session), then run the notebook again from the top."
        )
    return [entry.split()[0] for entry in stale]


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _parts(name) -> tuple[str, ...]:
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"name must be a path below book/data as a string, got {type(name).__name__}")
    path = PurePosixPath(os.fspath(name))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"name must be a relative path below book/data without '..', got {str(name)!r}")
    return tuple(p for p in path.parts if p != ".")


def _data_roots() -> list[Path]:
    """The checkouts' ``book/data`` folders (beside the package, then from the current folder up), then the copy."""
    here = Path.cwd().resolve()
    candidates = [PACKAGE.parent, here, *here.parents]
    roots = [c / "book" / "data" for c in candidates if (c / "_toc.yml").is_file() and (c / "book" / "data").is_dir()]
    return list(dict.fromkeys(roots)) + [INSTALLED]


def _download(parts) -> Path:
    from radarode_lite.data import default_cache_dir

    target = default_cache_dir() / "book_data" / RELEASE / Path(*parts)
    if not target.is_file():
        url = release_url("/".join(parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            urllib.request.urlretrieve(url, partial)
        except OSError as exc:
            raise FileNotFoundError(f"book data file {'/'.join(parts)!r} could not be downloaded from {url}: {exc}") from exc
        partial.replace(target)
        print(f"downloaded book data file {'/'.join(parts)!r} from the release {RELEASE} to {target}")
    return target
