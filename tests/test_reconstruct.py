"""Tests of radarode_lite.reconstruct: long-term ECG from beats, anchors and cycle lengths.

The reference signal is built here, independently of the rest of the package: every beat is a
sum of five Gaussians (P, Q, R, S, T) at known offsets from its R peak, with RR intervals that
vary from beat to beat and R peaks off the sampling grid.
"""

import numpy as np
import pytest
from scipy import stats

from radarode_lite.reconstruct import (
    FIDUCIAL_WINDOWS_MS,
    R_FRACTION,
    WAVES,
    bridge_missing_beats,
    fiducial_points,
    peak_position_errors_ms,
    reconstruct_from_windows,
    resample_cycle,
    stitch_beats,
)

FS = 200.0
M = 200  # samples of a normalised cycle
# offset from R (s), amplitude (mV), width (s) of each wave
WAVE_MODEL = {
    "P": (-0.170, 0.15, 0.025),
    "Q": (-0.035, -0.12, 0.008),
    "R": (0.000, 1.00, 0.010),
    "S": (0.035, -0.22, 0.009),
    "T": (0.260, 0.30, 0.045),
}


def _r_peaks(n_beats=24, seed=0):
    rng = np.random.default_rng(seed)
    rr = 0.8 + 0.08 * np.sin(np.arange(n_beats) / 3.0) + rng.uniform(-0.04, 0.04, n_beats)
    return 0.6 + np.concatenate([[0.0], np.cumsum(rr[:-1])])


def _ecg(t, r_peaks):
    """Continuous-time reference ECG (mV) at times ``t`` (s)."""
    x = np.zeros_like(t, dtype=float)
    for r in r_peaks:
        for offset, amp, width in WAVE_MODEL.values():
            x += amp * np.exp(-0.5 * ((t - r - offset) / width) ** 2)
    return x


def _true_beats(r_peaks, r_fraction=R_FRACTION, normalise=True):
    """Each beat's cycle (M samples, R at r_fraction * M) and its length in samples."""
    rr = np.diff(r_peaks)
    lengths = np.append(rr, rr[-1]) * FS
    u = np.arange(M) / M
    shapes = np.array([_ecg(r + (u - r_fraction) * L / FS, r_peaks) for r, L in zip(r_peaks, lengths)])
    if normalise:
        lo, hi = shapes.min(axis=1, keepdims=True), shapes.max(axis=1, keepdims=True)
        shapes = (shapes - lo) / (hi - lo)
    return shapes, lengths


@pytest.fixture(scope="module")
def recording():
    r_peaks = _r_peaks()
    n = int((r_peaks[-1] + 1.0) * FS)
    t = np.arange(n) / FS
    return r_peaks, _ecg(t, r_peaks), n


def _covered(r_peaks, lengths, n, r_fraction=R_FRACTION):
    """Samples between the first beat's start and the last beat's end."""
    first = int(np.ceil(r_peaks[0] * FS - r_fraction * lengths[0]))
    last = int(np.floor(r_peaks[-1] * FS + (1 - r_fraction) * lengths[-1]))
    return slice(max(first, 0), min(last, n))


# --------------------------------------------------------------------------------------------
# resample_cycle and stitch_beats
# --------------------------------------------------------------------------------------------
def test_resample_cycle_keeps_identity_and_stretches_a_ramp():
    ramp = np.arange(M) / M
    np.testing.assert_allclose(resample_cycle(ramp, M), ramp)
    out = resample_cycle(ramp, 150.4)
    assert out.size == 151
    np.testing.assert_allclose(out[:150], np.arange(150) / 150.4, atol=1e-12)
    assert out[150] == ramp[-1]  # past the last template sample its value is held


def test_reconstruction_from_true_beats_anchors_and_lengths(recording):
    r_peaks, ecg, n = recording
    shapes, lengths = _true_beats(r_peaks)
    out = stitch_beats(shapes, r_peaks, lengths, n_samples=n, fs=FS)
    sl = _covered(r_peaks, lengths, n)
    assert out.shape == (n,) and np.all(np.isfinite(out))
    assert stats.pearsonr(out[sl], ecg[sl]).statistic > 0.99
    # raw (unnormalised) beats give the signal back in mV
    raw, _ = _true_beats(r_peaks, normalise=False)
    out_raw = stitch_beats(raw, r_peaks, lengths, n_samples=n, fs=FS)
    assert np.sqrt(np.mean((out_raw[sl] - ecg[sl]) ** 2)) < 0.02
    # cutting the beats with one R fraction and placing them with another ruins the result
    wrong = stitch_beats(shapes, r_peaks, lengths, n_samples=n, fs=FS, r_fraction=R_FRACTION - 0.05)
    assert stats.pearsonr(wrong[sl], ecg[sl]).statistic < 0.5


