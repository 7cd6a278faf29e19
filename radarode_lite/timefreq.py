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

Public functions, in the order of the chapter: :func:`sst`, :func:`locate_anchors`,
:func:`get_preset`, :func:`select_channels`, :func:`spectrogram_frequencies`,
:func:`spectrogram`, :func:`normalise_per_channel`, :func:`spectrogram_input`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from numbers import Integral, Real
from types import MappingProxyType

import numpy as np
from scipy import signal as sps
from scipy.ndimage import gaussian_filter1d

from radarode_lite import _polyphase, _ssq

try:  # keep in sync with the signal model: v1 lies in this band
    from radarode_lite.signals import VIBRATION_BAND_HZ
except ImportError:  # pragma: no cover - signals is part of the package
    VIBRATION_BAND_HZ = (20.0, 45.0)

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
]

#: Sampling rate (Hz) the spectrogram presets assume (MMECG's radar rate).
PRESET_FS = 200.0
#: Shortest signal :func:`sst` accepts (samples).
MIN_SAMPLES = 32

_MARGIN_OCTAVES = 1.0  # octaves of scales computed below the lowest kept frequency (their energy reaches up)
_CHANNEL_BATCH = 2  # channels transformed together: vectorised, yet small enough for the cache
_PLAN_CACHE = 8  # signal lengths whose data-independent set-up (scales, wavelet, resampling) is kept


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
    frame_rate_hz: float = 30.0
    window_s: float = 4.0
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
    x2 = x[None] if x.ndim == 1 else x
    plan = _partial_sst_plan(x2.shape[1], fs, lo * 2**-_MARGIN_OCTAVES, nv)  # only the scales the band needs
    freqs = plan["ssq_freqs"][plan["drop"] :]
    rows = (freqs >= lo) & (freqs <= hi)
    if not rows.any():
        raise ValueError(f"band {band} Hz contains none of the SST frequencies ({freqs[0]:.3g}-{freqs[-1]:.3g} Hz)")
    energy = np.empty(x2.shape, dtype=np.float64)  # (C, N)
    for start in range(0, x2.shape[0], _CHANNEL_BATCH):
        mag, _ = _partial_sst(x2[start : start + _CHANNEL_BATCH], fs, plan)
        energy[start : start + mag.shape[0]] = np.sum(mag[:, rows] ** 2, axis=1, dtype=np.float64)
    if energy.shape[0] > 1:
        floor = np.median(energy, axis=-1, keepdims=True)
        energy = energy / np.where(floor > 0, floor, 1.0)
    energy = energy.mean(axis=0)
    envelope = gaussian_filter1d(energy, smooth_s * fs, mode="nearest") if smooth_s > 0 else energy
    t_s = np.arange(envelope.size) / fs
    times = _pick_beats(envelope, fs, min_distance_s, rel_height, rel_prominence)
    return (times, envelope, t_s) if return_envelope else times


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
    if isinstance(n_channels, bool) or not isinstance(n_channels, Integral) or n_channels < 1:
        raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
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
    x = select_channels(x, p.n_channels)
    plan = _partial_sst_plan(x.shape[1], fs, p.f_min_hz * 2**-_MARGIN_OCTAVES)
    grid = _spectrogram_grid(x.shape[1], fs, p.f_min_hz, p.f_max_hz, p.n_freqs, p.frame_rate_hz)
    out = np.empty((x.shape[0], p.n_freqs, grid["n_frames"]), dtype=np.float32)
    for start in range(0, x.shape[0], _CHANNEL_BATCH):
        Tx = _partial_sst_tx(x[start : start + _CHANNEL_BATCH], fs, plan)  # (c, M, N), highest frequency first
        mag = np.abs(Tx[:, grid["rows"]])  # only the rows the bins use
        frames = _polyphase.resample(mag, grid["resampler"])  # (c, rows, n_frames): time first, it shrinks 6.7 x
        _bin_frequencies(frames, grid["bins"], out=out[start : start + mag.shape[0]])  # (c, F, n_frames)
    np.maximum(out, 0.0, out=out)
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


