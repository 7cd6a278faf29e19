r"""Segments, targets, MMECG ``.mat`` files and torch datasets: the data engine (chapter 4).

A recording, simulated by :mod:`radarode_lite.signals` or read from the MMECG data set
(Chen et al., IEEE TMC 2022), holds 50 radar channels and a synchronised ECG at 200 Hz.
radarODE-MTL (Zhang et al., IEEE TIM 2025) learns from 4-s pieces of it. This module cuts
recordings into those pieces and computes, for each, the network input and the three targets:

- ``sst``    (C, F, T) float32: |SST| spectrogram of the radar channels, upper half of the
  frequency axis, 30 frames per second, min-max normalised to [0, 1] per channel
  (:mod:`radarode_lite.timefreq`); T = 120 frames for a 4-s window.
- ``shape``  (200,) float32: one cardiac cycle of the ECG resampled to 200 samples and min-max
  normalised to [0, 1]: the morphology task. The cycle is the beat whose R peak lies nearest
  the window centre; beat ``k`` spans

  .. math:: [R_k - r\,RR_k,\; R_k + (1 - r)\,RR_k], \qquad RR_k = R_{k+1} - R_k,

  with :math:`r` = :data:`R_FRACTION` = 0.32, the fraction of a cycle of McSharry's model that
  comes before the R wave when it is integrated from the radarODE solver's initial state
  (:func:`radarode_lite.ode.ecg_ode` puts its R wave at sample 64 of 200). So the target beat
  is aligned like the beat the network's ODE decoder draws: R wave at sample 64.
- ``ppi``    int64: that cycle's length :math:`RR_k` in samples at 200 Hz, rounded and clipped
  to 0-259, one of :data:`PPI_CLASSES` = 260 classes (cycles up to 1.295 s, i.e. heart rates
  down to 46.3 bpm, are represented exactly; slower beats fall into the last class): the
  cycle-length task.
- ``anchor`` (800,) float32: a heat map with a unit-height Gaussian bump of standard deviation
  :data:`ANCHOR_SIGMA_SAMPLES` = 10 samples (50 ms) centred on the sample of every R peak
  inside the window: the anchor task.
- ``ecg``    (800,) float32: the ECG of the window in mV, for evaluation and plots.

Windows are :data:`WINDOW_S` = 4 s long and start every :data:`HOP_S` = 1 s (overlapping
windows multiply the number of training examples: a 3-min recording gives 177). The
spectrogram of a whole recording is computed once and then sliced, so windows share the
same time-frequency values where they overlap and have no edge effects of their own.

On disk, one folder per recording, named like the authors' ``obj{subject}_{status}_{trial}_``,
holds ``sst_seg_{i}.npy``, ``ecg_seg_{i}.npy``, ``anchor_seg_{i}.npy``, ``shape_seg_{i}.npy``
and ``segments.json`` (cycle lengths, window starts, R peaks, the subject, the preset, the
generator and its seed). Folders and ``.mat`` files are written atomically: an interrupted
run never leaves a half-written one.

Public functions, in the order of the chapter: :func:`save_mmecg_mat`, :func:`load_mmecg_mat`,
:func:`detect_r_peaks`, :func:`window_targets` (with :func:`shape_target`,
:func:`ppi_target`, :func:`anchor_heatmap`), :func:`add_radar_noise`, :func:`segment_recording`,
:func:`write_segments`, :func:`generate_dataset`, :func:`list_recordings`,
:class:`SegmentDataset`, :func:`subject_split`.

The package has one module per concern, and every name is importable from here:

- :mod:`~radarode_lite.data.mmecg`: recording names, MMECG ``.mat`` files (v5 and v7.3);
- :mod:`~radarode_lite.data.targets`: R peaks, the three targets, :func:`segment_recording`;
- :mod:`~radarode_lite.data.synthetic`: :func:`generate_dataset`, :func:`write_segments`;
- :mod:`~radarode_lite.data.dataset`: :func:`list_recordings`, :class:`SegmentDataset`,
  :func:`subject_split`, :func:`dataset_fingerprint`;
- :mod:`~radarode_lite.data.cache`: :func:`book_dataset`, the book's data set, cached.

The noise models (:func:`add_radar_noise` and the abrupt bursts) live in
:mod:`radarode_lite.noise`; the conventions (:data:`FS`, :data:`WINDOW_S`, :data:`R_FRACTION`
...) in :mod:`radarode_lite.conventions`. Both are re-exported here.
"""

from __future__ import annotations

from radarode_lite.conventions import (
    ANCHOR_SIGMA_SAMPLES,
    CARDIAC_HIGHPASS_HZ,
    FS,
    HOP_S,
    PPI_CLASSES,
    R_FRACTION,
    SHAPE_SAMPLES,
    STATUSES,
    WINDOW_S,
)
from radarode_lite.data.cache import book_dataset, default_cache_dir, generator_fingerprint
from radarode_lite.data.dataset import SegmentDataset, dataset_fingerprint, list_recordings, subject_split
from radarode_lite.data.mmecg import load_mmecg_mat, parse_recording_name, recording_name, save_mmecg_mat
from radarode_lite.data.synthetic import GENERATOR, SIZES, generate_dataset, write_segments
from radarode_lite.data.targets import (
    Segments,
    anchor_heatmap,
    cycle_bounds,
    detect_r_peaks,
    ppi_target,
    segment_recording,
    shape_target,
    window_targets,
)
from radarode_lite.noise import add_radar_noise

__all__ = [
    "FS",
    "STATUSES",
    "WINDOW_S",
    "HOP_S",
    "SHAPE_SAMPLES",
    "PPI_CLASSES",
    "R_FRACTION",
    "ANCHOR_SIGMA_SAMPLES",
    "SIZES",
    "CARDIAC_HIGHPASS_HZ",
    "GENERATOR",
    "recording_name",
    "parse_recording_name",
    "save_mmecg_mat",
    "load_mmecg_mat",
    "detect_r_peaks",
    "cycle_bounds",
    "shape_target",
    "ppi_target",
    "anchor_heatmap",
    "window_targets",
    "Segments",
    "add_radar_noise",
    "segment_recording",
    "write_segments",
    "generate_dataset",
    "list_recordings",
    "dataset_fingerprint",
    "SegmentDataset",
    "subject_split",
    "default_cache_dir",
    "book_dataset",
    "generator_fingerprint",
]
