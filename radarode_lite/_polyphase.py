"""Polyphase resampling of many rows at once as two matrix products: ``scipy.signal.resample_poly``, faster.

:func:`radarode_lite.timefreq.spectrogram` resamples every |SST| row it keeps from 200 Hz to
30 Hz. ``scipy.signal.resample_poly`` does this one row at a time; here the same filter is laid
out as matrices once per signal length and applied to all rows by a few matrix products.
``python data_scripts/bench_resample.py`` measured it 4.7 times faster than
``resample_poly`` for the paper preset (one minute, 50 channels, 73 rows per channel: 0.27 s
against 1.25 s, of a 5.5 s spectrogram; largest difference 7e-7 of the largest value), which
is why this copy of scipy's filter is kept. ``tests/test_polyphase.py`` checks it against
``resample_poly`` (filter passed explicitly, so a change of scipy's defaults cannot hide) and
against ``scipy.signal.upfirdn`` with the filter below.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

GEMM_BUDGET = 2**18  # multiply-adds per matrix product (OpenBLAS runs products this small on the calling thread)
KAISER_BETA = 5.0  # resample_poly's default window, ("kaiser", 5.0)


def lowpass_filter(up, down) -> np.ndarray:
    """The anti-aliasing FIR of ``resample_poly(x, up, down)`` with its default window, times ``up``."""
    g = math.gcd(up, down)
    max_rate = max(up, down) // g
    return sps.firwin(20 * max_rate + 1, 1.0 / max_rate, window=("kaiser", KAISER_BETA)) * (up // g)


def resampler(n, up, down):
    """``scipy.signal.resample_poly(x, up, down)`` of ``n`` samples (default Kaiser window, zero padding) as matrices.

    resample_poly computes ``y[m] = sum_k x[k] h[(m + P) down - k up]`` with its FIR ``h``
    (``firwin(20 max(up, down) + 1, 1 / max(up, down), ('kaiser', 5))`` times ``up``, after
    ``pre`` zeros) and ``P`` output samples dropped at the start. With ``m = up q + r`` and
    ``k = down q + s`` the coefficient ``h[(r + P) down - s up]`` does not depend on ``q``:
    cut the zero-padded input into blocks of ``down`` samples, and each block of ``up``
    outputs is ``sum_b block[q + b] @ K[b]`` over ``n_taps`` (down, up) matrices ``K[b]``.
    ``G = n_taps - 1`` consecutive blocks form a super-block; the ``G`` output blocks of
    super-block ``j`` are ``X[j] @ main + X[j + 1][:tail] @ tail``, two matrix products of a
    useful size.
    """
    h = lowpass_filter(up, down)
    g = math.gcd(up, down)
    up, down = up // g, down // g
    half_len = 10 * max(up, down)
    pre = down - half_len % down
    drop = (half_len + pre) // down
    h = np.concatenate([np.zeros(pre), h])
    n_out = -(-n * up // down)
    s_min = min(((r + drop) * down - h.size) // up + 1 for r in range(up))
    s_max = max((r + drop) * down // up for r in range(up))
    left = -(-max(0, -s_min) // down) * down  # zeros before the signal, a whole number of blocks
    n_taps = -(-(s_max + left + 1) // down)  # input blocks each output block depends on
    t = np.arange(n_taps * down)[:, None]  # row t <-> input offset s = t - left
    idx = (np.arange(up)[None, :] + drop) * down - (t - left) * up
    kernel = np.where((idx >= 0) & (idx < h.size), h[np.clip(idx, 0, h.size - 1)], 0.0).reshape(n_taps, down, up)
    group = max(1, n_taps - 1)
    big = np.zeros(((group + n_taps - 1) * down, group * up))  # [main; tail]
    for q in range(group):  # output block q of a super-block reads input blocks q .. q + n_taps - 1
        for b in range(n_taps):
            big[(q + b) * down : (q + b + 1) * down, q * up : (q + 1) * up] = kernel[b]
    n_groups = -(-n_out // (group * up))
    return {
        "main": _read_only(big[: group * down].astype(np.float32)),
        "tail": _read_only(big[group * down :].astype(np.float32)),
        "left": left,
        "n_groups": n_groups,
        "n_out": n_out,
    }


def resample(x, resampler):
    """``x`` (..., n) resampled along its last axis with a :func:`resampler`: (..., n_out) float32.

    Every row is zero-padded to ``n_groups + 1`` super-blocks and all rows are laid end to end,
    so that the products run over many super-blocks at once (the tail of a row's last
    super-block reads the next row's first, an output that is dropped). The products are
    split into pieces of at most :data:`GEMM_BUDGET` multiply-adds: they stay in the cache and
    on the calling thread (a multi-threaded BLAS keeps a second core busy waiting between calls).
    """
    main, tail = resampler["main"], resampler["tail"]
    width, span = main.shape[0], tail.shape[0]  # samples per super-block, samples read from the next one
    lead = x.shape[:-1]
    per_row = resampler["n_groups"] + 1
    used = min(x.shape[-1], per_row * width - resampler["left"])  # later samples reach no kept output
    padded = np.zeros(lead + (per_row * width,), dtype=np.float32)
    padded[..., resampler["left"] : resampler["left"] + used] = x[..., :used]
    X = padded.reshape(-1, width)
    acc = np.empty((X.shape[0], main.shape[1]), dtype=np.float32)
    step = max(1, GEMM_BUDGET // (width * main.shape[1]))
    for s0 in range(0, X.shape[0], step):
        s1 = min(s0 + step, X.shape[0])
        np.matmul(X[s0:s1], main, out=acc[s0:s1])
        if span:
            s1 = min(s1, X.shape[0] - 1)
            acc[s0:s1] += X[s0 + 1 : s1 + 1, :span] @ tail
    n_rows = X.shape[0] // per_row
    out = acc.reshape(n_rows, per_row, -1)[:, :-1].reshape(n_rows, -1)[:, : resampler["n_out"]]
    return out.reshape(lead + (resampler["n_out"],))


def _read_only(a):
    a.flags.writeable = False
    return a
