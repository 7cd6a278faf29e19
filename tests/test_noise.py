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
