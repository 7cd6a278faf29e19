"""Tests of radarode_lite.timefreq: SST, anchor localisation, network input (chapter 2)."""

import os

import numpy as np
import pytest

from radarode_lite import _timefreq_fast as fast
from radarode_lite import timefreq as tf

FS = 200.0


def tone(f_hz, n=1200, fs=FS, phase=0.3):
    t = np.arange(n) / fs
    return np.cos(2 * np.pi * f_hz * t + phase)


def bursts_signal(times_s, duration_s=12.0, fs=FS, f_hz=30.0, b_s=0.025, resp_hz=0.25, seed=0):
    """Gaussian-windowed 30 Hz bursts at known times on top of a large, slow breathing sine."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * fs)) / fs
    x = 50.0 * np.sin(2 * np.pi * resp_hz * t)
    for tk in times_s:
        x += np.cos(2 * np.pi * f_hz * t) * np.exp(-((t - tk) ** 2) / b_s**2)
    return x + 0.01 * rng.standard_normal(t.size)


# --- sst -----------------------------------------------------------------------------------


def test_sst_shapes_ordering_and_batch():
    x = np.stack([tone(12.0), tone(40.0)])
    Tx, f = tf.sst(x, FS)
    assert Tx.shape == (2, f.size, x.shape[1]) and np.iscomplexobj(Tx)
    assert np.all(np.diff(f) > 0), "frequencies must be ascending"
    assert f[-1] == pytest.approx(FS / 2, rel=0.02)
    ratios = f[1:] / f[:-1]  # log-spaced, about 10 bins per octave
    assert np.allclose(ratios, ratios[0]) and 9 <= np.log(2) / np.log(ratios[0]) <= 11
    T1, f1 = tf.sst(x[1], FS)
    assert np.allclose(f1, f) and np.allclose(T1, Tx[1], atol=1e-4 * np.abs(T1).max())


@pytest.mark.parametrize("f0", [3.0, 12.0, 30.0, 65.0])
def test_sst_of_pure_tone_peaks_at_its_frequency(f0):
    Tx, f = tf.sst(tone(f0), FS)
    mid = np.abs(Tx[:, 300:900])
    peak = f[np.argmax(mid.mean(axis=1))]
    bin_ratio = f[1] / f[0]
    assert abs(np.log(peak / f0)) <= max(np.log(bin_ratio), np.log(1.05))
    # synchrosqueezing concentrates the energy: most of it within two bins of the tone
    energy = (mid**2).sum(axis=1)
    near = np.abs(np.log(f / f0)) <= 2 * np.log(bin_ratio)
    assert energy[near].sum() > 0.8 * energy.sum()


def test_sst_ridge_follows_linear_chirp():
    n, f_start, rate = 1600, 8.0, 8.0  # 8 Hz -> 72 Hz over 8 s
    t = np.arange(n) / FS
    x = np.cos(2 * np.pi * (f_start * t + 0.5 * rate * t**2))
    Tx, f = tf.sst(x, FS)
    inner = slice(160, n - 160)
    ridge = f[np.argmax(np.abs(Tx[:, inner]), axis=0)]
    true = f_start + rate * t[inner]
    rel = np.abs(ridge - true) / true
    assert np.median(rel) < 0.03 and np.max(rel) < 0.08


def test_sst_stays_on_cpu_even_if_environment_asks_for_gpu(monkeypatch):
    monkeypatch.setenv("SSQ_GPU", "1")
    Tx, f = tf.sst(tone(20.0, n=256), FS)
    assert isinstance(Tx, np.ndarray) and isinstance(f, np.ndarray)
    assert os.environ["SSQ_GPU"] == "1"  # restored afterwards


# --- presets and network input -------------------------------------------------------------


def test_presets_and_frequency_grid():
    assert tf.get_preset("paper").shape == (50, 71, 120)
    assert tf.get_preset("lite").shape == (8, 32, 120)
    p = tf.get_preset("lite")
    assert tf.get_preset(p) is p
    f = tf.spectrogram_frequencies("paper")
    assert f.size == 71 and f[0] == pytest.approx(100 / 2**7) and f[-1] == pytest.approx(100.0)
    assert np.allclose(np.log2(f[1:] / f[:-1]), 0.1)  # 10 bins per octave, as the paper's 71 rows


@pytest.mark.parametrize("preset", ["paper", "lite"])
def test_spectrogram_input_shape_range_and_normalisation(preset):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 800)) + np.linspace(0, 1, 50)[:, None] * tone(25.0, n=800)
    S = tf.spectrogram_input(x, FS, preset)
    assert S.shape == tf.get_preset(preset).shape and S.dtype == np.float32
    assert np.all(S >= 0) and np.all(S <= 1)
    assert np.allclose(S.min(axis=(1, 2)), 0) and np.allclose(S.max(axis=(1, 2)), 1)


def test_spectrogram_tone_lands_in_its_bin_and_time_axis_is_30_hz():
    x = np.stack([tone(f0, n=800) for f0 in (2.0, 10.0, 30.0, 70.0)] * 2)  # 8 channels
    S = tf.spectrogram(x, FS, "lite")
    assert S.shape == (8, 32, 120) and np.all(S >= 0)
    f = tf.spectrogram_frequencies("lite")
    step = np.log(f[1] / f[0])
    for c, f0 in enumerate((2.0, 10.0, 30.0, 70.0)):
        peak = f[np.argmax(S[c, :, 20:100].mean(axis=1))]
        assert abs(np.log(peak / f0)) <= step
    # odd length: ceil(N * 30 / 200) frames
    odd = np.stack([tone(10.0, n=1001)] * 8)
    assert tf.spectrogram(odd, FS, "lite").shape[-1] == int(np.ceil(1001 * 30 / 200))


def test_spectrogram_of_long_signal_matches_full_sst():
    """The shortcut for long recordings (fewer scales, shorter padding) keeps the kept rows."""
    rng = np.random.default_rng(2)
    n = 6000
    x = (np.cumsum(rng.standard_normal(n)) * 0.05 + tone(1.2, n=n) + 0.5 * tone(33.0, n=n)).astype(np.float32)
    p = tf.get_preset("paper")
    plan = fast.partial_sst_plan(n, FS, p.f_min_hz * 2**-fast.MARGIN_OCTAVES)
    assert plan["pad"] is not None  # the shortcut is really exercised
    mag, freqs = fast.partial_sst(x[None], FS, plan)
    Tx, f = tf.sst(x, FS)
    k = f.size - freqs.size
    assert np.allclose(f[k:], freqs)
    keep = freqs >= p.f_min_hz
    full = np.abs(Tx[k:][keep])
    err = np.linalg.norm(mag[0][keep] - full) / np.linalg.norm(full)
    assert err < 0.03


def _spectrogram_direct(x, preset):
    """The spectrogram the long way: |sst()| rows, dense log-frequency weights, scipy's resample_poly."""
    from scipy import signal as sps

    p = tf.get_preset(preset)
    x = tf.select_channels(x, p.n_channels)
    Tx, f = tf.sst(x, FS)
    keep = f >= p.f_min_hz * 2**-fast.MARGIN_OCTAVES
    weights = fast.log_frequency_weights(f[keep], tf.spectrogram_frequencies(p))
    binned = np.einsum("fr,crn->cfn", weights, np.abs(Tx[:, keep]))
    return np.maximum(sps.resample_poly(binned, 3, 20, axis=-1), 0)


