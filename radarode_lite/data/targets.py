r"""Targets of a segment and the cutting of a recording into segments (chapter 4).

radarODE-MTL (Zhang et al., IEEE TIM 2025) learns from 4-s windows of a recording. For each
window this module computes the network input and the three targets: the |SST| spectrogram
``sst``, the single-cycle ``shape`` of the beat nearest the window centre, its cycle length
``ppi`` and the R-peak heat map ``anchor`` (see :mod:`radarode_lite.data` for the
definitions). R peaks of a real ECG are found by :func:`detect_r_peaks`; the targets of one
window come from :func:`window_targets` (with :func:`cycle_bounds`, :func:`shape_target`,
:func:`ppi_target`, :func:`anchor_heatmap`); :func:`segment_recording` cuts a whole
recording into :class:`Segments`, abrupt noise included (:mod:`radarode_lite.noise`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

from radarode_lite import _checks, noise, timefreq
from radarode_lite._checks import finite_array
from radarode_lite._checks import positive as _positive
from radarode_lite._checks import real_number as _real
from radarode_lite.conventions import (
    ANCHOR_SAMPLES,
    ANCHOR_SIGMA_SAMPLES,
    FS,
    HOP_S,
    PPI_CLASSES,
    R_FRACTION,
    SHAPE_SAMPLES,
    WINDOW_S,
)

__all__ = [
    "detect_r_peaks",
    "cycle_bounds",
    "shape_target",
    "ppi_target",
    "anchor_heatmap",
    "window_targets",
    "Segments",
    "segment_recording",
]

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
    threshold = _checks.fraction(threshold, "threshold", low_open=True, high_open=True)
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
    r_fraction = _checks.fraction(r_fraction, "r_fraction", high_open=True)
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
    n_samples = _checks.integer(n_samples, "n_samples", low=0)
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


def anchor_heatmap(r_peaks_s, start_s=0.0, n_samples=ANCHOR_SAMPLES, fs=FS,
                   sigma_samples=ANCHOR_SIGMA_SAMPLES) -> np.ndarray:  # fmt: skip
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
    n_samples = _checks.integer(n_samples, "n_samples", low=0)
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
    ``P_cardiac / 10^(snr_db/10)`` (:func:`radarode_lite.noise.add_abrupt_noise`; P_cardiac
    per channel over the recording, of the channel's cardiac part,
    :func:`radarode_lite.noise.cardiac_part`).
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
    rcg, ecg, fs, spec, window_s, hop_s = _check_recording(rcg, ecg, fs, preset, window_s, hop_s)
    n_win = int(round(window_s * fs))
    if r_peaks_s is None:
        peaks = detect_r_peaks(ecg, fs)
    else:
        peaks = finite_array(r_peaks_s, "r_peaks_s", allow_empty=True).ravel()
    if np.any(np.diff(peaks) <= 0):
        raise ValueError("r_peaks_s must be strictly increasing")
    abrupt = noise._check_abrupt(abrupt, window_s)
    rng = _checks.rng(rng)

    x = np.ascontiguousarray(rcg.T)  # (C, N)
    full = timefreq.spectrogram(x, fs, spec)  # (C', F, T_total), not normalised
    n_frames = int(round(window_s * spec.frame_rate_hz))
    kept, targets, skipped = _windows_with_targets(ecg, peaks, full.shape[-1], fs, spec, window_s, hop_s)
    bursts = noise.draw_bursts(len(kept), abrupt, window_s, rng)
    sst = _window_spectrograms(x, full, kept, bursts, fs, spec, n_frames, rng)
    n_seg = len(kept)
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


# ---------------------------------------------------------------------------------------
# Internal functions
# ---------------------------------------------------------------------------------------


def _check_recording(rcg, ecg, fs, preset, window_s, hop_s):
    """Checked ``(rcg, ecg, fs, preset spec, window_s, hop_s)`` of :func:`segment_recording`."""
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
    if rcg.shape[0] < int(round(window_s * fs)):
        raise ValueError(f"the recording ({rcg.shape[0] / fs:g} s) is shorter than one window ({window_s:g} s)")
    return rcg, ecg, fs, spec, window_s, hop_s


def _windows_with_targets(ecg, peaks, total_frames, fs, spec, window_s, hop_s):
    """Window starts (samples) kept, their targets, and the starts (s) of the windows skipped.

    A window is skipped when its frames reach past the spectrogram's ``total_frames`` or no
    complete beat lies in it (:func:`window_targets` returns None).
    """
    n_win, n_frames = int(round(window_s * fs)), int(round(window_s * spec.frame_rate_hz))
    hop = int(round(hop_s * fs))
    kept, targets, skipped = [], [], []
    for i0 in np.arange(0, len(ecg) - n_win + 1, hop):
        f0 = int(round(i0 / fs * spec.frame_rate_hz))
        target = window_targets(ecg, peaks, i0 / fs, fs, window_s) if f0 + n_frames <= total_frames else None
        if target is None:
            skipped.append(float(i0 / fs))
            continue
        kept.append(int(i0))
        targets.append(target)
    return kept, targets, skipped


def _window_spectrograms(x, full, kept, bursts, fs, spec, n_frames, rng):
    """(S, C, F, T) float32: each kept window's frames, normalised; a window with a burst from its own transform.

    For a window with a burst, the whole recording ``x`` (C, N) with that one burst (drawn by
    :func:`radarode_lite.noise.add_abrupt_noise` on the cardiac part, from ``rng``) is
    transformed again and the window sliced from it.
    """
    sst = np.empty((len(kept),) + full.shape[:2] + (n_frames,), dtype=np.float32)
    cardiac = noise.cardiac_part(x, fs, axis=-1) if any(b is not None for b in bursts) else None
    for j, i0 in enumerate(kept):
        f0 = int(round(i0 / fs * spec.frame_rate_hz))
        if bursts[j] is None:
            source = full
        else:  # the whole recording with this one burst, transformed again
            b = bursts[j]
            noisy = noise.add_abrupt_noise(cardiac, fs, b["duration_s"], b["snr_db"], rng=rng,
                                           start_s=i0 / fs + b["start_s"])  # fmt: skip
            source = timefreq.spectrogram(x + (noisy - cardiac), fs, spec)
        sst[j] = timefreq.normalise_per_channel(source[:, :, f0 : f0 + n_frames])
    return sst
