"""Tests of radarode_lite.noise: constant and abrupt noise, the cardiac part, burst placement."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal as sps

from radarode_lite import conventions, data, noise, signals

FS = conventions.FS


def _channels(n=2000, c=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    breathing = 3.0 * np.sin(2 * np.pi * 0.25 * t)[:, None]
    return breathing + 0.05 * rng.standard_normal((n, c))


def test_importing_noise_does_not_import_torch():
    code = "import sys; import radarode_lite.noise; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_one_implementation_reachable_from_signals_and_data():
    assert signals.add_constant_noise is noise.add_constant_noise
    assert signals.add_abrupt_noise is noise.add_abrupt_noise
    assert data.add_radar_noise is noise.add_radar_noise
    assert data.CARDIAC_HIGHPASS_HZ == noise.CARDIAC_HIGHPASS_HZ == conventions.CARDIAC_HIGHPASS_HZ


def test_cardiac_part_is_the_zero_phase_high_pass_along_the_axis():
    x = _channels()
    sos = sps.butter(4, conventions.CARDIAC_HIGHPASS_HZ, btype="high", fs=FS, output="sos")
    np.testing.assert_array_equal(noise.cardiac_part(x, FS, axis=0), sps.sosfiltfilt(sos, x, axis=0))
    np.testing.assert_array_equal(noise.cardiac_part(x.T, FS), noise.cardiac_part(x, FS, axis=0).T)
    assert np.abs(noise.cardiac_part(x, FS, axis=0)).max() < 0.5  # the breathing is gone
    with pytest.raises(ValueError, match="fs"):
        noise.cardiac_part(x, -1.0)
    with pytest.raises(ValueError, match="axis"):
        noise.cardiac_part(x, FS, axis=2)


@pytest.mark.parametrize("snr_db", [6.0, 0.0, -3.0])
def test_radar_noise_has_the_asked_snr_relative_to_the_cardiac_part(snr_db):
    x = _channels()
    noisy = noise.add_radar_noise(x, snr_db, FS, rng=1)
    added = noisy - x
    cardiac = noise.cardiac_part(x, FS, axis=0)
    ratio = np.var(cardiac, axis=0) / np.mean(added**2, axis=0)
    np.testing.assert_allclose(10 * np.log10(ratio), snr_db, atol=1e-9)
    np.testing.assert_array_equal(noisy, noise.add_radar_noise(x, snr_db, FS, rng=1))
    with pytest.raises(ValueError, match="rcg"):
        noise.add_radar_noise(x[:, 0], snr_db)


def test_draw_bursts_places_the_fraction_inside_the_windows():
    bursts = noise.draw_bursts(10, (0.5, -3.0, (1.0, 2.0)), 4.0, rng=3)
    hit = [b for b in bursts if b is not None]
    assert len(bursts) == 10 and len(hit) == 5
    for b in hit:
        assert 1.0 <= b["duration_s"] <= 2.0 and 0 <= b["start_s"] <= 4.0 - b["duration_s"] and b["snr_db"] == -3.0
    assert noise.draw_bursts(10, None, 4.0, rng=3) == [None] * 10
    assert noise.draw_bursts(0, (1.0, 0.0, (1.0, 2.0)), 4.0, rng=3) == []
    with pytest.raises(ValueError, match="abrupt"):
        noise.draw_bursts(10, (0.5, 0.0, (3.0, 5.0)), 4.0, rng=3)


def test_seeded_bursts_depend_only_on_their_entropy_and_window():
    a = noise.seeded_bursts(20, 0.5, 2.0, 0.0, 4.0, (7, 11, 3))
    b = noise.seeded_bursts(20, 0.5, 2.0, 0.0, 4.0, (7, 11, 3))
    assert len(a) == 10 and a.keys() == b.keys()
    for k in a:
        assert a[k]["start_s"] == b[k]["start_s"] and 0 <= a[k]["start_s"] <= 2.0
        assert a[k]["duration_s"] == 2.0 and a[k]["snr_db"] == 0.0
        np.testing.assert_array_equal(a[k]["rng"].standard_normal(4), b[k]["rng"].standard_normal(4))
    assert set(noise.seeded_bursts(5, 1.0, 1.0, 0.0, 4.0, (1,))) == set(range(5))
    assert noise.seeded_bursts(5, 0.0, 1.0, 0.0, 4.0, (1,)) == {}
    with pytest.raises(ValueError, match="duration_s"):
        noise.seeded_bursts(5, 0.5, 5.0, 0.0, 4.0, (1,))
    with pytest.raises(ValueError, match="fraction"):
        noise.seeded_bursts(5, 1.5, 1.0, 0.0, 4.0, (1,))


# --------------------------------------------------------------------------- noise on the network input


def _loop_input_noise(x, snr_db, rng):
    """The authors' per-channel loop (spectrum_dataset.py), written out as an independent check."""
    out = x.copy()
    for c in range(x.shape[0]):
        power = np.mean(x[c] ** 2)
        out[c] = x[c] + np.sqrt(power / 10 ** (snr_db / 10)) * rng.standard_normal(x[c].shape)
    return out


