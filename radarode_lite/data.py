r"""Segments, targets, MMECG ``.mat`` files and torch datasets: the data engine (chapter 4).

A recording, simulated by :mod:`radarode_lite.signals` or read from the MMECG data set
(Chen et al., IEEE TMC 2022), holds 50 radar channels and a synchronised ECG at 200 Hz.
radarODE-MTL (Zhang et al., IEEE TIM 2025) learns from 4-s pieces of it. This module cuts
recordings into those pieces and computes, for each, the network input and the three targets:

- ``sst``    (C, F, T) float32: |SST| spectrogram of the radar channels, upper half of the
  frequency axis, 30 frames per second, min-max normalised to [0, 1] per channel
  (:mod:`radarode_lite.timefreq`); T = 120 frames for a 4-s window.
- ``shape``  (200,) float32: one cardiac cycle of the ECG resampled to 200 samples and min-max
  normalised to [0, 1]: the morphology task. The cycle is the beat whose R peak lies nearest
  the window centre; beat ``k`` spans

  .. math:: [R_k - r\,RR_k,\; R_k + (1 - r)\,RR_k], \qquad RR_k = R_{k+1} - R_k,

  with :math:`r` = :data:`R_FRACTION` = 0.32, the fraction of a cycle of McSharry's model that
  comes before the R wave when it is integrated from the radarODE solver's initial state
  (:func:`radarode_lite.ode.ecg_ode` puts its R wave at sample 64 of 200). So the target beat
  is aligned like the beat the network's ODE decoder draws: R wave at sample 64.
- ``ppi``    int64: that cycle's length :math:`RR_k` in samples at 200 Hz, rounded and clipped
  to 0-259, one of :data:`PPI_CLASSES` = 260 classes (cycles up to 1.295 s, i.e. heart rates
  down to 46.3 bpm, are represented exactly; slower beats fall into the last class): the
  cycle-length task.
- ``anchor`` (800,) float32: a heat map with a unit-height Gaussian bump of standard deviation
  :data:`ANCHOR_SIGMA_SAMPLES` = 10 samples (50 ms) centred on the sample of every R peak
  inside the window: the anchor task.
- ``ecg``    (800,) float32: the ECG of the window in mV, for evaluation and plots.

Windows are :data:`WINDOW_S` = 4 s long and start every :data:`HOP_S` = 1 s (overlapping
windows multiply the number of training examples: a 3-min recording gives 177). The
spectrogram of a whole recording is computed once and then sliced, so windows share the
same time-frequency values where they overlap and have no edge effects of their own.

On disk, one folder per recording, named like the authors' ``obj{subject}_{status}_{trial}_``,
holds ``sst_seg_{i}.npy``, ``ecg_seg_{i}.npy``, ``anchor_seg_{i}.npy``, ``shape_seg_{i}.npy``
and ``segments.json`` (cycle lengths, window starts, R peaks, the subject, the preset, the
generator and its seed). Folders and ``.mat`` files are written atomically: an interrupted
run never leaves a half-written one.

Public functions, in the order of the chapter: :func:`save_mmecg_mat`, :func:`load_mmecg_mat`,
:func:`detect_r_peaks`, :func:`window_targets` (with :func:`shape_target`,
:func:`ppi_target`, :func:`anchor_heatmap`), :func:`add_radar_noise`, :func:`segment_recording`,
:func:`write_segments`, :func:`generate_dataset`, :func:`list_recordings`,
:class:`SegmentDataset`, :func:`subject_split`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from scipy import signal as sps

from radarode_lite import __version__, _files, signals, timefreq
from radarode_lite._checks import finite_array
from radarode_lite._checks import positive as _positive
from radarode_lite._checks import real_number as _real

__all__ = [
    "FS",
    "STATUSES",
    "WINDOW_S",
    "HOP_S",
    "SHAPE_SAMPLES",
    "PPI_CLASSES",
    "R_FRACTION",
    "ANCHOR_SIGMA_SAMPLES",
    "SIZES",
    "CARDIAC_HIGHPASS_HZ",
    "GENERATOR",
    "recording_name",
    "parse_recording_name",
    "save_mmecg_mat",
    "load_mmecg_mat",
    "detect_r_peaks",
    "cycle_bounds",
    "shape_target",
    "ppi_target",
    "anchor_heatmap",
    "window_targets",
    "Segments",
    "add_radar_noise",
    "segment_recording",
    "write_segments",
    "generate_dataset",
    "list_recordings",
    "dataset_fingerprint",
    "SegmentDataset",
    "subject_split",
]

#: Sampling rate (Hz) of radar and ECG, as in MMECG; the targets are defined at this rate.
FS = signals.FS
#: The MMECG physiological statuses: normal breathing, irregular breathing, post-exercise, sleep.
STATUSES = signals.STATUSES
#: Length (s) of a segment: 800 ECG samples, 120 spectrogram frames.
WINDOW_S = 4.0
#: Default step (s) between the starts of consecutive segments.
HOP_S = 1.0
#: Samples of the single-cycle ``shape`` target (the ODE decoder's output length).
SHAPE_SAMPLES = 200
#: Number of cycle-length classes: ``ppi`` lies in 0 .. PPI_CLASSES - 1 samples at 200 Hz.
PPI_CLASSES = 260
#: Fraction of a cardiac cycle before its R wave in the ``shape`` target (McSharry's model
#: from the radarODE solver's initial state reaches the R wave at sample 64 of 200).
R_FRACTION = 0.32
#: Standard deviation (samples at 200 Hz, i.e. 50 ms) of the Gaussian bumps of ``anchor``.
ANCHOR_SIGMA_SAMPLES = 10.0
#: Sizes of :func:`generate_dataset`: subjects and seconds per recording (x 4 statuses).
SIZES = {
    "small": {"n_subjects": 2, "duration_s": 12.0},
    "default": {"n_subjects": 6, "duration_s": 30.0},
}
#: Cut-off (Hz) of the high-pass (4th-order Butterworth, zero phase) that defines a channel's
#: cardiac part, the reference of every SNR here: breathing (below 1 Hz) would otherwise carry
#: almost all the power and "0 dB" noise would bury the heart (chapter 1).
CARDIAC_HIGHPASS_HZ = 5.0
#: Name and version written into every ``segments.json``.
GENERATOR = f"radarode_lite {__version__}"

_FOLDER_RE = re.compile(r"^obj(\d+)_([A-Za-z]+)_(\d+)_$")
_MAT_FIELDS = ("RCG", "ECG", "id", "age", "gender", "physistatus")


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------


def recording_name(subject_id, status, trial) -> str:
    """Folder name of a recording, ``obj{subject}_{status}_{trial}_``, as in the authors' layout (chapter 4).

    ``trial`` is the recording's number (for MMECG the number of its ``.mat`` file).
    """
    subject_id = _non_negative_int(subject_id, "subject_id")
    trial = _non_negative_int(trial, "trial")
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
    is written to a temporary name and moved into place (``os.replace``): a reader never sees
    a half-written file.

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
    subject_id = _non_negative_int(subject_id, "subject_id")
    age = _real(age, "age")
    if age < 0:
        raise ValueError(f"age must be >= 0 years, got {age}")
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


# ---------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------


def detect_r_peaks(ecg, fs=FS, min_rr_s=0.3, band_hz=(5.0, 30.0), threshold=0.4, refine_s=0.04) -> np.ndarray:
    """R-peak times (s) of an ECG without annotations, e.g. a real MMECG recording (chapter 4).

    1. Band-pass ``band_hz`` (3rd-order Butterworth, zero phase, ``scipy.signal.sosfiltfilt``)
       keeps the steep QRS complex and suppresses baseline wander, P and T waves.
    2. ``scipy.signal.find_peaks`` on the filtered signal with ``height = prominence =
       threshold * A`` and ``distance = min_rr_s * fs``, where ``A`` is the 99th percentile of
       the filtered signal's magnitude (a robust QRS amplitude).
    3. Each peak is moved to the maximum of the raw ECG within ``refine_s`` of it.

    The R waves must point upwards (pass ``-ecg`` for an inverted lead).

    Parameters
    ----------
    ecg : (N,) mV, finite, at least 1 s long.
    fs : Hz, > 2 * band_hz[1].
    min_rr_s : s, shortest accepted RR interval (0.3 s = 200 bpm).
    band_hz : (low, high) Hz of the band-pass.
    threshold : fraction (0-1) of the QRS amplitude a peak must reach.
    refine_s : s, half-width of the refinement search.

    Returns
    -------
    (K,) float64 R-peak times in s, increasing.
    """
    x = finite_array(ecg, "ecg")
    if x.ndim != 1:
        raise ValueError(f"ecg must be 1-D (samples,), got shape {x.shape}")
    fs = _positive(fs, "fs")
    if len(x) < fs:
        raise ValueError(f"ecg must be at least 1 s long ({int(fs)} samples at {fs} Hz), got {len(x)} samples")
    min_rr_s = _positive(min_rr_s, "min_rr_s")
    low, high = (_positive(v, "band_hz") for v in band_hz)
    if not low < high < fs / 2:
        raise ValueError(f"band_hz must satisfy 0 < low < high < fs/2 = {fs / 2} Hz, got {band_hz}")
    threshold = _real(threshold, "threshold")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    refine_s = _real(refine_s, "refine_s")
    sos = sps.butter(3, (low, high), btype="bandpass", fs=fs, output="sos")
    y = sps.sosfiltfilt(sos, x)
    amplitude = np.percentile(np.abs(y), 99)
    if amplitude <= 0:
        return np.zeros(0)
    peaks, _ = sps.find_peaks(
        y, height=threshold * amplitude, prominence=threshold * amplitude, distance=max(1, int(round(min_rr_s * fs)))
    )
    half = max(0, int(round(refine_s * fs)))
    refined = [max(0, p - half) + int(np.argmax(x[max(0, p - half) : p + half + 1])) for p in peaks]
    return np.unique(np.asarray(refined, dtype=np.int64)) / fs


def cycle_bounds(r_peak_s, next_r_peak_s, r_fraction=R_FRACTION) -> tuple[float, float]:
    """Start and end (s) of the cardiac cycle of the beat at ``r_peak_s`` (chapter 4).

    ``[R_k - r RR_k, R_k + (1 - r) RR_k]`` with ``RR_k = next_r_peak_s - r_peak_s`` and
    ``r = r_fraction`` (default :data:`R_FRACTION`).
    """
    r = _real(r_peak_s, "r_peak_s")
    rr = _real(next_r_peak_s, "next_r_peak_s") - r
    if rr <= 0:
        raise ValueError(f"next_r_peak_s must come after r_peak_s, got {next_r_peak_s} <= {r_peak_s}")
    r_fraction = _real(r_fraction, "r_fraction")
    if not 0 <= r_fraction < 1:
        raise ValueError(f"r_fraction must lie in [0, 1), got {r_fraction}")
    return r - r_fraction * rr, r + (1 - r_fraction) * rr


def shape_target(ecg, r_peak_s, next_r_peak_s, fs=FS, n_samples=SHAPE_SAMPLES, r_fraction=R_FRACTION) -> np.ndarray:
    """One cardiac cycle resampled to ``n_samples`` and min-max normalised: the shape target (chapter 4).

    The cycle of :func:`cycle_bounds` is sampled at ``n_samples`` evenly spaced times
    ``c0 + j RR / n_samples`` (``j = 0 .. n_samples - 1``) by linear interpolation between
    ECG samples, then mapped to [0, 1]. Sample ``r_fraction * n_samples`` (64 of 200) is the
    R peak.

    Parameters
    ----------
    ecg : (N,) mV, sampled at ``fs`` from time 0.
    r_peak_s, next_r_peak_s : s, this beat's and the next beat's R peaks; the cycle must lie
        within the recording.
    fs : Hz.
    n_samples : int >= 2.

    Returns
    -------
    (n_samples,) float32 with minimum 0 and maximum 1.
    """
    x = finite_array(ecg, "ecg")
    if x.ndim != 1:
        raise ValueError(f"ecg must be 1-D (samples,), got shape {x.shape}")
    fs = _positive(fs, "fs")
    n_samples = _non_negative_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    start, end = cycle_bounds(r_peak_s, next_r_peak_s, r_fraction)
    if start < 0 or end > (len(x) - 1) / fs:
        raise ValueError(f"the cycle [{start:.3f}, {end:.3f}] s must lie within the ECG (0 to {(len(x) - 1) / fs:.3f} s)")
    times = start + (end - start) * np.arange(n_samples) / n_samples
    beat = np.interp(times * fs, np.arange(len(x)), x)
    span = beat.max() - beat.min()
    if span <= 0:
        raise ValueError("the ECG is constant over the cycle; it cannot be normalised")
    return ((beat - beat.min()) / span).astype(np.float32)


def ppi_target(r_peak_s, next_r_peak_s, fs=FS) -> int:
    """Cycle length in samples at ``fs`` (the peak-to-peak interval, PPI), clipped to 0-259 (chapter 4).

    ``round((next_r_peak_s - r_peak_s) * fs)``, clipped to ``[0, PPI_CLASSES - 1]`` so that it
    is one of :data:`PPI_CLASSES` class indices.
    """
    rr = _real(next_r_peak_s, "next_r_peak_s") - _real(r_peak_s, "r_peak_s")
    if rr <= 0:
        raise ValueError(f"next_r_peak_s must come after r_peak_s, got {next_r_peak_s} <= {r_peak_s}")
    return int(np.clip(round(rr * _positive(fs, "fs")), 0, PPI_CLASSES - 1))


def anchor_heatmap(r_peaks_s, start_s=0.0, n_samples=800, fs=FS, sigma_samples=ANCHOR_SIGMA_SAMPLES) -> np.ndarray:
    """Heat map of the R peaks in a window: a unit-height Gaussian bump per peak (chapter 4).

    Each R peak at time ``t`` becomes the sample ``m = round((t - start_s) fs)``; those with
    ``0 <= m < n_samples`` contribute ``exp(-(n - m)^2 / (2 sigma^2))``. Overlapping bumps are
    combined by their maximum, so the map is 1 exactly at each peak's sample and never exceeds 1.

    Parameters
    ----------
    r_peaks_s : (K,) s, R-peak times (any; those outside the window are ignored).
    start_s : s, time of the window's first sample.
    n_samples : int, window length (800 = 4 s at 200 Hz).
    fs : Hz.
    sigma_samples : samples, > 0, width of each bump (default 10 = 50 ms).

    Returns
    -------
    (n_samples,) float32 in [0, 1].
    """
    peaks = finite_array(r_peaks_s, "r_peaks_s", allow_empty=True).ravel()
    start_s = _real(start_s, "start_s")
    n_samples = _non_negative_int(n_samples, "n_samples")
    fs = _positive(fs, "fs")
    sigma = _positive(sigma_samples, "sigma_samples")
    m = np.round((peaks - start_s) * fs).astype(np.int64)
    m = m[(m >= 0) & (m < n_samples)]
    heat = np.zeros(n_samples)
    n = np.arange(n_samples)
    for centre in m:
        np.maximum(heat, np.exp(-((n - centre) ** 2) / (2.0 * sigma**2)), out=heat)
    return heat.astype(np.float32)


def window_targets(ecg, r_peaks_s, start_s, fs=FS, window_s=WINDOW_S) -> dict | None:
    """The three targets of the window starting at ``start_s`` (chapter 4).

    The beat is the R peak inside the window nearest its centre whose next R peak is known
    and whose cycle (:func:`cycle_bounds`) lies within the recording; ties go to the earlier
    beat. Returns None when no beat qualifies (such a window is skipped).

    Parameters
    ----------
    ecg : (N,) mV of the whole recording, sampled at ``fs`` from time 0.
    r_peaks_s : (K,) s, R peaks of the whole recording, increasing.
    start_s : s, start of the window; ``window_s * fs`` samples must fit in the recording.
    fs : Hz.
    window_s : s.

    Returns
    -------
    dict with ``shape`` (200,) float32, ``ppi`` int, ``anchor`` (window_s fs,) float32, ``ecg``
    (window_s fs,) float32 mV, ``beat`` (index into ``r_peaks_s``), ``r_peaks_s`` (R peaks in
    the window, s from its start) and ``cycle_s`` (cycle start and end, s from the window start).
    """
    x = finite_array(ecg, "ecg")
    peaks = finite_array(r_peaks_s, "r_peaks_s", allow_empty=True).ravel()
    if np.any(np.diff(peaks) <= 0):
        raise ValueError("r_peaks_s must be strictly increasing")
    fs = _positive(fs, "fs")
    n_win = int(round(_positive(window_s, "window_s") * fs))
    i0 = int(round(_real(start_s, "start_s") * fs))
    if i0 < 0 or i0 + n_win > len(x):
        raise ValueError(f"the window [{start_s}, {start_s + window_s}] s must lie within the ECG ({len(x) / fs} s)")
    t0 = i0 / fs
    m = np.round((peaks - t0) * fs)
    inside = np.flatnonzero((m >= 0) & (m < n_win))
    end_of_record = (len(x) - 1) / fs
    best, best_distance = None, np.inf
    for k in inside:
        if k + 1 >= len(peaks):
            continue
        c0, c1 = cycle_bounds(peaks[k], peaks[k + 1])
        if c0 < 0 or c1 > end_of_record:
            continue
        distance = abs(peaks[k] - (t0 + window_s / 2))
        if distance < best_distance:
            best, best_distance = int(k), distance
    if best is None:
        return None
    c0, c1 = cycle_bounds(peaks[best], peaks[best + 1])
    return {
        "shape": shape_target(x, peaks[best], peaks[best + 1], fs),
        "ppi": ppi_target(peaks[best], peaks[best + 1], fs),
        "anchor": anchor_heatmap(peaks, t0, n_win, fs),
        "ecg": x[i0 : i0 + n_win].astype(np.float32),
        "beat": best,
        "r_peaks_s": peaks[inside] - t0,
        "cycle_s": (c0 - t0, c1 - t0),
    }


# ---------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------


def add_radar_noise(rcg, snr_db, fs=FS, rng=None) -> np.ndarray:
    """Constant noise on every radar channel at ``snr_db`` relative to its cardiac part (chapter 4).

    White Gaussian noise is drawn by :func:`radarode_lite.signals.add_constant_noise` for the
    cardiac part of each channel (the channel high-passed at :data:`CARDIAC_HIGHPASS_HZ`) and
    added to the whole channel, breathing included: the noise power is exactly
    ``P_cardiac / 10^(snr_db / 10)`` per channel. This is the constant noise of the paper's
    Table III (6 to -3 dB).

    Parameters
    ----------
    rcg : (N, C) radar channels (samples x channels), finite, N > 27.
    snr_db : dB, finite.
    fs : Hz, > 2 * CARDIAC_HIGHPASS_HZ.
    rng : None, int seed or numpy Generator.

    Returns
    -------
    (N, C) float64, ``rcg`` plus the noise.
    """
    rcg = finite_array(rcg, "rcg")
    if rcg.ndim != 2:
        raise ValueError(f"rcg must be 2-D (samples, channels), got shape {rcg.shape}")
    cardiac = _cardiac_part(rcg, _positive(fs, "fs"), axis=0)
    return rcg + (signals.add_constant_noise(cardiac, _real(snr_db, "snr_db"), rng=rng, axis=0) - cardiac)


@dataclass
class Segments:
    """The segments of one recording: network inputs, targets and their bookkeeping (chapter 4).

    ``S`` segments; ``C, F, T`` the preset's channels, frequency bins and frames.

    Attributes
    ----------
    sst : (S, C, F, T) float32 in [0, 1], min-max normalised per segment and channel.
    ecg : (S, 800) float32, ECG of each window in mV.
    anchor : (S, 800) float32, R-peak heat maps.
    shape : (S, 200) float32, single-cycle targets in [0, 1].
    ppi : (S,) int64, cycle lengths in samples at 200 Hz (0-259).
    start_s : (S,) float64, window starts in s from the start of the recording.
    r_peaks_s : S arrays, the R peaks inside each window, s from the window start.
    cycle_s : (S, 2) float64, start and end of each target cycle, s from the window start.
    abrupt : S entries, None or ``{"start_s", "duration_s", "snr_db"}`` of the burst of abrupt
        noise added to that segment's radar signal (start from the window start).
    preset, fs, window_s, hop_s : how the segments were made.
    skipped_s : starts (s) of windows skipped because no complete beat was found.
    """

    sst: np.ndarray
    ecg: np.ndarray
    anchor: np.ndarray
    shape: np.ndarray
    ppi: np.ndarray
    start_s: np.ndarray
    r_peaks_s: list
    cycle_s: np.ndarray
    abrupt: list
    preset: str
    fs: float = FS
    window_s: float = WINDOW_S
    hop_s: float = HOP_S
    skipped_s: list = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.ppi.shape[0])


def segment_recording(rcg, ecg, fs=FS, preset="lite", r_peaks_s=None, window_s=WINDOW_S, hop_s=HOP_S,
                      abrupt=None, rng=None) -> Segments:  # fmt: skip
    """Cut a recording into 4-s segments with their spectrogram inputs and targets (chapter 4).

    The |SST| spectrogram of every channel of the whole recording is computed once
    (:func:`radarode_lite.timefreq.spectrogram`, which also picks the preset's channels); each
    window's 120 frames are sliced from it and normalised to [0, 1] per channel
    (:func:`radarode_lite.timefreq.normalise_per_channel`). Targets come from
    :func:`window_targets`; windows without a complete beat are skipped.

    Abrupt noise (the paper's body-movement bursts, Table V) is an augmentation of single
    segments: with ``abrupt = (fraction, snr_db, (min_s, max_s))``, ``round(fraction * S)``
    windows drawn at random each get one burst of white noise of a duration drawn uniformly
    in ``[min_s, max_s]`` s, at a random place inside the window, with power
    ``P_cardiac / 10^(snr_db/10)`` (:func:`radarode_lite.signals.add_abrupt_noise`; P_cardiac
    per channel over the recording, of the channel high-passed at :data:`CARDIAC_HIGHPASS_HZ`).
    For each such window the spectrogram of the whole recording with that one burst is
    computed and the window sliced from it, exactly as for the clean windows (a spectrogram of
    a short excerpt would differ at the low frequencies, which set the normalisation). Each
    burst therefore costs one more spectrogram of the recording.

    Parameters
    ----------
    rcg : (N, C) radar channels (MMECG layout, samples x channels), finite.
    ecg : (N,) mV, finite.
    fs : Hz; must be 200 (MMECG's rate, at which the targets are defined).
    preset : name or :class:`~radarode_lite.timefreq.SpectrogramPreset` (``"lite"``, ``"paper"``).
    r_peaks_s : (K,) s, R peaks of the ECG; None detects them with :func:`detect_r_peaks`.
    window_s : s, must equal the preset's window (4 s).
    hop_s : s between window starts; a multiple of 0.1 s (whole samples and whole frames).
    abrupt : None or ``(fraction in [0, 1], snr_db, (min_s, max_s))`` with
        ``0 < min_s <= max_s <= window_s``.
    rng : None, int seed or numpy Generator (used only with ``abrupt``).

    Returns
    -------
    :class:`Segments`.
    """
    rcg = finite_array(rcg, "rcg")
    if rcg.ndim != 2:
        raise ValueError(f"rcg must be 2-D (samples, channels), got shape {rcg.shape}")
    ecg = finite_array(ecg, "ecg")
    if ecg.ndim != 1:
        raise ValueError(f"ecg must be 1-D (samples,), got shape {ecg.shape}")
    if ecg.shape[0] != rcg.shape[0]:
        raise ValueError(f"rcg and ecg must have the same number of samples, got {rcg.shape[0]} and {ecg.shape[0]}")
    fs = _real(fs, "fs")
    if fs != FS:
        raise ValueError(f"fs must be {FS:g} Hz (the MMECG rate the targets are defined at), got {fs:g} Hz; resample first")
    spec = timefreq.get_preset(preset)
    window_s = _positive(window_s, "window_s")
    if abs(window_s - spec.window_s) > 1e-9:
        raise ValueError(f"window_s must equal the preset's window ({spec.window_s} s), got {window_s}")
    hop_s = _positive(hop_s, "hop_s")
    if abs(hop_s * 10 - round(hop_s * 10)) > 1e-9:
        raise ValueError(f"hop_s must be a multiple of 0.1 s (whole samples and whole frames), got {hop_s}")
    n, n_win = rcg.shape[0], int(round(window_s * fs))
    if n < n_win:
        raise ValueError(f"the recording ({n / fs:g} s) is shorter than one window ({window_s:g} s)")
    if r_peaks_s is None:
        peaks = detect_r_peaks(ecg, fs)
    else:
        peaks = finite_array(r_peaks_s, "r_peaks_s", allow_empty=True).ravel()
    if np.any(np.diff(peaks) <= 0):
        raise ValueError("r_peaks_s must be strictly increasing")
    abrupt = _check_abrupt(abrupt, window_s)
    rng = signals._as_rng(rng)

    x = np.ascontiguousarray(rcg.T)  # (C, N)
    full = timefreq.spectrogram(x, fs, spec)  # (C', F, T_total), not normalised
    n_frames = int(round(window_s * spec.frame_rate_hz))
    hop = int(round(hop_s * fs))
    starts = np.arange(0, n - n_win + 1, hop)
    kept, targets, skipped = [], [], []
    for i0 in starts:
        f0 = int(round(i0 / fs * spec.frame_rate_hz))
        target = window_targets(ecg, peaks, i0 / fs, fs, window_s) if f0 + n_frames <= full.shape[-1] else None
        if target is None:
            skipped.append(float(i0 / fs))
            continue
        kept.append(int(i0))
        targets.append(target)
    n_seg = len(kept)
    bursts = [None] * n_seg
    if abrupt is not None and n_seg:
        fraction, snr_db, (min_s, max_s) = abrupt
        chosen = np.sort(rng.choice(n_seg, size=int(round(fraction * n_seg)), replace=False))
        for j in chosen:
            duration = float(rng.uniform(min_s, max_s))
            offset = float(rng.uniform(0.0, window_s - duration))
            bursts[j] = {"start_s": offset, "duration_s": duration, "snr_db": float(snr_db)}
    sst = np.empty((n_seg,) + full.shape[:2] + (n_frames,), dtype=np.float32)
    cardiac = _cardiac_part(x, fs, axis=-1) if any(b is not None for b in bursts) else None
    for j, i0 in enumerate(kept):
        f0 = int(round(i0 / fs * spec.frame_rate_hz))
        if bursts[j] is None:
            source = full
        else:  # the whole recording with this one burst, transformed again
            b = bursts[j]
            noisy = signals.add_abrupt_noise(cardiac, fs, b["duration_s"], b["snr_db"], rng=rng,
                                             start_s=i0 / fs + b["start_s"])  # fmt: skip
            source = timefreq.spectrogram(x + (noisy - cardiac), fs, spec)
        sst[j] = timefreq.normalise_per_channel(source[:, :, f0 : f0 + n_frames])
    return Segments(
        sst=sst,
        ecg=np.stack([t["ecg"] for t in targets]) if n_seg else np.zeros((0, n_win), np.float32),
        anchor=np.stack([t["anchor"] for t in targets]) if n_seg else np.zeros((0, n_win), np.float32),
        shape=np.stack([t["shape"] for t in targets]) if n_seg else np.zeros((0, SHAPE_SAMPLES), np.float32),
        ppi=np.asarray([t["ppi"] for t in targets], dtype=np.int64),
        start_s=np.asarray(kept, dtype=np.float64) / fs,
        r_peaks_s=[np.asarray(t["r_peaks_s"]) for t in targets],
        cycle_s=np.asarray([t["cycle_s"] for t in targets], dtype=np.float64).reshape(n_seg, 2),
        abrupt=bursts,
        preset=spec.name,
        fs=fs,
        window_s=window_s,
        hop_s=hop_s,
        skipped_s=skipped,
    )


def write_segments(folder_root, name, segments, meta=None, overwrite=True) -> Path:
    """Write a recording's segments as ``folder_root/name/`` in the authors' layout, atomically (chapter 4).

    Files: ``sst_seg_{i}.npy`` (C, F, T) float32, ``ecg_seg_{i}.npy`` (800,) float32 mV,
    ``anchor_seg_{i}.npy`` (800,) float32, ``shape_seg_{i}.npy`` (200,) float32 for
    ``i = 0 .. S-1``, and ``segments.json``: cycle lengths (``ppi``), window starts
    (``start_s``), R peaks and target cycles per window (s from the window start), abrupt
    bursts, the preset, ``fs``, the generator, and everything in ``meta`` (the subject, seed ...).

    Everything is written into a hidden temporary folder next to the final one, which is
    renamed into place only when complete; on any error the temporary folder is removed and
    an existing folder of the same name is left as it was.

    Parameters
    ----------
    folder_root : str or Path, created if missing.
    name : ``obj{subject}_{status}_{trial}_`` (see :func:`recording_name`).
    segments : :class:`Segments`.
    meta : None or a JSON-serialisable dict, stored in ``segments.json`` (keys ``subject``,
        ``seed``, ``source`` ... are conventional).
    overwrite : replace an existing folder of that name (otherwise FileExistsError).

    Returns
    -------
    Path of the recording's folder.
    """
    parse_recording_name(name)
    if not isinstance(segments, Segments):
        raise TypeError(f"segments must be a Segments (from segment_recording), got {type(segments).__name__}")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be None or a dict, got {type(meta).__name__}")
    root = Path(folder_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists() and not overwrite:
        raise FileExistsError(f"folder {str(final)!r} exists already; pass overwrite=True to replace it")
    info = dict(meta or {})
    info.update(
        name=name,
        generator=GENERATOR,
        preset=segments.preset,
        fs=float(segments.fs),
        window_s=float(segments.window_s),
        hop_s=float(segments.hop_s),
        n_segments=len(segments),
        sst_shape=list(segments.sst.shape[1:]),
        ppi=[int(v) for v in segments.ppi],
        start_s=[float(v) for v in segments.start_s],
        r_peaks_s=[[float(v) for v in p] for p in segments.r_peaks_s],
        cycle_s=[[float(v) for v in c] for c in segments.cycle_s],
        abrupt=list(segments.abrupt),
        skipped_s=[float(v) for v in segments.skipped_s],
    )
    text = json.dumps(info, indent=1, sort_keys=True)  # fails early if meta is not serialisable
    n_bytes = 4 * sum(a[0].size for a in (segments.sst, segments.ecg, segments.anchor, segments.shape)) * len(segments)
    _files.check_free_space(root, n_bytes, f"recording {name}")
    tmp = root / f".{name}tmp-{os.getpid()}"
    old = root / f".{name}old-{os.getpid()}"
    for stale in (tmp, old):
        if stale.exists():
            shutil.rmtree(stale)
    try:
        tmp.mkdir()
        for i in range(len(segments)):
            np.save(tmp / f"sst_seg_{i}.npy", segments.sst[i].astype(np.float32))
            np.save(tmp / f"ecg_seg_{i}.npy", segments.ecg[i].astype(np.float32))
            np.save(tmp / f"anchor_seg_{i}.npy", segments.anchor[i].astype(np.float32))
            np.save(tmp / f"shape_seg_{i}.npy", segments.shape[i].astype(np.float32))
        (tmp / "segments.json").write_text(text + "\n")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not final.exists():
            old.rename(final)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, _files.disk_error(exc, final)) from None
        raise
    shutil.rmtree(old, ignore_errors=True)  # the replaced folder, if any
    return final


# ---------------------------------------------------------------------------------------
# Synthetic data set
# ---------------------------------------------------------------------------------------


def generate_dataset(root, n_subjects=None, statuses=STATUSES, trials=1, duration_s=None, size="default",
                     preset="lite", seed=0, snr_db=None, abrupt=None, n_channels=50, save_mat=True,
                     mat_format="5", progress=True, overwrite=False) -> dict:  # fmt: skip
    """Simulate an MMECG-like data set and write it in the segment layout (chapter 4).

    Subjects ``1 .. n_subjects``, each recorded ``trials`` times in each of ``statuses``.
    A subject's identity (age, gender, ECG morphology, cardiac vibrations) is drawn once from
    ``(seed, subject)`` and kept in every status; heart rate, variability and breathing are
    drawn per recording from the status's ranges (:func:`radarode_lite.signals.make_subject`).
    Each recording (:func:`radarode_lite.signals.simulate_recording`, 50 channels at 200 Hz)
    is optionally saved as an MMECG ``.mat`` file ``root/mat/{trial}.mat`` (the clean
    recording), then augmented and segmented (:func:`segment_recording`) into
    ``root/obj{subject}_{status}_{trial}_/`` (:func:`write_segments`), where ``trial`` is the
    recording's running number 1, 2, ... (as MMECG numbers its files). ``root/dataset.json``
    records the arguments; it is written first with ``"complete": false`` and rewritten with
    ``"complete": true`` and the list of recordings when the last one is written, so a data set
    whose generation was interrupted is refused by :func:`list_recordings` (and so by
    :class:`SegmentDataset` and :func:`subject_split`). Called again with the same arguments on
    such a folder, it finishes the work: recordings already written are kept (they would come
    out identical), the others are generated. Leftovers of interrupted writes are removed.

    Augmentations, as in the paper's robustness study, with SNRs relative to the cardiac part
    of each channel: ``snr_db`` adds white noise to every radar channel of every recording
    (constant noise, Table III; :func:`add_radar_noise`); ``abrupt = (fraction, snr_db,
    (min_s, max_s))`` adds a burst to that fraction of each recording's segments (abrupt
    noise, Table V; see :func:`segment_recording`).

    Every random draw comes from ``numpy.random.SeedSequence([seed, subject, status index,
    repeat])``, split into independent streams for the signals, the constant noise and the
    bursts: the same arguments give the same bytes, and adding noise leaves the clean
    signals unchanged.

    Sizes (``size`` fills ``n_subjects`` and ``duration_s`` when they are None): ``"small"``
    2 subjects x 4 statuses x 12 s (a few seconds to generate, for notebooks), ``"default"``
    6 subjects x 4 statuses x 30 s (about a minute on 2 CPU cores with the lite preset).

    Parameters
    ----------
    root : str or Path of the data set's folder (created).
    n_subjects : int >= 1, or None for the size's.
    statuses : sequence of :data:`STATUSES`.
    trials : int >= 1, recordings per subject and status.
    duration_s : s per recording (>= 4), or None for the size's.
    size : ``"small"`` or ``"default"``.
    preset : spectrogram preset, ``"lite"`` (8 x 32 x 120) or ``"paper"`` (50 x 71 x 120).
    seed : int >= 0.
    snr_db : None or dB of constant noise.
    abrupt : None or ``(fraction, snr_db, (min_s, max_s))``.
    n_channels : radar channels simulated (MMECG: 50).
    save_mat : also write the ``.mat`` files.
    mat_format : ``"5"`` or ``"7.3"``.
    progress : show a tqdm progress bar.
    overwrite : replace the recordings, ``mat/`` and ``dataset.json`` of an earlier data set
        in ``root`` (otherwise a non-empty ``root`` raises FileExistsError, except an unfinished
        data set of the same arguments, which is completed).

    Returns
    -------
    dict: ``root``, ``recordings`` (folder names), ``n_recordings``, ``n_segments``,
    ``duration_s`` (simulated seconds in all) and ``wall_s`` (seconds it took).
    """
    from tqdm.auto import tqdm

    began = time.perf_counter()
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
    n_subjects = SIZES[size]["n_subjects"] if n_subjects is None else _non_negative_int(n_subjects, "n_subjects")
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be >= 1, got {n_subjects}")
    duration_s = SIZES[size]["duration_s"] if duration_s is None else _positive(duration_s, "duration_s")
    if duration_s < WINDOW_S:
        raise ValueError(f"duration_s must be at least one window ({WINDOW_S} s), got {duration_s}")
    if isinstance(statuses, str) or not all(s in STATUSES for s in statuses) or len(statuses) == 0:
        raise ValueError(f"statuses must be a non-empty sequence of {STATUSES}, got {statuses!r}")
    if len(set(statuses)) != len(statuses):
        raise ValueError(f"statuses must not repeat, got {statuses!r}")
    trials = _non_negative_int(trials, "trials")
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    seed = _non_negative_int(seed, "seed")
    spec = timefreq.get_preset(preset)
    if snr_db is not None:
        snr_db = _real(snr_db, "snr_db")
    abrupt = _check_abrupt(abrupt, WINDOW_S)
    if mat_format not in ("5", "7.3"):
        raise ValueError(f"mat_format must be '5' or '7.3', got {mat_format!r}")
    root = Path(root)
    arguments = {"generator": GENERATOR, "seed": seed, "preset": spec.name, "n_subjects": n_subjects,
                 "statuses": list(statuses), "trials": trials, "duration_s": float(duration_s),
                 "n_channels": n_channels, "snr_db": snr_db, "save_mat": bool(save_mat), "mat_format": mat_format,
                 "abrupt": None if abrupt is None else [abrupt[0], abrupt[1], list(abrupt[2])]}  # fmt: skip
    resuming = not overwrite and _unfinished_with(root, arguments)
    if not resuming:
        _prepare_root(root, overwrite)
    for folder in (root, root / "mat"):
        _files.remove_leftovers(folder)
    _atomic_write_text(root / "dataset.json", json.dumps({**arguments, "complete": False}, indent=1) + "\n")

    jobs = [(subj, status, rep) for subj in range(1, n_subjects + 1) for status in statuses for rep in range(trials)]
    names, n_segments = [], 0
    bar = tqdm(jobs, desc="recordings", unit="rec", disable=not progress)
    for trial, (subj, status, rep) in enumerate(bar, start=1):
        name = recording_name(subj, status, trial)
        done = _finished_recording(root, name, f"mat/{trial}.mat" if save_mat else None) if resuming else None
        if done is not None:
            names.append(name)
            n_segments += done
            continue
        identity = signals.make_subject(subj, "NB", rng=np.random.default_rng([seed, subj]))
        streams = np.random.SeedSequence([seed, subj, STATUSES.index(status), rep]).spawn(3)
        sim_rng, noise_rng, burst_rng = (np.random.default_rng(s) for s in streams)
        subject = replace(
            signals.make_subject(subj, status, rng=sim_rng),
            age=identity.age, gender=identity.gender, morphology=identity.morphology, vibration=identity.vibration,
        )  # fmt: skip
        rec = signals.simulate_recording(subject, duration_s, n_channels, FS, rng=sim_rng)
        if save_mat:
            save_mmecg_mat(root / "mat" / f"{trial}.mat", rec.rcg, rec.ecg, subj, subject.age, subject.gender,
                           status, format=mat_format)  # fmt: skip
        rcg = rec.rcg if snr_db is None else add_radar_noise(rec.rcg, snr_db, FS, rng=noise_rng)
        segs = segment_recording(rcg, rec.ecg, FS, spec, r_peaks_s=rec.r_peaks, abrupt=abrupt, rng=burst_rng)
        meta = {
            "subject": _subject_meta(subject),
            "trial": trial,
            "repeat": rep,
            "seed": seed,
            "source": "synthetic",
            "duration_s": float(duration_s),
            "snr_db": snr_db,
            "abrupt_config": None if abrupt is None else [abrupt[0], abrupt[1], list(abrupt[2])],
            "mat": f"mat/{trial}.mat" if save_mat else None,
        }
        write_segments(root, name, segs, meta, overwrite=resuming)
        names.append(name)
        n_segments += len(segs)
        bar.set_postfix(segments=n_segments)
    bar.close()
    info = {**arguments, "recordings": names, "n_segments": n_segments, "complete": True}
    _atomic_write_text(root / "dataset.json", json.dumps(info, indent=1, sort_keys=True) + "\n")
    return {
        "root": str(root),
        "recordings": names,
        "n_recordings": len(names),
        "n_segments": n_segments,
        "duration_s": float(duration_s) * len(names),
        "wall_s": time.perf_counter() - began,
    }


# ---------------------------------------------------------------------------------------
# Reading: torch dataset and splits
# ---------------------------------------------------------------------------------------


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

    Files are read when an item is requested. ``transform``, if given, is called on the item
    dict and its result returned (e.g. to add noise to ``sst``).

    Parameters
    ----------
    root : str or Path of a folder written by :func:`generate_dataset` or ``convert_mmecg.py``.
    recordings : None (all) or folder names to keep.
    subjects : None (all) or subject ids to keep.
    statuses : None (all) or statuses to keep.
    preset : None, or the preset name every selected recording must have been made with.
    transform : None or a callable ``item -> item``.
    """

    def __init__(self, root, recordings=None, subjects=None, statuses=None, preset=None, transform=None):
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
            wanted_subjects = {_non_negative_int(s, "subjects") for s in subjects}
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
        folder = Path(rec["path"])
        item = {
            "sst": _load_array(folder / f"sst_seg_{i}.npy"),
            "shape": _load_array(folder / f"shape_seg_{i}.npy"),
            "ppi": torch.tensor(rec["ppi"][i], dtype=torch.int64),
            "anchor": _load_array(folder / f"anchor_seg_{i}.npy"),
            "ecg": _load_array(folder / f"ecg_seg_{i}.npy"),
            "subject": rec["subject_id"],
            "status": rec["status"],
            "recording": rec["name"],
            "segment": i,
        }
        return self.transform(item) if self.transform is not None else item


def subject_split(root, test_subjects=1, val_subjects=0, seed=0, preset=None, transform=None) -> dict:
    """Subject-wise train / validation / test split of a data set: no subject in two splits (chapter 4).

    Segments of one person are alike; a split that put the same subject in training and
    test would reward memorising people. ``test_subjects`` and ``val_subjects`` are either
    lists of subject ids or numbers of subjects, then drawn (test first) from a permutation of
    the subject ids by ``numpy.random.default_rng(seed)``. The remaining subjects train.

    Returns
    -------
    dict with ``"train"``, ``"val"`` and ``"test"``: :class:`SegmentDataset` (``"val"`` is
    None when there are no validation subjects).
    """
    subjects = sorted({r["subject_id"] for r in list_recordings(root)})
    if not subjects:
        raise ValueError(f"root {str(root)!r} holds no recording folders")
    rng = np.random.default_rng(_non_negative_int(seed, "seed"))
    order = [subjects[i] for i in rng.permutation(len(subjects))]
    test = _pick_subjects(test_subjects, "test_subjects", subjects, order, taken=set())
    val = _pick_subjects(val_subjects, "val_subjects", subjects, order, taken=set(test))
    train = [s for s in subjects if s not in set(test) | set(val)]
    if not test:
        raise ValueError("test_subjects must select at least one subject")
    if not train:
        raise ValueError(f"no subject is left for training (subjects {subjects}, test {test}, val {val})")
    make = lambda ids: SegmentDataset(root, subjects=ids, preset=preset, transform=transform)  # noqa: E731
    return {"train": make(train), "val": make(val) if val else None, "test": make(test)}


# ---------------------------------------------------------------------------------------
# Helpers
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
    ids = [_non_negative_int(s, name) for s in spec]
    unknown = sorted(set(ids) - set(subjects))
    if unknown:
        raise ValueError(f"{name} {unknown} are not in the data set (subjects {subjects})")
    clash = sorted(set(ids) & taken)
    if clash:
        raise ValueError(f"subjects {clash} are in two splits; test and val subjects must differ")
    return sorted(set(ids))


def _cardiac_part(x, fs, axis):
    """``x`` high-passed at CARDIAC_HIGHPASS_HZ along ``axis`` (4th-order Butterworth, zero phase)."""
    sos = sps.butter(4, CARDIAC_HIGHPASS_HZ, btype="high", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=axis)


def _check_abrupt(abrupt, window_s):
    if abrupt is None:
        return None
    try:
        fraction, snr_db, (min_s, max_s) = abrupt
    except (TypeError, ValueError) as exc:
        raise ValueError(f"abrupt must be None or (fraction, snr_db, (min_s, max_s)), got {abrupt!r}") from exc
    fraction = _real(fraction, "abrupt fraction")
    if not 0 <= fraction <= 1:
        raise ValueError(f"abrupt fraction must lie in [0, 1], got {fraction}")
    snr_db = _real(snr_db, "abrupt snr_db")
    min_s, max_s = _positive(min_s, "abrupt min_s"), _positive(max_s, "abrupt max_s")
    if not min_s <= max_s <= window_s:
        raise ValueError(f"abrupt durations must satisfy 0 < min_s <= max_s <= {window_s} s, got ({min_s}, {max_s})")
    return fraction, snr_db, (min_s, max_s)


def _subject_meta(subject) -> dict:
    return {
        "id": int(subject.id),
        "age": int(subject.age),
        "gender": subject.gender,
        "status": subject.status,
        "heart_rate_bpm": float(subject.heart_rate_bpm),
        "hrv_std_s": float(subject.hrv_std_s),
        "resp_rate_hz": float(subject.resp_rate_hz),
        "resp_amplitude_m": float(subject.resp_amplitude_m),
        "resp_irregularity": float(subject.resp_irregularity),
    }


def _prepare_root(root: Path, overwrite: bool) -> None:
    """Create ``root``; refuse a non-empty one unless ``overwrite`` (then clear our own files)."""
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"root {str(root)!r} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    entries = [p for p in root.iterdir()]
    if not entries:
        return
    if not overwrite:
        raise FileExistsError(f"root {str(root)!r} is not empty; choose another folder or pass overwrite=True")
    for p in entries:
        if p.is_dir() and (_FOLDER_RE.fullmatch(p.name) or p.name == "mat"):
            shutil.rmtree(p)
        elif p.name == "dataset.json":
            p.unlink()


def _atomic_write_text(path: Path, text: str) -> None:
    _files.atomic_write(path, lambda tmp: Path(tmp).write_text(text))


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


def _unfinished_with(root: Path, arguments: dict) -> bool:
    """Whether ``root`` holds a data set of these ``arguments`` whose generation did not finish."""
    try:
        info = json.loads((root / "dataset.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("complete") is False and {k: info.get(k) for k in arguments} == arguments


def _finished_recording(root: Path, name: str, mat) -> int | None:
    """Number of segments of a recording already written completely (and its ``.mat`` file), else None."""
    try:
        info = json.loads((root / name / "segments.json").read_text())
    except (OSError, ValueError):
        return None
    if mat is not None and not (root / mat).is_file():
        return None
    return info.get("n_segments") if isinstance(info, dict) and isinstance(info.get("n_segments"), int) else None


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


def _non_negative_int(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)
