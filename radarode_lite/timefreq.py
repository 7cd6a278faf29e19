r"""Synchrosqueezed wavelet transform, anchor localisation and the network input (chapter 2).

radarODE-MTL (Zhang et al., IEEE TIM 2025) does not feed the raw radar phase to its network:
each channel is turned into the magnitude of its synchrosqueezed wavelet transform (SST;
Daubechies, Lu and Wu, ACHA 2011), a time-frequency picture in which the short vibration
``v1`` that each heartbeat leaves on the chest (20-45 Hz, at the R peak) stands out as a
sharp blob. Three equations, as on the authors' slides:

1. continuous wavelet transform (CWT) of the signal :math:`\tilde x`, scale :math:`a`,
   time :math:`b`, mother wavelet :math:`\psi` (here ssqueezepy's analytic Morlet):

   .. math:: W_{\tilde x}(a, b) = \int \tilde x(t)\, a^{-1/2}\, \psi^*\!\left(\frac{t-b}{a}\right) dt

2. candidate instantaneous frequency (Hz) at every (a, b), from the phase velocity:

   .. math:: f_{\tilde x}(a, b) = \frac{-i}{2\pi}\, W_{\tilde x}(a, b)^{-1}\,
             \frac{\partial W_{\tilde x}(a, b)}{\partial b}

   (the slides write the same quantity as an angular frequency
   :math:`\omega = 2\pi f`);

3. synchrosqueezing: the CWT coefficients are moved from their scale to the frequency
   they oscillate at, which concentrates the energy along the ridges,

   .. math:: T_{\tilde x}(f, b) = \int_{A(b)} W_{\tilde x}(a, b)\, a^{-3/2}\,
             \delta\big(f_{\tilde x}(a, b) - f\big)\, da,
             \qquad A(b) = \{a : |W_{\tilde x}(a, b)| > \gamma\}.

ssqueezepy (Muradeli, ``ssq_cwt``) computes all three, with ``voices_per_octave = 10``
scales per octave as in MATLAB's ``wsst(x, fs, 'VoicesPerOctave', 10)`` that the authors'
``MMECG_to_SST.m`` calls. It compiles its kernels with numba on first use (a few seconds).
This module keeps it on the CPU: the transform runs with ``SSQ_GPU=0`` whatever the
environment says; ``SSQ_PARALLEL`` (default on) lets numba and the FFT use all cores. On two
idle cores that makes the transform about 1.5 times faster in wall time for about a quarter
more CPU time; on a busy machine ``SSQ_PARALLEL=0`` (serial) can be the faster choice.

Each public function states its transform and leaves the speed to one private helper of
:mod:`radarode_lite._timefreq_fast` (plans cached per signal length, channels in batches,
sparse frequency bins); ssqueezepy is called only through :mod:`radarode_lite._ssq`.

Public functions, in the order of the chapter: :func:`sst`, :func:`locate_anchors`,
:func:`get_preset`, :func:`select_channels`, :func:`spectrogram_frequencies`,
:func:`spectrogram`, :func:`normalise_per_channel`, :func:`spectrogram_input`; and
:func:`locate_input_anchors`, the same localisation read off a network input (chapter 14).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps
from scipy.ndimage import gaussian_filter1d

from radarode_lite import _checks, _ssq
from radarode_lite import _timefreq_fast as _fast
from radarode_lite.conventions import FRAME_RATE_HZ, FS, VIBRATION_BAND_HZ, WINDOW_S

# the fast path's names under their former private names (data_scripts/bench_resample.py uses them)
_MARGIN_OCTAVES, _CHANNEL_BATCH = _fast.MARGIN_OCTAVES, _fast.CHANNEL_BATCH
_partial_sst_plan, _partial_sst, _spectrogram_grid = _fast.partial_sst_plan, _fast.partial_sst, _fast.spectrogram_grid
_log_frequency_weights, _frame_ratio = _fast.log_frequency_weights, _fast.frame_ratio

__all__ = [
    "VIBRATION_BAND_HZ",
    "PRESET_FS",
    "SpectrogramPreset",
    "PRESETS",
    "get_preset",
    "sst",
    "locate_anchors",
    "select_channels",
    "spectrogram_frequencies",
    "spectrogram",
    "normalise_per_channel",
    "spectrogram_input",
    "locate_input_anchors",
]

#: Sampling rate (Hz) the spectrogram presets assume (MMECG's radar rate, :data:`conventions.FS`).
PRESET_FS = FS
#: Shortest signal :func:`sst` accepts (samples).
MIN_SAMPLES = 32


@dataclass(frozen=True)
class SpectrogramPreset:
    """Shape of the network input ``(n_channels, n_freqs, frames)`` for one window (chapter 2).

    ``n_channels`` radar channels, ``n_freqs`` frequency bins log-spaced over
    ``[f_min_hz, f_max_hz]``, ``frame_rate_hz`` frames per second, ``window_s`` seconds per
    window (``frames = window_s * frame_rate_hz``).
    """

    name: str
    n_channels: int
    n_freqs: int
    frame_rate_hz: float = FRAME_RATE_HZ
    window_s: float = WINDOW_S
    f_min_hz: float = PRESET_FS / 2 / 2**7
    f_max_hz: float = PRESET_FS / 2

    @property
    def n_frames(self) -> int:
        """Frames per window (120 for 4 s at 30 Hz)."""
        return int(round(self.window_s * self.frame_rate_hz))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, F, T)`` of one window."""
        return (self.n_channels, self.n_freqs, self.n_frames)


