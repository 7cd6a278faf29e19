r"""Scores of the robustness study and the paper's Tables III and V (chapter 14).

A study module (:mod:`radarode_lite.studies`): it imports the pipeline's metrics and is not
imported by it. The reconstructed 4-s ECGs of the three frameworks
(:mod:`radarode_lite.studies.frameworks`) on noisy test sets
(:mod:`radarode_lite.studies.noise_conditions`) are scored by the paper's columns
(:func:`ecg_metrics`): RMSE and PCC of the 4-s ECG, the R-peak error (ms) and the
missed-detection rate (MDR, %), and :math:`\Delta_m` of each framework against its own
noise-free baseline (:func:`delta_m_pct`, the four columns weighted equally). A framework
*fails* under a condition when its PCC is below 60 % (:func:`is_failure`), the paper's
empirical criterion. Under abrupt noise only some segments get a burst (one in five, the
authors' share): :func:`burst_metrics` scores those alone, beside the scores over all segments.
:func:`aggregate` summarises stored runs over seeds and :func:`read_paper_tables` reads the
published Tables III and V.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path

import numpy as np

from radarode_lite import _checks, conventions, data, metrics
from radarode_lite.bookdata import book_file
from radarode_lite.conventions import FS
from radarode_lite.studies.frameworks import FRAMEWORK_LABELS
from radarode_lite.studies.noise_conditions import _anchor_list, _check_test_set, parse_condition

__all__ = [
    "METRIC_COLUMNS",
    "PIPELINE_METRIC",
    "HIGHER_IS_BETTER",
    "FAIL_PCC_PCT",
    "anchor_scores",
    "ecg_metrics",
    "burst_metrics",
    "delta_m_pct",
    "is_failure",
    "aggregate",
    "read_paper_tables",
]

#: The four columns of Tables III and V, in their order: the study's own metric names, which
#: the stored results of the noise grids (``radarode-run-noise``) use. They score the 4-s ECG window, not
#: the pipeline's tasks, so they differ from :data:`radarode_lite.conventions.TASK_METRICS`:
#: ``rmse`` is the shape task's ``rmse_norm`` taken over the whole normalised window,
#: ``pcc_pct`` the same name for the window, ``peak_error_ms`` the anchor task's
#: ``timing_error_ms`` of the R peaks detected in the reconstruction, ``mdr_pct`` its ``mdr_pct``.
METRIC_COLUMNS = ("rmse", "pcc_pct", "peak_error_ms", "mdr_pct")
#: The pipeline metric (:data:`radarode_lite.conventions.TASK_METRICS`) each column stands for.
PIPELINE_METRIC = {"rmse": "rmse_norm", "pcc_pct": "pcc_pct", "peak_error_ms": "timing_error_ms", "mdr_pct": "mdr_pct"}
#: Whether a higher value of each column is better (that of its pipeline metric).
HIGHER_IS_BETTER = {c: conventions.HIGHER_IS_BETTER[PIPELINE_METRIC[c]] for c in METRIC_COLUMNS}
#: The paper's failure criterion: an ECG recovery with a PCC below 60 % has failed.
FAIL_PCC_PCT = 60.0

_PAPER_SNR = {"baseline": "clean", "6 dB": "snr:6", "3 dB": "snr:3", "0 dB": "snr:0", "-1 dB": "snr:-1",
              "-2 dB": "snr:-2", "-3 dB": "snr:-3"}  # fmt: skip
_PAPER_MOVEMENT = {"mild (0 dB)": 0, "extensive (-9 dB)": -9}


# ---------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------


def anchor_scores(anchors, r_peaks_s, tolerance_s=metrics.MATCH_TOLERANCE_S) -> dict:
    """Timing error (ms) and missed-detection rate (%) of per-segment anchors against the true R peaks.

    :func:`radarode_lite.metrics.pooled_anchor_scores` with strictly increasing times required:
    in every segment the anchors are matched one-to-one with the true R peaks within
    ``tolerance_s``; ``timing_error_ms`` is the mean absolute time difference over all matched
    pairs of all segments (NaN if none) and ``mdr_pct`` the percentage of true R peaks left
    without a partner.

    Parameters
    ----------
    anchors, r_peaks_s : lists of N arrays of times in s from each segment's start.
    tolerance_s : s, > 0.
    """
    return metrics.pooled_anchor_scores(anchors, r_peaks_s, tolerance_s, require_increasing=True)


def ecg_metrics(recon, reference, r_peaks_s, fs=FS, per_segment=False) -> dict:
    """The columns of Tables III and V for reconstructed 4-s ECGs (chapter 14).

    - ``rmse``: RMSE against ``reference`` (:func:`ecg_reference` units), mean over segments;
    - ``pcc_pct``: Pearson correlation in %, mean over segments (a flat reconstruction scores 0);
    - ``peak_error_ms``: R peaks are detected in each reconstruction like in a real ECG
      (:func:`radarode_lite.data.detect_r_peaks`) and matched one-to-one with the true ones
      within 150 ms (:func:`radarode_lite.metrics.match_peaks`); the mean absolute time
      error of all matched pairs, ms (NaN if none matched);
    - ``mdr_pct``: the percentage of true R peaks left without a partner;
    - ``n_segments``, ``n_beats`` (true R peaks) and ``n_flat`` (flat reconstructions).

    Parameters
    ----------
    recon, reference : (N, W) arrays, finite, W >= 200 (1 s at 200 Hz).
    r_peaks_s : N arrays of true R-peak times, s from each segment's start.
    fs : Hz.
    per_segment : also return ``"per_segment"``: per-segment ``rmse`` and ``pcc_pct`` lists.

    Returns
    -------
    dict of floats (and the per-segment lists).
    """
    recon = _checks.finite_array(recon, "recon")
    reference = _checks.finite_array(reference, "reference")
    if recon.ndim != 2 or recon.shape != reference.shape:
        raise ValueError(f"recon and reference must be 2-D arrays (N, W) of one shape, got {recon.shape} and "
                         f"{reference.shape}")  # fmt: skip
    fs = _checks.positive(fs, "fs")
    peaks = _anchor_list(r_peaks_s, recon.shape[0], name="r_peaks_s")
    rmse = np.atleast_1d(metrics.rmse(recon, reference, axis=-1))
    pcc = 100.0 * np.atleast_1d(metrics.pcc(recon, reference, axis=-1))
    flat = np.ptp(recon, axis=1) <= 1e-12
    found = [np.zeros(0) if f else data.detect_r_peaks(row, fs) for row, f in zip(recon, flat)]
    peaks_found = anchor_scores(found, peaks)
    columns = (float(np.mean(rmse)), float(np.mean(pcc)), peaks_found["timing_error_ms"], peaks_found["mdr_pct"])
    out = dict(zip(METRIC_COLUMNS, columns))
    out.update(n_segments=int(recon.shape[0]), n_beats=int(sum(p.size for p in peaks)), n_flat=int(flat.sum()))
    if per_segment:
        out["per_segment"] = dict(zip(METRIC_COLUMNS[:2], (rmse.tolist(), pcc.tolist())))
    return out


def burst_metrics(recon, test_set, fs=FS):
    """The columns of Table V over the segments of ``test_set`` with a burst alone (chapter 14).

    With the authors' share, one segment in five gets a burst: the scores over all segments
    (:func:`ecg_metrics`) mix four untouched segments with each hit one, the scores here are the
    hit ones alone (``test_set.burst_segments``).

    Parameters
    ----------
    recon : (N, W) reconstructions of the N segments of ``test_set``, in its order.
    test_set : :class:`~radarode_lite.studies.noise_conditions.TestSet`.
    fs : Hz.

    Returns
    -------
    None when no segment has a burst; else the dict of :func:`ecg_metrics` over the burst
    segments, with ``"segments"``, their indices in ``test_set``.
    """
    _check_test_set(test_set)
    recon = _checks.finite_array(recon, "recon")
    if recon.ndim != 2 or recon.shape[0] != len(test_set):
        raise ValueError(f"recon must have shape (N, W) with N = {len(test_set)} segments, got {recon.shape}")
    hit = test_set.burst_segments
    if hit.size == 0:
        return None
    out = ecg_metrics(recon[hit], test_set.reference[hit], [test_set.r_peaks_s[i] for i in hit], fs)
    out["segments"] = hit.tolist()
    return out


def delta_m_pct(base, new) -> float:
    r"""Relative change :math:`\Delta_m` (%) of ``new`` against ``base`` over the four columns (chapter 14).

    :func:`radarode_lite.metrics.delta_m_from_metrics` with RMSE, PCC, peak error and MDR
    weighted equally (each its own task, which is the same as the two tasks of two metrics each
    that Tables III and V use): positive is better, 0 for the baseline itself. Lower is better
    for RMSE, peak error and MDR.

    Parameters
    ----------
    base, new : mappings holding :data:`METRIC_COLUMNS` as finite numbers (base non-zero);
        a missing or non-finite column raises ``ValueError``.

    Returns
    -------
    float, %.
    """
    return metrics.delta_m_from_metrics(base, new, {c: (c,) for c in METRIC_COLUMNS}, HIGHER_IS_BETTER)


def is_failure(pcc_pct, threshold=FAIL_PCC_PCT) -> bool:
    """The paper's failure rule: an ECG recovery fails when its PCC (%) is below ``threshold`` (60 %).

    Parameters
    ----------
    pcc_pct : PCC in percent (a number in [-100, 100]), or a mapping holding ``"pcc_pct"``.
    threshold : %, default :data:`FAIL_PCC_PCT`.
    """
    if isinstance(pcc_pct, Mapping):
        if "pcc_pct" not in pcc_pct:
            raise ValueError("a mapping passed as pcc_pct must hold 'pcc_pct'")
        pcc_pct = pcc_pct["pcc_pct"]
    if isinstance(pcc_pct, bool) or not isinstance(pcc_pct, Real) or not math.isfinite(pcc_pct):
        raise ValueError(f"pcc_pct must be a finite number in percent, got {pcc_pct!r}")
    if not -100.0 - 1e-9 <= pcc_pct <= 100.0 + 1e-9:
        raise ValueError(f"pcc_pct must lie in [-100, 100] (percent, not a fraction), got {pcc_pct}")
    return bool(pcc_pct < _checks.real_number(threshold, "threshold"))


# ---------------------------------------------------------------------------------------
# Tables over seeds and the paper's tables
# ---------------------------------------------------------------------------------------


def aggregate(records, columns=METRIC_COLUMNS + ("delta_m_pct",)) -> dict:
    """Mean and spread over seeds of stored results, per (framework, condition) (chapter 14).

    Parameters
    ----------
    records : results records (e.g. from :func:`radarode_lite.studies.results.load_results`) whose
        ``config`` holds ``framework`` and ``condition`` (a dict with ``name``) and whose
        ``metrics`` hold ``columns``.
    columns : metric names to summarise.

    Returns
    -------
    ``{(framework, condition name): {column: {"mean", "spread", "values"}, "seeds": [...]}}``;
    ``spread`` is half the range (max - min) / 2 over the seeds, 0 for one seed; missing
    values (None, stored for NaN) are left out.
    """
    if isinstance(records, Mapping) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of results records, got {type(records).__name__}")
    groups: dict[tuple, list] = {}
    for rec in records:
        try:
            key = (rec["config"]["framework"], parse_condition(rec["config"]["condition"])["name"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a record lacks config['framework'] or config['condition']: {exc}") from None
        groups.setdefault(key, []).append(rec)
    out = {}
    for key, recs in groups.items():
        entry = {"seeds": sorted(int(r["seed"]) for r in recs)}
        for c in columns:
            values = [float(r["metrics"][c]) for r in recs if r["metrics"].get(c) is not None]
            if values:
                entry[c] = {"mean": float(np.mean(values)), "spread": float(np.ptp(values) / 2), "values": values}
            else:
                entry[c] = {"mean": float("nan"), "spread": float("nan"), "values": []}
        out[key] = entry
    return out


def read_paper_tables(folder=None) -> dict:
    """Tables III and V of the paper from ``folder`` (None: the book's ``paper`` folder, found by
    :func:`radarode_lite.bookdata.book_file`), keyed like :func:`aggregate`.

    Returns ``{(framework, condition name): {"rmse", "pcc_pct", "peak_error_ms", "mdr_pct",
    "delta_m_pct"}}`` (NaN for the run the paper reports as failed, radarODE at -3 dB); the
    conditions are named as in :data:`~radarode_lite.studies.noise_conditions.GRID_CONDITIONS`,
    the authors' noise on the network input with bursts in one segment in five (the paper's
    RMSE is in mV).
    """
    folder = book_file("paper") if folder is None else Path(folder)
    files = {"table3_constant_noise.csv": "snr", "table5_abrupt_noise.csv": "movement"}
    for name in files:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"no {name} in {str(folder)!r}")
    labels = {v: k for k, v in FRAMEWORK_LABELS.items()}
    out = {}
    for name, kind in files.items():
        with open(folder / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if kind == "snr":
                    condition = _PAPER_SNR[row["snr"]]
                elif row["duration"] == "baseline":
                    condition = "clean"
                else:
                    seconds = int(row["duration"].split()[0])
                    condition = parse_condition(f"abrupt:{_PAPER_MOVEMENT[row['movement']]}:{seconds}")["name"]
                values = {c: float(row[c]) if row[c] else float("nan")
                          for c in ("rmse_mv",) + METRIC_COLUMNS[1:] + ("delta_m_pct",)}  # fmt: skip
                values[METRIC_COLUMNS[0]] = values.pop("rmse_mv")  # the paper's RMSE is in mV
                out[(labels[row["framework"]], condition)] = values
    return out
