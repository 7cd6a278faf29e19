"""Trivial baselines on held-out subjects: what the network must beat to have learnt anything (chapters 6-8, 12).

A study module (:mod:`radarode_lite.studies`): it reads the pipeline's data sets and metrics
and is not imported by the pipeline. Each baseline uses the training subjects only, or no
learning at all, and is scored with the same functions as the network
(:func:`radarode_lite.evaluation.compute_metrics`'s metrics):

- **shape**: the mean training beat, predicted for every held-out segment (``rmse_norm``,
  ``pcc_pct``). A decoder that does not beat it has learnt the average heartbeat and nothing
  about the person or the moment.
- **cycle length**: the training median cycle length for every segment (``ppi_error_ms``), and
  the median interval between the anchors that signal processing finds in the segment's own
  radar signal (:func:`radarode_lite.timefreq.locate_anchors`, chapter 2; no learning).
- **anchors**: a fixed-rate guess, R peaks every training-median cycle from the training
  subjects' median first-peak time (``timing_error_ms``, ``mdr_pct``), and the
  signal-processing anchors themselves.

:func:`trivial_baselines` returns them all in one dict, keyed by baseline, with one reference
that is not a baseline: the **beat of the same cycle length** (:func:`cycle_length_beats`),
the mean of the training beats whose cycle length is nearest each held-out segment's *true*
one. It is told the answer of the cycle-length task, so a network need not beat it; it
measures how much of the beat's shape the cycle length alone explains, the room above the
mean beat that a shape decoder reading the rhythm can reach (chapter 12).
"""

from __future__ import annotations

import numpy as np

from radarode_lite import data, evaluation, metrics, timefreq
from radarode_lite.conventions import FS, WINDOW_S

__all__ = ["fixed_rate_anchors", "signal_processing_anchors", "anchor_cycle_samples", "cycle_length_beats",
           "trivial_baselines"]

#: Training beats averaged by :func:`cycle_length_beats` for each held-out segment.
NEAREST_BEATS = 50


def fixed_rate_anchors(n_segments, cycle_samples, first_s) -> list[np.ndarray]:
    """R peaks every ``cycle_samples`` from ``first_s`` in each of ``n_segments`` 4-s windows."""
    if cycle_samples <= 0:
        raise ValueError(f"cycle_samples must be > 0, got {cycle_samples}")
    times = np.arange(float(first_s), WINDOW_S, cycle_samples / FS)
    return [times.copy() for _ in range(int(n_segments))]


def signal_processing_anchors(dataset) -> list[np.ndarray]:
    """Anchors that :func:`radarode_lite.timefreq.locate_anchors` finds in each segment's clean radar window.

    The radar windows are those of the preset's channels, read from the recordings' ``.mat``
    files (:func:`radarode_lite.studies.noise_conditions.noisy_test_set` with ``"clean"``).
    """
    from radarode_lite.studies import noise_conditions

    test_set = noise_conditions.noisy_test_set(dataset, "clean")
    return [timefreq.locate_anchors(window, test_set.fs) for window in test_set.radar]


def anchor_cycle_samples(anchors, fallback) -> np.ndarray:
    """Per window, the median interval between consecutive anchors in samples (``fallback`` with fewer than 2)."""
    out = np.full(len(anchors), int(fallback), dtype=np.int64)
    for i, times in enumerate(anchors):
        if len(times) >= 2:
            out[i] = int(round(float(np.median(np.diff(np.sort(times)))) * FS))
    return out