#: The two input sizes. ``paper``: 50 x 71 x 120 as in radarODE-MTL. The authors keep the upper
#: half of the frequency axis of MATLAB's ``wsst`` (``sst(freq_len/2:freq_len, :)``, 10 voices
#: per octave): 71 rows, i.e. 7 octaves ending at the Nyquist frequency, 100/2^7 = 0.78 Hz to
#: 100 Hz. Where the axis starts depends on the length of the recording, so we fix that band:
#: the input does not depend on the length of the recording.
#: ``lite``: 8 of the 50 channels (evenly spaced) and 32 bins over the same band
#: (4.4 bins per octave), 16 times fewer values (8 x 32 x 120 = 30,720) so that a network
#: trains on a laptop CPU in minutes; the vibration band 20-45 Hz still covers 5 bins.
PRESETS = {
    "paper": SpectrogramPreset("paper", n_channels=50, n_freqs=71),
    "lite": SpectrogramPreset("lite", n_channels=8, n_freqs=32),
}


def get_preset(preset) -> SpectrogramPreset:
    """The :class:`SpectrogramPreset` named ``preset`` (``"paper"`` or ``"lite"``), or ``preset`` itself (chapter 2)."""
    if isinstance(preset, SpectrogramPreset):
        return preset
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        return PRESETS[preset]
    raise TypeError(f"preset must be a preset name {sorted(PRESETS)} or a SpectrogramPreset, got {type(preset).__name__}")


def sst(x, fs, voices_per_octave=10):
    r"""Synchrosqueezed CWT of one or several signals, frequencies ascending (chapter 2).

    Implements :math:`W_{\tilde x}(a, b)`, :math:`f_{\tilde x}(a, b)` and
    :math:`T_{\tilde x}(f, b)` of the module docstring with ``ssqueezepy.ssq_cwt``
    (analytic Morlet wavelet, log-spaced scales, reflect padding, float32). Each row of
    ``Tx`` is one frequency; frequencies are log-spaced from about the lowest frequency
    the record resolves (``fs / padded length``) to the Nyquist frequency ``fs / 2``.
    ssqueezepy returns the highest frequency first; here both are flipped to ascending.

    Parameters
    ----------
    x : (N,) or (C, N) real signal(s), finite, N >= 32 samples (any unit).
    fs : Hz, > 0.
    voices_per_octave : int >= 1, scales (and frequency bins) per octave (10 as in the paper).

    Returns
    -------
    Tx : (n_freqs, N) or (C, n_freqs, N) complex64, in the unit of ``x``.
    freqs_hz : (n_freqs,) float64, ascending, Hz.
    """
    x = _signal(x, "x")
    fs = _fs(fs)
    nv = _voices(voices_per_octave)
    Tx, freqs = _ssq.ssq_cwt(x, fs, nv)
    return np.ascontiguousarray(Tx[..., ::-1, :]), np.asarray(freqs[::-1], dtype=np.float64)