@pytest.mark.parametrize("snr_db", [6.0, 0.0, -3.0])
def test_input_noise_is_the_authors_per_channel_gaussian(snr_db):
    x = np.random.default_rng(0).random((8, 32, 120)) * np.arange(1, 9)[:, None, None]  # channels of unequal power
    ours = noise.add_input_noise(x, snr_db, rng=np.random.default_rng(5))
    assert np.array_equal(ours, _loop_input_noise(x, snr_db, np.random.default_rng(5)))
    measured = 10 * np.log10(np.mean(x**2, axis=(1, 2)) / np.mean((ours - x) ** 2, axis=(1, 2)))
    assert np.allclose(measured, snr_db, atol=0.4)  # 3,840 pixels per channel: 0.1 dB per standard deviation


def test_input_noise_takes_a_batch_and_channels_independently():
    x = np.random.default_rng(1).random((3, 2, 4, 30))
    y = noise.add_input_noise(x, 3.0, rng=0)
    assert y.shape == x.shape and not np.array_equal(y, x)
    assert np.array_equal(noise.add_input_noise(x, 3.0, rng=0), y)  # a seed repeats the draw
    zero = np.zeros((2, 4, 30))
    assert np.array_equal(noise.add_input_noise(zero, 0.0, rng=0), zero)  # no power, no noise


def test_input_burst_covers_its_frames_only_at_its_snr():
    x = np.random.default_rng(2).random((8, 32, 120)) + 0.1
    y, start, length = noise.add_input_burst(x, 2.0, -9.0, rng=3)
    assert length == 60 and 0 <= start <= 120 - 60 - 1
    changed = np.flatnonzero(np.any(y != x, axis=(0, 1)))
    assert changed[0] == start and changed[-1] == start + length - 1 and changed.size == length
    inside = x[..., start : start + length]
    measured = 10 * np.log10(np.mean(inside**2, axis=(1, 2)) / np.mean((y - x)[..., start : start + length] ** 2, axis=(1, 2)))
    assert np.allclose(measured, -9.0, atol=0.6)  # 1,920 pixels: 0.14 dB per standard deviation


def test_input_burst_longer_than_the_window_keeps_one_clean_frame():
    x = np.ones((2, 3, 120))
    _, start, length = noise.add_input_burst(x, 10.0, 0.0, rng=0)  # 300 frames asked for
    assert (start, length) == (0, 119)


def test_input_burst_segments_are_a_fifth_without_repeats():
    chosen = noise.input_burst_segments(103, rng=0)
    assert chosen.size == int(0.2 * 103) == len(set(chosen.tolist())) and np.all(np.diff(chosen) > 0)
    assert chosen.min() >= 0 and chosen.max() < 103
    assert noise.input_burst_segments(4, rng=0).size == 0 and noise.input_burst_segments(10, share=1.0, rng=0).size == 10


@pytest.mark.parametrize("call, message", [
    (lambda: noise.add_input_noise(np.ones((4, 5)), 0.0), "sst must have shape"),
    (lambda: noise.add_input_noise(np.ones((2, 4, 5)), np.nan), "snr_db"),
    (lambda: noise.add_input_burst(np.ones((2, 4, 5, 6)), 1.0, 0.0), "sst must have shape"),
    (lambda: noise.add_input_burst(np.ones((2, 4, 1)), 1.0, 0.0), "at least 2 frames"),
    (lambda: noise.add_input_burst(np.ones((2, 4, 9)), 0.0, 0.0), "duration_s"),
    (lambda: noise.input_burst_segments(10, share=1.5), "share"),
    (lambda: noise.input_burst_segments(-1), "n_segments"),
])  # fmt: skip
def test_input_noise_refuses_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