@pytest.mark.parametrize("r_fraction", [0.25, R_FRACTION, 0.45])
def test_the_beat_r_peak_lands_on_its_anchor(r_fraction):
    shape = np.exp(-0.5 * ((np.arange(M) - r_fraction * M) / 3.0) ** 2)
    anchor = 1.2345
    out = stitch_beats(shape[None], [anchor], [170.0], n_samples=600, fs=FS, r_fraction=r_fraction)
    assert abs(np.argmax(out) - anchor * FS) <= 1.0
    # assuming R later in the template (r + 0.1) places the true R 0.1 * L samples early
    moved = stitch_beats(shape[None], [anchor], [170.0], n_samples=600, fs=FS, r_fraction=r_fraction + 0.1)
    assert abs(np.argmax(moved) - (anchor * FS - 17.0)) <= 1.0


def test_overlapping_beats_cross_fade_and_gaps_are_interpolated():
    zeros, ones = np.zeros((1, M)), np.ones((1, M))
    shapes = np.vstack([zeros, ones])
    # beat 1 covers samples [0, 300), beat 2 covers [250, 550): 50 samples overlap
    out = stitch_beats(shapes, [100 / FS, 350 / FS], [300.0, 300.0], n_samples=550, fs=FS,
                       r_fraction=1 / 3, blend=0.2)
    np.testing.assert_allclose(out[:240], 0.0, atol=1e-9)
    np.testing.assert_allclose(out[310:], 1.0, atol=1e-9)
    overlap = out[250:300]
    assert np.all(np.diff(overlap) >= -1e-12) and 0.0 <= overlap.min() and overlap.max() <= 1.0
    assert overlap[0] < 0.01 and overlap[-1] > 0.99
    # with blend=0 the overlap is a plain average
    flat = stitch_beats(shapes, [100 / FS, 350 / FS], [300.0, 300.0], n_samples=550, fs=FS,
                        r_fraction=1 / 3, blend=0.0)
    np.testing.assert_allclose(flat[250:300], 0.5)
    # beats too short to touch: beat 1 covers [20, 260), beat 2 [320, 560); the gap is
    # bridged linearly and the edges hold their values
    gap = stitch_beats(shapes, [100 / FS, 400 / FS], [240.0, 240.0], n_samples=600, fs=FS,
                       r_fraction=1 / 3, blend=0.0)
    np.testing.assert_allclose(gap[260:320], (np.arange(260, 320) - 259) / (320 - 259))
    np.testing.assert_allclose(gap[:260], 0.0)
    np.testing.assert_allclose(gap[320:], 1.0)


# --------------------------------------------------------------------------------------------
# reconstruct_from_windows
# --------------------------------------------------------------------------------------------
def _window_predictions(r_peaks, duration_s, window_s=4.0, stride_s=1.0, sigma_s=0.05, hidden=()):
    """Windows predicting the true beats; the R peaks indexed by ``hidden`` are missing from
    every heat map (a beat the anchor decoder lost)."""
    shapes, lengths = _true_beats(r_peaks)
    shown = np.delete(r_peaks, list(hidden))
    starts = np.arange(0.0, duration_s - window_s + 1e-9, stride_s)
    n = int(window_s * FS)
    t = np.arange(n) / FS
    heatmaps, window_shapes, ppi = [], [], []
    for s in starts:
        inside = shown[(shown >= s) & (shown < s + window_s)]
        heatmaps.append(sum(np.exp(-0.5 * ((t - (r - s)) / sigma_s) ** 2) for r in inside))
        k = np.argmin(np.abs(r_peaks - (s + window_s / 2)))  # the beat nearest the centre
        window_shapes.append(shapes[k])
        ppi.append(lengths[k])
    preds = {"shape": np.array(window_shapes), "anchor": np.array(heatmaps), "ppi": np.array(ppi)}
    return preds, starts


def test_reconstruct_from_overlapping_windows(recording):
    r_peaks, ecg, n = recording
    duration = n / FS
    preds, starts = _window_predictions(r_peaks, duration)
    out, anchors = reconstruct_from_windows(preds, starts, duration, fs=FS)
    assert out.shape == (n,)
    # every R peak that lies in some window is found once, to a fraction of a millisecond
    seen = r_peaks[(r_peaks > starts[0]) & (r_peaks < starts[-1] + 4.0)]
    assert anchors.size == seen.size
    np.testing.assert_allclose(anchors, seen, atol=1e-3)
    _, lengths = _true_beats(r_peaks)
    sl = _covered(r_peaks, lengths, n)
    assert stats.pearsonr(out[sl], ecg[sl]).statistic > 0.99


