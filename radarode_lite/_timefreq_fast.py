"""The fast path of :mod:`radarode_lite.timefreq` (chapter 2): partial SST plans, batching, binning.

:func:`radarode_lite.timefreq.spectrogram` and :func:`radarode_lite.timefreq.locate_anchors` state
the transforms of chapter 2; this module computes them quickly. Everything that depends only on
the signal length (the scales that reach the kept band, the padding, the wavelet in the
frequency domain, the polyphase resampler, the sparse log-frequency weights) is planned once per
length and cached (:data:`PLAN_CACHE` lengths, read-only); channels are transformed
:data:`CHANNEL_BATCH` at a time, vectorised yet small enough for the CPU cache. ssqueezepy
itself is only called through :mod:`radarode_lite._ssq`, the resampler is
:mod:`radarode_lite._polyphase`.
"""

from __future__ import annotations

import functools
from types import MappingProxyType

import numpy as np

from radarode_lite import _polyphase, _ssq

MARGIN_OCTAVES = 1.0  # octaves of scales computed below the lowest kept frequency (their energy reaches up)
CHANNEL_BATCH = 2  # channels transformed together: vectorised, yet small enough for the cache
PLAN_CACHE = 8  # signal lengths whose data-independent set-up (scales, wavelet, resampling) is kept


def band_energy(x, fs, lo, hi, voices_per_octave, band):
    """Per-channel SST band energy ``sum_{lo <= f <= hi} |T(f, b)|^2`` of ``x`` (C, N): (C, N) float64.

    Only the scales that reach the band (from one octave below ``lo``) are computed, in batches
    of :data:`CHANNEL_BATCH` channels. ValueError naming ``band`` if no SST frequency lies in it.
    """
    plan = partial_sst_plan(x.shape[1], fs, lo * 2**-MARGIN_OCTAVES, voices_per_octave)
    freqs = plan["ssq_freqs"][plan["drop"] :]
    rows = (freqs >= lo) & (freqs <= hi)
    if not rows.any():
        raise ValueError(f"band {band} Hz contains none of the SST frequencies ({freqs[0]:.3g}-{freqs[-1]:.3g} Hz)")
    energy = np.empty(x.shape, dtype=np.float64)  # (C, N)
    for start in range(0, x.shape[0], CHANNEL_BATCH):
        mag, _ = partial_sst(x[start : start + CHANNEL_BATCH], fs, plan)
        energy[start : start + mag.shape[0]] = np.sum(mag[:, rows] ** 2, axis=1, dtype=np.float64)
    return energy


def sst_spectrogram(x, fs, f_min_hz, f_max_hz, n_freqs, frame_rate_hz):
    """|SST| of ``x`` (C, N) on ``n_freqs`` log-spaced bins over ``[f_min_hz, f_max_hz]`` at ``frame_rate_hz``.

    Steps 2-4 of :func:`radarode_lite.timefreq.spectrogram` before the clipping at 0: for each
    batch of channels, the complex SST rows the bins use, their magnitude, resampled in time
    first (it shrinks the rows 6.7 times), then binned in frequency. Returns float32
    ``(C, n_freqs, n_frames)``.
    """
    plan = partial_sst_plan(x.shape[1], fs, f_min_hz * 2**-MARGIN_OCTAVES)
    grid = spectrogram_grid(x.shape[1], fs, f_min_hz, f_max_hz, n_freqs, frame_rate_hz)
    out = np.empty((x.shape[0], n_freqs, grid["n_frames"]), dtype=np.float32)
    for start in range(0, x.shape[0], CHANNEL_BATCH):
        Tx = partial_sst_tx(x[start : start + CHANNEL_BATCH], fs, plan)  # (c, M, N), highest frequency first
        mag = np.abs(Tx[:, grid["rows"]])  # only the rows the bins use
        frames = _polyphase.resample(mag, grid["resampler"])  # (c, rows, n_frames): time first, it shrinks 6.7 x
        bin_frequencies(frames, grid["bins"], out=out[start : start + mag.shape[0]])  # (c, F, n_frames)
    return out


@functools.lru_cache(maxsize=PLAN_CACHE)
def partial_sst_plan(n, fs, f_low, voices_per_octave=10):
    """What :func:`partial_sst` needs for signals of ``n`` samples: scales, frequencies, padding.

    Cached per ``(n, fs, f_low, voices_per_octave)`` (read-only mapping and arrays): the same
    plan, and the wavelet object that keeps its frequency-domain samples between calls, is
    reused by every batch and every recording of that length.

    The frequency axis is the one :func:`radarode_lite.timefreq.sst` gives for ``n`` samples (log-spaced between the
    centre frequencies of the largest and smallest scale); only its rows from ``f_low`` up
    are computed, plus one row below that absorbs the phase-transform values that fall under
    the axis and is dropped. Padding: ssqueezepy reflects the signal up to a power of two
    at least twice as long; for long signals it is enough (and about twice as fast) to
    reflect 4 standard deviations of the widest wavelet whose row is kept on each side.
    """
    from scipy.fft import next_fast_len

    wavelet = _ssq.wavelet()
    scales = _ssq.log_scales(n, wavelet, voices_per_octave)  # small -> large
    padded = _ssq.padded_length(n)
    f_hi = _ssq.peak_frequency_hz(wavelet, scales[0], padded, fs)
    f_lo = _ssq.peak_frequency_hz(wavelet, scales[-1], padded, fs)
    full = f_lo * (f_hi / f_lo) ** (np.arange(scales.size) / (scales.size - 1))  # ascending, as sst()
    first = max(0, int(np.searchsorted(full, f_low)) - 1)
    m = scales.size - first
    # the Morlet wavelet at scale s has a time spread of s samples; cover 4 spreads of the widest
    # wavelet whose row is kept (the margin rows are only there to catch energy squeezed upwards)
    kept_widest = scales[min(m - 1, scales.size - 1 - int(np.searchsorted(full, f_low * 2**MARGIN_OCTAVES)))]
    pad = int(np.ceil(4 * kept_widest))
    length = next_fast_len(n + 2 * pad)
    own_padding = length < padded
    return MappingProxyType({
        "wavelet": wavelet,
        "scales": read_only(scales[:m].astype(np.float32)),
        "ssq_freqs": read_only(full[first:].copy()),
        "drop": 1 if first > 0 else 0,
        "pad": (pad, length - n - pad) if own_padding else None,
        "n": n,
    })  # fmt: skip