@pytest.mark.parametrize("preset, n", [("lite", 800), ("lite", 1001), ("paper", 2400)])
def test_spectrogram_equals_the_direct_computation_from_sst(preset, n):
    """Cached plans, time resampled before binning, sparse bins: the same numbers as sst() + resample_poly."""
    rng = np.random.default_rng(n)
    t = np.arange(n) / FS
    x = rng.standard_normal((50, n)) + 20 * np.sin(2 * np.pi * 0.3 * t) + tone(27.0, n=n)
    direct = _spectrogram_direct(x, preset)
    first = tf.spectrogram(x, FS, preset)
    again = tf.spectrogram(x, FS, preset)  # second call: everything data-independent comes from the cache
    assert first.shape == direct.shape and np.array_equal(first, again)
    scale = direct.max(axis=(1, 2), keepdims=True)
    assert np.max(np.abs(first - direct) / scale) < 1e-4


def test_plans_are_cached_and_read_only():
    f_low = tf.get_preset("paper").f_min_hz / 2
    plan = fast.partial_sst_plan(1234, FS, f_low)
    assert fast.partial_sst_plan(1234, FS, f_low) is plan
    assert fast.partial_sst_plan(1235, FS, f_low) is not plan
    with pytest.raises(TypeError):
        plan["n"] = 5
    with pytest.raises(ValueError):
        plan["scales"][0] = 1.0


