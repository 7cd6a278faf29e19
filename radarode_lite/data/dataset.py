"""Reading a segment data set: its recordings, a torch ``Dataset`` and subject-wise splits (chapter 4).

A data set folder, written by :func:`radarode_lite.data.generate_dataset` or
``data_scripts/convert_mmecg.py``, holds one folder per recording
(``obj{subject}_{status}_{trial}_/``, see :mod:`radarode_lite.data`). :func:`list_recordings`
reads their ``segments.json`` and refuses a data set whose generation did not finish;
:class:`SegmentDataset` serves the segments to torch; :func:`subject_split` divides the
subjects between training, validation and test; :func:`dataset_fingerprint` identifies the
data a model was trained on.
"""

from __future__ import annotations

import hashlib
import json
from numbers import Integral
from pathlib import Path

import numpy as np
import torch

from radarode_lite import _checks, timefreq
from radarode_lite.data.mmecg import _FOLDER_RE, parse_recording_name

__all__ = ["list_recordings", "dataset_fingerprint", "SegmentDataset", "subject_split"]


def list_recordings(root) -> list[dict]:
    """The recordings of a data set folder, sorted by subject, trial and status (chapter 4).

    Each entry is the recording's ``segments.json`` plus ``path`` (its folder), ``subject_id``,
    ``status`` and ``trial`` parsed from the folder name. Hidden (temporary) folders and
    folders without ``segments.json`` are ignored.

    A data set written by :func:`generate_dataset` or ``convert_mmecg.py`` is checked for
    completeness: its ``dataset.json`` (written last) must say ``"complete": true`` and every
    recording it lists must be there; otherwise ``ValueError`` (an interrupted generation:
    run it again to finish it). A damaged ``dataset.json`` or ``segments.json`` raises
    ``ValueError`` naming the file.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root {str(root)!r} does not exist or is not a folder (expected a segment data set)")
    listed = _check_complete(root)
    out = []
    for folder in root.iterdir():
        if not folder.is_dir() or not _FOLDER_RE.fullmatch(folder.name) or not (folder / "segments.json").is_file():
            continue
        info = _read_json(folder / "segments.json")
        if not isinstance(info, dict) or not isinstance(info.get("n_segments"), int) or "ppi" not in info:
            raise ValueError(f"{str(folder / 'segments.json')!r} is not a recording's segments.json "
                             f"(no n_segments or ppi); write the recording again")  # fmt: skip
        subject_id, status, trial = parse_recording_name(folder.name)
        info.update(path=str(folder), subject_id=subject_id, status=status, trial=trial)
        out.append(info)
    missing = sorted(set(listed) - {r["name"] for r in out})
    if missing:
        raise ValueError(f"data set {str(root)!r} is incomplete: dataset.json lists recordings that are missing "
                         f"({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}); generate it again")  # fmt: skip
    out.sort(key=lambda r: (r["subject_id"], r["trial"], r["status"]))
    return out


def dataset_fingerprint(root) -> str:
    """Short hash of a data set's recordings: their names and ``segments.json`` (targets, peaks, preset ...).

    Two folders with the same fingerprint hold the same recordings of the same segments; a
    training run stores it to refuse resuming on other data (chapter 12).
    """
    digest = hashlib.sha256()
    for rec in list_recordings(root):
        digest.update(rec["name"].encode())
        digest.update((Path(rec["path"]) / "segments.json").read_bytes())
    return digest.hexdigest()[:16]


class SegmentDataset(torch.utils.data.Dataset):
    """The segments under a data set folder as a torch ``Dataset`` (chapter 4).

    Item ``i`` is a dict

    - ``sst``: float32 tensor (C, F, T), the network input in [0, 1];
    - ``shape``: float32 (200,), the single-cycle target in [0, 1];
    - ``ppi``: int64 scalar, the cycle length in samples at 200 Hz (class 0-259);
    - ``anchor``: float32 (800,), the R-peak heat map;
    - ``ecg``: float32 (800,), the window's ECG in mV;
    - ``subject`` (int), ``status`` (str), ``recording`` (folder name, str), ``segment`` (int).

    Files are read when an item is requested; with ``in_memory=True`` each segment's arrays are
    read once and kept (a training run reads every segment once per epoch; the lite data sets
    are small), the same values either way. ``transform``, if given, is called on the item dict
    and its result returned (e.g. to add noise to ``sst``); with ``in_memory`` it receives the
    kept tensors, so it must return new ones rather than change them in place.

    Parameters
    ----------
    root : str or Path of a folder written by :func:`generate_dataset` or ``convert_mmecg.py``.
    recordings : None (all) or folder names to keep.
    subjects : None (all) or subject ids to keep.
    statuses : None (all) or statuses to keep.
    preset : None, or the preset name every selected recording must have been made with.
    transform : None or a callable ``item -> item``.
    in_memory : bool, keep the arrays of every segment read (default False).
    """

    def __init__(self, root, recordings=None, subjects=None, statuses=None, preset=None, transform=None,
                 in_memory=False):  # fmt: skip
        records = list_recordings(root)
        if not records:
            raise ValueError(f"root {str(root)!r} holds no recording folders obj{{subject}}_{{status}}_{{trial}}_")
        if recordings is not None:
            wanted = {str(r) for r in ([recordings] if isinstance(recordings, str) else recordings)}
            unknown = wanted - {r["name"] for r in records}
            if unknown:
                raise ValueError(f"recordings not found under {str(root)!r}: {sorted(unknown)}")
            records = [r for r in records if r["name"] in wanted]
        if subjects is not None:
            wanted_subjects = {_checks.integer(s, "subjects", low=0) for s in subjects}
            records = [r for r in records if r["subject_id"] in wanted_subjects]
        if statuses is not None:
            records = [r for r in records if r["status"] in set(statuses)]
        if not records:
            raise ValueError("the selection (recordings, subjects, statuses) matches no recording")
        presets = {r["preset"] for r in records}
        if preset is not None:
            name = timefreq.get_preset(preset).name
            if presets != {name}:
                raise ValueError(f"preset {name!r} requested but the recordings were made with {sorted(presets)}")
        elif len(presets) > 1:
            raise ValueError(f"the selected recordings mix presets {sorted(presets)}; pass subjects/recordings of one")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.root = Path(root)
        self.records = records
        self.transform = transform
        if not isinstance(in_memory, bool):
            raise TypeError(f"in_memory must be True or False, got {type(in_memory).__name__}")
        self._kept = {} if in_memory else None  # segment index -> its arrays
        self.preset = presets.pop()
        for r in records:
            last = Path(r["path"]) / f"sst_seg_{r['n_segments'] - 1}.npy"
            if r["n_segments"] > 0 and not last.is_file():
                raise ValueError(f"recording {r['name']!r} is incomplete: segments.json counts {r['n_segments']} "
                                 f"segments but {str(last)!r} is missing")  # fmt: skip
        self.index = [(j, i) for j, r in enumerate(records) for i in range(r["n_segments"])]

    @property
    def recordings(self) -> list[str]:
        """Folder names of the recordings in this dataset."""
        return [r["name"] for r in self.records]

    @property
    def subjects(self) -> list[int]:
        """Sorted subject ids in this dataset."""
        return sorted({r["subject_id"] for r in self.records})

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, idx):
        if isinstance(idx, bool) or not isinstance(idx, Integral):
            raise TypeError(f"index must be an int, got {type(idx).__name__}")
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} is out of range for a dataset of {len(self)} segments")
        j, i = self.index[idx]
        rec = self.records[j]
        arrays = None if self._kept is None else self._kept.get(idx)
        if arrays is None:
            folder = Path(rec["path"])
            arrays = {k: _load_array(folder / f"{k}_seg_{i}.npy") for k in ("sst", "shape", "anchor", "ecg")}
            if self._kept is not None:
                self._kept[idx] = arrays
        item = {
            "sst": arrays["sst"],
            "shape": arrays["shape"],
            "ppi": torch.tensor(rec["ppi"][i], dtype=torch.int64),
            "anchor": arrays["anchor"],
            "ecg": arrays["ecg"],
            "subject": rec["subject_id"],
            "status": rec["status"],
            "recording": rec["name"],
            "segment": i,
        }
        return self.transform(item) if self.transform is not None else item


def subject_split(root, test_subjects=1, val_subjects=0, seed=0, preset=None, transform=None, in_memory=False) -> dict:
    """Subject-wise train / validation / test split of a data set: no subject in two splits (chapter 4).

    Segments of one person are alike; a split that put the same subject in training and
    test would reward memorising people. ``test_subjects`` and ``val_subjects`` are either
    lists of subject ids or numbers of subjects, then drawn (test first) from a permutation of
    the subject ids by ``numpy.random.default_rng(seed)``. The remaining subjects train.
    ``preset``, ``transform`` and ``in_memory`` go to each :class:`SegmentDataset`.

    Returns
    -------
    dict with ``"train"``, ``"val"`` and ``"test"``: :class:`SegmentDataset` (``"val"`` is
    None when there are no validation subjects).
    """
    subjects = sorted({r["subject_id"] for r in list_recordings(root)})
    if not subjects:
        raise ValueError(f"root {str(root)!r} holds no recording folders")
    rng = np.random.default_rng(_checks.integer(seed, "seed", low=0))
    order = [subjects[i] for i in rng.permutation(len(subjects))]
    test = _pick_subjects(test_subjects, "test_subjects", subjects, order, taken=set())
    val = _pick_subjects(val_subjects, "val_subjects", subjects, order, taken=set(test))
    train = [s for s in subjects if s not in set(test) | set(val)]
    if not test:
        raise ValueError("test_subjects must select at least one subject")
    if not train:
        raise ValueError(f"no subject is left for training (subjects {subjects}, test {test}, val {val})")
    make = lambda ids: SegmentDataset(root, subjects=ids, preset=preset, transform=transform,  # noqa: E731
                                      in_memory=in_memory)  # fmt: skip
    return {"train": make(train), "val": make(val) if val else None, "test": make(test)}


# ---------------------------------------------------------------------------------------
# Internal functions
# ---------------------------------------------------------------------------------------


def _pick_subjects(spec, name, subjects, order, taken):
    if isinstance(spec, Integral) and not isinstance(spec, bool):
        if spec < 0:
            raise ValueError(f"{name} must be >= 0 subjects, got {spec}")
        free = [s for s in order if s not in taken]
        if spec > len(free):
            raise ValueError(f"{name}={spec} but only {len(free)} subjects are left ({free})")
        return sorted(free[:spec])
    if spec is None:
        return []
    ids = [_checks.integer(s, name, low=0) for s in spec]
    unknown = sorted(set(ids) - set(subjects))
    if unknown:
        raise ValueError(f"{name} {unknown} are not in the data set (subjects {subjects})")
    clash = sorted(set(ids) & taken)
    if clash:
        raise ValueError(f"subjects {clash} are in two splits; test and val subjects must differ")
    return sorted(set(ids))


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except ValueError as exc:
        raise ValueError(f"{str(path)!r} is damaged (not valid JSON: {exc}); write it again") from None


def _load_array(path: Path) -> torch.Tensor:
    try:
        array = np.load(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"segment file {str(path)!r} is missing; write the recording again") from None
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"segment file {str(path)!r} is damaged ({exc}); write the recording again") from None
    return torch.from_numpy(array.astype(np.float32, copy=False))


def _check_complete(root: Path) -> list:
    """The recordings a data set's ``dataset.json`` lists; ValueError if it marks an unfinished data set."""
    marker = root / "dataset.json"
    if not marker.is_file():
        return []  # a folder of recordings assembled by hand
    info = _read_json(marker)
    if not isinstance(info, dict) or info.get("complete", True) is not True:
        raise ValueError(f"data set {str(root)!r} is incomplete: its generation was interrupted (dataset.json marks "
                         f"it unfinished); run the same command again to finish it")  # fmt: skip
    listed = info.get("recordings", [])
    return [str(n) for n in listed] if isinstance(listed, list) else []
