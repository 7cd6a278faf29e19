"""Evaluation metrics of radarODE-MTL: shape, cycle length, anchors, heart rate and delta_m.

Each task of the network has its own yardstick (Zhang et al., IEEE TIM 2025, Section V):

- ECG shape (chapter 6): root-mean-square error :func:`rmse`, Pearson correlation :func:`pcc`
  and the coefficient of determination :func:`r2`, computed per cardiac cycle.
- Cycle length (chapter 8): the peak-to-peak interval (PPI) error in milliseconds,
  :func:`ppi_error_ms`, after turning class scores into a length with
  :func:`cycle_length_from_scores`.
- ECG anchors (chapter 7): R peaks are read off the predicted heat map with
  :func:`detect_anchors`, paired one-to-one with the true peaks by :func:`match_peaks`, and
  scored by the timing error :func:`timing_error_ms` and the missed detection rate
  :func:`missed_detection_rate`; :func:`heart_rate_error_bpm` summarises a recording.
- Anchors over a test set (chapters 7, 14): :func:`pooled_anchor_scores` pools the matches
  of every segment into one timing error and one MDR.
- All tasks at once (chapter 12): the relative multi-task improvement :func:`delta_m`, and
  :func:`delta_m_from_metrics` for metrics stored by name and grouped into named tasks.

Every function accepts numpy arrays, Python sequences or torch tensors (converted to float64
numpy arrays) and validates its inputs: matching shapes, no NaN or infinity, nothing empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.signal import find_peaks

from radarode_lite._metrics_checks import all_finite, grouped_metrics, segment_times
from radarode_lite._metrics_checks import as_array as _as_array
from radarode_lite._metrics_checks import check_axis as _check_axis
from radarode_lite._metrics_checks import heart_rate as _heart_rate
from radarode_lite._metrics_checks import paired as _paired
from radarode_lite._metrics_checks import parabolic_offset as _parabolic_offset
from radarode_lite._metrics_checks import positive_number as _positive
from radarode_lite._metrics_checks import scalar_or_array as _scalar_or_array
from radarode_lite._metrics_checks import task_values as _task_values
from radarode_lite._metrics_checks import times as _times
from radarode_lite.conventions import FS, HIGHER_IS_BETTER, TASK_METRICS

__all__ = [
    "rmse",
    "pcc",
    "r2",
    "cycle_length_from_scores",
    "ppi_error_ms",
    "detect_anchors",
    "match_peaks",
    "timing_error_ms",
    "missed_detection_rate",
    "pooled_anchor_scores",
    "heart_rate_bpm",
    "heart_rate_error_bpm",
    "delta_m",
    "delta_m_from_metrics",
]

# Defaults of the anchor evaluation, in seconds. A unit-height heat map bump counts as a
# detection above half its height; two R peaks closer than 0.3 s (200 bpm) are physiologically
# implausible at rest; a prediction further than 0.15 s from every true peak is a false alarm.
ANCHOR_THRESHOLD = 0.5
ANCHOR_MIN_DISTANCE_S = 0.3
MATCH_TOLERANCE_S = 0.15


# ---------------------------------------------------------------------------------------------
# Shape metrics (chapter 6)
# ---------------------------------------------------------------------------------------------
def rmse(pred, true, axis=-1):
    r"""Root-mean-square error along ``axis``.

    .. math:: \mathrm{RMSE} = \sqrt{\tfrac{1}{N}\textstyle\sum_{n=1}^{N} (\hat y_n - y_n)^2}

    Parameters
    ----------
    pred, true : array-like, same shape, e.g. ``(n_cycles, 200)``
        Predicted and reference signals in the same unit (mV for an ECG, or normalised units).
    axis : int or None
        Axis along which the mean is taken; ``None`` pools every element.

    Returns
    -------
    numpy.ndarray or float
        RMSE per row (the input shape without ``axis``), in the unit of the signals.

    Taught in chapter 6.
    """
    pred, true = _paired(pred, true, "pred", "true")
    _check_axis(axis, pred.ndim)
    return _scalar_or_array(np.sqrt(np.mean((pred - true) ** 2, axis=axis)))


def pcc(pred, true, axis=-1):
    r"""Pearson correlation coefficient along ``axis`` (one value per cycle).

    .. math::
        \rho = \frac{\sum_n (\hat y_n - \bar{\hat y})(y_n - \bar y)}
                    {\sqrt{\sum_n (\hat y_n - \bar{\hat y})^2}\sqrt{\sum_n (y_n - \bar y)^2}}

    The result lies in :math:`[-1, 1]`; the paper reports it in percent (multiply by 100:
    ``86.6 %`` in Table II is ``0.866`` here).

    Parameters
    ----------
    pred, true : array-like, same shape, e.g. ``(n_cycles, 200)``
        Predicted and reference signals; at least two samples along ``axis``.
    axis : int or None
        Axis of the samples; ``None`` correlates the flattened arrays.

    Returns
    -------
    numpy.ndarray or float
        Correlation per row, dimensionless in [-1, 1].

    Notes
    -----
    A row of ``true`` without variation has no defined correlation and raises ``ValueError``.
    A flat prediction carries no linear information about the target and scores 0 (instead of
    NaN), so that an untrained network can be evaluated.

    Taught in chapter 6.
    """
    pred, true = _paired(pred, true, "pred", "true")
    _check_axis(axis, pred.ndim)
    n = pred.size if axis is None else pred.shape[axis]
    if n < 2:
        raise ValueError(f"pcc needs at least 2 samples along axis={axis}, got {n}")
    dp = pred - pred.mean(axis=axis, keepdims=True)
    dt = true - true.mean(axis=axis, keepdims=True)
    sp = np.sqrt(np.sum(dp**2, axis=axis))
    st = np.sqrt(np.sum(dt**2, axis=axis))
    scale = np.max(np.abs(true)) + 1e-300
    if np.any(st <= 1e-12 * scale * np.sqrt(n)):
        raise ValueError("true has a row without variation along axis; its correlation is undefined")
    cov = np.sum(dp * dt, axis=axis)
    flat = sp <= 1e-12 * (np.max(np.abs(pred)) + 1e-300) * np.sqrt(n)
    rho = np.where(flat, 0.0, cov / np.where(flat, 1.0, sp * st))
    return _scalar_or_array(np.clip(rho, -1.0, 1.0))


def r2(pred, true, axis=-1):
    r"""Coefficient of determination :math:`R^2` along ``axis``.

    .. math:: R^2 = 1 - \frac{\sum_n (y_n - \hat y_n)^2}{\sum_n (y_n - \bar y)^2}

    It equals 1 for a perfect prediction, 0 for predicting the mean of ``true`` and is negative
    for worse predictions. Unlike :func:`pcc` it penalises offsets and wrong amplitudes.

    Parameters
    ----------
    pred, true : array-like, same shape, e.g. ``(n_cycles, 200)``
    axis : int or None

    Returns
    -------
    numpy.ndarray or float
        :math:`R^2` per row, dimensionless, at most 1.

    Taught in chapter 6.
    """
    pred, true = _paired(pred, true, "pred", "true")
    _check_axis(axis, pred.ndim)
    ss_res = np.sum((true - pred) ** 2, axis=axis)
    ss_tot = np.sum((true - true.mean(axis=axis, keepdims=True)) ** 2, axis=axis)
    if np.any(ss_tot <= 0.0):
        raise ValueError("true has a row without variation along axis; R^2 is undefined")
    return _scalar_or_array(1.0 - ss_res / ss_tot)


# ---------------------------------------------------------------------------------------------
# Cycle length (chapter 8)
# ---------------------------------------------------------------------------------------------
def cycle_length_from_scores(scores, method="argmax", from_logits=True, axis=-1):
    r"""Cycle length in samples from the cycle-length decoder's class scores.

    Class :math:`k` stands for a cycle of :math:`k` samples at 200 Hz (the data convention
    of the book). Two read-outs:

    - ``"argmax"``: the most probable class, :math:`\hat L = \arg\max_k s_k` (what the
      paper's code reports; an integer, unaffected by ``from_logits``);
    - ``"expectation"``: the mean of the predicted distribution,
      :math:`\hat L = \sum_k k\,p_k` with :math:`p = \mathrm{softmax}(s)` when ``from_logits``
      (otherwise ``scores`` must already be probabilities and are renormalised to sum to 1).
      It is differentiable in spirit and finer than one class, but is pulled towards the
      middle by a broad or two-peaked distribution.

    Parameters
    ----------
    scores : array-like, ``(..., n_classes)`` along ``axis``
        Logits (``from_logits=True``) or non-negative probabilities.
    method : {"argmax", "expectation"}
    from_logits : bool
    axis : int
        The class axis.

    Returns
    -------
    numpy.ndarray or float
        Cycle length in samples (divide by ``fs`` for seconds).

    Taught in chapter 8.
    """
    s = _as_array(scores, "scores")
    if s.ndim == 0:
        raise ValueError("scores must have a class axis, got a scalar")
    _check_axis(axis, s.ndim, allow_none=False)
    if method == "argmax":
        return _scalar_or_array(np.argmax(s, axis=axis).astype(float))
    if method != "expectation":
        raise ValueError(f"method must be 'argmax' or 'expectation', got {method!r}")
    if from_logits:
        z = np.exp(s - s.max(axis=axis, keepdims=True))
        p = z / z.sum(axis=axis, keepdims=True)
    else:
        if np.any(s < 0):
            raise ValueError("scores must be non-negative probabilities when from_logits=False")
        total = s.sum(axis=axis, keepdims=True)
        if np.any(total <= 0):
            raise ValueError("scores must have a positive sum along axis when from_logits=False")
        p = s / total
    shape = [1] * s.ndim
    shape[axis] = s.shape[axis]
    k = np.arange(s.shape[axis], dtype=float).reshape(shape)
    return _scalar_or_array(np.sum(k * p, axis=axis))


def ppi_error_ms(pred_samples, true_samples, fs=FS):
    r"""Mean absolute cycle-length (PPI) error in milliseconds.

    .. math:: e_{\mathrm{PPI}} = \frac{1000}{f_s}\,\frac{1}{N}\sum_{i=1}^{N} |\hat L_i - L_i|

    Parameters
    ----------
    pred_samples, true_samples : array-like, same shape ``(n_cycles,)``
        Predicted and true cycle lengths in samples (see :func:`cycle_length_from_scores`).
    fs : float
        Sampling rate of the lengths, Hz (200 in the book and the paper).

    Returns
    -------
    float
        Error in ms (Table II, "PPI Error").

    Taught in chapter 8.
    """
    pred, true = _paired(pred_samples, true_samples, "pred_samples", "true_samples")
    fs = _positive(fs, "fs")
    return float(np.mean(np.abs(pred - true)) / fs * 1000.0)


# ---------------------------------------------------------------------------------------------
# Anchors (chapter 7)
# ---------------------------------------------------------------------------------------------
def detect_anchors(heatmap, fs=FS, threshold=ANCHOR_THRESHOLD,
                   min_distance_s=ANCHOR_MIN_DISTANCE_S, units="s", refine=True):
    r"""R-peak anchors read off a predicted heat map.

    The anchor decoder outputs, for a 4-s segment, a heat map with a unit-height Gaussian bump
    at every R peak. Anchors are the local maxima found by :func:`scipy.signal.find_peaks`
    that are at least ``threshold`` high and at least ``min_distance_s`` apart (the higher one
    wins). With ``refine`` each maximum :math:`k` is moved to the vertex of the parabola
    through samples :math:`k-1, k, k+1`,

    .. math:: \delta = \frac{1}{2}\,\frac{h_{k-1} - h_{k+1}}{h_{k-1} - 2h_k + h_{k+1}},
              \qquad |\delta| \le \tfrac12,

    which places a sampled Gaussian's centre to a fraction of a sample.

    Parameters
    ----------
    heatmap : array-like, ``(n_samples,)``
        One segment's heat map (e.g. 800 samples for 4 s at 200 Hz).
    fs : float
        Sampling rate of the heat map, Hz.
    threshold : float
        Minimum peak height, in heat-map units (0.5 = half the height of a target bump).
    min_distance_s : float
        Minimum time between two anchors, s (0.3 s, i.e. at most 200 bpm).
    units : {"s", "samples"}
        Return times in seconds from the first sample, or (fractional) sample positions.
    refine : bool
        Parabolic sub-sample refinement; without it the positions are whole samples.

    Returns
    -------
    numpy.ndarray, ``(n_anchors,)``
        Anchor positions in increasing order (empty if no peak passes the threshold).

    Taught in chapter 7.
    """
    h = _as_array(heatmap, "heatmap")
    if h.ndim != 1:
        raise ValueError(f"heatmap must be 1-D (n_samples,), got shape {h.shape}")
    fs = _positive(fs, "fs")
    min_distance_s = _positive(min_distance_s, "min_distance_s", allow_zero=True)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if units not in ("s", "samples"):
        raise ValueError(f"units must be 's' or 'samples', got {units!r}")
    distance = max(1, int(round(min_distance_s * fs)))
    peaks, _ = find_peaks(h, height=threshold, distance=distance)
    positions = peaks.astype(float)
    if refine and peaks.size:
        positions = positions + _parabolic_offset(h, peaks)
    return positions / fs if units == "s" else positions


def match_peaks(pred_times_s, true_times_s, tolerance_s=MATCH_TOLERANCE_S):
    """One-to-one pairs of predicted and true peaks that lie within ``tolerance_s``.

    Greedy nearest matching: every (predicted, true) pair closer than the tolerance is a
    candidate; candidates are accepted in order of increasing distance, each peak taking part
    in at most one pair. A true peak left without a partner is a missed detection; a predicted
    peak without one is a false alarm.

    Parameters
    ----------
    pred_times_s, true_times_s : array-like, ``(n_pred,)`` and ``(n_true,)``
        Peak times in seconds; ``pred_times_s`` may be empty.
    tolerance_s : float
        Largest accepted distance, s (0.15 s by default, half a cycle at 200 bpm).

    Returns
    -------
    pred_index, true_index : numpy.ndarray of int, ``(n_pairs,)``
        Indices of the matched peaks, ordered by true index.

    Taught in chapter 7.
    """
    pred = _times(pred_times_s, "pred_times_s", allow_empty=True)
    true = _times(true_times_s, "true_times_s", allow_empty=False)
    tol = _positive(tolerance_s, "tolerance_s")
    dist = np.abs(pred[:, None] - true[None, :])
    ip, it = np.nonzero(dist <= tol)
    order = np.argsort(dist[ip, it], kind="stable")
    used_p, used_t, pairs = set(), set(), []
    for i, j in zip(ip[order], it[order]):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            pairs.append((j, i))
    pairs.sort()
    pred_index = np.array([p for _, p in pairs], dtype=int)
    true_index = np.array([t for t, _ in pairs], dtype=int)
    return pred_index, true_index


def timing_error_ms(pred_times_s, true_times_s, tolerance_s=MATCH_TOLERANCE_S):
    r"""Mean absolute timing error of matched peaks, in milliseconds.

    .. math:: e_{\mathrm{time}} = \frac{1000}{|\mathcal M|} \sum_{(i,j)\in\mathcal M}
              |\hat t_i - t_j|

    over the one-to-one pairs :math:`\mathcal M` of :func:`match_peaks`. Missed peaks do not
    enter this mean; they are counted by :func:`missed_detection_rate`.

    Parameters
    ----------
    pred_times_s, true_times_s : array-like
        Peak times in seconds (``pred_times_s`` may be empty).
    tolerance_s : float
        Matching tolerance, s.

    Returns
    -------
    float
        Error in ms (Table II, "Timing Error"; Tables III and V, "Peak Error"); NaN when no
        pair exists, because then the error is undefined.

    Taught in chapter 7.
    """
    ip, it = match_peaks(pred_times_s, true_times_s, tolerance_s)
    if ip.size == 0:
        return float("nan")
    pred = _as_array(pred_times_s, "pred_times_s").ravel()
    true = _as_array(true_times_s, "true_times_s").ravel()
    return float(np.mean(np.abs(pred[ip] - true[it])) * 1000.0)


def missed_detection_rate(pred_times_s, true_times_s, tolerance_s=MATCH_TOLERANCE_S):
    r"""Fraction of true peaks without a predicted partner (MDR).

    .. math:: \mathrm{MDR} = 1 - \frac{|\mathcal M|}{N_{\mathrm{true}}}

    with the one-to-one pairs :math:`\mathcal M` of :func:`match_peaks`. The paper reports it in
    percent (multiply by 100).

    Parameters
    ----------
    pred_times_s, true_times_s : array-like
        Peak times in seconds; ``true_times_s`` must not be empty.
    tolerance_s : float
        Matching tolerance, s.

    Returns
    -------
    float
        MDR in [0, 1].

    Taught in chapter 7.
    """
    _, it = match_peaks(pred_times_s, true_times_s, tolerance_s)
    n_true = _as_array(true_times_s, "true_times_s").size
    return float(1.0 - it.size / n_true)


def pooled_anchor_scores(pred_times_list, true_times_list, tolerance_s=MATCH_TOLERANCE_S, require_increasing=False):
    r"""Timing error (ms) and MDR (%) of many segments, pooling the matches of all of them.

    In every segment the predicted peaks are matched one-to-one with the true ones
    (:func:`match_peaks`); then, over all segments,

    .. math:: e_{\mathrm{time}} = \frac{1000}{|\mathcal M|} \sum_{(i,j)\in\mathcal M} |\hat t_i - t_j|,
              \qquad \mathrm{MDR} = 100 \Big(1 - \frac{|\mathcal M|}{N_{\mathrm{true}}}\Big)

    with :math:`\mathcal M` every matched pair of every segment and :math:`N_{\mathrm{true}}`
    every true peak. A segment without a true peak is skipped (it has nothing to miss, and its
    predictions are not counted as false alarms). ``timing_error_ms`` is NaN when nothing is
    matched, ``mdr_pct`` NaN when no segment has a true peak.

    Parameters
    ----------
    pred_times_list, true_times_list : sequences of the same length, one array of peak times (s)
        per segment; any array may be empty.
    tolerance_s : float
        Matching tolerance, s.
    require_increasing : bool
        Also require each array of times to be strictly increasing (ValueError otherwise).

    Returns
    -------
    dict
        ``{"timing_error_ms": float, "mdr_pct": float}``.

    Taught in chapter 7.
    """
    true = segment_times(true_times_list, None, "true_times_list", require_increasing)
    pred = segment_times(pred_times_list, len(true), "pred_times_list", require_increasing)
    tolerance_s = _positive(tolerance_s, "tolerance_s")
    errors, n_true, n_matched = [], 0, 0
    for f, r in zip(pred, true):
        if r.size:
            ip, it = match_peaks(f, r, tolerance_s)
            errors.extend(np.abs(f[ip] - r[it]).tolist())
            n_true, n_matched = n_true + r.size, n_matched + it.size
    return {"timing_error_ms": 1000.0 * float(np.mean(errors)) if errors else float("nan"),
            "mdr_pct": 100.0 * (1.0 - n_matched / n_true) if n_true else float("nan")}  # fmt: skip


def heart_rate_bpm(peak_times_s):
    r"""Average heart rate of a recording from its R-peak times, in beats per minute.

    .. math:: \mathrm{HR} = \frac{60}{\overline{RR}}, \qquad
              \overline{RR} = \frac{t_{N} - t_{1}}{N - 1}

    i.e. 60 divided by the mean RR interval (the number of beats per minute over the span,
    not the mean of instantaneous rates).

    Parameters
    ----------
    peak_times_s : array-like, ``(n_peaks,)``
        Strictly increasing R-peak times in seconds, at least two.

    Returns
    -------
    float
        Heart rate in bpm.

    Taught in chapter 7.
    """
    return _heart_rate(peak_times_s, "peak_times_s")


def heart_rate_error_bpm(pred, true):
    """Absolute heart-rate error between two sets of R-peak times, in bpm.

    ``|heart_rate_bpm(pred) - heart_rate_bpm(true)|``; the paper quotes median errors of
    0.3-0.6 bpm for long-term reconstructions.

    Parameters
    ----------
    pred, true : array-like
        Predicted and true R-peak times in seconds, each strictly increasing, at least two.

    Returns
    -------
    float
        Error in bpm.

    Taught in chapter 7.
    """
    return abs(_heart_rate(pred, "pred") - _heart_rate(true, "true"))


# ---------------------------------------------------------------------------------------------
# Multi-task improvement (chapter 12)
# ---------------------------------------------------------------------------------------------
def delta_m(base, new, higher_is_better):
    r"""Relative multi-task improvement :math:`\Delta_m` of ``new`` over ``base``, in percent.

    .. math::
        \Delta_m = \frac{100}{T} \sum_{t=1}^{T} \frac{1}{N_t} \sum_{j=1}^{N_t}
                   (-1)^{l_{t,j}}\, \frac{M_{t,j} - M^{b}_{t,j}}{M^{b}_{t,j}}

    with :math:`T` tasks, :math:`N_t` metrics for task :math:`t`, :math:`l_{t,j} = 1` when a
    lower value of metric :math:`j` is better and 0 otherwise (Maninis et al., CVPR 2019, in
    the per-task form of LibMTL, Lin and Zhang, JMLR 2023, which the radarODE-MTL code builds
    on). Positive means better on average.

    The grouping matters: a task with one metric weighs as much as a task with five, whereas
    averaging over all metrics at once (as e.g. Liu et al., NeurIPS 2021, do) weighs every
    metric alike; pass one metric per task to get that form. The paper's Table II follows the
    per-task form with the tasks shape (RMSE, PCC), cycle length (PPI error) and anchor (timing
    error, MDR), and so does its NYUv2 table (segmentation 2, depth 2, normals 5 metrics).
    Its Tables III and V weigh their four columns (RMSE, PCC, peak error, MDR) equally, e.g.
    two tasks of two metrics. The units cancel: percent or fraction for PCC and MDR give the
    same result.

    Parameters
    ----------
    base, new : Mapping[str, Sequence[float]]
        Task name -> metric values; same tasks and same number of metrics per task. Base values
        must be non-zero.
    higher_is_better : Mapping[str, Sequence[bool]]
        Task name -> one bool per metric.

    Returns
    -------
    float
        :math:`\Delta_m` in percent.

    Taught in chapter 12.
    """
    for name, arg in (("base", base), ("new", new), ("higher_is_better", higher_is_better)):
        if not isinstance(arg, Mapping):
            raise TypeError(f"{name} must be a dict task -> list of metric values, got {type(arg).__name__}")
        if len(arg) == 0:
            raise ValueError(f"{name} must hold at least one task")
    if set(base) != set(new) or set(base) != set(higher_is_better):
        raise ValueError(
            "base, new and higher_is_better must name the same tasks, got "
            f"{sorted(base)}, {sorted(new)} and {sorted(higher_is_better)}"
        )
    per_task = []
    for task in base:
        b = _task_values(base[task], f"base[{task!r}]")
        n = _task_values(new[task], f"new[{task!r}]")
        flags = higher_is_better[task]
        if isinstance(flags, (bool, np.bool_)) or not isinstance(flags, (Sequence, np.ndarray)):
            raise TypeError(f"higher_is_better[{task!r}] must be a list of bools, got {flags!r}")
        if not all(isinstance(f, (bool, np.bool_)) for f in flags):
            raise TypeError(f"higher_is_better[{task!r}] must hold bools, got {list(flags)!r}")
        if not (len(b) == len(n) == len(flags)):
            raise ValueError(
                f"task {task!r}: base, new and higher_is_better need the same number of metrics, "
                f"got {len(b)}, {len(n)} and {len(flags)}"
            )
        if np.any(b == 0):
            raise ValueError(f"base[{task!r}] holds a zero; the relative change is undefined")
        sign = np.where(np.asarray(flags, dtype=bool), 1.0, -1.0)
        per_task.append(np.mean(sign * (n - b) / np.abs(b)))
    return float(100.0 * np.mean(per_task))


def delta_m_from_metrics(base, new, groups=TASK_METRICS, higher_is_better=HIGHER_IS_BETTER, per_task=False,
                         missing="raise"):  # fmt: skip
    r""":math:`\Delta_m` (:func:`delta_m`) of metrics stored by name, grouped into named tasks.

    ``delta_m({t: [base[k] for k in groups[t]]}, {t: [new[k] ...]}, {t: [higher_is_better[k] ...]})``:
    each task's term is the mean signed relative change of its metrics, and the tasks weigh
    alike. One metric per task (``{k: (k,) for k in keys}``) weighs every metric alike.

    Parameters
    ----------
    base, new : Mapping metric -> value (flat), or task -> metric -> value (nested, as the
        tasks of ``groups``). Base values must be non-zero.
    groups : Mapping task -> sequence of metric names; the tasks in this order.
        Default :data:`radarode_lite.conventions.TASK_METRICS` (shape, anchor, ppi).
    higher_is_better : Mapping metric -> bool. Default :data:`radarode_lite.conventions.HIGHER_IS_BETTER`.
    per_task : bool
        Return ``{task: percent, ..., "all": percent}``: each task's term alone, and their mean.
    missing : ``"raise"`` or ``"nan"``
        What a missing metric, ``None`` or a non-finite value gives: an error, or NaN for its
        task (and for ``"all"``).

    Returns
    -------
    float, percent (or a dict of them with ``per_task``).

    Taught in chapter 12.
    """
    b, n, flags = grouped_metrics(base, new, groups, higher_is_better, missing)
    finite = {t: all_finite(b[t] + n[t]) for t in b}  # all True unless missing="nan"
    overall = delta_m(b, n, flags) if all(finite.values()) else float("nan")
    if not per_task:
        return overall
    out = {t: delta_m({t: b[t]}, {t: n[t]}, {t: flags[t]}) if finite[t] else float("nan") for t in b}
    return {**out, "all": overall}
