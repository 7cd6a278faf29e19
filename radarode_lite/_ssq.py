"""The one place that calls ssqueezepy (Muradeli), used by :mod:`radarode_lite.timefreq` (chapter 2).

Besides the public ``ssq_cwt``, the spectrogram needs ssqueezepy's two stages (``cwt`` with the
derivative dW/db, then ``ssqueeze``) and three of its helpers (the log-spaced scales, the padded
length, a wavelet's peak frequency at a scale) so that it can compute only the scales it keeps.
Those helpers live in ssqueezepy's submodules and may move between releases; this adapter keeps
every such call in one small module, checked by ``tests/test_ssq.py`` against ``ssq_cwt`` itself.
All calls run on the CPU (``SSQ_GPU=0`` while they run).
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

WAVELET = "morlet"  # ssqueezepy's analytic Morlet wavelet


def wavelet():
    """A new ssqueezepy ``Wavelet`` (Morlet); it caches its frequency-domain samples between calls."""
    from ssqueezepy import Wavelet

    return Wavelet(WAVELET)


def ssq_cwt(x, fs, nv):
    """``ssqueezepy.ssq_cwt`` of ``x`` (..., N) with log scales: ``Tx`` (..., M, N) and frequencies (M,) Hz, highest first."""
    from ssqueezepy import ssq_cwt as _ssq_cwt

    with _cpu_only():
        Tx, _, freqs, _ = _ssq_cwt(x, wavelet(), scales="log", nv=nv, fs=fs, preserve_transform=False)
    return Tx, np.asarray(freqs, dtype=np.float64)


def log_scales(n, wav, nv) -> np.ndarray:
    """The log-spaced scales (smallest first) that ``ssq_cwt(scales="log")`` uses for ``n`` samples."""
    from ssqueezepy.utils import process_scales

    return np.asarray(process_scales("log", n, wav, nv=nv)).ravel()


def padded_length(n) -> int:
    """The length ssqueezepy pads ``n`` samples to: the next power of two at least twice as long."""
    from ssqueezepy.utils import p2up

    return int(p2up(n)[0])


def peak_frequency_hz(wav, scale, n_padded, fs) -> float:
    """Peak frequency (Hz) of the wavelet at ``scale`` for a ``n_padded``-sample transform at ``fs`` Hz."""
    from ssqueezepy.wavelets import center_frequency

    return float(center_frequency(wav, scale=scale, N=n_padded, kind="peak")) / (2 * np.pi) * fs


def cwt_with_derivative(x, wav, scales, fs, padtype):
    """``ssqueezepy.cwt`` (L1 norm) of ``x`` (..., N'): ``Wx`` and ``dWx/db``, both (..., S, N'), scales as given."""
    from ssqueezepy import cwt

    with _cpu_only():
        Wx, scales, dWx = cwt(x, wav, scales=scales, fs=fs, l1_norm=True, derivative=True, padtype=padtype)
    return Wx, dWx, scales


def squeeze(Wx, dWx, ssq_freqs, scales, fs, wav):
    """``ssqueezepy.ssqueeze`` of a CWT onto ``ssq_freqs`` (ascending, Hz): ``Tx`` (..., M, N), highest frequency first."""
    from ssqueezepy import ssqueeze

    with _cpu_only():
        Tx, _ = ssqueeze(Wx, None, ssq_freqs, scales, fs=fs, squeezing="sum", wavelet=wav,
                         gamma=10 * np.finfo(np.float32).eps, flipud=True, dWx=dWx, transform="cwt")  # fmt: skip
    return Tx


@contextlib.contextmanager
def _cpu_only():
    """Run ssqueezepy on the CPU (``SSQ_GPU=0``) for the duration of the block."""
    old = os.environ.get("SSQ_GPU")
    os.environ["SSQ_GPU"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SSQ_GPU", None)
        else:
            os.environ["SSQ_GPU"] = old
