"""The book's data set, generated once into a cache folder and reused (chapters 4, 6-8, 13).

The chapters that train a network all use the same synthetic data set. :func:`book_dataset`
generates it with :func:`radarode_lite.data.generate_dataset` into
``<cache>/<preset>_<size>_seed<seed>/`` the first time it is asked for and returns that
folder afterwards. A stamp file, ``book_dataset.json``, records the arguments and a
fingerprint of the code that generated it (:func:`generator_fingerprint`), so a copy made by
other code is regenerated.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from radarode_lite import _checks, _files

__all__ = ["default_cache_dir", "book_dataset", "generator_fingerprint"]

_STAMP = "book_dataset.json"


def default_cache_dir() -> Path:
    """Folder of the cached data sets: ``$RADARODE_DATA`` if set, else ``~/.cache/radarode_lite``."""
    env = os.environ.get("RADARODE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "radarode_lite"


def book_dataset(size="small", preset="lite", seed=0, root=None) -> Path:
    """Path of the synthetic data set the chapters train on, generated on first use (chapters 6-8, 13).

    The data set is ``root/<preset>_<size>_seed<seed>/``, written by
    :func:`radarode_lite.data.generate_dataset` (sizes in :data:`radarode_lite.data.SIZES`:
    ``"small"`` is 2 subjects x 4 statuses x 12 s, 72 segments, ``"default"`` 6 subjects x 4
    statuses x 30 s, ``"benchmark"`` 12 subjects x 4 statuses x 20 s with noisier radar channels,
    ``"calibrated"`` 20 subjects x 4 statuses x 20 s with noisier ones still) with the MMECG ``.mat`` files of the whole recordings in its ``mat/``.
    The same arguments and the same package code always give the same bytes, so the copy is
    generated once and then reused. A stamp file, ``book_dataset.json``, records a fingerprint
    of the code that generated it (:func:`generator_fingerprint`); a copy made by other code
    is regenerated.

    Safe when several notebooks ask for it at once: each generates into its own hidden
    temporary folder next to the final one and renames it into place when complete
    (:func:`radarode_lite._files.atomic_folder`); if another process has renamed its copy
    first, that copy is used and ours is deleted.

    Parameters
    ----------
    size : ``"small"``, ``"default"``, ``"benchmark"`` or ``"calibrated"``.
    preset : ``"lite"`` (8 x 32 x 120 spectrograms) or ``"paper"`` (50 x 71 x 120).
    seed : int >= 0.
    root : folder holding the cached data sets; None for :func:`default_cache_dir`
        (``$RADARODE_DATA`` or ``~/.cache/radarode_lite``).

    Returns
    -------
    Path of the data set folder, to pass to :class:`radarode_lite.data.SegmentDataset` or
    :func:`radarode_lite.data.subject_split`.

    Raises
    ------
    FileExistsError if the folder exists but was not written by this function (no
    ``dataset.json``): it is left alone; delete it to regenerate.
    """
    data = _package()
    if size not in data.SIZES:
        raise ValueError(f"size must be one of {tuple(data.SIZES)}, got {size!r}")
    from radarode_lite import timefreq

    preset_name = timefreq.get_preset(preset).name
    seed = _checks.non_negative_int(seed, "seed")
    base = default_cache_dir() if root is None else Path(root).expanduser()
    if base.exists() and not base.is_dir():
        raise ValueError(f"root must be a folder, but {str(base)!r} is a file")
    final = base / f"{preset_name}_{size}_seed{seed}"
    stamp = {"size": size, "preset": preset_name, "seed": seed, "fingerprint": generator_fingerprint()}
    if _read_stamp(final) == stamp:
        return final
    if final.exists() and not (final / "dataset.json").is_file():
        raise FileExistsError(
            f"{str(final)!r} exists but holds no dataset.json (not a generated data set); delete it to regenerate"
        )
    base.mkdir(parents=True, exist_ok=True)
    _files.remove_leftovers(base)  # copies of processes killed while generating

    def fill(tmp: Path) -> None:
        tmp.rmdir()  # generate_dataset makes the folder itself, as it does for any new data set
        data.generate_dataset(tmp, size=size, preset=preset_name, seed=seed, progress=False)
        (tmp / _STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")

    _files.atomic_folder(final, fill, done=lambda folder: _read_stamp(folder) == stamp)
    found = _read_stamp(final)
    if found != stamp:
        raise RuntimeError(f"{str(final)!r} was replaced while it was generated (stamp {found}, expected {stamp})")
    return final


def generator_fingerprint() -> str:
    """Short hash of the package version and the source of the modules that make the data (chapter 4).

    :mod:`~radarode_lite.signals`, :mod:`~radarode_lite.noise`, :mod:`~radarode_lite.timefreq`
    and every module of :mod:`radarode_lite.data`: when any of them changes,
    :func:`book_dataset` regenerates its cached copies.
    """
    from radarode_lite import __version__, noise, signals, timefreq

    digest = hashlib.sha256(__version__.encode())
    for module in (signals, timefreq):
        digest.update(Path(module.__file__).read_bytes())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    digest.update(Path(noise.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _read_stamp(folder: Path):
    """The content of ``folder``'s stamp file, or None if it is missing or damaged."""
    try:
        return json.loads((Path(folder) / _STAMP).read_text())
    except (OSError, ValueError):
        return None


def _package():
    """The :mod:`radarode_lite.data` package, whose ``generate_dataset`` is called (tests replace it there)."""
    from radarode_lite import data

    return data
