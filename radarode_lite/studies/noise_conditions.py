"""Noise conditions of the robustness study and the noisy test sets they make (chapter 14).

A study module (:mod:`radarode_lite.studies`): it imports the pipeline (data, noise models,
time-frequency transform) and is not imported by it. Zhang et al. (IEEE TIM 2025, Section V)
test three radar-to-ECG frameworks under two families of noise:

- **constant noise**: white Gaussian noise at a given SNR all the time (Table III: 6, 3, 0,
  -1, -2, -3 dB): a radar pointed off the chest, a long distance, thermal noise;
- **abrupt noise**: one burst of white noise of 1, 2 or 3 s in a segment (Table V: 0 dB for a
  mild, -9 dB for an extensive body movement).

The main conditions (``snr:DB``, ``abrupt:DB:SECONDS``) add the noise as the authors'
released code does (``spectrum_dataset.py``): to the network input, the normalised
spectrogram, per channel and with the SNR measured on that input
(:func:`radarode_lite.noise.add_input_noise`), and bursts to one segment in five
(:func:`radarode_lite.noise.add_input_burst`, :func:`radarode_lite.noise.input_burst_segments`).
So the numbers compare with the paper's Tables III and V, and a noisy test set costs no
spectrogram: the noise goes on the stored inputs.

The second, physical view is kept beside it under its own names, ``radar-snr:DB`` and
``radar-abrupt:DB:SECONDS``: noise on the radar phase relative to its cardiac part, then the
spectrogram computed again. It asks what a noisy radar does to the input (the SST spreads
the noise over its frequencies, and the per-channel normalisation rescales it), which the
input noise, a fixed SNR on the picture itself, does not.

This module names the conditions (:func:`parse_condition`), makes noisy copies of held-out
segments (:func:`noisy_test_set`, a :class:`TestSet`) and defines the 4-s ECG every framework
is scored against (:func:`ecg_reference`). The frameworks are in
:mod:`radarode_lite.studies.frameworks`, their scores and the paper's tables in
:mod:`radarode_lite.studies.robustness`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from radarode_lite import _checks, data, noise, timefreq
from radarode_lite.conventions import FS, WINDOW_S

__all__ = [
    "CONSTANT_CONDITIONS",
    "ABRUPT_CONDITIONS",
    "GRID_CONDITIONS",
    "RADAR_CONDITIONS",
    "ABRUPT_FRACTION",
    "RADAR_PREFIX",
    "parse_condition",
    "condition_tag",
    "ecg_reference",
    "TestSet",
    "noisy_test_set",
    "noise_stream_name",
    "TrainingNoise",
]

#: Constant-noise conditions of Table III (SNR in dB), on the network input.
CONSTANT_CONDITIONS = ("snr:6", "snr:3", "snr:0", "snr:-1", "snr:-2", "snr:-3")

#: Abrupt-noise conditions of Table V: ``abrupt:SNR_DB:SECONDS:FRACTION``, mild (0 dB) and
#: extensive (-9 dB) bursts of 1, 2 and 3 s on the network input, in one segment in five
#: (the authors' share).
ABRUPT_CONDITIONS = ("abrupt:0:1:0.2", "abrupt:0:2:0.2", "abrupt:0:3:0.2",
                     "abrupt:-9:1:0.2", "abrupt:-9:2:0.2", "abrupt:-9:3:0.2")  # fmt: skip

#: The whole grid of chapter 14: the noise-free baseline first.
GRID_CONDITIONS = ("clean",) + CONSTANT_CONDITIONS + ABRUPT_CONDITIONS

#: The same SNRs and bursts on the radar phase (the physical view), a burst in every segment.
#: Under these names (then without ``radar-``) the grid of chapter 14 was first run.
RADAR_CONDITIONS = ("radar-snr:6", "radar-snr:3", "radar-snr:0", "radar-snr:-1", "radar-snr:-2", "radar-snr:-3",
                    "radar-abrupt:0:1:1", "radar-abrupt:0:2:1", "radar-abrupt:0:3:1",
                    "radar-abrupt:-9:1:1", "radar-abrupt:-9:2:1", "radar-abrupt:-9:3:1")  # fmt: skip

#: Default share of segments that get a burst when a condition name gives none: the authors'
#: 20 % (:data:`radarode_lite.noise.INPUT_BURST_SHARE`).
ABRUPT_FRACTION = noise.INPUT_BURST_SHARE

#: Prefix of the names of the radar-phase conditions.
RADAR_PREFIX = "radar-"

_MIN_BURST_GAP_S = 4.0  # bursts of windows transformed together lie at least this far apart
_NAMES = "'clean', 'snr:DB', 'abrupt:DB:SECONDS[:FRACTION]', 'radar-snr:DB' or 'radar-abrupt:DB:SECONDS[:FRACTION]'"


# ---------------------------------------------------------------------------------------
# Noise conditions
# ---------------------------------------------------------------------------------------


def parse_condition(condition) -> dict:
    """A noise condition by name, checked and written out (chapter 14).

    Names (also those of ``radarode-run-noise --conditions``):

    - ``"clean"``: no added noise (the baseline);
    - ``"snr:DB"``: Gaussian noise on every pixel of the normalised network input at ``DB`` dB
      relative to each channel's mean square (:func:`radarode_lite.noise.add_input_noise`), as
      the authors' code adds it;
    - ``"abrupt:DB:SECONDS[:FRACTION]"``: one burst of ``SECONDS`` s (0 < SECONDS <= 4) at
      ``DB`` dB on the input frames of ``int(FRACTION * n)`` of a recording's ``n`` segments
      (default :data:`ABRUPT_FRACTION`, the authors' 0.2;
      :func:`radarode_lite.noise.add_input_burst`);
    - ``"radar-snr:DB"`` and ``"radar-abrupt:DB:SECONDS[:FRACTION]"``: the same on the radar
      phase, relative to each channel's cardiac part (:func:`radarode_lite.noise.add_radar_noise`,
      :func:`radarode_lite.noise.add_abrupt_noise`), the spectrogram computed again; bursts in
      ``round(FRACTION * n)`` segments (:func:`radarode_lite.noise.seeded_bursts`).

    Parameters
    ----------
    condition : str, or a dict returned by this function (its ``"name"`` is parsed again).

    Returns
    -------
    dict with ``name`` (canonical: numbers written with ``%g``), ``family`` (``"clean"``,
    ``"constant"`` or ``"abrupt"``), ``model`` (``"input"``, ``"radar"`` or None for clean),
    ``snr_db`` (dB or None), ``duration_s`` (s or None) and ``fraction`` (or None).
    """
    if isinstance(condition, Mapping):
        if "name" not in condition:
            raise ValueError(f"a condition dict must hold a 'name', got {dict(condition)!r}")
        condition = condition["name"]
    if not isinstance(condition, str):
        raise TypeError(f"condition must be a string such as 'snr:-3', got {type(condition).__name__}")
    text = condition.strip().lower()
    model = "radar" if text.startswith(RADAR_PREFIX) else "input"
    prefix = RADAR_PREFIX if model == "radar" else ""
    parts = text[len(prefix) :].split(":")
    try:
        numbers = [float(p) for p in parts[1:]]
    except ValueError:
        numbers = None
    ok = numbers is not None and all(math.isfinite(v) for v in numbers)
    out = {"name": None, "family": None, "model": model, "snr_db": None, "duration_s": None, "fraction": None}
    if parts == ["clean"] and not prefix:
        return dict(out, name="clean", family="clean", model=None)
    if parts[0] == "snr" and ok and len(numbers) == 1:
        return dict(out, name=f"{prefix}snr:{numbers[0]:g}", family="constant", snr_db=numbers[0])
    if parts[0] == "abrupt" and ok and len(numbers) in (2, 3):
        snr_db, seconds = numbers[:2]
        fraction = numbers[2] if len(numbers) == 3 else ABRUPT_FRACTION
        if not 0.0 < seconds <= WINDOW_S:
            raise ValueError(f"condition {condition!r}: the burst must last more than 0 and at most "
                             f"{WINDOW_S:g} s, got {seconds:g}")  # fmt: skip
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"condition {condition!r}: the fraction of segments must lie in [0, 1], got {fraction:g}")
        return dict(out, name=f"{prefix}abrupt:{snr_db:g}:{seconds:g}:{fraction:g}", family="abrupt",
                    snr_db=snr_db, duration_s=seconds, fraction=fraction)  # fmt: skip
    raise ValueError(f"condition must be {_NAMES}, got {condition!r}")


def condition_tag(condition) -> str:
    """File-name form of a condition: ``"snr:-3"`` -> ``"snr_-3"``, ``"radar-abrupt:-9:3:1"`` -> ``"radar-abrupt_-9_3_1"``."""
    return parse_condition(condition)["name"].replace(":", "_")


# ---------------------------------------------------------------------------------------
# The reference 4-s ECG
# ---------------------------------------------------------------------------------------


def ecg_reference(ecg, fs=FS):
    """The 4-s ECG every framework is scored against: baseline removed, min-max normalised (chapter 14).

    The reconstructions of the single-cycle frameworks are built from beats on the min-max
    normalised scale of the ``shape`` targets, [0, 1], without baseline wander; the direct
    regression is trained on this very reference. So that all three are compared on one
    scale: the baseline, estimated by two median filters of 0.2 s and 0.6 s in a row (the
    usual ECG baseline estimate, de Chazal et al., IEEE TBME 2004), is subtracted, and each
    window is mapped to [0, 1] by its minimum and maximum. RMSE is then in these normalised
    units, not mV.

    Parameters
    ----------
    ecg : (W,) or (N, W) ECG windows, mV, finite, each not constant; W >= 2.
    fs : Hz, > 0.

    Returns
    -------
    float64 array of the shape of ``ecg``, each row in [0, 1].
    """
    x = _checks.finite_array(ecg, "ecg")
    if x.ndim not in (1, 2) or x.shape[-1] < 2:
        raise ValueError(f"ecg must have shape (W,) or (N, W) with W >= 2 samples, got {x.shape}")
    fs = _checks.positive(fs, "fs")
    rows = np.atleast_2d(x)
    short = max(1, int(round(0.2 * fs)) | 1)
    long = max(1, int(round(0.6 * fs)) | 1)
    baseline = ndimage.median_filter(ndimage.median_filter(rows, size=(1, short), mode="nearest"),
                                     size=(1, long), mode="nearest")  # fmt: skip
    y = rows - baseline
    low, high = y.min(axis=1, keepdims=True), y.max(axis=1, keepdims=True)
    if np.any(high - low <= 0):
        raise ValueError("ecg has a window without variation; it cannot be normalised")
    out = (y - low) / (high - low)
    return out[0] if x.ndim == 1 else out


# ---------------------------------------------------------------------------------------
# Noisy test sets
# ---------------------------------------------------------------------------------------


@dataclass
class TestSet:
    """Noisy copies of held-out segments: what every framework sees, and the truth (chapter 14).

    ``N`` segments of ``W = 800`` samples (4 s at 200 Hz); ``C, F, T`` the preset's input shape.

    Attributes
    ----------
    condition : dict of :func:`parse_condition`.
    sst : (N, C, F, T) float32, the network inputs (noisy under every condition but clean).
    radar : (N, C, W) float64, the radar phase (rad) of the preset's channels in each segment,
        for signal processing (:func:`radarode_lite.studies.frameworks.radar_anchors`): noisy
        under the ``radar-`` conditions, clean under the input-noise ones (that noise lives on
        the input alone).
    ecg : (N, W) float64, the true ECG of each segment, mV.
    reference : (N, W) float64, :func:`ecg_reference` of ``ecg``.
    r_peaks_s : N arrays, true R peaks in each segment, s from its start.
    recordings : N recording names; start_s : (N,) segment starts in s in their recordings.
    bursts : N entries, None or ``{"start_s", "duration_s", "snr_db"}`` (start from the
        segment start) of the segment's burst of abrupt noise; an input burst also gives its
        frames, ``"start_frame"`` and ``"n_frames"``.
    fs : Hz.
    """

    __test__ = False  # not a pytest test class

    condition: dict
    sst: np.ndarray
    radar: np.ndarray
    ecg: np.ndarray
    reference: np.ndarray
    r_peaks_s: list
    recordings: list
    start_s: np.ndarray
    bursts: list = field(default_factory=list)
    fs: float = FS

    def __len__(self) -> int:
        return int(self.sst.shape[0])

    @property
    def burst_segments(self) -> np.ndarray:
        """Indices (into this test set) of the segments with a burst, increasing; empty without bursts."""
        return np.asarray([i for i, b in enumerate(self.bursts) if b is not None], dtype=int)


def noisy_test_set(dataset, condition, seed=0, segments=None) -> TestSet:
    """Noisy copies of the segments of ``dataset`` under a noise condition (chapter 14).

    The clean radar channels and ECG of each recording are read from its MMECG ``.mat`` file
    (:func:`radarode_lite.data.load_mmecg_mat`) and the preset's channels kept
    (:func:`radarode_lite.timefreq.select_channels`). Then, by the condition's ``model``:

    - input noise (``snr:DB``, ``abrupt:DB:SECONDS:FRACTION``, the authors' way): each
      segment's stored input (``sst_seg_{i}.npy``) gets :func:`radarode_lite.noise.add_input_noise`,
      or, in the segments :func:`radarode_lite.noise.input_burst_segments` picks among the
      ``n`` segments of its recording (``int(FRACTION * n)``, once per recording as the
      authors' data set of one recording picks them), :func:`radarode_lite.noise.add_input_burst`.
      No spectrogram is computed.
    - radar-phase noise (``radar-snr:DB``, ``radar-abrupt:...``) and ``clean``: see
      :func:`_radar_items`; every segment's input is computed as the data set's own
      (:func:`radarode_lite.timefreq.spectrogram` of the whole recording, the segment's 120
      frames sliced and normalised per channel): with ``"clean"`` the inputs equal the stored ones.

    Seeds: the noise of segment ``k`` of the recording of trial ``t`` comes from
    ``numpy.random.default_rng(SeedSequence([seed, h, t, k]))`` and the choice of the burst
    segments from ``SeedSequence([seed, h, t])``, with ``h = crc32(name)``; for input noise the
    name is ``"input:" + condition name`` (``"input:snr:-3"``), for radar-phase noise the name
    without ``radar-`` (``"snr:-3"``, the name it had before, so its noise is unchanged;
    constant radar noise draws one stream per recording, ``SeedSequence([seed, h, t])``). So
    every framework and every training seed sees the same noise, whatever ``segments`` asks for.

    Parameters
    ----------
    dataset : :class:`radarode_lite.data.SegmentDataset` whose recordings have their ``.mat``
        files (data sets of :func:`radarode_lite.data.generate_dataset` with ``save_mat=True``,
        e.g. :func:`radarode_lite.data.book_dataset`).
    condition : a name or dict accepted by :func:`parse_condition`.
    seed : int >= 0, seed of the noise.
    segments : None (all) or indices of items of ``dataset`` to keep, in that order.

    Returns
    -------
    :class:`TestSet` (its ``burst_segments`` name the segments with a burst).
    """
    if not isinstance(dataset, data.SegmentDataset):
        raise TypeError(f"dataset must be a radarode_lite.data.SegmentDataset, got {type(dataset).__name__}")
    cond = parse_condition(condition)
    seed = _checks.integer(seed, "seed", low=0)
    chosen = _chosen_items(dataset, segments)
    spec = timefreq.get_preset(dataset.preset)
    key = zlib.crc32(noise_stream_name(cond).encode())
    items = _input_items if cond["model"] == "input" else _radar_items
    wanted: dict[int, list[int]] = {}
    for i in chosen:
        j, k = dataset.index[i]
        wanted.setdefault(j, []).append(k)
    found: dict[tuple, dict] = {}
    for j, windows in wanted.items():
        for k, part in items(dataset, j, windows, cond, spec, (seed, key)).items():
            found[(j, k)] = part
    return _test_set(cond, [found[dataset.index[i]] for i in chosen], FS)


def noise_stream_name(condition) -> str:
    """The name whose crc32 seeds a condition's noise (see :func:`noisy_test_set`)."""
    cond = parse_condition(condition)
    if cond["model"] == "input":
        return "input:" + cond["name"]
    return cond["name"].removeprefix(RADAR_PREFIX)


class TrainingNoise:
    """The input noise of a condition on every training batch: ``TrainingNoise("snr:0")(batch, generator)``.

    The authors' dataset class (``SpectrumECGDataset`` of ``spectrum_dataset.py``) adds its
    noise when an item is read, and one class serves the training and the test subjects alike,
    so their networks meet the noise of a condition in training too, drawn afresh at every
    read. This augmentation does the same for :func:`radarode_lite.train.train` and
    :func:`~radarode_lite.studies.direct_regression.train_direct`:

    - ``snr:DB``: :func:`radarode_lite.noise.add_input_noise` on every segment of the batch;
    - ``abrupt:DB:SECONDS[:FRACTION]``: :func:`radarode_lite.noise.add_input_burst` on each
      segment with probability ``FRACTION``. The authors fix the hit segments once per data
      set; a batch does not carry its segments' identity, so here each read is hit with that
      probability: the same share of the segments seen, spread over all of them.

    The random numbers come from the ``generator`` the training loop hands in (its batch-order
    generator), so a seeded run draws the same noise again. ``before`` (e.g.
    :class:`radarode_lite.data.augment.TimeStretch`) is applied first, so that the noise is
    white on the input the network reads.

    Parameters
    ----------
    condition : an input-noise condition name (``snr:`` or ``abrupt:``, see :func:`parse_condition`).
    before : None, or an augmentation ``before(batch, generator) -> batch``.
    """

    def __init__(self, condition, before=None):
        cond = parse_condition(condition)
        if cond["model"] != "input":
            raise ValueError(f"condition must be an input-noise condition ('snr:DB' or 'abrupt:DB:SECONDS'), "
                             f"got {cond['name']!r}")  # fmt: skip
        if before is not None and not callable(before):
            raise TypeError(f"before must be None or a callable (batch, generator) -> batch, got {before!r}")
        self.condition, self.before = cond, before

    def __call__(self, batch: dict, generator) -> dict:
        import torch

        if self.before is not None:
            batch = self.before(batch, generator)
        sst = batch["sst"]
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        x = sst.detach().cpu().numpy().astype(np.float64)
        cond = self.condition
        if cond["family"] == "constant":
            x = noise.add_input_noise(x, cond["snr_db"], rng)
        else:
            for b in np.flatnonzero(rng.random(x.shape[0]) < cond["fraction"]):
                x[b] = noise.add_input_burst(x[b], cond["duration_s"], cond["snr_db"], rng)[0]
        return {**batch, "sst": torch.as_tensor(x, dtype=sst.dtype, device=sst.device)}

    def __repr__(self) -> str:
        extra = "" if self.before is None else f", before={self.before!r}"
        return f"TrainingNoise({self.condition['name']!r}{extra})"


def _chosen_items(dataset, segments) -> list[int]:
    """The items of ``dataset`` that ``segments`` selects (None: all), checked."""
    if segments is None:
        return list(range(len(dataset)))
    if isinstance(segments, (str, bytes)) or not isinstance(segments, (Sequence, np.ndarray)):
        raise TypeError(f"segments must be None or a sequence of item indices, got {type(segments).__name__}")
    chosen = [_checks.integer(i, "segments", low=0) for i in segments]
    if not chosen:
        raise ValueError("segments must select at least one item")
    bad = [i for i in chosen if i >= len(dataset)]
    if bad:
        raise ValueError(f"segments {bad} are out of range for a data set of {len(dataset)} items")
    return chosen


def _input_items(dataset, j, windows, cond, spec, entropy) -> dict[int, dict]:
    """The segments ``windows`` of recording ``j`` with input noise on their stored inputs: ``{segment: item}``."""
    rec, x, ecg = _clean_recording(dataset, j, spec)
    trial = int(rec.get("trial", j))
    hit = set()
    if cond["family"] == "abrupt":
        pick = np.random.default_rng(np.random.SeedSequence([*entropy, trial]))
        hit = set(noise.input_burst_segments(len(rec["start_s"]), cond["fraction"], rng=pick).tolist())
    out = {}
    for k in sorted(set(windows)):
        sst = np.load(Path(rec["path"]) / f"sst_seg_{k}.npy")
        rng = np.random.default_rng(np.random.SeedSequence([*entropy, trial, k]))
        burst = None
        if cond["family"] == "constant":
            sst = noise.add_input_noise(sst, cond["snr_db"], rng=rng)
        elif k in hit:
            sst, start, length = noise.add_input_burst(sst, cond["duration_s"], cond["snr_db"], rng=rng,
                                                       frame_rate_hz=spec.frame_rate_hz)  # fmt: skip
            burst = {"start_s": start / spec.frame_rate_hz, "duration_s": length / spec.frame_rate_hz,
                     "snr_db": cond["snr_db"], "start_frame": start, "n_frames": length}  # fmt: skip
        out[k] = _segment_item(rec, k, x, sst, ecg, burst, spec, FS)
    return out


def _radar_items(dataset, j, windows, cond, spec, entropy) -> dict[int, dict]:
    """The segments ``windows`` of recording ``j`` with radar-phase noise (or clean), their inputs
    computed again: ``{segment: item}``.

    - ``radar-snr:DB``: :func:`radarode_lite.noise.add_radar_noise` on the whole recording (noise
      power relative to each channel's cardiac part).
    - ``radar-abrupt:DB:SECONDS:FRACTION``: ``round(FRACTION * n)`` of the recording's ``n``
      segments, drawn at random, each get one burst of ``SECONDS`` s at a uniformly random place
      inside the segment, at ``DB`` dB relative to the channel's cardiac power over the
      recording (:func:`radarode_lite.noise.add_abrupt_noise`), as
      :func:`radarode_lite.data.segment_recording` defines abrupt noise. A segment sees its own
      burst only. To spare spectrograms, segments whose starts lie at least 8 s apart share one
      transform of the recording with all their bursts: the others are then at least 4 s outside
      the segment. (Against a transform with the segment's burst alone, the inputs differ by
      about 6e-4 on average, at most a few hundredths, on their [0, 1] scale.)
    """
    fs = FS
    rec, x, ecg = _clean_recording(dataset, j, spec)
    starts = np.asarray(rec["start_s"], dtype=float)
    trial = int(rec.get("trial", j))
    if cond["family"] == "constant":
        rng = np.random.default_rng(np.random.SeedSequence([*entropy, trial]))
        x = noise.add_radar_noise(x.T, cond["snr_db"], fs, rng=rng).T
    bursts = {}
    if cond["family"] == "abrupt":
        bursts = noise.seeded_bursts(len(starts), cond["fraction"], cond["duration_s"], cond["snr_db"], spec.window_s,
                                     (*entropy, trial))  # fmt: skip
    plain = [k for k in sorted(set(windows)) if k not in bursts]
    hit = [k for k in sorted(set(windows)) if k in bursts]
    groups = ([plain] if plain else []) + _spaced_groups(hit, starts, spec.window_s)
    cardiac, out = None, {}
    for group in groups:
        noisy, cardiac = _with_bursts(x, group, bursts, starts, cardiac, fs)
        full = timefreq.spectrogram(noisy, fs, spec)
        for k in group:
            b = bursts.get(k)
            burst = None if b is None else {name: b[name] for name in ("start_s", "duration_s", "snr_db")}
            out[k] = _segment_item(rec, k, noisy, _input_window(full, rec, k, spec), ecg, burst, spec, fs)
    return out


def _clean_recording(dataset, j, spec):
    """Recording ``j``'s record, its clean radar channels of the preset ``(C, n)`` and its ECG ``(n,)``."""
    rec = dataset.records[j]
    if not rec.get("mat"):
        raise ValueError(f"recording {rec['name']!r} has no .mat file; generate the data set with save_mat=True")
    mat = data.load_mmecg_mat(Path(dataset.root) / rec["mat"])
    x = timefreq.select_channels(np.ascontiguousarray(np.asarray(mat["RCG"], dtype=np.float64).T), spec.n_channels)
    return rec, x, np.asarray(mat["ECG"], dtype=np.float64).ravel()


def _with_bursts(x, group, bursts, starts, cardiac, fs):
    """``x`` with the bursts of the segments of ``group`` added (``x`` itself for a group without
    bursts), and the cardiac part of ``x`` (computed on first need, then passed back in)."""
    if group[0] not in bursts:
        return x, cardiac
    if cardiac is None:
        cardiac = noise.cardiac_part(x, fs, axis=-1)
    noisy = x.copy()
    for k in group:
        if k in bursts:
            b = bursts[k]
            burst = noise.add_abrupt_noise(cardiac, fs, b["duration_s"], b["snr_db"], rng=b["rng"],
                                             start_s=starts[k] + b["start_s"], axis=-1)  # fmt: skip
            noisy += burst - cardiac  # the burst alone
    return noisy, cardiac


def _input_window(full, rec, k, spec) -> np.ndarray:
    """Segment ``k``'s input: its frames of the recording's spectrogram ``full``, normalised per channel."""
    f0 = int(round(float(rec["start_s"][k]) * spec.frame_rate_hz))
    if f0 + spec.n_frames > full.shape[-1]:
        raise ValueError(f"segment {k} of {rec['name']!r} reaches past the end of its recording")
    return timefreq.normalise_per_channel(full[:, :, f0 : f0 + spec.n_frames])


def _segment_item(rec, k, radar, sst, ecg, burst, spec, fs) -> dict:
    """Segment ``k`` of recording ``rec``: its input ``sst``, cut from the radar ``radar`` and ``ecg``."""
    n_win = int(round(spec.window_s * fs))
    start_s = float(rec["start_s"][k])
    i0 = int(round(start_s * fs))
    if i0 + n_win > radar.shape[1]:
        raise ValueError(f"segment {k} of {rec['name']!r} reaches past the end of its recording")
    return {
        "sst": sst,
        "radar": radar[:, i0 : i0 + n_win].copy(),
        "ecg": ecg[i0 : i0 + n_win].copy(),
        "r_peaks_s": np.asarray(rec["r_peaks_s"][k], dtype=float),
        "recording": rec["name"],
        "start_s": start_s,
        "burst": burst,
    }


def _test_set(cond, parts, fs) -> TestSet:
    """A :class:`TestSet` of the segment items ``parts`` (in order) under condition ``cond``."""
    ecg = np.stack([p["ecg"] for p in parts])
    return TestSet(
        condition=cond,
        sst=np.stack([p["sst"] for p in parts]).astype(np.float32),
        radar=np.stack([p["radar"] for p in parts]),
        ecg=ecg,
        reference=ecg_reference(ecg, fs),
        r_peaks_s=[p["r_peaks_s"] for p in parts],
        recordings=[p["recording"] for p in parts],
        start_s=np.asarray([p["start_s"] for p in parts]),
        bursts=[p["burst"] for p in parts],
        fs=fs,
    )


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _spaced_groups(windows, starts, window_s) -> list[list[int]]:
    """Segments with bursts that can share one transform: starts at least ``window_s + 4 s`` apart."""
    groups: list[list[int]] = []
    for k in windows:
        for g in groups:
            if starts[k] - starts[g[-1]] >= window_s + _MIN_BURST_GAP_S - 1e-9:
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


def _check_test_set(test_set) -> None:
    if not isinstance(test_set, TestSet):
        raise TypeError(f"test_set must be a TestSet (from noisy_test_set), got {type(test_set).__name__}")


def _anchor_list(values, n, name="anchors") -> list[np.ndarray]:
    if isinstance(values, (str, bytes, np.ndarray)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of {n} arrays of times in s, got {type(values).__name__}")
    if len(values) != n:
        raise ValueError(f"{name} must hold one array per segment ({n}), got {len(values)}")
    out = []
    for v in values:
        a = _checks.finite_array(v, name, allow_empty=True).ravel()
        if np.any(np.diff(a) <= 0):
            raise ValueError(f"{name}: each array of times must be strictly increasing")
        out.append(a)
    return out
