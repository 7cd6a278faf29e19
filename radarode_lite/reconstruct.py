"""Long-term ECG reconstruction from single-cycle shapes, R-peak anchors and cycle lengths.

radarODE-MTL does not predict a long ECG directly. For every 4-s segment it predicts the
normalised shape of one cardiac cycle (200 samples), a heat map of the R-peak anchors and the
cycle length (Zhang et al., IEEE TIM 2025, Section III). The long-term ECG is put back
together by stretching each shape to its cycle length and placing it so that its R peak sits
on its anchor; neighbouring beats are cross-faded where they overlap. Chapter 13 teaches it.

- :func:`resample_cycle` stretches one normalised cycle to a length in samples;
- :func:`stitch_beats` places stretched cycles at their anchors and blends them;
- :func:`bridge_missing_beats` inserts a beat wherever the gap between two anchors holds more
  than one predicted cycle (a beat the anchor detector missed);
- :func:`reconstruct_from_windows` turns the predictions of sliding 4-s windows into one
  recording (anchors detected per window, merged across overlapping windows);
- :func:`fiducial_points` and :func:`peak_position_errors_ms` locate and score the P, Q, R,
  S and T peaks of the result.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from radarode_lite._checks import float_array, fraction, number, positive, positive_int
from radarode_lite.conventions import FS, R_FRACTION, WAVES
from radarode_lite.metrics import ANCHOR_MIN_DISTANCE_S, ANCHOR_THRESHOLD, detect_anchors

__all__ = [
    "R_FRACTION",
    "WAVES",
    "FIDUCIAL_WINDOWS_MS",
    "resample_cycle",
    "stitch_beats",
    "bridge_missing_beats",
    "reconstruct_from_windows",
    "fiducial_points",
    "peak_position_errors_ms",
]

# R_FRACTION and WAVES come from radarode_lite.conventions. R_FRACTION is where the R peak
# sits in a normalised cycle, as a fraction of the cycle: a cycle of L samples starts
# R_FRACTION * L samples before its R peak and ends (1 - R_FRACTION) * L after it (sample 64 of
# a 200-sample template is R), where McSharry's model, integrated from the radarODE solver's
# initial state, draws its R wave; the data module cuts the shape targets the same way. Every
# function takes it as a parameter. WAVES names the ECG waves in order of appearance.

#: Longest output of :func:`stitch_beats` and :func:`reconstruct_from_windows`: one day at 200 Hz.
MAX_SAMPLES = int(FS) * 86_400

#: Longest cycle :func:`resample_cycle` makes, samples (500 s at 200 Hz: no heart beats slower).
MAX_CYCLE_SAMPLES = 100_000

#: Search windows of :func:`fiducial_points`, in ms relative to an R peak, and the extremum
#: sought: the R peak is the maximum within +-40 ms of the given R position; Q and S are the
#: minima within 80 ms before and after that refined R; P is the maximum 300-60 ms before it
#: and T the maximum 100-450 ms after it. P and T windows never extend past the midpoint to
#: the neighbouring R peaks, which keeps them inside their own beat at fast heart rates.
#: These suit a normal lead with upright P and T waves at rest.
FIDUCIAL_WINDOWS_MS = {
    "P": (-300.0, -60.0, "max"),
    "Q": (-80.0, 0.0, "min"),
    "R": (-40.0, 40.0, "max"),
    "S": (0.0, 80.0, "min"),
    "T": (100.0, 450.0, "max"),
}


def resample_cycle(shape, cycle_length_samples):
    r"""Stretch one normalised cycle to ``cycle_length_samples`` samples by linear interpolation.

    Template sample :math:`j` of an :math:`M`-sample cycle sits at the cycle fraction
    :math:`u_j = j / M`; output sample :math:`n` reads the template at :math:`u = n / L`,
    for :math:`0 \le n < L`, with :math:`L` the cycle length (which need not be an integer).
    Between template samples the value is interpolated linearly; after the last one it is held.

    Parameters
    ----------
    shape : array-like, ``(M,)``
        One cycle, e.g. the 200-sample output of the morphological decoder.
    cycle_length_samples : float
        Target length :math:`L` in samples (> 1).

    Returns
    -------
    numpy.ndarray, ``(ceil(L),)``
        The stretched cycle at the output sampling rate.

    Taught in chapter 13.
    """
    s = float_array(shape, "shape", ndim=1)
    if s.size < 2:
        raise ValueError(f"shape must hold at least 2 samples, got {s.size}")
    length = _positive_scalar(cycle_length_samples, "cycle_length_samples")
    if not 1 < length <= MAX_CYCLE_SAMPLES:
        raise ValueError(f"cycle_length_samples must be greater than 1 and at most {MAX_CYCLE_SAMPLES}, "
                         f"got {cycle_length_samples!r}")  # fmt: skip
    u = np.arange(int(np.ceil(length))) / length
    return _read_template(s, u)


def stitch_beats(shapes, anchors_s, cycle_lengths_samples, n_samples, fs=FS,
                 r_fraction=R_FRACTION, blend=0.1):
    r"""Long-term ECG from single-cycle shapes placed at their R-peak anchors.

    Beat :math:`i` (shape :math:`s_i`, anchor :math:`a_i` in s, cycle length :math:`L_i` in
    samples) covers the output times :math:`t` with cycle fraction
    :math:`u_i(t) = r + (t - a_i) f_s / L_i \in [0, 1)`, where it contributes the template
    value :math:`s_i(u_i)` (linear interpolation) with a weight :math:`w(u_i)`. The output is
    the weighted mean

    .. math:: x(t) = \frac{\sum_i w(u_i(t))\, s_i(u_i(t))}{\sum_i w(u_i(t))}.

    The weight is a raised-cosine (Tukey) taper: it rises from a small floor (1e-3) to 1 over
    the first ``blend`` of the cycle and falls back over the last ``blend``, so overlapping
    beats cross-fade smoothly and a lone beat keeps its own values. ``blend=0`` averages
    overlapping beats with equal weights. Samples covered by no beat (a predicted cycle
    shorter than the RR interval) are linearly interpolated from the nearest covered samples;
    before the first and after the last covered sample the edge value is held.

    Parameters
    ----------
    shapes : array-like, ``(n_beats, M)``
        Normalised single cycles (e.g. ``M = 200``), R at sample ``r_fraction * M``.
    anchors_s : array-like, ``(n_beats,)``
        R-peak times in s from the first output sample.
    cycle_lengths_samples : array-like, ``(n_beats,)``
        Cycle lengths in samples at ``fs`` (> 1).
    n_samples : int
        Length of the output, samples.
    fs : float
        Output sampling rate, Hz.
    r_fraction : float
        Fraction of the cycle before the R peak, in [0, 1) (see :data:`R_FRACTION`).
    blend : float
        Fraction of a cycle over which each end is tapered, in [0, 0.5].

    Returns
    -------
    numpy.ndarray, ``(n_samples,)``
        The reconstructed ECG, in the units of ``shapes``.

    Taught in chapter 13.
    """
    shapes = float_array(shapes, "shapes", ndim=2)
    if shapes.shape[1] < 2:
        raise ValueError(f"shapes must hold at least 2 samples per cycle, got shape {shapes.shape}")
    n_beats = shapes.shape[0]
    anchors = float_array(anchors_s, "anchors_s", ndim=1)
    lengths = float_array(cycle_lengths_samples, "cycle_lengths_samples", ndim=1)
    if anchors.size != n_beats or lengths.size != n_beats:
        raise ValueError(
            "shapes, anchors_s and cycle_lengths_samples must describe the same number of beats, "
            f"got {n_beats}, {anchors.size} and {lengths.size}"
        )
    if np.any(lengths <= 1):
        raise ValueError("cycle_lengths_samples must all be greater than 1 sample")
    positive_int(n_samples, "n_samples")
    if n_samples > MAX_SAMPLES:
        raise ValueError(f"n_samples must be at most {MAX_SAMPLES} (one day at 200 Hz), got {n_samples}")
    fs = _positive_scalar(fs, "fs")
    r_fraction = _fraction(r_fraction, "r_fraction")
    blend = float(blend)
    if not 0.0 <= blend <= 0.5:
        raise ValueError(f"blend must lie in [0, 0.5], got {blend!r}")

    return _blend_beats(shapes, anchors, lengths, n_samples, fs, r_fraction, blend)


def bridge_missing_beats(shapes, anchors_s, cycle_lengths_samples, fs=FS, max_gap=1.5):
    r"""Insert beats where two neighbouring anchors are more than one predicted cycle apart.

    Between anchors :math:`a_i < a_{i+1}` the expected spacing is the predicted cycle length
    :math:`\bar L = (L_i + L_{i+1})/2` (samples). If the gap :math:`g = (a_{i+1} - a_i) f_s`
    exceeds ``max_gap`` times :math:`\bar L`, the detector has missed
    :math:`k - 1` beats, :math:`k = \max(2, \mathrm{round}(g / \bar L))`, and they are inserted at
    :math:`a_i + j\,(a_{i+1} - a_i)/k`, :math:`j = 1, \dots, k - 1`: evenly spaced, so that
    the bridged beats share the gap equally. Each inserted beat takes the mean shape of its two
    neighbours and the cycle length :math:`g / k`. This is the argument of radarODE-MTL
    (Zhang et al., IEEE TIM 2025, Section III) for predicting cycle lengths besides anchors:
    a lost anchor can be recovered from the rhythm of its neighbours.

    Parameters
    ----------
    shapes : array-like, ``(n_beats, M)``
        Normalised single cycles, one per anchor.
    anchors_s : array-like, ``(n_beats,)``
        R-peak times in s, strictly increasing.
    cycle_lengths_samples : array-like, ``(n_beats,)``
        Predicted cycle lengths in samples at ``fs`` (> 1).
    fs : float
        Sampling rate of the cycle lengths, Hz.
    max_gap : float
        Largest gap, in predicted cycles, accepted without inserting a beat (> 1).

    Returns
    -------
    shapes : numpy.ndarray, ``(n_out, M)``
    anchors_s : numpy.ndarray, ``(n_out,)``
    cycle_lengths_samples : numpy.ndarray, ``(n_out,)``
    inserted : numpy.ndarray of bool, ``(n_out,)``
        True for the beats this function added.

    Taught in chapter 13.
    """
    shapes = float_array(shapes, "shapes", ndim=2)
    anchors = float_array(anchors_s, "anchors_s", ndim=1)
    lengths = float_array(cycle_lengths_samples, "cycle_lengths_samples", ndim=1)
    if not (shapes.shape[0] == anchors.size == lengths.size):
        raise ValueError(
            "shapes, anchors_s and cycle_lengths_samples must describe the same number of beats, "
            f"got {shapes.shape[0]}, {anchors.size} and {lengths.size}"
        )
    if np.any(np.diff(anchors) <= 0):
        raise ValueError("anchors_s must be strictly increasing")
    if np.any(lengths <= 1):
        raise ValueError("cycle_lengths_samples must all be greater than 1 sample")
    fs = _positive_scalar(fs, "fs")
    max_gap = _positive_scalar(max_gap, "max_gap")
    if max_gap <= 1:
        raise ValueError(f"max_gap must be greater than 1 cycle, got {max_gap!r}")

    out_shapes, out_anchors, out_lengths, inserted = [shapes[0]], [anchors[0]], [lengths[0]], [False]
    for i in range(anchors.size - 1):
        gap = (anchors[i + 1] - anchors[i]) * fs
        expected = 0.5 * (lengths[i] + lengths[i + 1])
        if gap > max_gap * expected:
            k = max(2, int(round(gap / expected)))
            mid_shape = 0.5 * (shapes[i] + shapes[i + 1])
            for j in range(1, k):
                out_shapes.append(mid_shape)
                out_anchors.append(anchors[i] + j * (anchors[i + 1] - anchors[i]) / k)
                out_lengths.append(gap / k)
                inserted.append(True)
        out_shapes.append(shapes[i + 1])
        out_anchors.append(anchors[i + 1])
        out_lengths.append(lengths[i + 1])
        inserted.append(False)
    return (np.asarray(out_shapes), np.asarray(out_anchors), np.asarray(out_lengths),
            np.asarray(inserted, dtype=bool))


def reconstruct_from_windows(window_predictions, window_starts_s, duration_s, fs=FS,
                             r_fraction=R_FRACTION, blend=0.1, threshold=ANCHOR_THRESHOLD,
                             min_distance_s=ANCHOR_MIN_DISTANCE_S, merge_tolerance_s=0.1,
                             bridge_gaps=False, max_gap=1.5):
    r"""One long-term ECG from the predictions of sliding (overlapping) windows.

    1. Anchors: :func:`~radarode_lite.metrics.detect_anchors` on each window's heat map,
       shifted by the window's start to absolute times.
    2. Merging: the pooled anchors are sorted and grouped, a new group starting whenever the
       gap to the previous anchor exceeds ``merge_tolerance_s``; each group (one R peak seen by
       several windows) becomes its mean time. Each window counts once per group.
    3. Beat per anchor: every window whose span contains the anchor proposes its shape and
       cycle length, weighted by a Hann window of the anchor's position in that window
       (1 at the centre, near 0 at the edges); the weighted means are used. A window's
       targets describe the beat nearest its centre, so the weight favours the windows that
       actually saw this beat. An anchor seen by no window (impossible after step 2) is
       skipped.
    4. With ``bridge_gaps=True``, :func:`bridge_missing_beats` inserts a beat wherever two
       merged anchors lie more than ``max_gap`` predicted cycles apart.
    5. :func:`stitch_beats` places the beats.

    Parameters
    ----------
    window_predictions : Mapping with keys ``"shape"``, ``"anchor"``, ``"ppi"``
        ``shape``: ``(n_windows, M)`` normalised cycles; ``anchor``: ``(n_windows, W)`` heat
        maps (``W = 800`` for 4 s at 200 Hz); ``ppi``: ``(n_windows,)`` cycle lengths in
        samples (from :func:`~radarode_lite.metrics.cycle_length_from_scores`).
    window_starts_s : array-like, ``(n_windows,)``
        Start time of each window in s, relative to the start of the recording.
    duration_s : float
        Length of the recording to produce, s.
    fs : float
        Sampling rate of heat maps, cycle lengths and output, Hz.
    r_fraction, blend : float
        Passed to :func:`stitch_beats`.
    threshold, min_distance_s : float
        Passed to :func:`~radarode_lite.metrics.detect_anchors` (heat-map units, s).
    merge_tolerance_s : float
        Largest gap, s, between detections of the same R peak in different windows.
    bridge_gaps : bool
        Insert the beats the anchor detector missed (:func:`bridge_missing_beats`).
    max_gap : float
        Passed to :func:`bridge_missing_beats` (predicted cycles).

    Returns
    -------
    ecg : numpy.ndarray, ``(round(duration_s * fs),)``
        The reconstructed ECG, in the units of the shapes.
    anchors_s : numpy.ndarray, ``(n_beats,)``
        The merged R-peak times in s (with the inserted ones when ``bridge_gaps``).

    Taught in chapter 13.
    """
    shapes, heatmaps, ppi, starts = _window_inputs(window_predictions, window_starts_s)
    fs = _positive_scalar(fs, "fs")
    duration_s = _positive_scalar(duration_s, "duration_s")
    merge_tolerance_s = _positive_scalar(merge_tolerance_s, "merge_tolerance_s")
    if duration_s * fs > MAX_SAMPLES:
        raise ValueError(f"duration_s * fs must be at most {MAX_SAMPLES} samples (one day at 200 Hz), "
                         f"got {duration_s} s at {fs} Hz")  # fmt: skip
    window_s = heatmaps.shape[1] / fs

    anchors = _merged_anchors(heatmaps, starts, fs, threshold, min_distance_s, merge_tolerance_s)  # steps 1-2

    beat_shapes, beat_anchors, beat_lengths = _beats_at_anchors(anchors, starts, window_s, shapes, ppi)  # step 3
    if bridge_gaps:
        beat_shapes, beat_anchors, beat_lengths, _ = bridge_missing_beats(
            beat_shapes, beat_anchors, beat_lengths, fs=fs, max_gap=max_gap)
    ecg = stitch_beats(beat_shapes, beat_anchors, beat_lengths,
                       n_samples=int(round(duration_s * fs)), fs=fs, r_fraction=r_fraction, blend=blend)
    return ecg, beat_anchors


def fiducial_points(ecg, r_peaks, fs=FS):
    """Positions of the P, Q, R, S and T peaks around each given R peak.

    For each R peak the extrema listed in :data:`FIDUCIAL_WINDOWS_MS` are searched (R first,
    then Q, S, P and T around the refined R), each refined to a fraction of a sample by the
    vertex of the parabola through the extremum and its two neighbours.

    Parameters
    ----------
    ecg : array-like, ``(n_samples,)``
        The ECG, any unit.
    r_peaks : array-like, ``(n_beats,)``
        Approximate R-peak positions in samples (e.g. the reference R peaks), strictly
        increasing.
    fs : float
        Sampling rate, Hz.

    Returns
    -------
    dict str -> numpy.ndarray ``(n_beats,)``
        For each wave in :data:`WAVES`, its position in (fractional) samples; NaN where the
        search window does not lie fully inside the signal.

    Taught in chapter 13.
    """
    x = float_array(ecg, "ecg", ndim=1)
    r = float_array(r_peaks, "r_peaks", ndim=1)
    if np.any(np.diff(r) <= 0):
        raise ValueError("r_peaks must be strictly increasing")
    fs = _positive_scalar(fs, "fs")
    out = {wave: np.full(r.size, np.nan) for wave in WAVES}
    for i, r0 in enumerate(r):
        lo_mid = 0.5 * (r[i - 1] + r0) if i > 0 else -np.inf
        hi_mid = 0.5 * (r0 + r[i + 1]) if i < r.size - 1 else np.inf
        r_ref = _extremum(x, r0, FIDUCIAL_WINDOWS_MS["R"], fs, -np.inf, np.inf)
        out["R"][i] = r_ref
        if np.isnan(r_ref):
            continue
        for wave in ("Q", "S", "P", "T"):
            lo, hi = (lo_mid, hi_mid) if wave in ("P", "T") else (-np.inf, np.inf)
            out[wave][i] = _extremum(x, r_ref, FIDUCIAL_WINDOWS_MS[wave], fs, lo, hi)
    return out


def peak_position_errors_ms(pred_ecg, true_ecg, true_r_peaks, fs=FS, reduce="mean"):
    """Timing errors of the P, Q, R, S and T peaks of a reconstructed ECG, in ms.

    :func:`fiducial_points` runs on both signals, guided by the same reference R peaks, and the
    error of each wave is ``|t_pred - t_true|`` per beat. The R error measures how well the
    anchors placed the beats; the other waves measure the morphology as well.

    Parameters
    ----------
    pred_ecg, true_ecg : array-like, ``(n_samples,)``
        Reconstructed and reference ECG on the same time grid.
    true_r_peaks : array-like, ``(n_beats,)``
        Reference R-peak positions in samples.
    fs : float
        Sampling rate, Hz.
    reduce : {"mean", "none"}
        ``"mean"``: one mean absolute error per wave (beats with NaN left out; NaN if no beat
        is usable); ``"none"``: the per-beat errors.

    Returns
    -------
    dict str -> float or numpy.ndarray ``(n_beats,)``
        Error in ms for each wave in :data:`WAVES`.

    Taught in chapter 13.
    """
    pred = float_array(pred_ecg, "pred_ecg", ndim=1)
    true = float_array(true_ecg, "true_ecg", ndim=1)
    if pred.shape != true.shape:
        raise ValueError(f"pred_ecg and true_ecg must have the same shape, got {pred.shape} and {true.shape}")
    if reduce not in ("mean", "none"):
        raise ValueError(f"reduce must be 'mean' or 'none', got {reduce!r}")
    fs = _positive_scalar(fs, "fs")
    p = fiducial_points(pred, true_r_peaks, fs)
    t = fiducial_points(true, true_r_peaks, fs)
    errors = {wave: np.abs(p[wave] - t[wave]) / fs * 1000.0 for wave in WAVES}
    if reduce == "none":
        return errors
    return {wave: float(np.nanmean(e)) if np.any(np.isfinite(e)) else float("nan")
            for wave, e in errors.items()}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _blend_beats(shapes, anchors, lengths, n_samples, fs, r_fraction, blend):
    """The weighted mean of :func:`stitch_beats`, gaps filled by linear interpolation."""
    acc = np.zeros(n_samples)
    wsum = np.zeros(n_samples)
    for shape, anchor, length in zip(shapes, anchors, lengths):
        r_pos = anchor * fs  # R position in output samples
        first = max(0, int(np.ceil(r_pos - r_fraction * length)))
        last = min(n_samples - 1, int(np.ceil(r_pos + (1.0 - r_fraction) * length)) - 1)
        if last < first:
            continue
        n = np.arange(first, last + 1)
        u = r_fraction + (n - r_pos) / length
        keep = (u >= 0.0) & (u < 1.0)
        n, u = n[keep], u[keep]
        w = _taper(u, blend)
        acc[n] += w * _read_template(shape, u)
        wsum[n] += w
    covered = wsum > 0
    if not np.any(covered):
        raise ValueError("no beat falls inside the output: check anchors_s, fs and n_samples")
    out = np.zeros(n_samples)
    out[covered] = acc[covered] / wsum[covered]
    if not np.all(covered):
        idx = np.arange(n_samples)
        out[~covered] = np.interp(idx[~covered], idx[covered], out[covered])
    return out


def _window_inputs(window_predictions, window_starts_s):
    """The windows' shapes, heat maps, cycle lengths and starts as float arrays of matching lengths."""
    if not isinstance(window_predictions, Mapping):
        raise TypeError("window_predictions must be a mapping with keys 'shape', 'anchor', 'ppi', "
                        f"got {type(window_predictions).__name__}")
    missing = {"shape", "anchor", "ppi"} - set(window_predictions)
    if missing:
        raise ValueError(f"window_predictions lacks the keys {sorted(missing)}")
    shapes = float_array(window_predictions["shape"], "window_predictions['shape']", ndim=2)
    heatmaps = float_array(window_predictions["anchor"], "window_predictions['anchor']", ndim=2)
    ppi = float_array(window_predictions["ppi"], "window_predictions['ppi']", ndim=1)
    starts = float_array(window_starts_s, "window_starts_s", ndim=1)
    n_windows = starts.size
    if not (shapes.shape[0] == heatmaps.shape[0] == ppi.size == n_windows):
        raise ValueError(
            "window_predictions['shape'], ['anchor'], ['ppi'] and window_starts_s must describe "
            f"the same number of windows, got {shapes.shape[0]}, {heatmaps.shape[0]}, {ppi.size} "
            f"and {n_windows}"
        )
    return shapes, heatmaps, ppi, starts


