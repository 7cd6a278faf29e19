"""Physical checks of the synthetic radar-ECG engine (radarode_lite.signals)."""

import re
import time

import numpy as np
import pytest
from scipy import signal as sps

from radarode_lite import signals as S

FS = S.FS


def _idx(times, fs=FS):
    return np.round(np.asarray(times) * fs).astype(int)


def _snr_db(signal_power, noise):
    return 10 * np.log10(signal_power / np.mean(noise**2))


@pytest.fixture(scope="module")
def ecg70():
    return S.synthetic_ecg(30.0, heart_rate_bpm=70, rng=11)


# ----------------------------------------------------------------------------- ECG


@pytest.mark.parametrize("hr", [50.0, 70.0, 115.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_r_peaks_are_the_ecg_maxima_within_150_ms(hr, seed):
    ecg = S.synthetic_ecg(20.0, heart_rate_bpm=hr, rng=seed)
    half = int(0.150 * FS)
    assert len(ecg.r_peaks) >= int(20 * hr / 60) - 2
    for i in _idx(ecg.r_peaks):
        window = ecg.ecg[max(0, i - half) : i + half + 1]
        assert ecg.ecg[i] == window.max()
    # the R peaks stand well above the isoelectric line (the median)
    assert np.all(ecg.ecg[_idx(ecg.r_peaks)] - np.median(ecg.ecg) > 0.6)


@pytest.mark.parametrize("hr", [55.0, 75.0, 110.0])
def test_heart_rate_from_r_peaks_matches_request(hr):
    ecg = S.synthetic_ecg(60.0, heart_rate_bpm=hr, hrv_std_s=0.03, rng=3)
    measured = 60.0 / np.mean(np.diff(ecg.r_peaks))
    assert abs(measured - hr) < 3.0
    assert np.allclose(ecg.rr, np.diff(ecg.r_peaks))
    assert len(ecg.t_ends) == len(ecg.r_peaks)


def test_ecg_length_and_units(ecg70):
    assert ecg70.ecg.shape == (int(30 * FS),)
    assert ecg70.fs == FS
    # about 1.6 mV peak to peak (plus baseline wander), isoelectric line near 0 mV
    assert 1.5 < np.ptp(ecg70.ecg) < 1.8
    assert abs(np.median(ecg70.ecg)) < 0.06


def test_t_wave_ends_after_the_t_peak_and_before_the_next_beat(ecg70):
    rt = ecg70.t_ends - ecg70.r_peaks
    assert np.all(rt > 0.2) and np.all(rt < 0.45)
    assert np.all(ecg70.t_ends[:-1] < ecg70.r_peaks[1:])
    # the T wave peaks between R + 100 ms and its end, and has decayed by its end
    e = ecg70.ecg
    for r, te in zip(_idx(ecg70.r_peaks[:-1]), _idx(ecg70.t_ends[:-1])):
        seg = e[r + int(0.1 * FS) : te]
        t_peak = seg.max()
        assert t_peak > e[te] + 0.1
        assert np.argmax(seg) < len(seg) - 5


def test_rr_series_statistics():
    rr = S.rr_series(600.0, heart_rate_bpm=80, hrv_std_s=0.02, rsa_s=0.0, rng=5)
    assert rr.sum() >= 600.0 and rr[:-1].sum() < 600.0
    assert abs(rr.mean() - 0.75) < 0.01
    assert 0.014 < rr.std() < 0.026
    rr_rsa = S.rr_series(600.0, heart_rate_bpm=80, hrv_std_s=0.0, rsa_s=0.05, rng=5)
    # pure RSA: a sine of amplitude 50 ms has std 50 / sqrt(2) ms
    assert abs(rr_rsa.std() - 0.05 / np.sqrt(2)) < 0.005


def test_morphology_changes_the_ecg():
    m = S.ECGSYN_MORPHOLOGY.copy()
    m[12] *= 2.0  # a_T: taller T wave (layout a, b, theta per wave)
    # McSharry et al. (2003), Table 1, one row (a, b, theta) per wave P, Q, R, S, T
    table1 = [[1.2, 0.25, -np.pi / 3], [-5.0, 0.1, -np.pi / 12], [30.0, 0.1, 0.0], [-7.5, 0.1, np.pi / 12], [0.75, 0.4, np.pi / 2]]
    assert np.allclose(S.ECGSYN_MORPHOLOGY.reshape(5, 3), table1)
    base = S.synthetic_ecg(10.0, rng=2)
    tall = S.synthetic_ecg(10.0, morphology=m, rng=2)
    assert np.allclose(base.r_peaks, tall.r_peaks)

    def t_amp(e):
        return np.mean([e.ecg[r + 20 : t].max() - np.median(e.ecg) for r, t in zip(_idx(e.r_peaks), _idx(e.t_ends))])

    # relative to the R wave (the ECG is rescaled to a fixed peak to peak)
    ratio = lambda e: t_amp(e) / np.mean(e.ecg[_idx(e.r_peaks)])  # noqa: E731
    assert ratio(tall) > 1.5 * ratio(base)


# ------------------------------------------------------------------- displacement


def test_v1_bursts_sit_at_the_r_peaks(ecg70):
    x, c = S.chest_displacement(ecg70, 30.0, rng=4, return_components=True)
    assert np.all(np.abs(c["T1"] - ecg70.r_peaks) <= 0.015)
    assert np.all(np.abs(c["T2"] - ecg70.t_ends) <= 0.05)
    # independent of the returned T1: the envelope of x in the vibration band peaks near R
    sos = sps.butter(4, S.VIBRATION_BAND_HZ, btype="band", fs=FS, output="sos")
    env = np.abs(sps.hilbert(sps.sosfiltfilt(sos, x - c["resp"])))
    half = int(0.1 * FS)
    errors = []
    for r in _idx(ecg70.r_peaks):
        if r - half < 0 or r + half >= len(x):
            continue
        errors.append((np.argmax(env[r - half : r + half + 1]) - half) / FS)
    assert np.median(np.abs(errors)) <= 0.010
    assert np.max(np.abs(errors)) <= 0.020


def test_vibration_parameters_are_in_their_bands(ecg70):
    _, c = S.chest_displacement(ecg70, 30.0, rng=5, return_components=True)
    lo, hi = S.VIBRATION_BAND_HZ
    assert np.all((c["f1"] > lo) & (c["f1"] < hi))
    assert np.all(c["f2"] < lo)
    assert np.mean(c["a1"]) > np.mean(c["a2"])
    assert 10e-6 < np.mean(c["a1"]) < 100e-6  # tens of micrometres
    assert 0.01 < np.mean(c["b1"]) < 0.1  # tens of milliseconds
    # the cardiac part is three orders of magnitude below breathing
    assert np.ptp(c["resp"]) > 30 * np.ptp(c["v1"] + c["v2"])


def test_v1_spectrum_peaks_at_f1(ecg70):
    _, c = S.chest_displacement(ecg70, 30.0, vibration={"f1": 30.0, "f_jitter_hz": 0.0}, rng=6, return_components=True)
    f = np.fft.rfftfreq(len(c["v1"]), 1 / FS)
    spec = np.abs(np.fft.rfft(c["v1"]))
    assert abs(f[np.argmax(spec)] - 30.0) < 1.0


def test_regular_breathing_has_requested_amplitude_and_rate(ecg70):
    _, c = S.chest_displacement(ecg70, 30.0, resp_rate_hz=0.25, resp_amplitude_m=4e-3, rng=7, return_components=True)
    assert abs(np.ptp(c["resp"]) - 4e-3) < 0.1e-3
    f = np.fft.rfftfreq(len(c["resp"]), 1 / FS)
    spec = np.abs(np.fft.rfft(c["resp"] - c["resp"].mean()))
    assert abs(f[np.argmax(spec)] - 0.25) <= 1 / 30 + 1e-9


def test_irregular_breathing_varies_more():
    ecg = S.synthetic_ecg(60.0, rng=1)

    def cycle_spread(irr):
        _, c = S.chest_displacement(ecg, 60.0, resp_irregularity=irr, rng=8, return_components=True)
        peaks, _ = sps.find_peaks(c["resp"], distance=int(1.5 * FS))
        return np.std(np.diff(peaks)) / np.mean(np.diff(peaks))

    assert cycle_spread(0.6) > 2 * cycle_spread(0.0) + 0.02


# ---------------------------------------------------------------------- radar


def test_radar_phase_formula():
    assert np.isclose(S.WAVELENGTH_M, 3.893e-3, atol=1e-6)
    assert np.isclose(S.radar_phase(S.WAVELENGTH_M / 2), 2 * np.pi)
    assert np.isclose(S.radar_phase(1e-3), 3.228, atol=1e-3)
    assert np.allclose(S.radar_phase(np.array([0.0, 1e-5]), wavelength_m=4e-3), [0.0, np.pi * 1e-2])


def test_radar_channels_follow_the_displacement(ecg70):
    x = S.chest_displacement(ecg70, 30.0, rng=9)
    phase, p = S.radar_channels(x, n_channels=50, rng=10, return_params=True)
    assert phase.shape == (50, len(x))
    assert len(np.unique(np.round(phase[:, 100], 6))) == 50
    ref = S.radar_phase(x)
    for c in range(50):
        assert np.corrcoef(phase[c], ref)[0, 1] > 0.9
    assert np.all((p["snr_db"] >= S.CHANNEL_SNR_DB[0]) & (p["snr_db"] <= S.CHANNEL_SNR_DB[1]))
    # a channel with a larger breathing gain swings more
    swing = np.ptp(phase, axis=1)
    assert np.corrcoef(swing, p["g_resp"])[0, 1] > 0.9


# ---------------------------------------------------------------------- noise


@pytest.mark.parametrize("snr_db", [6.0, 0.0, -3.0, -9.0])
def test_constant_noise_snr(snr_db):
    t = np.arange(2000) / FS
    x = 3.0 * np.sin(2 * np.pi * 1.3 * t) + 1.0
    y = S.add_constant_noise(x, snr_db, rng=1)
    assert abs(_snr_db(np.var(x), y - x) - snr_db) < 0.3
    # 2-D: per channel, each with its own power
    x2 = np.stack([x, 0.01 * x, 50 * np.cos(2 * np.pi * 0.2 * t)])
    y2 = S.add_constant_noise(x2, snr_db, rng=2)
    for c in range(3):
        assert abs(_snr_db(np.var(x2[c]), y2[c] - x2[c]) - snr_db) < 0.3
    # MMECG layout, samples x channels
    y3 = S.add_constant_noise(x2.T, snr_db, rng=2, axis=0)
    for c in range(3):
        assert abs(_snr_db(np.var(x2[c]), y3[:, c] - x2[c]) - snr_db) < 0.3


def test_constant_noise_is_white_and_does_not_modify_input():
    x = np.sin(np.arange(4000) / 7.0)
    x0 = x.copy()
    n = S.add_constant_noise(x, 0.0, rng=3) - x
    assert np.array_equal(x, x0)
    lag1 = np.corrcoef(n[:-1], n[1:])[0, 1]
    assert abs(lag1) < 0.05


@pytest.mark.parametrize("snr_db", [0.0, -9.0])
@pytest.mark.parametrize("duration_s", [1.0, 3.0])
def test_abrupt_noise_snr_and_location(snr_db, duration_s):
    t = np.arange(int(20 * FS)) / FS
    x = np.sin(2 * np.pi * 0.3 * t) + 0.1 * np.sin(2 * np.pi * 30 * t)
    y = S.add_abrupt_noise(x, FS, duration_s, snr_db, rng=4, start_s=5.0)
    n = y - x
    start, stop = int(5.0 * FS), int(5.0 * FS) + int(duration_s * FS)
    assert np.all(n[:start] == 0) and np.all(n[stop:] == 0)
    assert np.count_nonzero(n[start:stop]) == stop - start
    assert abs(_snr_db(np.var(x), n[start:stop]) - snr_db) < 0.3


def test_abrupt_noise_random_start_touches_one_burst_per_call():
    x = np.cos(np.arange(3000) / 10.0)
    starts = set()
    for seed in range(6):
        n = S.add_abrupt_noise(x, FS, 2.0, 0.0, rng=seed) - x
        nz = np.flatnonzero(n)
        assert len(nz) == 400 and nz[-1] - nz[0] == 399
        starts.add(nz[0])
    assert len(starts) > 1
    # 2-D: same burst position on every channel, per-channel SNR
    x2 = np.stack([x, 10 * x])
    n2 = S.add_abrupt_noise(x2, FS, 1.0, -9.0, rng=1) - x2
    assert np.array_equal(np.flatnonzero(n2[0]), np.flatnonzero(n2[1]))
    burst = np.flatnonzero(n2[0])
    for c in range(2):
        assert abs(_snr_db(np.var(x2[c]), n2[c, burst]) - (-9.0)) < 0.3


# ------------------------------------------------------------- subjects, recordings


def test_statuses_change_heart_and_breathing_as_documented():
    subjects = {s: [S.make_subject(i, s, rng=100 + i) for i in range(15)] for s in S.STATUSES}
    for status, subs in subjects.items():
        r = S.STATUS_RANGES[status]
        for sub in subs:
            assert sub.status == status and sub.gender in ("M", "F")
            assert r["hr"][0] <= sub.heart_rate_bpm <= r["hr"][1]
            assert r["resp"][0] <= sub.resp_rate_hz <= r["resp"][1]
            assert r["irr"][0] <= sub.resp_irregularity <= r["irr"][1]
            assert sub.morphology.shape == (15,)
            lo, hi = S.VIBRATION_BAND_HZ
            assert lo < sub.vibration["f1"] < hi and sub.vibration["f2"] < lo
    hr = {s: [x.heart_rate_bpm for x in v] for s, v in subjects.items()}
    resp = {s: [x.resp_rate_hz for x in v] for s, v in subjects.items()}
    irr = {s: [x.resp_irregularity for x in v] for s, v in subjects.items()}
    assert min(hr["PE"]) > max(hr["NB"]) and max(hr["SP"]) < max(hr["NB"])
    assert np.mean(hr["SP"]) < np.mean(hr["NB"]) < np.mean(hr["PE"])
    assert min(resp["PE"]) > max(resp["NB"]) and max(resp["SP"]) < min(resp["NB"])
    assert min(irr["IB"]) > max(irr["NB"] + irr["SP"] + irr["PE"])


def test_recordings_show_the_status():
    rec = {s: S.simulate_recording(S.make_subject(1, s, rng=7), duration_s=40.0, n_channels=4, rng=8) for s in ("SP", "PE")}
    hr = {s: 60 / np.mean(np.diff(r.r_peaks)) for s, r in rec.items()}
    assert hr["PE"] > hr["SP"] + 25
    for s, r in rec.items():
        assert abs(hr[s] - r.subject.heart_rate_bpm) < 4
        f = np.fft.rfftfreq(len(r.displacement), 1 / r.fs)
        spec = np.abs(np.fft.rfft(r.displacement - r.displacement.mean()))
        assert abs(f[np.argmax(spec)] - r.subject.resp_rate_hz) < 0.06


def test_recording_layout():
    sub = S.make_subject(4, "NB", rng=1)
    rec = S.simulate_recording(sub, duration_s=12.0, n_channels=50, rng=2)
    n = int(12.0 * FS)
    assert rec.rcg.shape == (n, 50) and rec.ecg.shape == (n,) and rec.displacement.shape == (n,)
    assert rec.fs == FS and rec.subject is sub
    assert np.all((rec.r_peaks >= 0) & (rec.r_peaks < 12.0))
    assert np.all(np.isfinite(rec.rcg))


def test_determinism_for_a_seed():
    sub_a, sub_b = S.make_subject(2, "IB", rng=5), S.make_subject(2, "IB", rng=5)
    assert sub_a.heart_rate_bpm == sub_b.heart_rate_bpm
    assert np.array_equal(sub_a.morphology, sub_b.morphology)
    a = S.simulate_recording(sub_a, 10.0, 8, rng=9)
    b = S.simulate_recording(sub_b, 10.0, 8, rng=np.random.default_rng(9))
    c = S.simulate_recording(sub_a, 10.0, 8, rng=10)
    assert np.array_equal(a.rcg, b.rcg) and np.array_equal(a.ecg, b.ecg)
    assert np.array_equal(a.r_peaks, b.r_peaks)
    assert not np.array_equal(a.rcg, c.rcg)
    x = np.sin(np.arange(500) / 5.0)
    assert np.array_equal(S.add_constant_noise(x, 3, rng=1), S.add_constant_noise(x, 3, rng=1))
    assert np.array_equal(S.add_abrupt_noise(x, FS, 1, 0, rng=1), S.add_abrupt_noise(x, FS, 1, 0, rng=1))


def test_sixty_seconds_of_fifty_channels_is_fast():
    sub = S.make_subject(0, "NB", rng=0)
    S.simulate_recording(sub, 5.0, 50, rng=0)  # warm-up
    t0 = time.perf_counter()
    S.simulate_recording(sub, 60.0, 50, rng=1)
    assert time.perf_counter() - t0 < 2.0  # typically ~0.15 s


# ------------------------------------------------------------------- bad input

X = np.sin(np.arange(400) / 5.0)
ECG10 = S.synthetic_ecg(5.0, rng=0)
BAD_CALLS = [
    ("duration_s", ValueError, lambda: S.synthetic_ecg(0.0)),
    ("duration_s", ValueError, lambda: S.synthetic_ecg(-1.0)),
    ("duration_s", ValueError, lambda: S.synthetic_ecg(float("nan"))),
    ("fs", ValueError, lambda: S.synthetic_ecg(5.0, fs=0.0)),
    ("fs", ValueError, lambda: S.synthetic_ecg(5.0, fs=float("inf"))),
    ("heart_rate_bpm", ValueError, lambda: S.synthetic_ecg(5.0, heart_rate_bpm=400)),
    ("hrv_std_s", ValueError, lambda: S.rr_series(5.0, hrv_std_s=-0.1)),
    ("resp_rate_hz", ValueError, lambda: S.rr_series(5.0, resp_rate_hz=0.0)),
    ("morphology", ValueError, lambda: S.synthetic_ecg(5.0, morphology=np.ones(14))),
    ("morphology", ValueError, lambda: S.synthetic_ecg(5.0, morphology=np.full(15, np.nan))),
    ("rng", TypeError, lambda: S.synthetic_ecg(5.0, rng="seed")),
    ("ecg", TypeError, lambda: S.chest_displacement(np.zeros(100), 1.0)),
    ("duration_s", ValueError, lambda: S.chest_displacement(ECG10, 6.0)),
    ("resp_amplitude_m", ValueError, lambda: S.chest_displacement(ECG10, 5.0, resp_amplitude_m=-1e-3)),
    ("vibration", ValueError, lambda: S.chest_displacement(ECG10, 5.0, vibration={"a3": 1.0})),
    ("vibration['b1']", ValueError, lambda: S.chest_displacement(ECG10, 5.0, vibration={"b1": 0.0})),
    ("x_m", ValueError, lambda: S.radar_phase(np.array([0.0, np.inf]))),
    ("wavelength_m", ValueError, lambda: S.radar_phase(1e-3, wavelength_m=0.0)),
    ("displacement_m", ValueError, lambda: S.radar_channels(np.array([]))),
    ("displacement_m", ValueError, lambda: S.radar_channels(np.array([1.0, np.nan]))),
    ("displacement_m", ValueError, lambda: S.radar_channels(np.zeros((3, 10)))),
    ("n_channels", ValueError, lambda: S.radar_channels(X, n_channels=0)),
    ("n_channels", TypeError, lambda: S.radar_channels(X, n_channels=2.5)),
    ("fs", ValueError, lambda: S.radar_channels(X, fs=-200.0)),
    ("x", ValueError, lambda: S.add_constant_noise(np.array([]), 0.0)),
    ("x", ValueError, lambda: S.add_constant_noise(np.array([1.0, np.nan, 2.0]), 0.0)),
    ("x", ValueError, lambda: S.add_constant_noise(np.ones(50), 0.0)),
    ("snr_db", ValueError, lambda: S.add_constant_noise(X, float("nan"))),
    ("snr_db", ValueError, lambda: S.add_constant_noise(X, np.inf)),
    ("snr_db", TypeError, lambda: S.add_constant_noise(X, "6 dB")),
    ("axis", ValueError, lambda: S.add_constant_noise(X, 0.0, axis=1)),
    ("x", ValueError, lambda: S.add_abrupt_noise(np.array([]), FS, 1.0, 0.0)),
    ("x", ValueError, lambda: S.add_abrupt_noise(np.full(400, np.inf), FS, 1.0, 0.0)),
    ("fs", ValueError, lambda: S.add_abrupt_noise(X, 0.0, 1.0, 0.0)),
    ("fs", ValueError, lambda: S.add_abrupt_noise(X, float("nan"), 1.0, 0.0)),
    ("duration_s", ValueError, lambda: S.add_abrupt_noise(X, FS, 0.0, 0.0)),
    ("duration_s", ValueError, lambda: S.add_abrupt_noise(X, FS, 3.0, 0.0)),
    ("snr_db", ValueError, lambda: S.add_abrupt_noise(X, FS, 1.0, float("-inf"))),
    ("start_s", ValueError, lambda: S.add_abrupt_noise(X, FS, 1.0, 0.0, start_s=1.5)),
    ("start_s", ValueError, lambda: S.add_abrupt_noise(X, FS, 1.0, 0.0, start_s=-0.1)),
    ("status", ValueError, lambda: S.make_subject(1, "RUN")),
    ("subject_id", TypeError, lambda: S.make_subject("one")),
    ("subject", TypeError, lambda: S.simulate_recording({"id": 1})),
    ("n_channels", ValueError, lambda: S.simulate_recording(S.make_subject(0, rng=0), 5.0, n_channels=0)),
    ("duration_s", ValueError, lambda: S.simulate_recording(S.make_subject(0, rng=0), duration_s=0.0)),
]


@pytest.mark.parametrize("name,exc,call", BAD_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CALLS)])
def test_bad_input_raises_naming_the_argument(name, exc, call):
    with pytest.raises(exc, match=rf"(^|\W){re.escape(name)}(\W|$)"):
        call()