def locate_anchors(x, fs, band=VIBRATION_BAND_HZ, smooth_s=0.03, min_distance_s=0.3, rel_height=0.3,
                   rel_prominence=0.3, voices_per_octave=10, return_envelope=False):  # fmt: skip
    r"""Times T1 (s) of the heartbeats' vibration ``v1``, found in the SST band energy (chapter 2).

    The classical, model-free localisation the network is compared with:

    1. :math:`T_{\tilde x}(f, b)` = :func:`sst` of each channel (only the scales that reach
       the band are computed);
    2. band energy :math:`e(b) = \sum_{f \in \text{band}} |T_{\tilde x}(f, b)|^2` (rows whose
       frequency lies in ``band``); with several channels, each channel's energy is divided
       by its median over time (its noise floor) and the channels are averaged;
    3. envelope: ``e`` smoothed by a Gaussian of standard deviation ``smooth_s`` (zero phase,
       so no delay);
    4. candidates: ``scipy.signal.find_peaks`` with ``distance = min_distance_s * fs`` (0.3 s,
       i.e. at most 200 bpm; of two close maxima the higher wins);
    5. a robust beat level :math:`L`, the median height of the candidates above the envelope's
       median; kept are the candidates whose height above the median is at least
       ``rel_height * L`` and whose prominence is at least ``rel_prominence * L``;
    6. each kept maximum is refined to the vertex of the parabola through its three samples.

    Because the Morlet SST and the smoothing are symmetric in time, the maxima fall at the
    burst centres ``T1``, which the signal model ties to the R peaks.

    Parameters
    ----------
    x : (N,) or (C, N) radar phase (rad) or displacement, finite, N >= 32.
    fs : Hz, > 0.
    band : (low, high) Hz, 0 <= low < high <= fs / 2, containing at least one SST frequency;
        default :data:`VIBRATION_BAND_HZ` = (20, 45) Hz, the band of ``v1``.
    smooth_s : s, >= 0, standard deviation of the Gaussian smoothing (0: none).
    min_distance_s : s, > 0, shortest interval between two anchors.
    rel_height, rel_prominence : fractions >= 0 of the beat level (see step 5).
    voices_per_octave : int >= 1.
    return_envelope : also return the envelope (N,) and its time axis (N,) s.

    Returns
    -------
    (K,) float64 anchor times in s from the first sample, increasing; with
    ``return_envelope`` a tuple ``(times_s, envelope, t_s)``.
    """
    x = _signal(x, "x")
    fs = _fs(fs)
    lo, hi = _band(band, fs)
    smooth_s = _non_negative(smooth_s, "smooth_s")
    min_distance_s = _positive(min_distance_s, "min_distance_s")
    rel_height = _non_negative(rel_height, "rel_height")
    rel_prominence = _non_negative(rel_prominence, "rel_prominence")
    nv = _voices(voices_per_octave)
    energy = _fast.band_energy(x[None] if x.ndim == 1 else x, fs, lo, hi, nv, band)  # steps 1-2: (C, N)
    if energy.shape[0] > 1:
        floor = np.median(energy, axis=-1, keepdims=True)
        energy = energy / np.where(floor > 0, floor, 1.0)
    energy = energy.mean(axis=0)
    envelope = gaussian_filter1d(energy, smooth_s * fs, mode="nearest") if smooth_s > 0 else energy  # step 3
    t_s = np.arange(envelope.size) / fs
    times = _pick_beats(envelope, fs, min_distance_s, rel_height, rel_prominence)  # steps 4-6
    return (times, envelope, t_s) if return_envelope else times