def _merged_anchors(heatmaps, starts, fs, threshold, min_distance_s, merge_tolerance_s):
    """Steps 1-2 of :func:`reconstruct_from_windows`: every window's anchors, merged across windows."""
    n_windows = starts.size
    times, owners = [], []
    for w in range(n_windows):
        t = detect_anchors(heatmaps[w], fs=fs, threshold=threshold, min_distance_s=min_distance_s)
        times.append(starts[w] + t)
        owners.append(np.full(t.size, w))
    times = np.concatenate(times)
    owners = np.concatenate(owners)
    if times.size == 0:
        raise ValueError("no anchor found in any window's heat map; nothing to reconstruct")
    order = np.argsort(times, kind="stable")
    times, owners = times[order], owners[order]
    merged = []
    group = [0]
    for k in range(1, times.size):
        if times[k] - times[k - 1] > merge_tolerance_s or owners[k] in owners[group]:
            merged.append(times[group].mean())
            group = [k]
        else:
            group.append(k)
    merged.append(times[group].mean())
    anchors = np.asarray(merged)
    return anchors


def _beats_at_anchors(anchors, starts, window_s, shapes, ppi):
    """Step 3 of :func:`reconstruct_from_windows`: the Hann-weighted shape and cycle length at each anchor."""
    beat_shapes, beat_lengths, beat_anchors = [], [], []
    for a in anchors:
        pos = (a - starts) / window_s  # position of the anchor in each window, fraction
        inside = (pos >= 0.0) & (pos <= 1.0)
        if not np.any(inside):
            continue
        weight = np.sin(np.pi * pos[inside]) ** 2 + 1e-6
        weight /= weight.sum()
        beat_shapes.append(weight @ shapes[inside])
        beat_lengths.append(weight @ ppi[inside])
        beat_anchors.append(a)
    beat_shapes, beat_anchors, beat_lengths = (np.asarray(beat_shapes), np.asarray(beat_anchors),
                                               np.asarray(beat_lengths))
    return beat_shapes, beat_anchors, beat_lengths