@pytest.mark.parametrize("duration_s", [3.0, 8.0, 30.0])
def test_breathing_is_slow_for_short_and_long_records(duration_s):
    # Everything above 4 Hz in the chest displacement is the cardiac vibrations (tens of um),
    # never breathing, whatever the record's length.
    subject = S.make_subject(1, "IB", rng=3)
    rec = S.simulate_recording(subject, duration_s=duration_s, n_channels=2, rng=3)
    sos = sps.butter(4, 4.0, btype="high", fs=rec.fs, output="sos")
    fast = sps.sosfiltfilt(sos, rec.displacement)
    interior = fast[int(0.5 * rec.fs) : -int(0.5 * rec.fs)]
    assert np.max(np.abs(interior)) < 3 * subject.vibration["a1"]


def test_radar_channels_snr_range(ecg70):
    x = S.chest_displacement(ecg70, 30.0, rng=9)
    default = S.radar_channels(x, n_channels=20, rng=10)
    explicit = S.radar_channels(x, n_channels=20, rng=10, snr_db_range=S.CHANNEL_SNR_DB)
    assert np.array_equal(default, explicit)  # the default range is CHANNEL_SNR_DB, draw for draw
    clean = S.radar_channels(x, n_channels=20, rng=10, snr_db_range=(200.0, 200.0))
    noisy, p = S.radar_channels(x, n_channels=20, rng=10, snr_db_range=(-15.0, 5.0), return_params=True)
    assert np.all((p["snr_db"] >= -15.0) & (p["snr_db"] <= 5.0))
    # the measured SNR of each channel against its cardiac part: the noise is the difference to the clean phase
    fast = x - sps.sosfiltfilt(sps.butter(4, 4.0, btype="low", fs=S.FS, output="sos"), x)
    card = S.radar_phase(fast)[None, :] * p["g_card"][:, None]
    measured = 10 * np.log10(np.var(card, axis=1) / np.var(noisy - clean, axis=1))
    assert np.allclose(measured, p["snr_db"], atol=0.5)  # 6000 samples: a fraction of a dB of scatter


@pytest.mark.parametrize("bad", [(0.0,), (5.0, 1.0), (float("nan"), 1.0), ("a", 1.0), (True, 2.0)])
def test_radar_channels_snr_range_errors(ecg70, bad):
    x = S.chest_displacement(ecg70, 10.0, rng=9)
    with pytest.raises(ValueError, match="snr_db_range"):
        S.radar_channels(x, n_channels=2, rng=1, snr_db_range=bad)