def locate_input_anchors(S, preset=None, band=VIBRATION_BAND_HZ, smooth_s=0.03, min_distance_s=0.3, rel_height=0.3,
                         rel_prominence=0.3, return_envelope=False):  # fmt: skip
    r"""Times (s) of the heartbeats' vibration ``v1`` found in a network input, not in the radar (chapter 14).

    :func:`locate_anchors` reads the radar phase; this reads the normalised spectrogram the
    network reads (:func:`spectrogram_input`, ``(C, F, T)``), so that noise added to that input,
    as the authors' code adds it (:func:`radarode_lite.noise.add_input_noise`), reaches the
    signal-processing anchors too:

    1. envelope :math:`e(k) = \frac{1}{C\,|B|} \sum_c \sum_{f \in B} S(c, f, k)`, the mean
       over channels of the bins :math:`B` of the preset whose centre frequencies
       (:func:`spectrogram_frequencies`) lie in ``band`` (20-45 Hz: bins 21-25 of the lite
       preset's 32, 47-58 of the paper preset's 71);
    2. smoothed by a Gaussian of standard deviation ``smooth_s`` (in frames:
       ``smooth_s * frame_rate_hz``), zero phase;
    3. maxima at least ``min_distance_s`` apart, kept against the beat level and refined to a
       sub-frame position by the parabola through three frames: steps 4-6 of
       :func:`locate_anchors`, at the frame rate (30 Hz).

    Frame ``k`` lies at ``k / frame_rate_hz`` s from the window's start (the spectrogram is
    resampled from 200 Hz with its first frame at the first sample).

    Parameters
    ----------
    S : (C, F, T) finite array, one window's input (any scale: the beat level is relative).
    preset : None (the preset of :data:`PRESETS` with ``F`` bins and ``T`` frames), a name or a
        :class:`SpectrogramPreset` with that shape's ``F`` and ``T``.
    band : (low, high) Hz, holding at least one of the preset's bin frequencies.
    smooth_s : s, >= 0; min_distance_s : s, > 0; rel_height, rel_prominence : fractions >= 0
        of the beat level, as in :func:`locate_anchors`.
    return_envelope : also return the envelope (T,) and its time axis (T,) s.

    Returns
    -------
    (K,) float64 anchor times in s from the window's start, increasing; with
    ``return_envelope`` a tuple ``(times_s, envelope, t_s)``.
    """
    S = _input_window(S)
    p = _input_preset(preset, S.shape)
    freqs = spectrogram_frequencies(p)
    lo, hi = _band(band, p.f_max_hz * 2)
    rows = (freqs >= lo) & (freqs <= hi)
    if not rows.any():
        raise ValueError(f"band {band!r} holds none of the {p.name!r} preset's bin frequencies")
    smooth_s = _non_negative(smooth_s, "smooth_s")
    min_distance_s = _positive(min_distance_s, "min_distance_s")
    rel_height = _non_negative(rel_height, "rel_height")
    rel_prominence = _non_negative(rel_prominence, "rel_prominence")
    energy = S[:, rows, :].mean(axis=(0, 1))  # step 1: (T,)
    rate = p.frame_rate_hz
    envelope = gaussian_filter1d(energy, smooth_s * rate, mode="nearest") if smooth_s > 0 else energy  # step 2
    times = _pick_beats(envelope, rate, min_distance_s, rel_height, rel_prominence)  # step 3
    return (times, envelope, np.arange(envelope.size) / rate) if return_envelope else times


def select_channels(x, n_channels):
    """Evenly spaced subset of ``n_channels`` rows of ``x`` (identity if it has exactly that many) (chapter 2).

    Rows ``round(linspace(0, C - 1, n_channels))``: for 50 channels and 8 kept,
    0, 7, 14, 21, 28, 35, 42, 49.

    Parameters
    ----------
    x : (C, N) array, C >= n_channels.
    n_channels : int >= 1.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (channels, samples), got shape {x.shape}")
    _checks.positive_int(n_channels, "n_channels")
    c = x.shape[0]
    if c < n_channels:
        raise ValueError(f"x has {c} channels but n_channels={n_channels} were requested")
    if c == n_channels:
        return x
    return x[np.round(np.linspace(0, c - 1, n_channels)).astype(int)]


def spectrogram_frequencies(preset="paper"):
    """Centre frequencies (Hz) of the preset's bins: ``n_freqs`` log-spaced over ``[f_min_hz, f_max_hz]`` (chapter 2)."""
    p = get_preset(preset)
    return np.geomspace(p.f_min_hz, p.f_max_hz, p.n_freqs)