def test_each_anchor_takes_the_beat_of_the_windows_that_contain_it():
    # two windows that do not overlap, each with two anchors and its own flat "shape"
    t = np.arange(800) / FS
    heat = [np.exp(-0.5 * ((t - c) / 0.02) ** 2) + np.exp(-0.5 * ((t - c - 1.5) / 0.02) ** 2)
            for c in (1.0, 1.2)]
    preds = {"shape": np.vstack([np.full(M, 0.2), np.full(M, 0.8)]), "anchor": np.array(heat),
             "ppi": np.array([150.0, 170.0])}
    out, anchors = reconstruct_from_windows(preds, [0.0, 4.0], duration_s=8.0, fs=FS, blend=0.0)
    np.testing.assert_allclose(anchors, [1.0, 2.5, 5.2, 6.7], atol=1e-3)
    np.testing.assert_allclose(out[:600], 0.2)
    np.testing.assert_allclose(out[1000:], 0.8)


# --------------------------------------------------------------------------------------------
# bridge_missing_beats
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("drop", [[5], [5, 6], [3, 12], [1, 2, 3]])
def test_bridging_restores_the_dropped_anchors(recording, drop):
    r_peaks, ecg, n = recording
    shapes, lengths = _true_beats(r_peaks)
    keep = np.setdiff1d(np.arange(r_peaks.size), drop)
    b_shapes, b_anchors, b_lengths, inserted = bridge_missing_beats(
        shapes[keep], r_peaks[keep], lengths[keep], fs=FS)
    # exactly the dropped beats come back, near their true times (RR varies by up to ~10 %)
    assert b_anchors.size == r_peaks.size and inserted.sum() == len(drop)
    np.testing.assert_array_equal(np.flatnonzero(inserted), drop)
    assert np.max(np.abs(b_anchors - r_peaks)) < 0.03  # an interpolated time, not the true one
    np.testing.assert_array_equal(b_anchors[~inserted], r_peaks[keep])
    # the inserted cycles fill the gap exactly
    for i in np.flatnonzero(inserted):
        np.testing.assert_allclose(b_lengths[i], (b_anchors[i + 1] - b_anchors[i - 1]) * FS / 2,
                                   rtol=1e-9)
    # without the bridge the stitched ECG has no beat where the anchors were dropped (a nearly
    # flat line); with it, a whole beat is back, a few ms off where the RR interval varies
    lost = np.concatenate([np.arange(int((r_peaks[i] - 0.25) * FS), int((r_peaks[i] + 0.45) * FS))
                           for i in drop])
    gappy = stitch_beats(shapes[keep], r_peaks[keep], lengths[keep], n_samples=n, fs=FS)
    bridged = stitch_beats(b_shapes, b_anchors, b_lengths, n_samples=n, fs=FS)
    assert np.ptp(gappy[lost]) < 0.05 and np.ptp(bridged[lost]) > 0.9
    r_gappy = stats.pearsonr(gappy[lost], ecg[lost]).statistic
    r_bridged = stats.pearsonr(bridged[lost], ecg[lost]).statistic
    assert r_gappy < 0.1 and r_bridged > r_gappy + 0.4


def test_bridging_leaves_a_regular_rhythm_alone(recording):
    r_peaks, _, _ = recording
    shapes, lengths = _true_beats(r_peaks)
    out = bridge_missing_beats(shapes, r_peaks, lengths, fs=FS)
    assert not out[3].any()
    np.testing.assert_array_equal(out[1], r_peaks)
    np.testing.assert_array_equal(out[0], shapes)
    # a gap of 1.4 cycles is accepted at max_gap=1.5 and bridged (by one beat) at max_gap=1.3
    anchors = np.array([1.0, 1.0 + 1.4 * 160 / FS])
    two = np.ones((2, M))
    assert bridge_missing_beats(two, anchors, [160.0, 160.0], fs=FS)[1].size == 2
    assert bridge_missing_beats(two, anchors, [160.0, 160.0], fs=FS, max_gap=1.3)[1].size == 3


def test_reconstruct_from_windows_bridges_a_beat_missing_from_every_heat_map(recording):
    r_peaks, ecg, n = recording
    duration = n / FS
    lost = 10
    preds, starts = _window_predictions(r_peaks, duration, hidden=[lost])
    _, plain = reconstruct_from_windows(preds, starts, duration, fs=FS)
    out, bridged = reconstruct_from_windows(preds, starts, duration, fs=FS, bridge_gaps=True)
    assert bridged.size == plain.size + 1
    assert np.min(np.abs(bridged - r_peaks[lost])) < 0.1


