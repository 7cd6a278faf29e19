"""The ssqueezepy adapter (radarode_lite._ssq): its pieces reproduce ssqueezepy's public ssq_cwt."""

import numpy as np

from radarode_lite import _ssq

FS = 200.0


def test_stages_reproduce_ssq_cwt():
    n = 512
    t = np.arange(n) / FS
    x = (np.cos(2 * np.pi * 12 * t) + 0.5 * np.cos(2 * np.pi * 40 * t)).astype(np.float32)
    Tx, freqs = _ssq.ssq_cwt(x, FS, 10)
    wav = _ssq.wavelet()
    scales = _ssq.log_scales(n, wav, 10)
    padded = _ssq.padded_length(n)
    assert padded >= 2 * n and padded & (padded - 1) == 0  # a power of two at least twice as long
    assert scales.size == freqs.size and np.all(np.diff(scales) > 0)
    hi, lo = (_ssq.peak_frequency_hz(wav, s, padded, FS) for s in (scales[0], scales[-1]))
    assert np.isclose(hi, freqs[0], rtol=1e-6) and np.isclose(lo, freqs[-1], rtol=1e-6)  # highest first
    ascending = freqs[::-1].copy()
    Wx, dWx, used = _ssq.cwt_with_derivative(x, wav, scales.astype(np.float32), FS, "reflect")
    assert Wx.shape == dWx.shape == (scales.size, n)
    again = _ssq.squeeze(Wx, dWx, ascending, used, FS, wav)
    assert again.shape == Tx.shape and np.allclose(again, Tx, atol=1e-4 * np.abs(Tx).max())


def test_calls_run_on_the_cpu_and_restore_the_setting(monkeypatch):
    import os

    monkeypatch.setenv("SSQ_GPU", "1")
    with _ssq._cpu_only():
        assert os.environ["SSQ_GPU"] == "0"
    assert os.environ["SSQ_GPU"] == "1"