@functools.lru_cache(maxsize=_PLAN_CACHE)
def _partial_sst_plan(n, fs, f_low, voices_per_octave=10):
    """What :func:`_partial_sst` needs for signals of ``n`` samples: scales, frequencies, padding.

    Cached per ``(n, fs, f_low, voices_per_octave)`` (read-only mapping and arrays): the same
    plan, and the wavelet object that keeps its frequency-domain samples between calls, is
    reused by every batch and every recording of that length.

    The frequency axis is the one :func:`sst` gives for ``n`` samples (log-spaced between the
    centre frequencies of the largest and smallest scale); only its rows from ``f_low`` up
    are computed, plus one row below that absorbs the phase-transform values that fall under
    the axis and is dropped. Padding: ssqueezepy reflects the signal up to a power of two
    at least twice as long; for long signals it is enough (and about twice as fast) to
    reflect 4 standard deviations of the widest wavelet whose row is kept on each side.
    """
    from scipy.fft import next_fast_len

    wavelet = _ssq.wavelet()
    scales = _ssq.log_scales(n, wavelet, voices_per_octave)  # small -> large
    padded = _ssq.padded_length(n)
    f_hi = _ssq.peak_frequency_hz(wavelet, scales[0], padded, fs)
    f_lo = _ssq.peak_frequency_hz(wavelet, scales[-1], padded, fs)
    full = f_lo * (f_hi / f_lo) ** (np.arange(scales.size) / (scales.size - 1))  # ascending, as sst()
    first = max(0, int(np.searchsorted(full, f_low)) - 1)
    m = scales.size - first
    # the Morlet wavelet at scale s has a time spread of s samples; cover 4 spreads of the widest
    # wavelet whose row is kept (the margin rows are only there to catch energy squeezed upwards)
    kept_widest = scales[min(m - 1, scales.size - 1 - int(np.searchsorted(full, f_low * 2**_MARGIN_OCTAVES)))]
    pad = int(np.ceil(4 * kept_widest))
    length = next_fast_len(n + 2 * pad)
    own_padding = length < padded
    return MappingProxyType({
        "wavelet": wavelet,
        "scales": _read_only(scales[:m].astype(np.float32)),
        "ssq_freqs": _read_only(full[first:].copy()),
        "drop": 1 if first > 0 else 0,
        "pad": (pad, length - n - pad) if own_padding else None,
        "n": n,
    })  # fmt: skip


def _partial_sst(x, fs, plan):
    """|SST| of ``x`` (c, N) at the plan's frequencies, ascending: (c, n_rows, N), (n_rows,) Hz."""
    mag = np.abs(_partial_sst_tx(x, fs, plan)[..., ::-1, :])
    return mag[..., plan["drop"] :, :], plan["ssq_freqs"][plan["drop"] :]


def _partial_sst_tx(x, fs, plan):
    """Complex SST of ``x`` (c, N) at all the plan's frequencies, highest first as ssqueezepy gives it: (c, M, N).

    ssqueezepy's two stages, ``cwt`` (with the derivative dW/db) and ``ssqueeze``, called
    separately so that the padding is cut off before squeezing, as ``ssq_cwt`` does.
    """
    n = plan["n"]
    if plan["pad"] is None:
        xp, padtype, lo = x, "reflect", 0
    else:
        xp, padtype, lo = np.pad(x, ((0, 0), plan["pad"]), mode="reflect"), None, plan["pad"][0]
    Wx, dWx, scales = _ssq.cwt_with_derivative(xp, plan["wavelet"], plan["scales"], fs, padtype)
    if lo or Wx.shape[-1] != n:  # views: ssqueezepy's kernels index them directly, no copy needed
        Wx, dWx = Wx[..., lo : lo + n], dWx[..., lo : lo + n]
    Tx = _ssq.squeeze(Wx, dWx, plan["ssq_freqs"], scales, fs, plan["wavelet"])
    return Tx