def test_select_and_normalise():
    x = np.arange(50)[:, None] * np.ones((1, 40))
    assert np.array_equal(tf.select_channels(x, 8)[:, 0], [0, 7, 14, 21, 28, 35, 42, 49])
    assert tf.select_channels(x, 50) is x
    S = np.zeros((2, 3, 4))
    S[1] = np.arange(12).reshape(3, 4) * 2.0 + 5
    N = tf.normalise_per_channel(S)
    assert np.all(N[0] == 0)  # constant channel -> zeros
    assert N[1].min() == 0 and N[1].max() == 1 and np.allclose(N[1], np.arange(12).reshape(3, 4) / 11)


# --- locate_anchors ------------------------------------------------------------------------


def test_locate_anchors_on_bursts_finds_every_beat():
    rng = np.random.default_rng(3)
    times = np.cumsum(0.8 + 0.1 * rng.standard_normal(13)) + 0.3
    times = times[times < 11.7]
    x = bursts_signal(times)
    found = tf.locate_anchors(x, FS)
    assert found.size == times.size
    assert np.max(np.abs(found - times)) < 0.020


def test_locate_anchors_on_simulated_radar_recording():
    signals = pytest.importorskip("radarode_lite.signals")
    subject = signals.make_subject(3, "NB", rng=3)
    rec = signals.simulate_recording(subject, duration_s=12.0, n_channels=4, rng=3)
    truth = rec.r_peaks[(rec.r_peaks > 0.1) & (rec.r_peaks < 11.9)]
    for x in (rec.displacement, rec.rcg.T):  # chest displacement, and the radar channels together
        found = tf.locate_anchors(x, FS)
        dist = np.abs(found[:, None] - truth[None, :])
        assert found.size == truth.size, (found, truth)
        assert np.all(dist.min(axis=0) < 0.020)


@pytest.mark.parametrize("seed", [10, 11, 12, 13])
def test_locate_anchors_on_eight_noisy_channels_at_the_papers_harshest_snr(seed):
    # chapter 2: 8 channels with constant noise at -3 dB (the paper's harshest) against each
    # channel's cardiac part, on four subjects the chapter does not use
    signals = pytest.importorskip("radarode_lite.signals")
    data = pytest.importorskip("radarode_lite.data")
    from radarode_lite import metrics

    rec = signals.simulate_recording(signals.make_subject(seed, "NB", rng=seed), 10.0,
                                     n_channels=8, rng=seed)
    noisy = data.add_radar_noise(rec.rcg, -3.0, rng=100 + seed)
    inner = lambda v: v[(v > 0.1) & (v < 9.9)]  # noqa: E731
    truth, found = inner(rec.r_peaks), inner(tf.locate_anchors(noisy.T, FS))
    matched = metrics.match_peaks(found, truth)[1].size
    assert matched == truth.size, "a beat was missed"
    assert found.size == matched, "a noise peak was taken for a beat"
    assert metrics.timing_error_ms(found, truth) < 15


def test_locate_anchors_listens_only_to_its_band():
    t30, t70 = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.5, 3.5])
    x = bursts_signal(t30, duration_s=5.0) + bursts_signal(t70, duration_s=5.0, f_hz=70.0, resp_hz=0.1)
    found30 = tf.locate_anchors(x, FS)  # default band, 20-45 Hz
    found70, env, t = tf.locate_anchors(x, FS, band=(55.0, 90.0), return_envelope=True)
    assert found30.size == 4 and np.max(np.abs(found30 - t30)) < 0.02
    assert env.shape == t.shape == x.shape and np.isclose(t[1], 1 / FS)
    assert np.all(np.min(np.abs(found70[:, None] - t70[None, :]), axis=0) < 0.02)
    at70, at30 = env[np.round(t70 * FS).astype(int)], env[np.round(t30 * FS).astype(int)]
    assert at30.max() < 0.2 * at70.min()  # the 30 Hz bursts barely reach the 55-90 Hz band


# --- bad inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, fs, match",
    [
        (np.array([]), FS, "empty"),
        (np.full(100, np.nan), FS, "finite"),
        (np.r_[np.ones(99), np.inf], FS, "finite"),
        (np.ones(10), FS, "at least"),
        (np.ones((2, 2, 100)), FS, "1-D"),
        (np.ones(100), 0.0, "fs"),
        (np.ones(100), -200.0, "fs"),
        (np.ones(100), float("nan"), "fs"),
        (np.ones(100), float("inf"), "fs"),
    ],
)
def test_sst_rejects_bad_input(x, fs, match):
    with pytest.raises(ValueError, match=match):
        tf.sst(x, fs)