def spectrogram(x, fs, preset="paper"):
    r"""|SST| spectrogram of radar channels on the preset's grid, not normalised (chapter 2).

    The authors' pre-processing (``MMECG_to_SST.m``) without its last step:

    1. :func:`select_channels` keeps the preset's ``n_channels`` rows;
    2. :math:`|T_{\tilde x}(f, b)|` of each channel (:func:`sst`, 10 voices per octave);
    3. only the upper part of the frequency axis, ``[f_min_hz, f_max_hz]`` = 0.78-100 Hz
       (see :data:`PRESETS`), is kept and resampled to the preset's ``n_freqs`` log-spaced
       bins (:func:`spectrogram_frequencies`) by linear interpolation in log frequency,
       widened to a triangular average when bins are coarser than the SST rows;
    4. time is resampled from ``fs`` = 200 Hz to ``frame_rate_hz`` = 30 Hz as
       ``scipy.signal.resample_poly`` does (up 3, down 20, its Kaiser-windowed anti-aliasing
       FIR, zeros beyond the ends; frame ``k`` is at ``k / 30`` s) and clipped at 0, so that it
       stays a magnitude.

    Call it on a whole recording and slice 120-frame windows from the result (what
    :mod:`radarode_lite.data` does): windows then share values where they overlap and have
    no edge effects of their own. For speed only the scales whose frequencies reach one
    octave below ``f_min_hz`` are computed (the lower ones do not reach the kept band), in
    batches of channels, and recordings longer than about 35 s are padded by 4 wavelet widths
    instead of to a power of two: the kept rows equal those of :func:`sst` for shorter
    signals and agree with them to about 2 % (relative norm) for longer ones. Everything that
    depends only on the signal length (scales, the wavelet in the frequency domain, the
    resampling filter as a polyphase matrix, the frequency weights) is computed once per
    length and reused; time is resampled before the frequency axis is binned (both are
    linear, so the order only changes float32 rounding).

    Parameters
    ----------
    x : (C, N) radar channels (rad), finite, C >= the preset's channels, N >= 32.
    fs : Hz, must be 200 (the presets assume MMECG's rate).
    preset : ``"paper"``, ``"lite"`` or a :class:`SpectrogramPreset`.

    Returns
    -------
    (n_channels, n_freqs, ceil(N * 30 / 200)) float32, >= 0, lowest frequency first.
    """
    p = get_preset(preset)
    x = _signal(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (channels, samples), got shape {x.shape}")
    fs = _preset_fs(fs, p)
    x = select_channels(x, p.n_channels)  # step 1
    out = _fast.sst_spectrogram(x, fs, p.f_min_hz, p.f_max_hz, p.n_freqs, p.frame_rate_hz)  # steps 2-4
    np.maximum(out, 0.0, out=out)  # a magnitude stays >= 0 after resampling
    return out


def normalise_per_channel(S):
    """Min-max normalisation of each channel of a (C, F, T) spectrogram to [0, 1] (chapter 2).

    ``(S - min_c) / (max_c - min_c)`` with min and max over the channel's F x T values, as in
    ``MMECG_to_SST.m``; a constant channel becomes all zeros. Returns float32.
    """
    S = np.asarray(S)
    if S.ndim != 3:
        raise ValueError(f"S must be 3-D (channels, freqs, frames), got shape {S.shape}")
    if S.size == 0:
        raise ValueError(f"S must not be empty, got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ValueError("S must be finite (found NaN or inf)")
    S = S.astype(np.float32, copy=False)
    lo = S.min(axis=(1, 2), keepdims=True)
    span = S.max(axis=(1, 2), keepdims=True) - lo
    out = np.subtract(S, lo, dtype=np.float32)  # all zeros in a constant channel, whose span is 0
    np.divide(out, np.where(span > 0, span, np.float32(1)), out=out)
    return out


def spectrogram_input(x, fs, preset="paper"):
    """The network input of one window: :func:`normalise_per_channel` of :func:`spectrogram` (chapter 2).

    Parameters
    ----------
    x : (C, N) radar channels of one window (4 s = 800 samples at 200 Hz gives 120 frames).
    fs : Hz, must be 200.
    preset : ``"paper"`` (50 x 71 x 120), ``"lite"`` (8 x 32 x 120) or a :class:`SpectrogramPreset`.

    Returns
    -------
    (n_channels, n_freqs, frames) float32 in [0, 1]; each channel has min 0 and max 1.
    """
    return normalise_per_channel(spectrogram(x, fs, preset))


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _pick_beats(envelope, fs, min_distance_s, rel_height, rel_prominence):
    """Anchor times (s) from a band-energy envelope: steps 4-6 of :func:`locate_anchors`."""
    base = float(np.median(envelope))
    e = envelope - base
    distance = max(1, int(round(min_distance_s * fs)))
    candidates, props = sps.find_peaks(e, distance=distance, height=0)
    if candidates.size == 0:
        return np.zeros(0)
    level = float(np.median(props["peak_heights"]))
    peaks, _ = sps.find_peaks(e, distance=distance, height=rel_height * level, prominence=rel_prominence * level)
    positions = peaks.astype(float)
    inner = (peaks > 0) & (peaks < e.size - 1)
    p = peaks[inner]
    y0, y1, y2 = e[p - 1], e[p], e[p + 1]
    denom = y0 - 2 * y1 + y2
    positions[inner] += np.where(denom != 0, 0.5 * (y0 - y2) / np.where(denom != 0, denom, 1), 0.0)
    return positions / fs


def _input_window(S):
    """One network input ``(C, F, T)`` as float64, checked (at least 3 frames)."""
    if S is None:
        raise TypeError("S must be a numeric array (C, F, T), got NoneType")
    arr = _checks.float_array(S, "S (channels, freqs, frames)", ndim=3)
    if min(arr.shape) == 0 or arr.shape[-1] < 3:
        raise ValueError(f"S must be 3-D (channels, freqs, frames) with at least 3 frames, got shape {arr.shape}")
    return arr


def _input_preset(preset, shape):
    """The preset of an input of ``shape`` (C, F, T): the one given (checked against F and T) or found."""
    if preset is None:
        found = [p for p in PRESETS.values() if (p.n_freqs, p.n_frames) == tuple(shape[1:])]
        if not found:
            raise ValueError(f"S has {shape[1]} bins and {shape[2]} frames, the shape of no preset; pass preset")
        return found[0]
    p = get_preset(preset)
    if (p.n_freqs, p.n_frames) != tuple(shape[1:]):
        raise ValueError(f"S of shape {tuple(shape)} does not have the {p.name!r} preset's {p.n_freqs} bins "
                         f"and {p.n_frames} frames")  # fmt: skip
    return p


def _signal(x, name):
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from None
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (samples,) or 2-D (channels, samples), got shape {arr.shape}")
    if arr.size == 0 or arr.shape[-1] == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.shape[-1] < MIN_SAMPLES:
        raise ValueError(f"{name} must have at least {MIN_SAMPLES} samples along its last axis, got {arr.shape[-1]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _fs(fs):
    return _positive(fs, "fs")


def _preset_fs(fs, preset):
    fs = _fs(fs)
    if fs != PRESET_FS:
        raise ValueError(f"fs must be {PRESET_FS:g} Hz for the {preset.name!r} preset (it assumes MMECG's rate), "
                         f"got fs={fs:g} Hz; resample the signal first")  # fmt: skip
    return fs


def _band(band, fs):
    try:
        lo, hi = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ValueError(f"band must be a pair (low, high) of frequencies in Hz, got {band!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi <= fs / 2):
        raise ValueError(f"band must satisfy 0 <= low < high <= fs/2 = {fs / 2:g} Hz, got {band!r}")
    return lo, hi


def _voices(nv):
    return _checks.positive_int(nv, "voices_per_octave")


def _positive(value, name):
    return _value_error(_checks.positive, value, name)


def _non_negative(value, name):
    return _value_error(_checks.non_negative, value, name)


def _value_error(check, value, name):
    """``check(value, name)`` with its TypeError raised as a ValueError: this module's error for any bad number."""
    try:
        return check(value, name)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
