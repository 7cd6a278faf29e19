"""The network's outputs on a data set and the paper's metrics of them (Section V; chapters 6-8, 12).

- :func:`predict`: the outputs of a :class:`radarode_lite.models.RadarODEMTL` on every
  segment of a data set, as numpy arrays.
- :func:`dataset_targets`: the targets of every segment and the true R peaks of each window.
- :func:`compute_metrics`: the metrics of Table II of Zhang et al. (IEEE TIM 2025) of
  predictions against targets; :func:`evaluate` is both steps at once.

Also the checks of the network, the tasks and the data sets that :mod:`radarode_lite.train`
shares with this module.

Example
-------
>>> from radarode_lite import data, evaluation, models                    # doctest: +SKIP
>>> test_set = data.SegmentDataset(folder)                                # doctest: +SKIP
>>> evaluation.evaluate(models.RadarODEMTL("lite", seed=0), test_set)     # doctest: +SKIP
{'rmse_norm': ..., 'pcc_pct': ..., 'timing_error_ms': ..., 'mdr_pct': ..., 'ppi_error_ms': ..., 'n_segments': ...}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from radarode_lite import _checks, data, metrics
from radarode_lite.conventions import FS, TASK_METRICS, TASKS

__all__ = ["METRIC_KEYS", "predict", "dataset_targets", "compute_metrics", "evaluate"]

#: Keys of :func:`evaluate` per task, in the units of Table II of the paper (except the shape
#: RMSE, which is on the min-max normalised beat, not in mV): :data:`radarode_lite.conventions.TASK_METRICS`.
METRIC_KEYS = TASK_METRICS


def predict(model, dataset, batch_size=64, tasks=TASKS) -> dict:
    """The network's outputs on every segment of ``dataset``, as numpy arrays (chapters 6-8, 13).

    The model runs in evaluation mode without gradients (its mode is restored afterwards).

    Returns
    -------
    dict with, for the requested ``tasks``: ``"shape"`` (N, 200) normalised beats; ``"anchor"``
    (N, 800) heat maps; ``"ppi_logits"`` (N, 260) and ``"ppi"`` (N,) int64, the most probable
    cycle length in samples at 200 Hz.
    """
    tasks = check_tasks(tasks)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    check_model(model)
    check_dataset(dataset, "dataset")
    device = model_device(model)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    chunks = {t: [] for t in tasks}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in loader:
                features = model.encode(batch["sst"].to(device))
                for t in tasks:
                    chunks[t].append(model.decoders[t](features).cpu().numpy())
    finally:
        model.train(was_training)
    out = {}
    for t in tasks:
        values = np.concatenate(chunks[t])
        if t == "ppi":
            out["ppi_logits"] = values
            out["ppi"] = np.argmax(values, axis=1).astype(np.int64)
        else:
            out[t] = values
    return out


def dataset_targets(dataset) -> dict:
    """The targets of every segment of ``dataset`` and the true R peaks of each window (chapters 6-8).

    Returns
    -------
    dict: ``"shape"`` (N, 200), ``"anchor"`` (N, 800), ``"ppi"`` (N,) int64, ``"ecg"`` (N, 800)
    mV when the items carry it, and ``"r_peaks_s"``, a list of N arrays of R-peak times in
    seconds from the window start. The peaks come from ``segments.json`` for a
    :class:`~radarode_lite.data.SegmentDataset` (or a ``Subset`` of one); for other datasets
    they are read off the true heat map with :func:`radarode_lite.metrics.detect_anchors`,
    which misses a peak on the very first or last sample.
    """
    check_dataset(dataset, "dataset")
    items = [dataset[i] for i in range(len(dataset))]
    out = {
        "shape": np.stack([np.asarray(it["shape"], dtype=np.float32) for it in items]),
        "anchor": np.stack([np.asarray(it["anchor"], dtype=np.float32) for it in items]),
        "ppi": np.array([int(it["ppi"]) for it in items], dtype=np.int64),
    }
    if all("ecg" in it for it in items):
        out["ecg"] = np.stack([np.asarray(it["ecg"], dtype=np.float32) for it in items])
    peaks = _stored_r_peaks(dataset)
    if peaks is None:
        peaks = [metrics.detect_anchors(a, fs=FS) for a in out["anchor"]]
    out["r_peaks_s"] = peaks
    return out


def _stored_r_peaks(dataset):
    """True R peaks per item from segments.json, through Subset wrappers; None if unknown."""
    if isinstance(dataset, torch.utils.data.Subset):
        inner = _stored_r_peaks(dataset.dataset)
        return None if inner is None else [inner[i] for i in dataset.indices]
    if isinstance(dataset, data.SegmentDataset):
        return [np.asarray(dataset.records[j]["r_peaks_s"][i], dtype=float) for j, i in dataset.index]
    return None


def compute_metrics(predictions: dict, targets: dict, tasks=None) -> dict:
    """The paper's metrics of ``predictions`` against ``targets`` (Section V; chapters 6-8, 12).

    - shape: ``rmse_norm``, the RMSE of each predicted beat against the true one **on the
      min-max normalised scale** (the paper's RMSE is in mV on real ECG; ours is not in mV),
      and ``pcc_pct``, the Pearson correlation in percent; both averaged over segments.
    - cycle length: ``ppi_error_ms``, mean absolute error of the argmax class, ms.
    - anchors: R peaks picked from each predicted heat map (:func:`radarode_lite.metrics.detect_anchors`,
      threshold 0.5, 0.3 s apart) and matched one-to-one with the window's true R peaks within
      0.15 s, pooled over windows (:func:`radarode_lite.metrics.pooled_anchor_scores`);
      ``timing_error_ms`` is the mean absolute error over all matched pairs of all windows
      (NaN if nothing matched) and ``mdr_pct`` the percentage of true peaks without a partner.

    Parameters
    ----------
    predictions : dict from :func:`predict`.
    targets : dict from :func:`dataset_targets`.
    tasks : tasks to score; None for those present in ``predictions``.

    Returns
    -------
    dict of floats with the keys of :data:`METRIC_KEYS` for the scored tasks, plus ``n_segments``.
    """
    if not isinstance(predictions, dict) or not isinstance(targets, dict):
        raise TypeError("predictions and targets must be dicts from predict() and dataset_targets()")
    if tasks is None:
        tasks = tuple(t for t in TASKS if t in predictions)
        if not tasks:
            raise ValueError(f"predictions holds none of the tasks {TASKS}")
    tasks = check_tasks(tasks)
    n = len(targets["ppi"])
    for t in tasks:
        if t not in predictions:
            raise ValueError(f"predictions has no {t!r}; run predict() with that task")
        if len(predictions[t]) != n:
            raise ValueError(f"predictions[{t!r}] has {len(predictions[t])} segments but targets {n}")
    out = {}
    if "shape" in tasks:
        out["rmse_norm"] = float(np.mean(metrics.rmse(predictions["shape"], targets["shape"], axis=-1)))
        out["pcc_pct"] = 100.0 * float(np.mean(metrics.pcc(predictions["shape"], targets["shape"], axis=-1)))
    if "anchor" in tasks:
        found = [metrics.detect_anchors(heatmap, fs=FS) for heatmap in predictions["anchor"]]
        out.update(metrics.pooled_anchor_scores(found, targets["r_peaks_s"], metrics.MATCH_TOLERANCE_S))
    if "ppi" in tasks:
        out["ppi_error_ms"] = metrics.ppi_error_ms(predictions["ppi"], targets["ppi"], fs=FS)
    out["n_segments"] = float(n)
    return out


def evaluate(model, dataset, tasks=TASKS, batch_size=64) -> dict:
    """The paper's metrics of ``model`` on ``dataset``: :func:`compute_metrics` of :func:`predict` (chapters 6-8, 12).

    Keys (for the requested ``tasks``, see :data:`METRIC_KEYS`): ``rmse_norm`` (normalised
    beat, not mV), ``pcc_pct`` (%), ``timing_error_ms`` (ms), ``mdr_pct`` (%),
    ``ppi_error_ms`` (ms) and ``n_segments``.
    """
    tasks = check_tasks(tasks)
    return compute_metrics(predict(model, dataset, batch_size, tasks), dataset_targets(dataset), tasks)


# ---------------------------------------------------------------------------------------
# Checks shared with radarode_lite.train
# ---------------------------------------------------------------------------------------


def check_tasks(tasks) -> tuple:
    """``tasks`` (one name or a sequence of distinct names of :data:`TASKS`) as a tuple."""
    if isinstance(tasks, str):
        tasks = (tasks,)
    if not isinstance(tasks, Sequence) or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty sequence of {TASKS}, got {tasks!r}")
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; tasks must come from {TASKS}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must not repeat, got {tuple(tasks)}")
    return tuple(tasks)


def check_model(model) -> None:
    """TypeError unless ``model`` is a module with ``encode``, ``decoders`` and ``shared_parameters``."""
    needed = ("encode", "decoders", "shared_parameters")
    if not isinstance(model, nn.Module) or not all(hasattr(model, name) for name in needed):
        raise TypeError(f"model must be a RadarODEMTL (with {', '.join(needed)}), got {type(model).__name__}")


def check_dataset(dataset, name) -> None:
    """TypeError unless ``dataset`` is indexable with a length; ValueError if it is empty."""
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError(f"{name} must be a torch Dataset of segment items, got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"{name} is empty")


def model_device(model) -> torch.device:
    """Device of the model's first parameter (CPU for a model without parameters)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")