def _read_template(shape, u):
    """Template value at cycle fractions ``u`` in [0, 1) (sample j at u = j / M).

    Linear interpolation; beyond the last template sample, u > (M - 1) / M, its value is held.
    """
    m = shape.size
    return np.interp(u * m, np.arange(m), shape)


def _taper(u, blend, floor=1e-3):
    """Raised-cosine weight over the cycle fraction ``u``: floor at the ends, 1 inside."""
    w = np.ones_like(u)
    if blend > 0:
        edge = np.minimum(u, 1.0 - u) / blend
        ramp = edge < 1.0
        w[ramp] = 0.5 * (1.0 - np.cos(np.pi * edge[ramp]))
    return floor + (1.0 - floor) * w


def _extremum(x, centre, window_ms, fs, lo_limit, hi_limit):
    """Refined position (samples) of the max/min of ``x`` in a window around ``centre``."""
    start_ms, stop_ms, kind = window_ms
    lo = max(centre + start_ms * fs / 1000.0, lo_limit)
    hi = min(centre + stop_ms * fs / 1000.0, hi_limit)
    i0, i1 = int(np.ceil(lo)), int(np.floor(hi))
    if i0 < 0 or i1 > x.size - 1 or i1 < i0:
        return np.nan
    seg = x[i0:i1 + 1]
    k = i0 + int(np.argmax(seg) if kind == "max" else np.argmin(seg))
    if 0 < k < x.size - 1:
        left, mid, right = x[k - 1], x[k], x[k + 1]
        denom = left - 2.0 * mid + right
        if abs(denom) > 1e-12:
            return k + float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))
    return float(k)


def _positive_scalar(value, name):
    """A finite float > 0; any number, numpy scalar or 0-d array accepted."""
    return positive(number(value, name), name)


def _fraction(value, name):
    """A float in [0, 1); any number, numpy scalar or 0-d array accepted."""
    return fraction(number(value, name), name, high_open=True)
