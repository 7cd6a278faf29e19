"""MMECG recordings on disk: folder names and ``.mat`` files, MATLAB v5 and v7.3 (chapter 4).

The MMECG data set (Chen et al., IEEE TMC 2022) stores each recording as a ``.mat`` file
holding a struct ``data`` with the radar channels ``RCG`` (samples x channels), the ECG and
the subject's ``id``, ``age``, ``gender`` and ``physistatus``. :func:`save_mmecg_mat` writes
such files (v5 with scipy, v7.3 with h5py, byte for byte reproducible), :func:`load_mmecg_mat`
reads both kinds. The segments of a recording live in a folder named like the authors'
``obj{subject}_{status}_{trial}_`` (:func:`recording_name`, :func:`parse_recording_name`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from radarode_lite import _checks, _files
from radarode_lite._checks import finite_array
from radarode_lite.conventions import STATUSES

__all__ = ["recording_name", "parse_recording_name", "save_mmecg_mat", "load_mmecg_mat"]

_FOLDER_RE = re.compile(r"^obj(\d+)_([A-Za-z]+)_(\d+)_$")
_MAT_FIELDS = ("RCG", "ECG", "id", "age", "gender", "physistatus")

# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------


def recording_name(subject_id, status, trial) -> str:
    """Folder name of a recording, ``obj{subject}_{status}_{trial}_``, as in the authors' layout (chapter 4).

    ``trial`` is the recording's number (for MMECG the number of its ``.mat`` file).
    """
    subject_id = _checks.integer(subject_id, "subject_id", low=0)
    trial = _checks.integer(trial, "trial", low=0)
    if not isinstance(status, str) or not re.fullmatch(r"[A-Za-z]+", status):
        raise ValueError(f"status must be letters only, e.g. one of {STATUSES}, got {status!r}")
    return f"obj{subject_id}_{status}_{trial}_"


def parse_recording_name(name) -> tuple[int, str, int]:
    """``(subject_id, status, trial)`` of a folder name ``obj{subject}_{status}_{trial}_`` (chapter 4)."""
    match = _FOLDER_RE.fullmatch(str(name))
    if match is None:
        raise ValueError(f"name must look like 'obj{{subject}}_{{status}}_{{trial}}_' (e.g. 'obj3_NB_12_'), got {name!r}")
    return int(match.group(1)), match.group(2), int(match.group(3))


# ---------------------------------------------------------------------------------------
# MMECG .mat files
# ---------------------------------------------------------------------------------------


def save_mmecg_mat(path, rcg, ecg, subject_id, age, gender, physistatus, format="5") -> Path:
    """Write one recording as an MMECG ``.mat`` file: a struct ``data`` (chapter 4).

    The struct has the fields of the MMECG data set (Chen et al., IEEE TMC 2022): ``RCG``
    (samples x channels, double), ``ECG`` (samples x 1, double), ``id``, ``age`` (double
    scalars), ``gender`` and ``physistatus`` (char; NB, IB, PE or SP).

    ``format="5"`` writes a MATLAB v5 file (readable by ``load`` in MATLAB and by
    ``scipy.io.loadmat``); ``format="7.3"`` an HDF5-based v7.3 file with MATLAB's layout
    (a 512-byte MATLAB header, ``MATLAB_class`` attributes, arrays stored transposed because
    MATLAB is column-major, text as uint16 characters), readable by MATLAB and ``h5py``.
    The header carries no date, so the same arguments always give the same bytes. The file
    is written to a temporary name and moved into place (:func:`radarode_lite._files.atomic_write`):
    a reader never sees a half-written file.

    Parameters
    ----------
    path : str or Path of the ``.mat`` file; missing parent folders are created.
    rcg : (N, C) radar channels (rad for :mod:`~radarode_lite.signals` recordings), finite.
    ecg : (N,) ECG in mV, finite.
    subject_id : int >= 0.
    age : years, finite number >= 0.
    gender : non-empty str (``"M"``/``"F"`` for simulated subjects).
    physistatus : one of :data:`STATUSES`.
    format : ``"5"`` or ``"7.3"``.

    Returns
    -------
    The path written, as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    rcg = finite_array(rcg, "rcg")
    if rcg.ndim != 2:
        raise ValueError(f"rcg must be 2-D (samples, channels), got shape {rcg.shape}")
    ecg = finite_array(ecg, "ecg")
    if ecg.ndim == 2 and 1 in ecg.shape:
        ecg = ecg.ravel()
    if ecg.ndim != 1:
        raise ValueError(f"ecg must be 1-D (samples,), got shape {ecg.shape}")
    if ecg.shape[0] != rcg.shape[0]:
        raise ValueError(f"rcg and ecg must have the same number of samples, got {rcg.shape[0]} and {ecg.shape[0]}")
    subject_id = _checks.integer(subject_id, "subject_id", low=0)
    age = _checks.non_negative(age, "age")
    if not isinstance(gender, str) or not gender:
        raise TypeError(f"gender must be a non-empty str, got {gender!r}")
    if physistatus not in STATUSES:
        raise ValueError(f"physistatus must be one of {STATUSES}, got {physistatus!r}")
    if format not in ("5", "7.3"):
        raise ValueError(f"format must be '5' (MATLAB v5) or '7.3' (HDF5), got {format!r}")
    fields = {
        "RCG": rcg,
        "ECG": ecg.reshape(-1, 1),
        "id": float(subject_id),
        "age": age,
        "gender": gender,
        "physistatus": physistatus,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write = _write_mat5 if format == "5" else _write_mat73
    return _files.atomic_write(path, lambda tmp: write(tmp, fields), size_hint=rcg.nbytes + ecg.nbytes)


def load_mmecg_mat(path) -> dict:
    """Read an MMECG ``.mat`` file (MATLAB v5/v7 or v7.3) into Python types (chapter 4).

    ``scipy.io.loadmat`` reads v5 and v7 files; it raises ``NotImplementedError`` for v7.3
    (HDF5) files, which are then read with ``h5py`` (arrays transposed back to samples x
    channels, characters decoded).

    Parameters
    ----------
    path : str or Path of a ``.mat`` file holding a struct ``data`` with at least ``RCG``
        (samples x channels) and ``ECG`` (samples).

    Returns
    -------
    dict with ``RCG``: (N, C) float64, ``ECG``: (N,) float64, and ``id`` (int), ``age``
    (int or float), ``gender`` and ``physistatus`` (str); a field missing from the file is
    None.

    Raises
    ------
    FileNotFoundError if ``path`` does not exist; ValueError if it is not a ``.mat`` file,
    has no struct ``data``, ``data`` lacks ``RCG`` or ``ECG``, or their sample counts differ.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path {str(path)!r} does not exist (expected an MMECG .mat file)")
    from scipy import io as sio

    try:
        raw = sio.loadmat(path, simplify_cells=True)
    except NotImplementedError:  # MATLAB v7.3: an HDF5 file
        struct = _struct_from_hdf5(path)
    except Exception as exc:  # scipy raises ValueError, IndexError, TypeError ... on other files
        raise ValueError(f"path {str(path)!r} is not a readable MATLAB .mat file: {exc!r}") from exc
    else:
        struct = _struct_from_scipy(raw, path)
    for key in ("RCG", "ECG"):
        if struct.get(key) is None:
            raise ValueError(f"{str(path)!r}: struct 'data' has no field '{key}' (MMECG files hold data.RCG and data.ECG)")
    rcg = np.asarray(struct["RCG"], dtype=np.float64)
    if rcg.ndim == 1:
        rcg = rcg[:, None]
    ecg = np.asarray(struct["ECG"], dtype=np.float64).ravel()
    if rcg.ndim != 2 or rcg.shape[0] != ecg.shape[0]:
        raise ValueError(
            f"{str(path)!r}: data.RCG must be samples x channels with as many samples as data.ECG, "
            f"got RCG {rcg.shape} and ECG {ecg.shape}"
        )
    out = {"RCG": rcg, "ECG": ecg}
    for key in _MAT_FIELDS[2:]:
        out[key] = _python_value(struct.get(key))
    return out


# MATLAB's 116-byte descriptive header text, without a date so that files are reproducible.
_MAT5_TEXT = b"MATLAB 5.0 MAT-file, Platform: radarode_lite, Created by: radarode_lite"
_MAT73_TEXT = b"MATLAB 7.3 MAT-file, Platform: radarode_lite, Created by: radarode_lite HDF5 schema 1.00 ."


def _write_mat5(path: Path, fields: dict) -> None:
    from scipy import io as sio

    with open(path, "wb") as fh:
        sio.savemat(fh, {"data": fields}, format="5", oned_as="column")
    with open(path, "r+b") as fh:  # replace scipy's dated header text by a fixed one
        fh.write(_MAT5_TEXT.ljust(116, b" "))


def _write_mat73(path: Path, fields: dict) -> None:
    import h5py

    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        group = f.create_group("data")
        group.attrs.create("MATLAB_class", np.bytes_("struct"))
        names = np.empty(len(fields), dtype=object)
        for i, key in enumerate(fields):
            names[i] = np.frombuffer(key.encode("ascii"), dtype="S1")
        group.attrs.create("MATLAB_fields", names, dtype=h5py.vlen_dtype(np.dtype("S1")))
        for key, value in fields.items():
            if isinstance(value, str):
                data = np.frombuffer(value.encode("utf-16-le"), dtype="<u2").reshape(-1, 1)  # 1 x n char, transposed
                ds = group.create_dataset(key, data=data)
                ds.attrs.create("MATLAB_class", np.bytes_("char"))
                ds.attrs.create("MATLAB_int_decode", np.int32(2))
            else:
                arr = np.atleast_2d(np.asarray(value, dtype=np.float64))
                ds = group.create_dataset(key, data=np.ascontiguousarray(arr.T))  # column-major storage
                ds.attrs.create("MATLAB_class", np.bytes_("double"))
    header = _MAT73_TEXT.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as fh:
        fh.write(header.ljust(512, b"\x00"))


def _struct_from_scipy(raw: dict, path: Path) -> dict:
    if "data" not in raw:
        raise ValueError(f"{str(path)!r} has no variable 'data' (MMECG files hold a struct named data)")
    data = raw["data"]
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r}: variable 'data' must be a 1x1 struct, got {type(data).__name__}")
    return data


def _struct_from_hdf5(path: Path) -> dict:
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"path {str(path)!r} is not a readable MATLAB v7.3 (HDF5) file: {exc}") from exc
    with f:
        if "data" not in f or not isinstance(f["data"], h5py.Group):
            raise ValueError(f"{str(path)!r} has no struct 'data' (MMECG files hold a struct named data)")
        out = {}
        for key, obj in f["data"].items():
            if not isinstance(obj, h5py.Dataset):
                continue
            cls = obj.attrs.get("MATLAB_class", b"double")
            cls = cls.decode() if isinstance(cls, bytes) else str(cls)
            if obj.attrs.get("MATLAB_empty", 0):
                out[key] = None
            elif cls == "char":
                out[key] = "".join(chr(c) for c in np.asarray(obj[()]).T.ravel())
            else:
                out[key] = np.asarray(obj[()]).T
        return out


def _python_value(value):
    """A scalar field as int/float/str (None for missing or empty)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.size == 0:
        return None
    if arr.dtype.kind in "US":
        return str(arr.ravel()[0]) if arr.size == 1 else "".join(str(v) for v in arr.ravel())
    if arr.size != 1:
        return arr
    v = arr.ravel()[0].item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