def test_bad_arguments_raise():
    x = np.random.default_rng(0).standard_normal((50, 800))
    with pytest.raises(ValueError, match="fs must be 200"):
        tf.spectrogram(x, 100.0, "paper")
    with pytest.raises(ValueError, match="fs must be 200"):
        tf.spectrogram_input(x, 250.0, "lite")
    with pytest.raises(ValueError, match="preset must be one of"):
        tf.spectrogram(x, FS, "huge")
    with pytest.raises(TypeError, match="preset"):
        tf.get_preset(3)
    with pytest.raises(ValueError, match="channels"):
        tf.spectrogram(x[:4], FS, "lite")
    with pytest.raises(ValueError, match="2-D"):
        tf.spectrogram(x[0], FS, "lite")
    with pytest.raises(ValueError, match="voices_per_octave"):
        tf.sst(x[0], FS, voices_per_octave=0)
    with pytest.raises(TypeError, match="x must be"):
        tf.sst("abc", FS)
    for band in [(45.0, 20.0), (20.0, 150.0), (-1.0, 10.0), (float("nan"), 30.0), "ab", (1.0, 2.0, 3.0)]:
        with pytest.raises(ValueError, match="band"):
            tf.locate_anchors(x[0], FS, band=band)
    with pytest.raises(ValueError, match="min_distance_s"):
        tf.locate_anchors(x[0], FS, min_distance_s=0)
    with pytest.raises(ValueError, match="S must be 3-D"):
        tf.normalise_per_channel(np.ones((3, 4)))
    with pytest.raises(ValueError, match="finite"):
        tf.normalise_per_channel(np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match="n_channels"):
        tf.select_channels(x, 0)


# --- anchors in a network input (chapter 14) --------------------------------------------------


def _input_with_beats(preset, beats_s, sigma_s=0.04, floor=0.05, seed=0):
    """An input (C, F, T) whose vibration-band bins hold Gaussian bumps at ``beats_s``; the other bins
    hold louder bumps elsewhere, which the localisation must ignore."""
    p = tf.get_preset(preset)
    t = np.arange(p.n_frames) / p.frame_rate_hz
    f = tf.spectrogram_frequencies(p)
    band = (f >= tf.VIBRATION_BAND_HZ[0]) & (f <= tf.VIBRATION_BAND_HZ[1])
    bumps = lambda times: sum(np.exp(-0.5 * ((t - b) / sigma_s) ** 2) for b in times)  # noqa: E731
    S = floor * np.random.default_rng(seed).random(p.shape)
    S[:, band, :] += bumps(beats_s)
    S[:, ~band, :] += 3.0 * bumps(np.asarray(beats_s) + 0.35)
    return S


@pytest.mark.parametrize("preset", ["lite", "paper"])
def test_locate_input_anchors_finds_the_band_bumps_to_a_fraction_of_a_frame(preset):
    beats = np.array([0.41, 1.23, 2.02, 2.87, 3.61])
    found, envelope, t_s = tf.locate_input_anchors(_input_with_beats(preset, beats), return_envelope=True)
    assert found.shape == beats.shape and np.max(np.abs(found - beats)) < 0.25 / 30  # a quarter of a frame
    assert envelope.shape == t_s.shape == (120,) and t_s[1] == 1 / 30
    # the preset can be named; a band between the bins finds nothing to read
    assert np.array_equal(tf.locate_input_anchors(_input_with_beats(preset, beats), preset=preset), found)
    with pytest.raises(ValueError, match="none of"):
        tf.locate_input_anchors(_input_with_beats(preset, beats), band=(20.0, 20.1))


def test_locate_input_anchors_keeps_beats_apart_and_rejects_bad_inputs():
    close = tf.locate_input_anchors(_input_with_beats("lite", [1.0, 1.2, 2.5], sigma_s=0.03, floor=0.0))
    assert close.size == 2 and abs(close[1] - 2.5) < 0.01  # two maxima 0.2 s apart count once
    with pytest.raises(ValueError, match="no preset"):
        tf.locate_input_anchors(np.zeros((8, 30, 120)))
    with pytest.raises(ValueError, match="'paper'"):
        tf.locate_input_anchors(np.zeros((8, 32, 120)), preset="paper")
    with pytest.raises(ValueError, match="3-D"):
        tf.locate_input_anchors(np.zeros((32, 120)))
    with pytest.raises(ValueError, match="finite"):
        tf.locate_input_anchors(np.full((8, 32, 120), np.nan))
