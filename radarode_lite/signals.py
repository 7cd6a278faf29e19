"""Synthetic radar and ECG signals: the signal model of radarODE-MTL (chapter 1; recordings: chapter 4).

The chest of a person in front of a 77 GHz FMCW radar moves by breathing (millimetres)
and by the mechanical activity of the heart (micrometres). The radar measures that
displacement ``x(t)`` as a phase change (Zhang et al., IEEE TIM 2025, signal model)

    Delta phi(t) = 4 pi x(t) / lambda,   x(t) = x_c(t) + n_abr(t) + n_con(t),

and the cardiac part is modelled by two vibrations per heartbeat ``k``

    v_i^k(t) = a_i^k cos(2 pi f_i^k t) exp(-(t - T_i^k)^2 / (b_i^k)^2),   i = 1, 2,

``v_1`` at the R peak (the anchor the network learns to find) and ``v_2`` at the end of
the T wave. This module simulates all of it, together with the reference ECG from
McSharry's dynamical model (McSharry et al., IEEE TBME 2003), in numpy and scipy only:

- :func:`rr_series`, :func:`synthetic_ecg`: heartbeat timing and the ECG (chapter 1; the
  model itself is the subject of chapter 3);
- :func:`chest_displacement`, :func:`radar_phase`, :func:`radar_channels`: the radar side
  (chapter 1);
- :func:`add_constant_noise`, :func:`add_abrupt_noise`: the two noise families of the paper's
  robustness study (chapter 1; used in chapter 14), defined in :mod:`radarode_lite.noise` and
  importable from here too;
- :func:`make_subject`, :func:`simulate_recording`: MMECG-like subjects and recordings
  (chapter 4).

The module is a little over 600 lines because the signal model is one piece: subjects, ECG,
chest displacement and radar channels share their parameters and are read together in
chapter 1.

Every random function takes ``rng``: ``None`` (fresh entropy), an ``int`` seed or a
:class:`numpy.random.Generator`. Times are in seconds, displacements in metres, phases in
radians, ECG in millivolts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from scipy import signal as sps

from radarode_lite import _checks
from radarode_lite._checks import finite_array
from radarode_lite._checks import non_negative as _non_negative
from radarode_lite._checks import positive as _positive
from radarode_lite._checks import real_number as _finite
from radarode_lite.conventions import ECG_MORPHOLOGY, FS, STATUSES, VIBRATION_BAND_HZ, WAVES
from radarode_lite.noise import add_abrupt_noise, add_constant_noise

__all__ = [
    "FS", "CARRIER_HZ", "WAVELENGTH_M", "STATUSES", "VIBRATION_BAND_HZ", "ECGSYN_MORPHOLOGY", "WAVES",
    "STATUS_RANGES", "DEFAULT_VIBRATION", "CHANNEL_SNR_DB", "Subject", "make_subject", "ECG", "rr_series",
    "synthetic_ecg", "chest_displacement", "radar_phase", "radar_channels", "add_constant_noise",
    "add_abrupt_noise", "Recording", "simulate_recording",
]  # fmt: skip

# FS (Hz, the rate of the radar phase and of the reference ECG, as in MMECG), STATUSES (the
# MMECG physiological statuses), VIBRATION_BAND_HZ (band of the anchor vibration v1, searched
# by ``timefreq.locate_anchors``) and WAVES come from :mod:`radarode_lite.conventions`.
#: Carrier frequency of the FMCW radar (Hz) and its wavelength (m), about 3.89 mm.
CARRIER_HZ = 77e9
WAVELENGTH_M = 299_792_458 / CARRIER_HZ

#: The wave parameters at 60 bpm of McSharry et al. (2003), Table 1, interleaved wave by
#: wave as ``ode.DEFAULT_PARAMS``: ``[a_P, b_P, theta_P, a_Q, ..., theta_T]``; amplitudes a,
#: widths b (rad), angles theta (rad).
ECGSYN_MORPHOLOGY = np.array(ECG_MORPHOLOGY)

#: Ranges (uniform draws) of each status's physiology, used by :func:`make_subject`.
#: ``hr``: heart rate (bpm); ``hrv``: beat-to-beat RR std (s); ``resp``: breathing rate (Hz);
#: ``amp``: breathing peak-to-peak chest displacement (m); ``irr``: breathing irregularity.
STATUS_RANGES = {
    "NB": {"hr": (60.0, 80.0), "hrv": (0.02, 0.04), "resp": (0.20, 0.30), "amp": (2e-3, 5e-3), "irr": (0.0, 0.1)},
    "IB": {"hr": (60.0, 85.0), "hrv": (0.02, 0.05), "resp": (0.15, 0.35), "amp": (2e-3, 6e-3), "irr": (0.4, 0.7)},
    "PE": {"hr": (90.0, 120.0), "hrv": (0.005, 0.015), "resp": (0.35, 0.50), "amp": (4e-3, 8e-3), "irr": (0.0, 0.15)},
    "SP": {"hr": (50.0, 62.0), "hrv": (0.03, 0.06), "resp": (0.13, 0.20), "amp": (1.5e-3, 3e-3), "irr": (0.0, 0.05)},
}

#: Centres of the vibration parameters when none are given (see :func:`chest_displacement`).
DEFAULT_VIBRATION = {
    "a1": 40e-6, "b1": 0.030, "f1": 32.0,
    "a2": 15e-6, "b2": 0.050, "f2": 12.0,
    "a_jitter": 0.15, "b_jitter": 0.10, "f_jitter_hz": 1.0,
    "t1_jitter_s": 0.003, "t2_jitter_s": 0.008,
}  # fmt: skip

#: Range (dB) of the per-channel SNR in :func:`radar_channels`, relative to the cardiac part.
CHANNEL_SNR_DB = (0.0, 20.0)

_INTERNAL_FS = 1000.0  # Hz, rate at which the ECG model is integrated before decimation
_PRE_ROLL_S = 2.0  # s simulated before t = 0 so that the ODE starts from its limit cycle


# ---------------------------------------------------------------------------------------
# Subjects
# ---------------------------------------------------------------------------------------


@dataclass
class Subject:
    """One simulated MMECG-like subject (chapter 4).

    ``morphology`` is (15,) ``[a_P, b_P, theta_P, ..., a_T, b_T, theta_T]`` of McSharry's
    model at 60 bpm; ``vibration`` holds the centres of the two-vibration model (keys as in
    :data:`DEFAULT_VIBRATION`: ``a1, a2`` in m, ``b1, b2`` in s, ``f1, f2`` in Hz, jitters).
    """

    id: int
    age: int
    gender: str
    status: str
    heart_rate_bpm: float
    hrv_std_s: float
    resp_rate_hz: float
    resp_amplitude_m: float
    resp_irregularity: float
    morphology: np.ndarray
    vibration: dict = field(default_factory=lambda: dict(DEFAULT_VIBRATION))
    rsa_s: float = 0.03


def make_subject(subject_id, status="NB", rng=None) -> Subject:
    """Draw a subject whose heart and breathing match an MMECG physiological status (chapter 4).

    Each quantity is drawn uniformly from :data:`STATUS_RANGES` of the status:

    ======  =============  ============  ===============  ==================  ===========
    status  heart rate     RR std (s)    breathing (Hz)   breathing p-p (mm)  irregularity
    ======  =============  ============  ===============  ==================  ===========
    NB      60-80 bpm      0.02-0.04     0.20-0.30        2-5                 0-0.1
    IB      60-85 bpm      0.02-0.05     0.15-0.35        2-6                 0.4-0.7
    PE      90-120 bpm     0.005-0.015   0.35-0.50        4-8                 0-0.15
    SP      50-62 bpm      0.03-0.06     0.13-0.20        1.5-3               0-0.05
    ======  =============  ============  ===============  ==================  ===========

    So post-exercise (PE) means a faster heart, less variability and faster, deeper breathing;
    sleep (SP) a slower heart and slow, shallow, regular breathing; irregular breathing (IB)
    breathing whose rate and depth wander. Age is drawn in 20-70 years, gender M/F with equal
    odds; the morphology is ECGSYN's (:data:`ECGSYN_MORPHOLOGY`) with amplitudes and widths
    scaled by 1 + N(0, 0.08) and angles (except the R wave's, which stays 0) shifted by
    N(0, 0.03) rad; the vibration centres are drawn as a1 25-60 um, a2 = (0.25-0.5) a1,
    b1 25-40 ms, b2 40-70 ms, f1 25-40 Hz, f2 8-16 Hz.

    Parameters
    ----------
    subject_id : int, non-negative.
    status : one of :data:`STATUSES`.
    rng : None, int seed or numpy Generator.
    """
    if isinstance(subject_id, bool) or not isinstance(subject_id, Integral) or subject_id < 0:
        raise TypeError(f"subject_id must be a non-negative int, got {subject_id!r}")
    if status not in STATUS_RANGES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    rng = _checks.rng(rng)
    r = STATUS_RANGES[status]
    draw = lambda key: float(rng.uniform(*r[key]))  # noqa: E731
    hr, hrv, resp, amp, irr = draw("hr"), draw("hrv"), draw("resp"), draw("amp"), draw("irr")
    age = int(rng.integers(20, 71))
    gender = "M" if rng.random() < 0.5 else "F"
    morph = ECGSYN_MORPHOLOGY.copy().reshape(5, 3)  # rows P..T, columns a, b, theta
    morph[:, :2] *= 1.0 + 0.08 * rng.standard_normal((5, 2))
    shift = 0.03 * rng.standard_normal(5)
    shift[2] = 0.0
    morph[:, 2] += shift
    morph = morph.ravel()
    a1 = rng.uniform(25e-6, 60e-6)
    vibration = dict(DEFAULT_VIBRATION)
    vibration.update(
        a1=float(a1), a2=float(a1 * rng.uniform(0.25, 0.5)),
        b1=float(rng.uniform(0.025, 0.040)), b2=float(rng.uniform(0.040, 0.070)),
        f1=float(rng.uniform(25.0, 40.0)), f2=float(rng.uniform(8.0, 16.0)),
    )  # fmt: skip
    return Subject(
        id=int(subject_id), age=age, gender=gender, status=status,
        heart_rate_bpm=hr, hrv_std_s=hrv, resp_rate_hz=resp, resp_amplitude_m=amp,
        resp_irregularity=irr, morphology=morph, vibration=vibration, rsa_s=min(0.03, 0.5 * hrv + 0.01),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# ECG
# ---------------------------------------------------------------------------------------


@dataclass
class ECG:
    """A synthetic ECG with its fiducial points (chapter 1).

    ``ecg``: (N,) mV sampled at ``fs`` Hz; ``r_peaks``: (K,) s, the ECG's sample maxima at
    the R waves; ``t_ends``: (K,) s, end of the T wave of each of those beats (may lie past
    the end of the signal for the last beat); ``rr``: (K-1,) s, ``diff(r_peaks)``.
    """

    ecg: np.ndarray
    fs: float
    r_peaks: np.ndarray
    t_ends: np.ndarray
    rr: np.ndarray


def rr_series(duration_s, heart_rate_bpm=70.0, hrv_std_s=0.03, resp_rate_hz=0.25, rsa_s=0.03, rng=None):
    """RR intervals (s) covering at least ``duration_s`` seconds (chapter 1).

    Beat ``k`` starting at time ``t_k`` lasts

        RR_k = 60 / HR + rsa_s sin(2 pi f_resp t_k + phi) + e_k,

    the sine being respiratory sinus arrhythmia (RSA) and ``e_k`` an AR(1) process
    (coefficient 0.8, a slow Mayer-wave-like drift) with standard deviation ``hrv_std_s``.
    Intervals are clipped to 0.3-2.0 s.

    Parameters
    ----------
    duration_s : s, > 0; the intervals sum to at least this.
    heart_rate_bpm : mean heart rate, 20-250 bpm.
    hrv_std_s : s, >= 0, standard deviation of the random part.
    resp_rate_hz : Hz, > 0, breathing rate that modulates the RR intervals.
    rsa_s : s, >= 0, amplitude of that modulation.
    rng : None, int seed or numpy Generator.

    Returns
    -------
    rr : (K,) s.
    """
    duration_s = _positive(duration_s, "duration_s")
    heart_rate_bpm = _finite(heart_rate_bpm, "heart_rate_bpm")
    if not 20.0 <= heart_rate_bpm <= 250.0:
        raise ValueError(f"heart_rate_bpm must lie in 20-250 bpm, got {heart_rate_bpm}")
    hrv_std_s = _non_negative(hrv_std_s, "hrv_std_s")
    resp_rate_hz = _positive(resp_rate_hz, "resp_rate_hz")
    rsa_s = _non_negative(rsa_s, "rsa_s")
    rng = _checks.rng(rng)
    rr_mean = 60.0 / heart_rate_bpm
    n = int(np.ceil(duration_s / max(rr_mean - rsa_s - 3 * hrv_std_s, 0.3))) + 2
    rho = 0.8
    innov = rng.standard_normal(n)
    e = np.empty(n)
    e[0] = hrv_std_s * innov[0]
    for k in range(1, n):
        e[k] = rho * e[k - 1] + np.sqrt(1 - rho**2) * hrv_std_s * innov[k]
    phase = rng.uniform(0, 2 * np.pi)
    rr = np.empty(n)
    t = 0.0
    for k in range(n):
        rr[k] = np.clip(rr_mean + rsa_s * np.sin(2 * np.pi * resp_rate_hz * t + phase) + e[k], 0.3, 2.0)
        t += rr[k]
    stop = int(np.searchsorted(np.cumsum(rr), duration_s)) + 1
    return rr[: min(stop, n)]


def synthetic_ecg(duration_s, fs=FS, heart_rate_bpm=70.0, hrv_std_s=0.03, resp_rate_hz=0.25, rsa_s=0.03,
                  morphology=None, rng=None) -> ECG:  # fmt: skip
    """Simulate an ECG with McSharry's dynamical model, ECGSYN-style (chapter 1; model: chapter 3).

    The model (McSharry et al., 2003) moves a point round the unit circle at angular speed
    ``omega(t) = 2 pi / RR(t)`` while its height obeys

        dz/dt = -sum_i a_i dtheta_i exp(-dtheta_i^2 / (2 b_i^2)) - (z - z0),
        dtheta_i = (theta - theta_i) mod 2 pi,   i in {P, Q, R, S, T}.

    On the limit cycle the first two equations reduce to ``dtheta/dt = omega``, so ``theta``
    is integrated exactly beat by beat (theta = 0 at each R wave, RR from :func:`rr_series`);
    ``z`` is integrated at 1 kHz with the exponential (exact for this linear equation) step
    and decimated to ``fs``. As in ECGSYN the widths are scaled by ``sqrt(HR/60)`` and the
    angles of P, Q, S, T by its powers, the signal is scaled to 1.6 mV peak to peak with the
    isoelectric line (the median) at 0 mV, and a 0.05 mV respiratory baseline wander is added.
    ``r_peaks`` are the sample maxima within 40 ms of each theta = 0 crossing;
    ``t_ends`` the angle ``theta_T + 2 b_T`` (T wave down to e^-2 of its peak).

    Parameters
    ----------
    duration_s : s, > 0.
    fs : Hz, > 0 (at most 1000).
    heart_rate_bpm, hrv_std_s, resp_rate_hz, rsa_s : see :func:`rr_series`.
    morphology : (15,) ``[a_P, b_P, theta_P, ..., a_T, b_T, theta_T]`` at 60 bpm; default
        :data:`ECGSYN_MORPHOLOGY`.
    rng : None, int seed or numpy Generator.

    Returns
    -------
    :class:`ECG` with ``ecg`` (round(duration_s * fs),) mV.
    """
    duration_s = _positive(duration_s, "duration_s")
    fs = _positive(fs, "fs")
    if fs > _INTERNAL_FS:
        raise ValueError(f"fs must be at most {_INTERNAL_FS:.0f} Hz, got {fs}")
    morph = _morphology(morphology)
    rng = _checks.rng(rng)
    rr = rr_series(duration_s + _PRE_ROLL_S + 2.0, heart_rate_bpm, hrv_std_s, resp_rate_hz, rsa_s, rng)
    # R-wave times (theta = 0); the first lies a random fraction of a beat before the pre-roll.
    r_theta = np.concatenate([[0.0], np.cumsum(rr)]) - _PRE_ROLL_S - rng.uniform(0, rr[0])
    hrfact = np.sqrt(heart_rate_bpm / 60.0)
    a = morph[0::3]
    b = morph[1::3] * hrfact
    theta_i = morph[2::3] * np.array([np.sqrt(hrfact), hrfact, 1.0, hrfact, np.sqrt(hrfact)])

    h = 1.0 / _INTERNAL_FS
    t = np.arange(-_PRE_ROLL_S, duration_s, h) + h / 2  # midpoints of the integration steps
    k = np.clip(np.searchsorted(r_theta, t, side="right") - 1, 0, len(rr) - 1)
    theta = 2 * np.pi * (t - r_theta[k]) / rr[k]
    dth = np.mod(theta[:, None] - theta_i[None, :] + np.pi, 2 * np.pi) - np.pi
    forcing = -np.sum(a * dth * np.exp(-(dth**2) / (2 * b**2)), axis=1)
    decay = np.exp(-h)
    z = sps.lfilter([1 - decay], [1, -decay], forcing)  # z at the end of each step
    z = np.concatenate([[0.0], z[:-1]])[int(round(_PRE_ROLL_S * _INTERNAL_FS)) :]

    n_out = int(round(duration_s * fs))
    ratio = _INTERNAL_FS / fs
    if abs(ratio - round(ratio)) < 1e-9:
        z = sps.resample_poly(z, 1, int(round(ratio)))[:n_out]
    else:
        z = np.interp(np.arange(n_out) / fs, np.arange(len(z)) * h, z)
    z = (z - np.median(z)) * (1.6 / (z.max() - z.min()))  # the median is the isoelectric level
    tt = np.arange(n_out) / fs
    ecg = z + 0.05 * np.sin(2 * np.pi * resp_rate_hz * tt + rng.uniform(0, 2 * np.pi))

    keep = (r_theta >= 0.05) & (r_theta <= duration_s - 0.05) & (np.arange(len(r_theta)) < len(rr))
    half = max(1, int(round(0.04 * fs)))
    r_idx = []
    for rt in r_theta[keep]:
        c = int(round(rt * fs))
        lo, hi = max(0, c - half), min(n_out, c + half + 1)
        r_idx.append(lo + int(np.argmax(ecg[lo:hi])))
    r_peaks = np.asarray(r_idx, dtype=float) / fs
    rr_keep = rr[np.flatnonzero(keep)]
    theta_end = min(theta_i[4] + 2 * b[4], 2 * np.pi + theta_i[0] - b[0])  # before the next P wave
    t_ends = r_theta[keep] + theta_end / (2 * np.pi) * rr_keep
    return ECG(ecg=ecg, fs=float(fs), r_peaks=r_peaks, t_ends=t_ends, rr=np.diff(r_peaks))


# ---------------------------------------------------------------------------------------
# Chest displacement and radar phase
# ---------------------------------------------------------------------------------------


def chest_displacement(ecg: ECG, duration_s, fs=FS, resp_rate_hz=0.25, resp_amplitude_m=3e-3,
                       resp_irregularity=0.0, vibration=None, rng=None, return_components=False):  # fmt: skip
    """Chest displacement x(t) (m) of the two-vibration signal model, driven by an ECG (chapter 1).

        x(t) = resp(t) + sum_k v1^k(t) + sum_k v2^k(t),
        v_i^k(t) = a_i^k cos(2 pi f_i^k t) exp(-(t - T_i^k)^2 / (b_i^k)^2),

    with ``T1^k`` at the R peak of beat ``k`` and ``T2^k`` at the end of its T wave (slides
    of Zhang et al., signal model). Because the carrier uses absolute time ``t``, its phase
    at the burst centre differs from beat to beat. Each beat draws its own parameters
    around the centres in ``vibration``:

    ===========  ===================================  ====================  ====================
    parameter    meaning                              default centre        per-beat spread
    ===========  ===================================  ====================  ====================
    a1           amplitude of v1                      40 um (25-60 um)      x (1 + N(0, 0.15))
    b1           width of v1 (1/e half-width)         30 ms (25-40 ms)      x (1 + N(0, 0.10))
    f1           centre frequency of v1               32 Hz (25-40 Hz)      + N(0, 1 Hz), kept
                                                                            in 21-44 Hz
    T1           time of v1                           R peak                + N(0, 3 ms),
                                                                            clipped to +-10 ms
    a2           amplitude of v2                      15 um ((0.25-0.5) a1) x (1 + N(0, 0.15))
    b2           width of v2                          50 ms (40-70 ms)      x (1 + N(0, 0.10))
    f2           centre frequency of v2               12 Hz (8-16 Hz)       + N(0, 1 Hz), kept
                                                                            in 4-19 Hz
    T2           time of v2                           end of T wave         + N(0, 8 ms)
    resp         breathing, peak to peak              3 mm (1.5-8 mm)       rate and depth wander
                                                                            with irregularity
    ===========  ===================================  ====================  ====================

    Ranges in brackets are those :func:`make_subject` draws from. ``f1`` lies inside
    :data:`VIBRATION_BAND_HZ` and ``f2`` below it, so the band search of chapter 2 finds
    v1. Breathing is a raised cosine with a faster inhale than exhale, whose rate and depth
    are modulated by slow (< 0.1 Hz) random processes with relative standard deviations
    ``0.4 * resp_irregularity`` and ``0.5 * resp_irregularity``.

    Parameters
    ----------
    ecg : :class:`ECG` providing ``r_peaks`` and ``t_ends`` (s).
    duration_s : s, > 0, at most the ECG's duration.
    fs : Hz, > 0, sampling rate of the output.
    resp_rate_hz : Hz, > 0; resp_amplitude_m : m, >= 0, peak to peak;
    resp_irregularity : >= 0 (0 regular, ~0.5 irregular breathing).
    vibration : dict overriding keys of :data:`DEFAULT_VIBRATION` (``a1``, ``b1``, ``f1``,
        ``a2``, ``b2``, ``f2``, ``a_jitter``, ``b_jitter``, ``f_jitter_hz``, ``t1_jitter_s``,
        ``t2_jitter_s``); a subject's ``vibration`` fits here.
    rng : None, int seed or numpy Generator.
    return_components : also return the parts of the model.

    Returns
    -------
    x : (round(duration_s * fs),) m; with ``return_components`` also a dict with ``t`` (s),
    ``resp``, ``v1``, ``v2`` (m, same shape as x) and per-beat ``T1``, ``T2`` (s), ``a1``,
    ``a2`` (m), ``b1``, ``b2`` (s), ``f1``, ``f2`` (Hz).
    """
    if not isinstance(ecg, ECG):
        raise TypeError(f"ecg must be an ECG (from synthetic_ecg), got {type(ecg).__name__}")
    duration_s = _positive(duration_s, "duration_s")
    ecg_duration = len(ecg.ecg) / ecg.fs
    if duration_s > ecg_duration + 1e-9:
        raise ValueError(f"duration_s ({duration_s} s) is longer than the ECG ({ecg_duration} s)")
    fs = _positive(fs, "fs")
    resp_rate_hz = _positive(resp_rate_hz, "resp_rate_hz")
    resp_amplitude_m = _non_negative(resp_amplitude_m, "resp_amplitude_m")
    resp_irregularity = _non_negative(resp_irregularity, "resp_irregularity")
    p = _vibration_params(vibration)
    rng = _checks.rng(rng)

    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    resp = _breathing(t, resp_rate_hz, resp_amplitude_m, resp_irregularity, rng)

    beats = _beat_vibrations(np.asarray(ecg.r_peaks, float), np.asarray(ecg.t_ends, float), p, rng)
    v1 = _bursts(t, fs, beats["a1"], beats["b1"], beats["f1"], beats["T1"])
    v2 = _bursts(t, fs, beats["a2"], beats["b2"], beats["f2"], beats["T2"])
    x = resp + v1 + v2
    if not return_components:
        return x
    return x, dict(t=t, resp=resp, v1=v1, v2=v2, **beats)


def radar_phase(x_m, wavelength_m=WAVELENGTH_M):
    """Radar phase change (rad) of a displacement: Delta phi = 4 pi x / lambda (chapter 1).

    The factor 4 pi (not 2 pi) is because the wave travels to the chest and back. At 77 GHz
    (lambda = 3.89 mm) one millimetre is 3.23 rad and ten micrometres 0.032 rad.

    Parameters
    ----------
    x_m : array or float, displacement in m (finite).
    wavelength_m : m, > 0.
    """
    x = finite_array(x_m, "x_m", allow_empty=True)
    wavelength_m = _positive(wavelength_m, "wavelength_m")
    return 4 * np.pi * x / wavelength_m


def radar_channels(displacement_m, fs=FS, n_channels=50, rng=None, return_params=False, snr_db_range=None):
    """Phase (rad) seen by ``n_channels`` range-angle bins around the chest, MMECG-like (chapter 1).

    The displacement is split (4th-order Butterworth at 4 Hz, zero phase) into a slow part
    (breathing) and a fast part (cardiac vibrations). Channel ``c`` sees

        phi_c(t) = 4 pi / lambda (g_resp,c slow(t) + g_card,c fast(t - d_c)) + phi0_c + n_c(t)

    with gains ``g_resp`` drawn in 0.3-1.2 and ``g_card`` in 0.1-1.2 (some bins see more
    breathing, some more heart), a delay ``d_c`` of the cardiac part drawn in 0-3 ms (the
    vibration reaches different patches of the chest at slightly different times; applied
    as a fractional delay in the frequency domain), a static phase ``phi0_c`` in [-pi, pi)
    and white Gaussian noise ``n_c`` whose SNR relative to the channel's cardiac part is
    drawn uniformly in ``snr_db_range`` (default :data:`CHANNEL_SNR_DB`, 0-20 dB).

    Parameters
    ----------
    displacement_m : (N,) m, finite.
    fs : Hz, > 0.
    n_channels : int >= 1 (MMECG has 50).
    rng : None, int seed or numpy Generator.
    return_params : also return a dict of the per-channel ``g_resp``, ``g_card``,
        ``delay`` (s), ``phase0`` (rad) and ``snr_db``.
    snr_db_range : None or ``(low, high)`` dB, finite, low <= high: the range of the channels'
        SNR (the benchmark data set of chapter 12 uses a noisier range than the chapters').

    Returns
    -------
    phase : (n_channels, N) rad (and the dict with ``return_params``).
    """
    x = finite_array(displacement_m, "displacement_m")
    if x.ndim != 1:
        raise ValueError(f"displacement_m must be 1-D (N,), got shape {x.shape}")
    fs = _positive(fs, "fs")
    n_channels = _checks.integer(n_channels, "n_channels", low=1)
    rng = _checks.rng(rng)
    snr_low, snr_high = _snr_range(snr_db_range)
    if len(x) > 27 and fs > 8.0:
        sos = sps.butter(4, 4.0, btype="low", fs=fs, output="sos")
        slow = sps.sosfiltfilt(sos, x)
    else:  # too short or too slowly sampled to split
        slow = np.full_like(x, x.mean())
    fast = x - slow
    c = n_channels
    g_resp = rng.uniform(0.3, 1.2, c)
    g_card = rng.uniform(0.1, 1.2, c)
    delay = rng.uniform(0.0, 0.003, c)
    phase0 = rng.uniform(-np.pi, np.pi, c)
    snr_db = rng.uniform(snr_low, snr_high, c)
    k = 4 * np.pi / WAVELENGTH_M
    freqs = np.fft.rfftfreq(len(x), 1.0 / fs)
    shifted = np.fft.irfft(np.fft.rfft(fast)[None, :] * np.exp(-2j * np.pi * freqs[None, :] * delay[:, None]), len(x))
    card = k * g_card[:, None] * shifted
    clean = k * g_resp[:, None] * slow[None, :] + card
    ref = np.var(card, axis=1)
    ref = np.where(ref > 0, ref, np.maximum(np.var(clean, axis=1), 1e-30))
    noise = rng.standard_normal(clean.shape) * np.sqrt(ref / 10 ** (snr_db / 10))[:, None]
    phase = clean + phase0[:, None] + noise
    if return_params:
        return phase, dict(g_resp=g_resp, g_card=g_card, delay=delay, phase0=phase0, snr_db=snr_db)
    return phase


# ---------------------------------------------------------------------------------------
# Recordings
# ---------------------------------------------------------------------------------------


@dataclass
class Recording:
    """One simulated MMECG-like recording (chapter 4).

    ``rcg``: (N, n_channels) radar phase in rad (MMECG layout, samples x channels);
    ``ecg``: (N,) mV; ``fs``: Hz; ``r_peaks``, ``t_ends``: s; ``displacement``: (N,) m.
    """

    rcg: np.ndarray
    ecg: np.ndarray
    fs: float
    r_peaks: np.ndarray
    t_ends: np.ndarray
    displacement: np.ndarray
    subject: Subject


def simulate_recording(subject, duration_s=30.0, n_channels=50, fs=FS, rng=None, channel_snr_db=None) -> Recording:
    """Simulate an MMECG-like recording of a subject: ECG, chest displacement, radar channels (chapter 4).

    Chains :func:`synthetic_ecg` (the subject's heart rate, HRV, RSA and morphology),
    :func:`chest_displacement` (its breathing and vibrations) and :func:`radar_channels`.

    Parameters
    ----------
    subject : :class:`Subject` (e.g. from :func:`make_subject`).
    duration_s : s, > 0.
    n_channels : int >= 1.
    fs : Hz, > 0.
    rng : None, int seed or numpy Generator.
    channel_snr_db : None (:data:`CHANNEL_SNR_DB`) or ``(low, high)`` dB, the range of the
        radar channels' SNR (:func:`radar_channels`).
    """
    if not isinstance(subject, Subject):
        raise TypeError(f"subject must be a Subject (from make_subject), got {type(subject).__name__}")
    if subject.status not in STATUS_RANGES:
        raise ValueError(f"subject.status must be one of {STATUSES}, got {subject.status!r}")
    rng = _checks.rng(rng)
    ecg = synthetic_ecg(duration_s, fs, subject.heart_rate_bpm, subject.hrv_std_s, subject.resp_rate_hz,
                        subject.rsa_s, subject.morphology, rng)  # fmt: skip
    x = chest_displacement(ecg, duration_s, fs, subject.resp_rate_hz, subject.resp_amplitude_m,
                           subject.resp_irregularity, subject.vibration, rng)  # fmt: skip
    phase = radar_channels(x, fs, n_channels, rng, snr_db_range=channel_snr_db)
    return Recording(rcg=np.ascontiguousarray(phase.T), ecg=ecg.ecg, fs=float(fs), r_peaks=ecg.r_peaks,
                     t_ends=ecg.t_ends, displacement=x, subject=subject)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Internal functions
# ---------------------------------------------------------------------------------------


def _snr_range(snr_db_range) -> tuple[float, float]:
    """``snr_db_range`` checked: None gives :data:`CHANNEL_SNR_DB`; else finite ``(low, high)``, low <= high."""
    if snr_db_range is None:
        return float(CHANNEL_SNR_DB[0]), float(CHANNEL_SNR_DB[1])
    values = np.asarray(snr_db_range, dtype=object)
    if values.shape != (2,) or not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                                       for v in values):  # fmt: skip
        raise ValueError(f"snr_db_range must be None or (low, high) in dB, got {snr_db_range!r}")
    low, high = float(values[0]), float(values[1])
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"snr_db_range must be finite with low <= high, got {snr_db_range!r}")
    return low, high


def _vibration_params(vibration) -> dict:
    """:data:`DEFAULT_VIBRATION` updated with ``vibration`` (None or a dict of its keys), checked."""
    params = dict(DEFAULT_VIBRATION)
    if vibration is not None:
        if not isinstance(vibration, dict):
            raise TypeError(f"vibration must be a dict or None, got {type(vibration).__name__}")
        unknown = set(vibration) - set(DEFAULT_VIBRATION)
        if unknown:
            raise ValueError(f"vibration has unknown keys {sorted(unknown)}; expected {sorted(DEFAULT_VIBRATION)}")
        params.update(vibration)
    for key, value in params.items():
        _non_negative(value, f"vibration[{key!r}]")
    for key in ("b1", "b2", "f1", "f2"):
        _positive(params[key], f"vibration[{key!r}]")
    return params


def _beat_vibrations(r, te, p, rng) -> dict:
    """Per-beat ``T1, T2, a1, a2, b1, b2, f1, f2`` drawn around the centres ``p`` (in this order from ``rng``)."""
    k = len(r)
    t1 = r + np.clip(p["t1_jitter_s"] * rng.standard_normal(k), -0.01, 0.01)
    t2 = te + p["t2_jitter_s"] * rng.standard_normal(k)
    a1 = p["a1"] * np.clip(1 + p["a_jitter"] * rng.standard_normal(k), 0.2, None)
    a2 = p["a2"] * np.clip(1 + p["a_jitter"] * rng.standard_normal(k), 0.2, None)
    b1 = p["b1"] * np.clip(1 + p["b_jitter"] * rng.standard_normal(k), 0.3, None)
    b2 = p["b2"] * np.clip(1 + p["b_jitter"] * rng.standard_normal(k), 0.3, None)
    f1 = np.clip(p["f1"] + p["f_jitter_hz"] * rng.standard_normal(k), VIBRATION_BAND_HZ[0] + 1, VIBRATION_BAND_HZ[1] - 1)
    f2 = np.clip(p["f2"] + p["f_jitter_hz"] * rng.standard_normal(k), 4.0, VIBRATION_BAND_HZ[0] - 1)
    return dict(T1=t1, T2=t2, a1=a1, a2=a2, b1=b1, b2=b2, f1=f1, f2=f2)


def _breathing(t, rate_hz, amplitude_m, irregularity, rng):
    """Raised-cosine breathing (m) with faster inhale, rate and depth wandering slowly."""
    n = len(t)
    fs = 1.0 / (t[1] - t[0]) if n > 1 else 1.0
    rate = rate_hz * np.clip(1 + 0.4 * irregularity * _slow_noise(n, fs, rng), 0.3, None)
    depth = amplitude_m * np.clip(1 + 0.5 * irregularity * _slow_noise(n, fs, rng), 0.1, None)
    phi = 2 * np.pi * np.cumsum(rate) / fs + rng.uniform(0, 2 * np.pi)
    phi = phi + 0.35 * np.sin(phi)  # warps the cycle: inhale faster than exhale
    return depth * 0.5 * (1 - np.cos(phi))


def _slow_noise(n, fs, rng, cutoff_hz=0.1):
    """Gaussian noise low-passed below ``cutoff_hz``, unit standard deviation."""
    w = rng.standard_normal(n)
    if n < 2:
        return w
    spec = np.fft.rfft(w)
    spec[0] = 0  # zero mean: a record shorter than 1 / cutoff_hz keeps no component and stays flat
    spec[np.fft.rfftfreq(n, 1 / fs) > cutoff_hz] = 0
    s = np.fft.irfft(spec, n)
    sd = s.std()
    return s / sd if sd > 1e-9 else np.zeros(n)


def _bursts(t, fs, a, b, f, centre):
    """Sum of a_k cos(2 pi f_k t) exp(-(t - T_k)^2 / b_k^2), evaluated within 4 b_k of T_k."""
    out = np.zeros_like(t)
    n = len(t)
    for ak, bk, fk, tk in zip(a, b, f, centre):
        lo, hi = max(0, int(np.floor((tk - 4 * bk) * fs))), min(n, int(np.ceil((tk + 4 * bk) * fs)) + 1)
        if lo >= hi:
            continue
        tt = t[lo:hi]
        out[lo:hi] += ak * np.cos(2 * np.pi * fk * tt) * np.exp(-((tt - tk) ** 2) / bk**2)
    return out


def _morphology(morphology):
    if morphology is None:
        return ECGSYN_MORPHOLOGY.copy()
    m = finite_array(morphology, "morphology")
    if m.shape != (15,):
        raise ValueError(f"morphology must have shape (15,) (a, b, theta) for P, Q, R, S, T, got {m.shape}")
    if np.any(m[1::3] <= 0):
        raise ValueError("morphology widths b (entries 1, 4, 7, 10, 13) must be positive")
    return m