def cycle_length_beats(train_shapes, train_ppi, ppi, k=NEAREST_BEATS) -> np.ndarray:
    """For each cycle length of ``ppi (N,)``, the mean of the ``k`` training beats whose length is nearest it.

    :func:`trivial_baselines` takes ``k`` = :data:`NEAREST_BEATS`, or every training beat when
    there are fewer.

    ``train_shapes (M, 200)`` and ``train_ppi (M,)`` are the training segments' ``shape`` and
    ``ppi`` targets; ties in distance go to the earlier training segment. Returns ``(N, 200)``.
    """
    shapes, lengths = np.asarray(train_shapes, dtype=np.float64), np.asarray(train_ppi, dtype=np.float64)
    if shapes.ndim != 2 or lengths.shape != (shapes.shape[0],):
        raise ValueError(f"train_shapes (M, L) and train_ppi (M,) must match, got {shapes.shape}, {lengths.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(lengths):
        raise ValueError(f"k must be an int in [1, {len(lengths)}] (the training beats), got {k!r}")
    wanted = np.asarray(ppi, dtype=np.float64).ravel()
    order = np.argsort(np.abs(lengths[None, :] - wanted[:, None]), axis=1, kind="stable")[:, :k]
    return shapes[order].mean(axis=1)


def trivial_baselines(train_set, test_set, radar=True) -> dict:
    """Every trivial baseline of this module, scored on ``test_set`` (chapters 6-8, 12).

    Parameters
    ----------
    train_set, test_set : :class:`radarode_lite.data.SegmentDataset` of disjoint subjects
        (e.g. the ``"train"`` and ``"test"`` of :func:`radarode_lite.data.subject_split`).
    radar : also score the signal-processing anchors (needs the recordings' ``.mat`` files).

    Returns
    -------
    dict: ``"mean_beat"`` (``rmse_norm``, ``pcc_pct``), ``"median_ppi"`` (``ppi_error_ms``),
    ``"fixed_rate"`` (``timing_error_ms``, ``mdr_pct``), ``"cycle_length_beat"`` (``rmse_norm``,
    ``pcc_pct``; :func:`cycle_length_beats`, a reference given the true cycle length) and, with ``radar``,
    ``"signal_processing"`` (``timing_error_ms``, ``mdr_pct``, ``ppi_error_ms``); each with
    ``n_segments``.
    """
    for name, ds in (("train_set", train_set), ("test_set", test_set)):
        if not isinstance(ds, data.SegmentDataset):
            raise TypeError(f"{name} must be a radarode_lite.data.SegmentDataset, got {type(ds).__name__}")
    train_targets = evaluation.dataset_targets(train_set)
    targets = evaluation.dataset_targets(test_set)
    n = len(targets["ppi"])
    beat = np.mean(train_targets["shape"], axis=0)
    cycle = int(np.median(train_targets["ppi"]))
    firsts = [p[0] for p in train_targets["r_peaks_s"] if len(p)]
    first_s = float(np.median(firsts)) if firsts else 0.5 * cycle / FS
    out = {
        "mean_beat": evaluation.compute_metrics({"shape": np.repeat(beat[None], n, axis=0)}, targets, ("shape",)),
        "cycle_length_beat": evaluation.compute_metrics(
            {"shape": cycle_length_beats(train_targets["shape"], train_targets["ppi"], targets["ppi"],
                                         k=min(NEAREST_BEATS, len(train_targets["ppi"])))},
            targets, ("shape",)),
        "median_ppi": evaluation.compute_metrics({"ppi": np.full(n, cycle, dtype=np.int64)}, targets, ("ppi",)),
        "fixed_rate": {**metrics.pooled_anchor_scores(fixed_rate_anchors(n, cycle, first_s), targets["r_peaks_s"],
                                                      metrics.MATCH_TOLERANCE_S), "n_segments": float(n)},
    }  # fmt: skip
    if radar:
        found = signal_processing_anchors(test_set)
        scores = metrics.pooled_anchor_scores(found, targets["r_peaks_s"], metrics.MATCH_TOLERANCE_S)
        ppi = metrics.ppi_error_ms(anchor_cycle_samples(found, cycle), targets["ppi"], fs=FS)
        out["signal_processing"] = {**scores, "ppi_error_ms": float(ppi), "n_segments": float(n)}
    return out
