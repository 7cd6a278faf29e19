"""The noise models of the radar signal: constant noise and abrupt bursts (chapters 1 and 14).

radarODE-MTL's robustness study (Zhang et al., IEEE TIM 2025, Tables III and V) degrades the
radar signal in two ways, both modelled here once for the whole package:

- constant noise, which lowers the SNR all the time (a radar pointed off the chest, a long
  distance, thermal noise): :func:`add_constant_noise`, and :func:`add_radar_noise` for the
  channels of a recording;
- abrupt noise, a burst of a few seconds that stands for a body movement:
  :func:`add_abrupt_noise`, with :func:`draw_bursts` and :func:`seeded_bursts` choosing which
  segments of a recording get one and where.

The radarODE-MTL authors' released code (``spectrum_dataset.py``) adds both kinds elsewhere: to
the network's input, the normalised spectrogram, with the SNR measured on that input itself,
and bursts to one segment in five. :func:`add_input_noise`, :func:`add_input_burst` and
:func:`input_burst_segments` do that; the functions above are the physical view, noise on the
radar phase.

The SNR of a radar channel is relative to its cardiac part, the channel high-passed at
:data:`~radarode_lite.conventions.CARDIAC_HIGHPASS_HZ` (:func:`cardiac_part`): breathing (below
1 Hz) would otherwise carry almost all the power, and "0 dB" noise would bury the heart.

Only numpy and scipy are needed (no torch). Every random function takes ``rng``: ``None``
(fresh entropy), an ``int`` seed or a :class:`numpy.random.Generator`.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy import signal as sps

from radarode_lite import _checks
from radarode_lite._checks import finite_array
from radarode_lite._checks import positive as _positive
from radarode_lite._checks import real_number as _finite
from radarode_lite.conventions import CARDIAC_HIGHPASS_HZ, FRAME_RATE_HZ, FS

__all__ = [
    "CARDIAC_HIGHPASS_HZ",
    "add_constant_noise",
    "add_abrupt_noise",
    "cardiac_part",
    "add_radar_noise",
    "draw_bursts",
    "seeded_bursts",
    "INPUT_BURST_SHARE",
    "add_input_noise",
    "add_input_burst",
    "input_burst_segments",
]

#: Share of segments that get a burst in the authors' code (``spectrum_dataset.py``: 20 %).
INPUT_BURST_SHARE = 0.2


def add_constant_noise(x, snr_db, rng=None, axis=-1):
    """Add white Gaussian noise at ``snr_db`` over the whole signal: the paper's constant noise (chapter 1).

    Constant noise stands for what lowers the SNR all the time: a radar pointed off the
    chest, a long distance, thermal noise (Zhang et al., 2025, Table III: 6 to -3 dB).
    The signal power is its variance along ``axis`` (per channel for 2-D input; the mean, a
    static phase, carries no information), and the noise drawn is rescaled so that its
    power is exactly ``P_signal / 10^(snr_db / 10)``.

    Parameters
    ----------
    x : (N,) or (..., N) array, finite, not constant along ``axis``.
    snr_db : dB, finite.
    rng : None, int seed or numpy Generator.
    axis : time axis (default last; use ``axis=0`` for MMECG's samples x channels).

    Returns
    -------
    A new array, x + noise.
    """
    x = finite_array(x, "x")
    snr_db = _finite(snr_db, "snr_db")
    axis = _axis(axis, x)
    rng = _checks.rng(rng)
    p_signal = np.var(x, axis=axis, keepdims=True)
    if np.any(p_signal <= 0):
        raise ValueError("x must not be constant along the time axis: its power (variance) is 0, so SNR is undefined")
    noise = _unit_power_noise(x.shape, axis, rng)
    return x + noise * np.sqrt(p_signal / 10 ** (snr_db / 10))


def add_abrupt_noise(x, fs, duration_s, snr_db, rng=None, start_s=None, axis=-1):
    """Add one burst of white Gaussian noise: the paper's abrupt noise, body movement (chapter 1).

    A random body movement ruins the cardiac features for a while (Zhang et al., 2025,
    Table V: bursts of 1-3 s at 0 dB, mild, or -9 dB, extensive movement). The burst lasts
    ``round(duration_s * fs)`` samples starting at ``start_s`` (uniformly random inside the
    signal when None); within it the noise power is exactly the signal's power (variance
    over the whole signal along ``axis``, per channel) divided by ``10^(snr_db / 10)``.
    All channels share the burst's position. Outside the burst ``x`` is unchanged.

    Parameters
    ----------
    x : (N,) or (..., N) array, finite, not constant along ``axis``.
    fs : Hz, > 0.
    duration_s : s, > 0 and at most the signal's duration.
    snr_db : dB, finite.
    rng : None, int seed or numpy Generator.
    start_s : s, burst start, >= 0 with the burst inside the signal; None draws it.
    axis : time axis (default last; use ``axis=0`` for MMECG's samples x channels).

    Returns
    -------
    A new array, x with the burst added.
    """
    x = finite_array(x, "x")
    fs = _positive(fs, "fs")
    duration_s = _positive(duration_s, "duration_s")
    snr_db = _finite(snr_db, "snr_db")
    axis = _axis(axis, x)
    rng = _checks.rng(rng)
    n = x.shape[axis]
    n_burst = int(round(duration_s * fs))
    if n_burst > n:
        raise ValueError(f"duration_s ({duration_s} s) is longer than the signal ({n / fs} s)")
    n_burst = max(n_burst, 1)
    if start_s is None:
        start = int(rng.integers(0, n - n_burst + 1))
    else:
        start_s = _finite(start_s, "start_s")
        start = int(round(start_s * fs))
        if start_s < 0 or start + n_burst > n:
            raise ValueError(f"start_s must be >= 0 with the burst inside the signal, got {start_s} s")
    p_signal = np.var(x, axis=axis, keepdims=True)
    if np.any(p_signal <= 0):
        raise ValueError("x must not be constant along the time axis: its power (variance) is 0, so SNR is undefined")
    xm = np.moveaxis(x, axis, -1).copy()
    shape = xm.shape[:-1] + (n_burst,)
    noise = _unit_power_noise(shape, -1, rng) * np.sqrt(np.moveaxis(p_signal, axis, -1) / 10 ** (snr_db / 10))
    xm[..., start : start + n_burst] += noise
    return np.moveaxis(xm, -1, axis)


def cardiac_part(x, fs, axis=-1) -> np.ndarray:
    """The cardiac part of radar channels: ``x`` high-passed at :data:`CARDIAC_HIGHPASS_HZ` (chapter 1).

    A 4th-order Butterworth high-pass applied forwards and backwards (zero phase,
    ``scipy.signal.sosfiltfilt``) along ``axis``. Its power is the reference of every SNR of
    the robustness study (chapter 14).

    Parameters
    ----------
    x : (..., N) array, finite, more than 27 samples along ``axis``.
    fs : Hz, > 2 * CARDIAC_HIGHPASS_HZ.
    axis : time axis (default last; ``axis=0`` for MMECG's samples x channels).

    Returns
    -------
    float64 array of ``x``'s shape.
    """
    x = finite_array(x, "x")
    axis = _axis(axis, x)
    sos = sps.butter(4, CARDIAC_HIGHPASS_HZ, btype="high", fs=_positive(fs, "fs"), output="sos")
    return sps.sosfiltfilt(sos, x, axis=axis)


def add_radar_noise(rcg, snr_db, fs=FS, rng=None) -> np.ndarray:
    """Constant noise on every radar channel at ``snr_db`` relative to its cardiac part (chapter 4).

    White Gaussian noise is drawn by :func:`add_constant_noise` for the cardiac part of each
    channel (:func:`cardiac_part`) and added to the whole channel, breathing included: the
    noise power is exactly ``P_cardiac / 10^(snr_db / 10)`` per channel. This is the constant
    noise of the paper's Table III (6 to -3 dB).

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
    cardiac = cardiac_part(rcg, _positive(fs, "fs"), axis=0)
    return rcg + (add_constant_noise(cardiac, _finite(snr_db, "snr_db"), rng=rng, axis=0) - cardiac)


def draw_bursts(n_segments, abrupt, window_s, rng) -> list:
    """Which of ``n_segments`` windows get a burst of abrupt noise, and where (chapter 4).

    ``abrupt = (fraction, snr_db, (min_s, max_s))``: ``round(fraction * n_segments)`` windows
    drawn without replacement from ``rng``; then, window by window in increasing order, a
    duration uniform in ``[min_s, max_s]`` s and an offset uniform in ``[0, window_s -
    duration]`` s from the window start (both from ``rng``).

    Returns
    -------
    A list of ``n_segments`` entries: None, or ``{"start_s", "duration_s", "snr_db"}``.
    """
    n_segments = _checks.non_negative_int(n_segments, "n_segments")
    bursts = [None] * n_segments
    abrupt = _check_abrupt(abrupt, _positive(window_s, "window_s"))
    if abrupt is None or not n_segments:
        return bursts
    fraction, snr_db, (min_s, max_s) = abrupt
    rng = _checks.rng(rng)
    chosen = np.sort(rng.choice(n_segments, size=int(round(fraction * n_segments)), replace=False))
    for j in chosen:
        duration = float(rng.uniform(min_s, max_s))
        offset = float(rng.uniform(0.0, window_s - duration))
        bursts[j] = {"start_s": offset, "duration_s": duration, "snr_db": float(snr_db)}
    return bursts


def seeded_bursts(n_segments, fraction, duration_s, snr_db, window_s, entropy) -> dict:
    """Bursts of a fixed length placed in ``fraction`` of ``n_segments`` windows, each with its own stream (chapter 14).

    ``round(fraction * n_segments)`` windows (all of them when that is every window) are
    drawn without replacement by ``numpy.random.default_rng(SeedSequence(entropy))``; window
    ``k`` then gets the stream ``default_rng(SeedSequence([*entropy, k]))``, which draws the
    burst's offset, uniform in ``[0, window_s - duration_s]`` s from the window start, and is
    handed on (key ``"rng"``) to draw the burst's noise. So a window's burst does not depend
    on which other windows are evaluated.

    Parameters
    ----------
    n_segments : int >= 0.
    fraction : in [0, 1].
    duration_s : s, > 0, at most ``window_s``.
    snr_db : dB, finite.
    window_s : s, > 0.
    entropy : sequence of ints >= 0 (e.g. ``(seed, condition hash, trial)``).

    Returns
    -------
    ``{k: {"start_s", "duration_s", "snr_db", "rng"}}`` for the chosen windows ``k``.
    """
    n = _checks.non_negative_int(n_segments, "n_segments")
    fraction = _checks.fraction(fraction, "fraction")
    window_s = _positive(window_s, "window_s")
    if not 0 < _finite(duration_s, "duration_s") <= window_s:
        raise ValueError(f"duration_s must satisfy 0 < duration_s <= window_s = {window_s} s, got {duration_s}")
    entropy = [int(v) for v in entropy]
    pick = np.random.default_rng(np.random.SeedSequence(entropy))
    count = int(round(fraction * n))
    chosen = range(n) if count == n else np.sort(pick.choice(n, size=count, replace=False))
    out = {}
    for k in chosen:
        rng = np.random.default_rng(np.random.SeedSequence([*entropy, int(k)]))
        offset = float(rng.uniform(0.0, window_s - duration_s))
        out[int(k)] = {"start_s": offset, "duration_s": duration_s, "snr_db": snr_db, "rng": rng}
    return out


# ---------------------------------------------------------------------------------------
# Noise on the network input, as the authors' released code adds it
# ---------------------------------------------------------------------------------------


def add_input_noise(sst, snr_db, rng=None) -> np.ndarray:
    """Gaussian noise on a normalised spectrogram at ``snr_db`` per channel, as the authors add it (chapter 14).

    For every channel ``c`` of the input (the radar channels of Table III's constant noise),
    the signal power is the mean square of that channel's ``(F, T)`` image,
    :math:`P_c = \\overline{x_c^2}`, and white Gaussian noise of variance
    :math:`P_c / 10^{\\mathrm{SNR}/10}` is added to every pixel (``add_gaussian_sst`` in
    ``spectrum_dataset.py`` of the radarODE-MTL code). The noise is drawn, not rescaled: its
    measured power scatters around the target as a random draw does.

    Parameters
    ----------
    sst : (C, F, T) or (B, C, F, T) array, finite: the normalised network input.
    snr_db : dB, finite.
    rng : None, int seed or numpy Generator; channels draw in order, one ``(F, T)`` block each.

    Returns
    -------
    A new float64 array of the shape of ``sst``.
    """
    x = _input(sst, "sst")
    snr_db = _finite(snr_db, "snr_db")
    power = np.mean(x**2, axis=(-2, -1), keepdims=True)
    noise = _checks.rng(rng).standard_normal(x.shape)
    return x + noise * np.sqrt(power / 10.0 ** (snr_db / 10.0))


def add_input_burst(sst, duration_s, snr_db, rng=None, frame_rate_hz=FRAME_RATE_HZ) -> np.ndarray:
    """One burst of Gaussian noise on ``duration_s`` seconds of a normalised spectrogram (chapter 14).

    As ``add_abrupt_sst`` of the authors' ``spectrum_dataset.py``: the burst covers
    ``L = int(duration_s * frame_rate_hz)`` frames (at most ``T - 1``) starting at a frame drawn
    uniformly from ``0 .. T - L - 1``; in each channel the noise power is that channel's mean
    square over the burst's frames divided by :math:`10^{\\mathrm{SNR}/10}` (Table V: -9 dB for
    extensive movement, 0 dB for mild). Frames outside the burst are unchanged.

    Parameters
    ----------
    sst : (C, F, T) array, finite, T >= 2.
    duration_s : s, > 0.
    snr_db : dB, finite.
    rng : None, int seed or numpy Generator (the start, then the noise).
    frame_rate_hz : frames per second of ``sst`` (30).

    Returns
    -------
    ``(noisy copy, start frame, number of frames)``.
    """
    x = _input(sst, "sst", batched=False)
    duration_s, snr_db = _positive(duration_s, "duration_s"), _finite(snr_db, "snr_db")
    n_frames = x.shape[-1]
    if n_frames < 2:
        raise ValueError(f"sst must have at least 2 frames for a burst, got {n_frames}")
    length = max(1, min(int(duration_s * _positive(frame_rate_hz, "frame_rate_hz")), n_frames - 1))
    rng = _checks.rng(rng)
    start = int(rng.integers(0, n_frames - length))
    out = x.copy()
    part = out[..., start : start + length]
    power = np.mean(part**2, axis=(-2, -1), keepdims=True)
    part += rng.standard_normal(part.shape) * np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return out, start, length


def input_burst_segments(n_segments, share=INPUT_BURST_SHARE, rng=None) -> np.ndarray:
    """The segments that get a burst: ``int(share * n_segments)`` of them, without replacement (chapter 14).

    The authors' data set picks ``int(0.2 * n)`` of its ``n`` segments once, when it is built
    (``np.random.choice(n, size, replace=False)``), and adds a burst to those alone.

    Returns
    -------
    The sorted indices, an int array.
    """
    n = _checks.non_negative_int(n_segments, "n_segments")
    count = int(_checks.fraction(share, "share") * n)
    return np.sort(_checks.rng(rng).choice(n, size=count, replace=False)) if count else np.zeros(0, dtype=int)


# ---------------------------------------------------------------------------------------
# Internal functions
# ---------------------------------------------------------------------------------------


def _check_abrupt(abrupt, window_s):
    """``abrupt`` as ``(fraction, snr_db, (min_s, max_s))`` of floats, or None; ValueError if malformed."""
    if abrupt is None:
        return None
    try:
        fraction, snr_db, (min_s, max_s) = abrupt
    except (TypeError, ValueError) as exc:
        raise ValueError(f"abrupt must be None or (fraction, snr_db, (min_s, max_s)), got {abrupt!r}") from exc
    fraction = _checks.fraction(fraction, "abrupt fraction")
    snr_db = _finite(snr_db, "abrupt snr_db")
    min_s, max_s = _positive(min_s, "abrupt min_s"), _positive(max_s, "abrupt max_s")
    if not min_s <= max_s <= window_s:
        raise ValueError(f"abrupt durations must satisfy 0 < min_s <= max_s <= {window_s} s, got ({min_s}, {max_s})")
    return fraction, snr_db, (min_s, max_s)


def _unit_power_noise(shape, axis, rng):
    """White Gaussian noise with mean-square exactly 1 along ``axis`` (zero mean)."""
    w = rng.standard_normal(shape)
    w = w - w.mean(axis=axis, keepdims=True) if w.shape[axis] > 1 else w
    p = np.mean(w**2, axis=axis, keepdims=True)
    return w / np.sqrt(np.where(p > 0, p, 1.0))


def _axis(axis, x):
    if isinstance(axis, bool) or not isinstance(axis, Integral):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {x.ndim} dimension(s)")
    return axis % x.ndim


def _input(sst, name, batched=True) -> np.ndarray:
    """``sst`` as a finite float64 array of shape (C, F, T), or (B, C, F, T) where allowed."""
    x = finite_array(sst, name)
    ndims = (3, 4) if batched else (3,)
    if x.ndim not in ndims:
        shapes = "(C, F, T) or (B, C, F, T)" if batched else "(C, F, T)"
        raise ValueError(f"{name} must have shape {shapes}, got {x.shape}")
    return x
