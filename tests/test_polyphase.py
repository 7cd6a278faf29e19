"""The spectrogram's polyphase resampler (radarode_lite._polyphase) against scipy."""

import numpy as np
import pytest
from scipy import signal as sps

from radarode_lite import _polyphase
from radarode_lite.timefreq import _frame_ratio

UP, DOWN = _frame_ratio(200.0, 30.0)  # 3, 20: 200 Hz -> 30 Hz


@pytest.mark.parametrize("n", [32, 33, 799, 800, 1001, 6007])
def test_resampler_matches_resample_poly_with_the_same_filter(n):
    x = np.random.default_rng(n).standard_normal((3, 5, n)).astype(np.float32)
    y = _polyphase.resample(x, _polyphase.resampler(n, UP, DOWN))
    window = ("kaiser", _polyphase.KAISER_BETA)  # explicit: a change of scipy's default cannot hide
    ref = sps.resample_poly(x.astype(np.float64), UP, DOWN, axis=-1, window=window, padtype="constant")
    assert y.shape == ref.shape == (3, 5, -(-n * UP // DOWN)) and y.dtype == np.float32
    assert np.max(np.abs(y - ref)) < 1e-5 * np.max(np.abs(ref))


@pytest.mark.parametrize("n", [40, 1001])
def test_resampler_is_upfirdn_with_its_filter(n):
    """Up-sample by UP, filter with the symmetric FIR h, keep every DOWN-th sample from h's centre on."""
    x = np.random.default_rng(n).standard_normal(n)
    h = _polyphase.lowpass_filter(UP, DOWN)
    shift = (h.size - 1) // 2  # h's group delay on the up-sampled grid
    filtered = sps.upfirdn(h, x, UP, 1)  # (n UP + h.size - 1,)
    ref = filtered[shift : shift + n * UP : DOWN]
    y = _polyphase.resample(x.astype(np.float32), _polyphase.resampler(n, UP, DOWN))
    assert y.size == ref.size and np.max(np.abs(y - ref)) < 1e-5 * np.max(np.abs(ref))


def test_filter_is_a_lowpass_at_the_lower_nyquist():
    h = _polyphase.lowpass_filter(UP, DOWN)
    w, response = sps.freqz(h / UP, worN=4096)
    passband = np.abs(response[w < 0.8 * np.pi / DOWN])
    stopband = np.abs(response[w > 1.2 * np.pi / DOWN])
    assert np.allclose(passband, 1, atol=0.02) and stopband.max() < 0.02