def partial_sst(x, fs, plan):
    """|SST| of ``x`` (c, N) at the plan's frequencies, ascending: (c, n_rows, N), (n_rows,) Hz."""
    mag = np.abs(partial_sst_tx(x, fs, plan)[..., ::-1, :])
    return mag[..., plan["drop"] :, :], plan["ssq_freqs"][plan["drop"] :]


def partial_sst_tx(x, fs, plan):
    """Complex SST of ``x`` (c, N) at all the plan's frequencies, highest first as ssqueezepy gives it: (c, M, N).

    ssqueezepy's two stages, ``cwt`` (with the derivative dW/db) and ``ssqueeze``, called
    separately so that the padding is cut off before squeezing, as ``ssq_cwt`` does.
    """
    n = plan["n"]
    if plan["pad"] is None:
        xp, padtype, lo = x, "reflect", 0
    else:
        xp, padtype, lo = np.pad(x, ((0, 0), plan["pad"]), mode="reflect"), None, plan["pad"][0]
    Wx, dWx, scales = _ssq.cwt_with_derivative(xp, plan["wavelet"], plan["scales"], fs, padtype)
    if lo or Wx.shape[-1] != n:  # views: ssqueezepy's kernels index them directly, no copy needed
        Wx, dWx = Wx[..., lo : lo + n], dWx[..., lo : lo + n]
    Tx = _ssq.squeeze(Wx, dWx, plan["ssq_freqs"], scales, fs, plan["wavelet"])
    return Tx


@functools.lru_cache(maxsize=PLAN_CACHE)
def spectrogram_grid(n, fs, f_min_hz, f_max_hz, n_freqs, frame_rate_hz):
    """Data-independent part of :func:`sst_spectrogram` for ``n`` samples: frame count, resampler, frequency weights."""
    plan = partial_sst_plan(n, fs, f_min_hz * 2**-MARGIN_OCTAVES)
    up, down = frame_ratio(fs, frame_rate_hz)
    freqs = plan["ssq_freqs"][plan["drop"] :]  # ascending
    weights = log_frequency_weights(freqs, np.geomspace(f_min_hz, f_max_hz, n_freqs))  # (F, n_rows)
    used = np.flatnonzero(weights.any(axis=0))
    lo, hi = int(used[0]), int(used[-1])  # ascending rows lo..hi carry weight
    top = plan["ssq_freqs"].size - 1 - plan["drop"]  # ascending row a is row top - a of ssqueezepy's output
    resampler = _polyphase.resampler(n, up, down)
    return MappingProxyType({
        "n_frames": resampler["n_out"],
        "resampler": resampler,
        "rows": slice(top - hi, top - lo + 1),
        "bins": sparse_rows(weights[:, lo : hi + 1][:, ::-1]),  # columns in ssqueezepy's (descending) order
    })  # fmt: skip


def sparse_rows(weights):
    """(F, R) weights with at most k non-zeros per row as ``(rows, coefs)``, both (k, F) (zero-padded)."""
    k = max(1, int((weights != 0).sum(axis=1).max()))
    order = np.argsort(weights == 0, axis=1, kind="stable")[:, :k]  # non-zero columns first, in ascending order
    coefs = np.take_along_axis(weights, order, axis=1)
    return read_only(np.ascontiguousarray(order.T)), read_only(np.ascontiguousarray(coefs.T.astype(np.float32)))


def bin_frequencies(frames, bins, out):
    """``out[c] = weights @ frames[c]`` for (c, R, T) ``frames``, with the sparse weights of :func:`sparse_rows`.

    The weights have two to five non-zeros per row: gathering those rows costs far less than
    a dense product, and stays on the calling thread.
    """
    rows, coefs = bins
    np.multiply(frames[:, rows[0]], coefs[0][:, None], out=out)
    for j in range(1, rows.shape[0]):
        out += frames[:, rows[j]] * coefs[j][:, None]
    return out


def read_only(a):
    a.flags.writeable = False
    return a


def log_frequency_weights(src_hz, dst_hz):
    """(len(dst), len(src)) interpolation matrix in log frequency; triangles wide enough to average when coarsening."""
    u = np.log(src_hz)
    v = np.log(dst_hz)
    step_src = (u[-1] - u[0]) / max(1, u.size - 1)
    step_dst = (v[-1] - v[0]) / max(1, v.size - 1) if v.size > 1 else step_src
    width = max(step_src, step_dst)
    w = np.clip(1 - np.abs(v[:, None] - u[None, :]) / width, 0, None)
    total = w.sum(axis=1, keepdims=True)
    return (w / np.where(total > 0, total, 1)).astype(np.float32)


def frame_ratio(fs, frame_rate_hz):
    from fractions import Fraction

    ratio = Fraction(frame_rate_hz).limit_denominator(1000) / Fraction(fs).limit_denominator(1000)
    return ratio.numerator, ratio.denominator