@functools.lru_cache(maxsize=_PLAN_CACHE)
def _spectrogram_grid(n, fs, f_min_hz, f_max_hz, n_freqs, frame_rate_hz):
    """Data-independent part of :func:`spectrogram` for ``n`` samples: frame count, resampler, frequency weights."""
    plan = _partial_sst_plan(n, fs, f_min_hz * 2**-_MARGIN_OCTAVES)
    up, down = _frame_ratio(fs, frame_rate_hz)
    freqs = plan["ssq_freqs"][plan["drop"] :]  # ascending
    weights = _log_frequency_weights(freqs, np.geomspace(f_min_hz, f_max_hz, n_freqs))  # (F, n_rows)
    used = np.flatnonzero(weights.any(axis=0))
    lo, hi = int(used[0]), int(used[-1])  # ascending rows lo..hi carry weight
    top = plan["ssq_freqs"].size - 1 - plan["drop"]  # ascending row a is row top - a of ssqueezepy's output
    resampler = _polyphase.resampler(n, up, down)
    return MappingProxyType({
        "n_frames": resampler["n_out"],
        "resampler": resampler,
        "rows": slice(top - hi, top - lo + 1),
        "bins": _sparse_rows(weights[:, lo : hi + 1][:, ::-1]),  # columns in ssqueezepy's (descending) order
    })  # fmt: skip


def _sparse_rows(weights):
    """(F, R) weights with at most k non-zeros per row as ``(rows, coefs)``, both (k, F) (zero-padded)."""
    k = max(1, int((weights != 0).sum(axis=1).max()))
    order = np.argsort(weights == 0, axis=1, kind="stable")[:, :k]  # non-zero columns first, in ascending order
    coefs = np.take_along_axis(weights, order, axis=1)
    return _read_only(np.ascontiguousarray(order.T)), _read_only(np.ascontiguousarray(coefs.T.astype(np.float32)))


def _bin_frequencies(frames, bins, out):
    """``out[c] = weights @ frames[c]`` for (c, R, T) ``frames``, with the sparse weights of :func:`_sparse_rows`.

    The weights have two to five non-zeros per row: gathering those rows costs far less than
    a dense product, and stays on the calling thread.
    """
    rows, coefs = bins
    np.multiply(frames[:, rows[0]], coefs[0][:, None], out=out)
    for j in range(1, rows.shape[0]):
        out += frames[:, rows[j]] * coefs[j][:, None]
    return out


def _read_only(a):
    a.flags.writeable = False
    return a


def _log_frequency_weights(src_hz, dst_hz):
    """(len(dst), len(src)) interpolation matrix in log frequency; triangles wide enough to average when coarsening."""
    u = np.log(src_hz)
    v = np.log(dst_hz)
    step_src = (u[-1] - u[0]) / max(1, u.size - 1)
    step_dst = (v[-1] - v[0]) / max(1, v.size - 1) if v.size > 1 else step_src
    width = max(step_src, step_dst)
    w = np.clip(1 - np.abs(v[:, None] - u[None, :]) / width, 0, None)
    total = w.sum(axis=1, keepdims=True)
    return (w / np.where(total > 0, total, 1)).astype(np.float32)


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
    if isinstance(fs, bool) or not isinstance(fs, Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a finite positive sampling rate in Hz, got {fs!r}")
    return float(fs)


def _preset_fs(fs, preset):
    fs = _fs(fs)
    if fs != PRESET_FS:
        raise ValueError(f"fs must be {PRESET_FS:g} Hz for the {preset.name!r} preset (it assumes MMECG's rate), "
                         f"got fs={fs:g} Hz; resample the signal first")  # fmt: skip
    return fs


def _frame_ratio(fs, frame_rate_hz):
    from fractions import Fraction

    ratio = Fraction(frame_rate_hz).limit_denominator(1000) / Fraction(fs).limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def _band(band, fs):
    try:
        lo, hi = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ValueError(f"band must be a pair (low, high) of frequencies in Hz, got {band!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi <= fs / 2):
        raise ValueError(f"band must satisfy 0 <= low < high <= fs/2 = {fs / 2:g} Hz, got {band!r}")
    return lo, hi


def _voices(nv):
    if isinstance(nv, bool) or not isinstance(nv, Integral) or nv < 1:
        raise ValueError(f"voices_per_octave must be a positive integer, got {nv!r}")
    return int(nv)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _non_negative(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