# --------------------------------------------------------------------------------------------
# Fiducial points and peak errors
# --------------------------------------------------------------------------------------------
def test_fiducial_points_land_on_the_constructed_waves(recording):
    r_peaks, ecg, _ = recording
    points = fiducial_points(ecg, r_peaks * FS, fs=FS)
    assert set(points) == set(WAVES)
    for wave, (offset, _, _) in WAVE_MODEL.items():
        expected = (r_peaks + offset) * FS
        found = points[wave]
        ok = np.isfinite(found)
        assert ok.sum() >= r_peaks.size - 1, wave  # only the first P may fall off the edge
        err_ms = np.abs(found[ok] - expected[ok]) / FS * 1000
        assert err_ms.max() < 3.0, (wave, err_ms.max())


def test_fiducial_windows_outside_the_signal_give_nan():
    x = np.zeros(300)
    x[20] = 1.0
    points = fiducial_points(x, [20.0], fs=FS)  # P window starts 300 ms = 60 samples before R
    assert np.isnan(points["P"][0]) and points["R"][0] == pytest.approx(20.0)
    assert np.isfinite(points["T"][0])
    assert FIDUCIAL_WINDOWS_MS["P"][0] * FS / 1000 + 20 < 0


def test_peak_position_errors_of_a_shifted_ecg(recording):
    r_peaks, ecg, _ = recording
    r = r_peaks * FS
    zero = peak_position_errors_ms(ecg, ecg, r, fs=FS)
    assert set(zero) == set(WAVES) and all(v == 0.0 for v in zero.values())
    shifted = np.roll(ecg, 2)  # 2 samples = 10 ms later
    errors = peak_position_errors_ms(shifted, ecg, r, fs=FS)
    for wave in WAVES:
        assert errors[wave] == pytest.approx(10.0, abs=0.5), wave
    per_beat = peak_position_errors_ms(shifted, ecg, r, fs=FS, reduce="none")
    assert per_beat["R"].shape == r.shape


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: stitch_beats(np.ones((2, M)), [1.0], [160.0, 160.0], 400), "same number of beats"),
        (lambda: stitch_beats(np.ones(M), [1.0], [160.0], 400), "shapes must be 2-D"),
        (lambda: stitch_beats(np.ones((1, M)), [np.nan], [160.0], 400), "anchors_s"),
        (lambda: stitch_beats(np.ones((1, M)), [1.0], [0.5], 400), "cycle_lengths_samples"),
        (lambda: stitch_beats(np.ones((1, M)), [1.0], [160.0], 0), "n_samples"),
        (lambda: stitch_beats(np.ones((1, M)), [1.0], [160.0], 400, fs=0), "fs"),
        (lambda: stitch_beats(np.ones((1, M)), [1.0], [160.0], 400, r_fraction=1.0), "r_fraction"),
        (lambda: stitch_beats(np.ones((1, M)), [1.0], [160.0], 400, blend=0.7), "blend"),
        (lambda: stitch_beats(np.ones((1, M)), [100.0], [160.0], 400), "no beat"),
        (lambda: resample_cycle(np.ones(M), 1.0), "cycle_length_samples"),
        (lambda: bridge_missing_beats(np.ones((2, M)), [2.0, 1.0], [160.0, 160.0]), "increasing"),
        (lambda: bridge_missing_beats(np.ones((2, M)), [1.0, 2.0], [160.0]), "same number"),
        (lambda: bridge_missing_beats(np.ones((2, M)), [1.0, 2.0], [160.0, 160.0], max_gap=1.0),
         "max_gap"),
        (lambda: reconstruct_from_windows({"shape": np.ones((1, M))}, [0.0], 4.0), "lacks the keys"),
        (lambda: reconstruct_from_windows({"shape": np.ones((2, M)), "anchor": np.zeros((2, 800)),
                                           "ppi": np.ones(2)}, [0.0], 4.0), "same number of windows"),
        (lambda: reconstruct_from_windows({"shape": np.ones((1, M)), "anchor": np.zeros((1, 800)),
                                           "ppi": [160.0]}, [0.0], 4.0), "no anchor"),
        (lambda: fiducial_points(np.zeros(100), [50.0, 40.0]), "r_peaks.*increasing"),
        (lambda: peak_position_errors_ms(np.zeros(100), np.zeros(90), [50.0]), "same shape"),
        (lambda: peak_position_errors_ms(np.zeros(100), np.zeros(100), [50.0], reduce="max"), "reduce"),
    ],
)
def test_bad_inputs_raise_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_default_r_fraction_matches_the_data_module():
    # the shape targets must be cut with the R fraction that reconstruction assumes
    try:
        from radarode_lite import data
    except ImportError as err:  # only while the data stage is incomplete
        pytest.skip(f"radarode_lite.data cannot be imported: {err}")

    assert R_FRACTION == data.R_FRACTION


def test_window_predictions_must_be_a_mapping():
    with pytest.raises(TypeError, match="window_predictions"):
        reconstruct_from_windows([np.ones(M)], [0.0], 4.0)
