r"""Training and evaluating radarODE-MTL: the book's data set, the epoch loop and the metrics (chapters 6-8, 12).

A small, readable training core, in four parts:

- :func:`book_dataset`: the synthetic data set the chapters train on, generated once by
  :func:`radarode_lite.data.generate_dataset` into a cache folder and reused afterwards.
- :func:`train`: epochs of mini-batch training of the network of :mod:`radarode_lite.models`
  on any subset of the three tasks, with one multi-task method of :mod:`radarode_lite.mtl`
  (equal weighting by default). It records each task's epoch-mean training loss,
  :math:`\bar{\mathcal L}_i(t)`, and hands it to the method at the end of every epoch: these
  are the loss buffers that DWA and EGA read (chapters 9 and 11).
- :func:`train_single_task`: one decoder and the shared backbone, trained on one loss only
  (the single-task baseline of Table II of Zhang et al., IEEE TIM 2025; chapters 6-8).
- :func:`predict`, :func:`dataset_targets`, :func:`compute_metrics` and :func:`evaluate`:
  the network's outputs on a data set and the paper's metrics of them (Section V).

Everything is deterministic for a seed: the initial weights come from the model's own seed
(:class:`radarode_lite.models.RadarODEMTL`), the order of the mini-batches from a seeded
``torch.Generator``, any other random draw from ``torch.manual_seed(seed)`` inside the loop
(the caller's global random state is restored afterwards); data are loaded in the main
process (``num_workers=0``). On one machine with the same number of threads, the same
arguments give the same losses bit for bit.

:func:`train` also writes checkpoints that resume a run exactly (network, optimiser, method
state, random states), follows the paper's learning-rate schedule (linear warm-up, cosine
decay; :data:`PAPER_OPTIMIZER`) and, under ``torchrun``, trains across processes with the
per-task gradients reduced before the method combines them (:mod:`radarode_lite.distributed`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from torch import nn

from radarode_lite import _files, data, losses, metrics
from radarode_lite._checks import real_number
from radarode_lite.distributed import shard_indices
from radarode_lite.models import TASKS
from radarode_lite.mtl.methods import MTLMethod, get_method

__all__ = [
    "TASKS",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD_MOMENTUM",
    "PAPER_OPTIMIZER",
    "lr_factor",
    "load_checkpoint",
    "SettingsMismatch",
    "METRIC_KEYS",
    "default_cache_dir",
    "book_dataset",
    "generator_fingerprint",
    "History",
    "train",
    "train_single_task",
    "predict",
    "dataset_targets",
    "compute_metrics",
    "evaluate",
]

#: Optimisers :func:`train` knows by name: Adam, or SGD with momentum (0.937 by default).
OPTIMIZERS = ("adam", "sgd")

#: Learning-rate schedules of :func:`train` (after the optional linear warm-up).
SCHEDULES = ("constant", "cosine")

#: Default SGD momentum: the paper's (Zhang et al., IEEE TIM 2025, Section V).
SGD_MOMENTUM = 0.937

#: The paper's optimiser settings, as keyword arguments of :func:`train`: SGD, lr 5e-3,
#: momentum 0.937, weight decay 5e-4, cosine schedule down to 1 % of lr.
PAPER_OPTIMIZER = {"optimizer": "sgd", "lr": 5e-3, "momentum": 0.937, "weight_decay": 5e-4,
                   "schedule": "cosine", "final_lr_ratio": 0.01}

#: Version of the layout of :func:`train`'s checkpoint files.
CHECKPOINT_FORMAT = 1

#: Keys of :func:`evaluate` per task, in the units of Table II of the paper (except the shape
#: RMSE, which is on the min-max normalised beat, not in mV).
METRIC_KEYS = {
    "shape": ("rmse_norm", "pcc_pct"),
    "anchor": ("timing_error_ms", "mdr_pct"),
    "ppi": ("ppi_error_ms",),
}

#: Default learning rate of each optimiser.
_DEFAULT_LR = {"adam": 1e-3, "sgd": 5e-3}

_STAMP = "book_dataset.json"

_SINGLE_TASK_LOSS = {
    "shape": losses.shape_loss,
    "anchor": losses.anchor_loss,
    "ppi": losses.cycle_length_loss,
}


# ---------------------------------------------------------------------------------------
# The book's data set
# ---------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Folder of the cached data sets: ``$RADARODE_DATA`` if set, else ``~/.cache/radarode_lite``."""
    env = os.environ.get("RADARODE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "radarode_lite"


def book_dataset(size="small", preset="lite", seed=0, root=None) -> Path:
    """Path of the synthetic data set the chapters train on, generated on first use (chapters 6-8, 13).

    The data set is ``root/<preset>_<size>_seed<seed>/``, written by
    :func:`radarode_lite.data.generate_dataset` (sizes in :data:`radarode_lite.data.SIZES`:
    ``"small"`` is 2 subjects x 4 statuses x 12 s, 72 segments, ``"default"`` 6 subjects x 4
    statuses x 30 s) with the MMECG ``.mat`` files of the whole recordings in its ``mat/``.
    The same arguments and the same package code always give the same bytes, so the copy is
    generated once and then reused. A stamp file, ``book_dataset.json``, records a fingerprint
    of the code that generated it (:func:`generator_fingerprint`); a copy made by other code
    is regenerated.

    Safe when several notebooks ask for it at once: each generates into its own hidden
    temporary folder next to the final one and renames it into place when complete; if
    another process has renamed its copy first, that copy is used and ours is deleted.

    Parameters
    ----------
    size : ``"small"`` or ``"default"``.
    preset : ``"lite"`` (8 x 32 x 120 spectrograms) or ``"paper"`` (50 x 71 x 120).
    seed : int >= 0.
    root : folder holding the cached data sets; None for :func:`default_cache_dir`
        (``$RADARODE_DATA`` or ``~/.cache/radarode_lite``).

    Returns
    -------
    Path of the data set folder, to pass to :class:`radarode_lite.data.SegmentDataset` or
    :func:`radarode_lite.data.subject_split`.

    Raises
    ------
    FileExistsError if the folder exists but was not written by this function (no
    ``dataset.json``): it is left alone; delete it to regenerate.
    """
    if size not in data.SIZES:
        raise ValueError(f"size must be one of {tuple(data.SIZES)}, got {size!r}")
    from radarode_lite import timefreq

    preset_name = timefreq.get_preset(preset).name
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    base = default_cache_dir() if root is None else Path(root).expanduser()
    if base.exists() and not base.is_dir():
        raise ValueError(f"root must be a folder, but {str(base)!r} is a file")
    final = base / f"{preset_name}_{size}_seed{int(seed)}"
    stamp = {"size": size, "preset": preset_name, "seed": int(seed), "fingerprint": generator_fingerprint()}
    if _read_stamp(final) == stamp:
        return final
    if final.exists() and not (final / "dataset.json").is_file():
        raise FileExistsError(
            f"{str(final)!r} exists but holds no dataset.json (not a generated data set); delete it to regenerate"
        )
    base.mkdir(parents=True, exist_ok=True)
    _files.remove_leftovers(base)  # copies of processes killed while generating
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp, old = base / f".{final.name}.tmp-{tag}", base / f".{final.name}.old-{tag}"
    try:
        data.generate_dataset(tmp, size=size, preset=preset_name, seed=int(seed), progress=False)
        (tmp / _STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")
        if _read_stamp(final) != stamp:  # else another process has just put an identical copy in place
            if final.exists():  # a copy made by other code: move it aside (another process may do it first)
                try:
                    final.rename(old)
                except OSError:
                    pass
            try:
                tmp.rename(final)
            except OSError:
                if not final.exists():  # not a lost race: a real error
                    raise
    finally:
        for leftover in (tmp, old):  # a lost race (the winner's copy is identical), a failure, the old copy
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    found = _read_stamp(final)
    if found != stamp:
        raise RuntimeError(f"{str(final)!r} was replaced while it was generated (stamp {found}, expected {stamp})")
    return final


def generator_fingerprint() -> str:
    """Short hash of the package version and the source of the modules that make the data (chapter 4).

    ``signals``, ``timefreq`` and ``data``: when any of them changes, :func:`book_dataset`
    regenerates its cached copies.
    """
    from radarode_lite import __version__, signals, timefreq

    digest = hashlib.sha256(__version__.encode())
    for module in (signals, timefreq, data):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _read_stamp(folder: Path):
    try:
        return json.loads((folder / _STAMP).read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------


@dataclass
class History:
    """What :func:`train` records, one entry per epoch (chapters 6-9, 12).

    Attributes
    ----------
    tasks : the tasks trained, in the order of the method's loss vector.
    method : the multi-task method's registry name (``"ew"`` for a single task).
    train_loss : ``{task: [epoch-mean training loss, ...]}``, the mean over the epoch's
        segments of the loss of :mod:`radarode_lite.losses` (MSE on the normalised beat, MSE
        on the heat map, soft cross-entropy of the cycle length).
    val_loss : ``{task: [...]}`` on ``val_set`` after each epoch (network in evaluation
        mode), or empty without a validation set.
    weights : ``{task: [...]}``, the epoch mean of the coefficient the method gave each task
        gradient (all 1 for equal weighting).
    epoch_s : wall time of each epoch, s (not deterministic).
    lr : learning rate of the last step of each epoch.
    """

    tasks: tuple
    method: str
    train_loss: dict = field(default_factory=dict)
    val_loss: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    epoch_s: list = field(default_factory=list)
    lr: list = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.epoch_s)

    def total_loss(self, split: str = "train") -> list:
        """Sum over tasks of the epoch-mean losses, per epoch (``split``: ``"train"`` or ``"val"``)."""
        table = {"train": self.train_loss, "val": self.val_loss}.get(split)
        if table is None:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        if not table:
            return []
        return [float(sum(v)) for v in zip(*(table[t] for t in self.tasks))]

    def to_dict(self) -> dict:
        """A JSON-serialisable copy."""
        out = asdict(self)
        out["tasks"] = list(self.tasks)
        return out


def train(model, train_set, tasks=TASKS, method="ew", epochs=10, batch_size=32, optimizer="adam", lr=None,
          weight_decay=0.0, seed=0, val_set=None, method_kwargs=None, progress=False, momentum=None,
          schedule="constant", warmup_epochs=0, final_lr_ratio=0.01, checkpoint=None, resume=True,
          distributed=None, identity=None) -> History:  # fmt: skip
    r"""Train ``model`` on ``tasks`` with a multi-task method; return the per-epoch :class:`History` (chapters 9, 12).

    Each step: the backbone encodes the batch once (:meth:`~radarode_lite.models.RadarODEMTL.encode`),
    the decoders of ``tasks`` read the shared features, the task losses
    :math:`\mathcal L_1, \dots, \mathcal L_n` are computed (:func:`radarode_lite.losses.task_losses`
    for all three tasks, the single-task functions of :mod:`radarode_lite.losses` otherwise),
    and ``method.backward`` replaces :math:`\nabla \sum_i \mathcal L_i`: it leaves the
    method's combined update in the gradients of the shared parameters and each task's own
    gradient in its decoder. The optimiser then steps. Around every epoch the method's hooks
    run: ``start_epoch(t)`` before, ``end_epoch(mean losses of epoch t)`` after, which is
    how DWA and EGA see :math:`\bar{\mathcal L}_i(t)`.

    Only the backbone and the decoders of ``tasks`` are optimised; the other decoders are
    neither run nor changed.

    Learning rate. ``lr`` is the peak rate. With ``warmup_epochs = w > 0`` it rises linearly
    over the first ``w`` epochs' steps; then ``schedule="cosine"`` lowers it along a half
    cosine to ``final_lr_ratio * lr`` at the last step (the paper: SGD, lr 5e-3, momentum
    0.937, weight decay 5e-4, cosine to 1 % of lr; see :data:`PAPER_OPTIMIZER`), and
    ``"constant"`` keeps it. The rate is a function of the step number alone, so a resumed
    run follows the same schedule.

    Checkpoints. With ``checkpoint`` (a file path), the complete state is written there
    atomically after every epoch: network, optimiser, method (epoch, loss buffers, random
    generators, moving averages), the random state of the loop, the batch-order generator and
    the history so far. If the file exists when ``train`` starts and ``resume`` is true, the
    run continues from it and ends exactly as an uninterrupted run would (same losses, bit for
    bit on the same machine and thread count). The checkpoint records the run's identity: every
    setting below, the network's layout (preset, ODE branch, normalisation, parameter shapes),
    the size of the training set and whatever ``identity`` adds (the caller's data fingerprint,
    split ...). A checkpoint of another identity is refused with :class:`SettingsMismatch`,
    which names the settings that differ; a checkpoint whose content is damaged or edited
    into nonsense (missing entries, an epoch count outside ``0..epochs``, a history of another
    length) is refused with ``ValueError``. Before each write the folder's free space is checked.

    Across processes. Started under ``torchrun`` (an initialised ``torch.distributed`` group
    of several processes; ``distributed=None`` detects it, ``False`` ignores it), every process
    draws the same batch order, takes its contiguous slice of each global batch of
    ``batch_size`` segments, and the gradients are combined as
    :mod:`radarode_lite.distributed` explains, so each process takes the step a single process
    would take on the whole batch. A last batch smaller than the number of processes is
    skipped. Only rank 0 should write files; ``checkpoint`` is written by rank 0 alone.

    Parameters
    ----------
    model : :class:`radarode_lite.models.RadarODEMTL` (or a module with ``encode``,
        ``decoders``, ``shared_parameters``); trained in place.
    train_set : torch ``Dataset`` of :class:`radarode_lite.data.SegmentDataset` items.
    tasks : non-empty sequence of distinct names from ``("shape", "anchor", "ppi")``.
    method : registry name of :data:`radarode_lite.mtl.METHODS` (``"ew"``, ``"dwa"``,
        ``"ega"`` ...) or an :class:`~radarode_lite.mtl.MTLMethod` built for ``len(tasks)`` tasks.
    epochs : int >= 1, the total number of epochs (a resumed run counts the finished ones).
    batch_size : int >= 1, segments per step (over all processes).
    optimizer : ``"adam"`` or ``"sgd"``.
    lr : peak learning rate; None for 1e-3 (Adam) or 5e-3 (SGD).
    weight_decay : L2 penalty of the optimiser, >= 0.
    seed : int >= 0: batch order and every other random draw of the loop.
    val_set : optional ``Dataset``; its losses are recorded after every epoch.
    method_kwargs : hyper-parameters for :func:`radarode_lite.mtl.get_method` (with a name).
    progress : show a tqdm bar over the epochs.
    momentum : SGD momentum in [0, 1); None for 0.937 (the paper's). Not used by Adam.
    schedule : ``"constant"`` or ``"cosine"``.
    warmup_epochs : int >= 0 and < ``epochs``.
    final_lr_ratio : final rate of the cosine schedule as a fraction of ``lr``, in [0, 1].
    checkpoint : path of the checkpoint file, or None for none.
    resume : continue from ``checkpoint`` if it exists (else start afresh and overwrite it).
    distributed : None (detect), True (require a process group) or False.
    identity : None or a dict of further JSON-like settings that define the run (e.g. the data
        set's fingerprint and the subjects of the split); stored in the checkpoint and compared
        on resume. Its keys must not be those of the built-in settings.

    Returns
    -------
    :class:`History`.
    """
    tasks = _check_tasks(tasks)
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    seed = _non_negative_int(seed, "seed")
    warmup_epochs = _non_negative_int(warmup_epochs, "warmup_epochs")
    if warmup_epochs >= epochs:
        raise ValueError(f"warmup_epochs must be < epochs ({epochs}), got {warmup_epochs}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if isinstance(final_lr_ratio, bool) or not isinstance(final_lr_ratio, Real) or not 0 <= final_lr_ratio <= 1:
        raise ValueError(f"final_lr_ratio must be a number in [0, 1], got {final_lr_ratio!r}")
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be a bool, got {type(resume).__name__}")
    _check_model(model)
    _check_dataset(train_set, "train_set")
    if val_set is not None:
        _check_dataset(val_set, "val_set")
    reducer = _make_reducer(distributed)
    mtl = _make_method(method, len(tasks), method_kwargs)
    opt = _make_optimizer(model, tasks, optimizer, lr, weight_decay, momentum)
    base_lrs = [g["lr"] for g in opt.param_groups]
    shared = list(model.shared_parameters())
    heads = [p for t in tasks for p in model.decoders[t].parameters()]
    device = _device(model)
    ckpt_path = None if checkpoint is None else Path(checkpoint)
    settings = {"tasks": list(tasks), "method": mtl.name, "method_hparams": _plain(mtl.hyperparameters()),
                "epochs": epochs, "batch_size": batch_size, "optimizer": type(opt).__name__,
                "lr": base_lrs[0], "momentum": opt.param_groups[0].get("momentum"),
                "weight_decay": float(weight_decay), "seed": seed, "schedule": schedule,
                "warmup_epochs": warmup_epochs, "final_lr_ratio": float(final_lr_ratio),
                "n_train": len(train_set), "world_size": 1 if reducer is None else reducer.world_size,
                "model": _model_identity(model)}  # fmt: skip
    settings.update(_check_identity(identity, settings))

    history = History(tasks=tasks, method=mtl.name)
    history.train_loss = {t: [] for t in tasks}
    history.weights = {t: [] for t in tasks}
    if val_set is not None:
        history.val_loss = {t: [] for t in tasks}

    from tqdm.auto import tqdm

    n = len(train_set)
    steps_per_epoch = _steps_per_epoch(n, batch_size, 1 if reducer is None else reducer.world_size)
    total_steps = steps_per_epoch * epochs
    warmup_steps = steps_per_epoch * warmup_epochs
    was_training = model.training
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        order = torch.Generator().manual_seed(seed)
        # the loader draws the batch order exactly as a DataLoader over the data set would
        loader = torch.utils.data.DataLoader(range(n), batch_size=batch_size, shuffle=True, num_workers=0,
                                             generator=order)  # fmt: skip
        done = 0
        if ckpt_path is not None and resume and ckpt_path.exists():
            done = _load_checkpoint(ckpt_path, settings, model, opt, mtl, order, history)
        if reducer is not None:
            reducer.broadcast_module(model)
            mtl.reducer = reducer
        first = mtl.epoch - done
        bar = tqdm(range(done, epochs), desc="epochs", unit="epoch", disable=not progress,
                   initial=done, total=epochs)  # fmt: skip
        try:
            for e in bar:
                began = time.perf_counter()
                mtl.start_epoch(first + e)
                model.train()
                loss_sum = torch.zeros(len(tasks), dtype=torch.float64)
                weight_sum = torch.zeros(len(tasks), dtype=torch.float64)
                n_seen, n_steps = 0, 0
                for indices in loader:
                    n_global = len(indices)
                    if reducer is None:
                        mine = indices.tolist()
                    elif n_global < reducer.world_size:
                        continue
                    else:
                        mine = shard_indices(indices, reducer.rank, reducer.world_size)
                    step = e * steps_per_epoch + n_steps
                    _set_lr(opt, base_lrs, step, total_steps, warmup_steps, schedule, final_lr_ratio)
                    batch = _to_device(_collate(train_set, mine), device)
                    features = model.encode(batch["sst"])
                    task_loss = _losses({t: model.decoders[t](features) for t in tasks}, batch, tasks)
                    loss_list = [task_loss[t] for t in tasks]
                    if reducer is not None:
                        loss_list = reducer.global_losses(loss_list, len(mine), n_global)
                    opt.zero_grad(set_to_none=True)
                    info = mtl.backward(loss_list, shared, task_params=heads, shared_representation=features)
                    opt.step()
                    loss_sum += torch.tensor([l.item() for l in loss_list], dtype=torch.float64) * n_global
                    weight_sum += info["weights"].detach().double().cpu().reshape(-1)
                    n_seen, n_steps = n_seen + n_global, n_steps + 1
                epoch_mean = loss_sum / n_seen
                mtl.end_epoch(epoch_mean.tolist())
                for i, t in enumerate(tasks):
                    history.train_loss[t].append(float(epoch_mean[i]))
                    history.weights[t].append(float(weight_sum[i] / n_steps))
                history.lr.append(float(opt.param_groups[0]["lr"]))
                if val_set is not None:
                    val = _mean_losses(model, val_set, tasks, batch_size, device)
                    for t in tasks:
                        history.val_loss[t].append(val[t])
                history.epoch_s.append(time.perf_counter() - began)
                if ckpt_path is not None and (reducer is None or reducer.rank == 0):
                    _save_checkpoint(ckpt_path, settings, e + 1, model, opt, mtl, order, history)
                bar.set_postfix({t: f"{history.train_loss[t][-1]:.4g}" for t in tasks})
        finally:
            bar.close()
            mtl.reducer = None
    model.train(was_training)
    return history


def train_single_task(model, train_set, task, epochs, batch_size=32, lr=None, seed=0, val_set=None,
                      optimizer="adam", weight_decay=0.0, progress=False, **options) -> History:  # fmt: skip
    """Train the backbone and the decoder of one ``task`` on that task's loss alone (chapters 6-8).

    The single-task baseline of Table II of the paper: the network keeps its three decoders,
    but only ``task``'s runs and only its loss is minimised, so the shared backbone learns
    features for that task alone. Same as ``train(model, train_set, tasks=(task,),
    method="ew", ...)``; see :func:`train` for the parameters (``options``: its keyword
    arguments ``momentum``, ``schedule``, ``warmup_epochs``, ``final_lr_ratio``,
    ``checkpoint``, ``resume``, ``distributed``).
    """
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return train(model, train_set, tasks=(task,), method="ew", epochs=epochs, batch_size=batch_size,
                 optimizer=optimizer, lr=lr, weight_decay=weight_decay, seed=seed, val_set=val_set,
                 progress=progress, **options)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Prediction and metrics
# ---------------------------------------------------------------------------------------


def predict(model, dataset, batch_size=64, tasks=TASKS) -> dict:
    """The network's outputs on every segment of ``dataset``, as numpy arrays (chapters 6-8, 13).

    The model runs in evaluation mode without gradients (its mode is restored afterwards).

    Returns
    -------
    dict with, for the requested ``tasks``: ``"shape"`` (N, 200) normalised beats; ``"anchor"``
    (N, 800) heat maps; ``"ppi_logits"`` (N, 260) and ``"ppi"`` (N,) int64, the most probable
    cycle length in samples at 200 Hz.
    """
    tasks = _check_tasks(tasks)
    batch_size = _positive_int(batch_size, "batch_size")
    _check_model(model)
    _check_dataset(dataset, "dataset")
    device = _device(model)
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
    _check_dataset(dataset, "dataset")
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
        peaks = [metrics.detect_anchors(a, fs=data.FS) for a in out["anchor"]]
    out["r_peaks_s"] = peaks
    return out


def compute_metrics(predictions: dict, targets: dict, tasks=None) -> dict:
    """The paper's metrics of ``predictions`` against ``targets`` (Section V; chapters 6-8, 12).

    - shape: ``rmse_norm``, the RMSE of each predicted beat against the true one **on the
      min-max normalised scale** (the paper's RMSE is in mV on real ECG; ours is not in mV),
      and ``pcc_pct``, the Pearson correlation in percent; both averaged over segments.
    - cycle length: ``ppi_error_ms``, mean absolute error of the argmax class, ms.
    - anchors: R peaks picked from each predicted heat map (:func:`radarode_lite.metrics.detect_anchors`,
      threshold 0.5, 0.3 s apart) and matched one-to-one with the window's true R peaks within
      0.15 s (:func:`radarode_lite.metrics.match_peaks`); ``timing_error_ms`` is the mean
      absolute error over all matched pairs of all windows (NaN if nothing matched) and
      ``mdr_pct`` the percentage of true peaks without a partner.

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
    tasks = _check_tasks(tasks)
    n = len(targets["ppi"])
    out = {}
    for t in tasks:
        if t not in predictions:
            raise ValueError(f"predictions has no {t!r}; run predict() with that task")
        if len(predictions[t]) != n:
            raise ValueError(f"predictions[{t!r}] has {len(predictions[t])} segments but targets {n}")
    if "shape" in tasks:
        out["rmse_norm"] = float(np.mean(metrics.rmse(predictions["shape"], targets["shape"], axis=-1)))
        out["pcc_pct"] = 100.0 * float(np.mean(metrics.pcc(predictions["shape"], targets["shape"], axis=-1)))
    if "anchor" in tasks:
        errors, n_true, n_matched = [], 0, 0
        for heatmap, true in zip(predictions["anchor"], targets["r_peaks_s"]):
            true = np.asarray(true, dtype=float)
            if true.size == 0:
                continue
            found = metrics.detect_anchors(heatmap, fs=data.FS)
            ip, it = metrics.match_peaks(found, true)
            errors.extend(np.abs(found[ip] - true[it]).tolist())
            n_true, n_matched = n_true + true.size, n_matched + it.size
        out["timing_error_ms"] = 1000.0 * float(np.mean(errors)) if errors else float("nan")
        out["mdr_pct"] = 100.0 * (1.0 - n_matched / n_true) if n_true else float("nan")
    if "ppi" in tasks:
        out["ppi_error_ms"] = metrics.ppi_error_ms(predictions["ppi"], targets["ppi"], fs=data.FS)
    out["n_segments"] = float(n)
    return out


def evaluate(model, dataset, tasks=TASKS, batch_size=64) -> dict:
    """The paper's metrics of ``model`` on ``dataset``: :func:`compute_metrics` of :func:`predict` (chapters 6-8, 12).

    Keys (for the requested ``tasks``, see :data:`METRIC_KEYS`): ``rmse_norm`` (normalised
    beat, not mV), ``pcc_pct`` (%), ``timing_error_ms`` (ms), ``mdr_pct`` (%),
    ``ppi_error_ms`` (ms) and ``n_segments``.
    """
    tasks = _check_tasks(tasks)
    return compute_metrics(predict(model, dataset, batch_size, tasks), dataset_targets(dataset), tasks)


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _losses(pred: dict, batch: dict, tasks: tuple) -> dict:
    if set(tasks) == set(TASKS):
        return losses.task_losses(pred, batch)
    return {t: _SINGLE_TASK_LOSS[t](pred[t], batch[t]) for t in tasks}


def _mean_losses(model, dataset, tasks, batch_size, device) -> dict:
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    total = dict.fromkeys(tasks, 0.0)
    count = 0
    model.eval()
    with torch.no_grad():
        for batch in loader:
            batch = _to_device(batch, device)
            features = model.encode(batch["sst"])
            values = _losses({t: model.decoders[t](features) for t in tasks}, batch, tasks)
            n = int(batch["sst"].shape[0])
            for t in tasks:
                total[t] += values[t].item() * n
            count += n
    return {t: total[t] / count for t in tasks}


def _stored_r_peaks(dataset):
    """True R peaks per item from segments.json, through Subset wrappers; None if unknown."""
    if isinstance(dataset, torch.utils.data.Subset):
        inner = _stored_r_peaks(dataset.dataset)
        return None if inner is None else [inner[i] for i in dataset.indices]
    if isinstance(dataset, data.SegmentDataset):
        return [np.asarray(dataset.records[j]["r_peaks_s"][i], dtype=float) for j, i in dataset.index]
    return None


def _make_method(method, n_tasks, method_kwargs) -> MTLMethod:
    if isinstance(method, MTLMethod):
        if method_kwargs:
            raise ValueError("method_kwargs can only be given with a method name, not an MTLMethod instance")
        if method.n_tasks != n_tasks:
            raise ValueError(f"method was built for {method.n_tasks} tasks but {n_tasks} are trained")
        return method
    if not isinstance(method, str):
        raise TypeError(f"method must be a method name or an MTLMethod, got {type(method).__name__}")
    if method_kwargs is not None and not isinstance(method_kwargs, dict):
        raise TypeError(f"method_kwargs must be a dict or None, got {type(method_kwargs).__name__}")
    return get_method(method, n_tasks, **(method_kwargs or {}))


def _make_optimizer(model, tasks, name, lr, weight_decay, momentum=None) -> torch.optim.Optimizer:
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    name = name.lower()
    lr = _DEFAULT_LR[name] if lr is None else lr
    if isinstance(lr, bool) or not isinstance(lr, Real) or not (0 < lr < math.inf):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, Real) or not (0 <= weight_decay < math.inf):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    momentum = SGD_MOMENTUM if momentum is None else momentum
    if isinstance(momentum, bool) or not isinstance(momentum, Real) or not (0 <= momentum < 1):
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    params = list(model.shared_parameters()) + [p for t in tasks for p in model.decoders[t].parameters()]
    if name == "adam":
        return torch.optim.Adam(params, lr=float(lr), weight_decay=float(weight_decay))
    return torch.optim.SGD(params, lr=float(lr), momentum=float(momentum), weight_decay=float(weight_decay))


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0, schedule: str = "constant",
              final_lr_ratio: float = 0.01) -> float:  # fmt: skip
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps`` (see :func:`train`).

    Linear warm-up ``(step + 1) / warmup_steps`` over the first ``warmup_steps`` steps, then 1
    (``"constant"``) or a half cosine from 1 down to ``final_lr_ratio`` at the last step
    (``"cosine"``).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    total_steps = _positive_int(total_steps, "total_steps")
    step = _non_negative_int(step, "step")
    warmup_steps = _non_negative_int(warmup_steps, "warmup_steps")
    if step >= total_steps or warmup_steps > total_steps:
        raise ValueError(f"step and warmup_steps must be < total_steps ({total_steps}) and <= it, "
                         f"got step {step}, warmup_steps {warmup_steps}")  # fmt: skip
    final_lr_ratio = real_number(final_lr_ratio, "final_lr_ratio")
    if not 0 <= final_lr_ratio <= 1:
        raise ValueError(f"final_lr_ratio must be in [0, 1], got {final_lr_ratio}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(total_steps - warmup_steps - 1, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    return final_lr_ratio + (1.0 - final_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _set_lr(opt, base_lrs, step, total_steps, warmup_steps, schedule, final_lr_ratio) -> None:
    factor = lr_factor(step, total_steps, warmup_steps, schedule, final_lr_ratio)
    for group, base in zip(opt.param_groups, base_lrs):
        group["lr"] = base * factor


def _steps_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    steps, last = divmod(n, batch_size)
    if last >= world_size:  # a last batch smaller than the number of processes is skipped
        steps += 1
    return steps


def _collate(dataset, indices):
    return torch.utils.data.default_collate([dataset[i] for i in indices])


def _make_reducer(distributed):
    if distributed is not None and not isinstance(distributed, bool):
        raise TypeError(f"distributed must be None, True or False, got {type(distributed).__name__}")
    if distributed is False:
        return None
    from radarode_lite import distributed as dist_mod

    if dist_mod.is_distributed():
        return dist_mod.GradientReducer()
    if distributed:
        raise ValueError("distributed=True needs an initialised torch.distributed group of several processes "
                         "(start the program with torchrun)")  # fmt: skip
    return None


def _plain(value):
    """Hyper-parameters as JSON-like plain values (for comparing checkpoints)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


class SettingsMismatch(ValueError):
    """A checkpoint made with other settings than the call's; ``differences`` lists their names."""

    def __init__(self, path, saved: dict, wanted: dict, differences: list):
        self.path, self.saved, self.wanted, self.differences = str(path), saved, wanted, differences
        detail = ", ".join(f"{k}: {_short(saved.get(k))} -> {_short(wanted.get(k))}" for k in differences)
        super().__init__(f"checkpoint {self.path!r} was made with other settings ({detail}); "
                         f"pass resume=False to start afresh")  # fmt: skip


def _short(value, limit=60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _model_identity(model) -> dict:
    """What makes a checkpoint's weights fit ``model``: preset, options and a hash of the parameter shapes."""
    layout = hashlib.sha256()
    for name, value in model.state_dict().items():
        layout.update(f"{name}:{tuple(value.shape)};".encode())
    preset = getattr(model, "preset", None)
    return {"preset": getattr(preset, "name", None), "use_ode": getattr(model, "use_ode", None),
            "norm": getattr(model, "norm", None), "layout": layout.hexdigest()[:16]}  # fmt: skip


def _check_identity(identity, settings) -> dict:
    if identity is None:
        return {}
    if not isinstance(identity, dict):
        raise TypeError(f"identity must be a dict or None, got {type(identity).__name__}")
    clash = sorted(set(map(str, identity)) & set(settings))
    if clash:
        raise ValueError(f"identity must not redefine the built-in settings {clash}")
    return _plain(identity)


def _save_checkpoint(path: Path, settings, epochs_done, model, opt, mtl, order, history) -> None:
    state = {
        "format": CHECKPOINT_FORMAT,
        "settings": settings,
        "epochs_done": int(epochs_done),
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "method": mtl.state_dict(),
        "rng": torch.get_rng_state(),
        "order": order.get_state(),
        "history": history.to_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _files.atomic_write(path, lambda tmp: torch.save(state, tmp), size_hint=_tensor_bytes(state))


def _tensor_bytes(value) -> int:
    """Bytes of the tensors in a nested state (an estimate of its file size)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 64


#: Entries of a checkpoint and their types (checked by :func:`load_checkpoint`).
_CHECKPOINT_KEYS = {"format": int, "settings": dict, "epochs_done": int, "model": dict, "optimizer": dict,
                    "method": dict, "rng": torch.Tensor, "order": torch.Tensor, "history": dict}  # fmt: skip


def load_checkpoint(path) -> dict:
    """Read a checkpoint file written by :func:`train` (``weights_only`` loading: no code runs).

    Raises ``FileNotFoundError`` if there is no file, ``ValueError`` naming the file if it is
    not a readable checkpoint, lacks an entry, has one of the wrong type, or a negative
    ``epochs_done``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{str(path)!r} is not a readable checkpoint: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a checkpoint of format {CHECKPOINT_FORMAT}")
    for key, kind in _CHECKPOINT_KEYS.items():
        if key not in state:
            raise ValueError(f"checkpoint {str(path)!r} lacks its entry {key!r}; delete it or start afresh")
        if isinstance(state[key], bool) or not isinstance(state[key], kind):
            raise ValueError(f"checkpoint {str(path)!r}: {key!r} must be {kind.__name__}, "
                             f"got {type(state[key]).__name__}")  # fmt: skip
    if state["epochs_done"] < 0:
        raise ValueError(f"checkpoint {str(path)!r}: epochs_done must be >= 0, got {state['epochs_done']}")
    return state


def _load_checkpoint(path: Path, settings, model, opt, mtl, order, history) -> int:
    state = load_checkpoint(path)
    saved = state["settings"]
    diff = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
    if diff:
        raise SettingsMismatch(path, saved, settings, diff)
    done = state["epochs_done"]
    if done > settings["epochs"]:
        raise ValueError(f"checkpoint {str(path)!r}: epochs_done is {done} but the run has {settings['epochs']} "
                         f"epochs; the file was edited or damaged, delete it to start afresh")  # fmt: skip
    _check_saved_history(path, state["history"], done, settings["tasks"])
    device = _device(model)
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        mtl.load_state_dict(state["method"])
        torch.set_rng_state(state["rng"])
        order.set_state(state["order"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {str(path)!r} does not fit this run: {first}") from None
    for group in opt.state.values():  # optimiser moments onto the model's device
        for k, v in group.items():
            if isinstance(v, torch.Tensor) and k != "step":
                group[k] = v.to(device)
    saved_history = state["history"]
    for key in ("train_loss", "val_loss", "weights"):
        getattr(history, key).update({t: list(v) for t, v in saved_history[key].items()})
    history.lr[:] = list(saved_history.get("lr", []))
    history.epoch_s[:] = list(saved_history["epoch_s"])
    return int(done)


def _check_saved_history(path, saved, done, tasks) -> None:
    """Every per-epoch list of a checkpoint's history must hold ``done`` entries."""
    lists = {"epoch_s": saved.get("epoch_s"), "lr": saved.get("lr", [None] * done)}
    for key in ("train_loss", "weights"):
        table = saved.get(key)
        for t in tasks:
            lists[f"{key}[{t}]"] = table.get(t) if isinstance(table, dict) else None
    for name, values in lists.items():
        if not isinstance(values, list) or len(values) != done:
            found = f"{len(values)} entries" if isinstance(values, list) else type(values).__name__
            raise ValueError(f"checkpoint {str(path)!r}: history {name} must hold {done} entries (epochs_done), "
                             f"found {found}; the file was edited or damaged")  # fmt: skip


def _check_tasks(tasks) -> tuple:
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


def _check_model(model) -> None:
    needed = ("encode", "decoders", "shared_parameters")
    if not isinstance(model, nn.Module) or not all(hasattr(model, name) for name in needed):
        raise TypeError(f"model must be a RadarODEMTL (with {', '.join(needed)}), got {type(model).__name__}")


def _check_dataset(dataset, name) -> None:
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError(f"{name} must be a torch Dataset of segment items, got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"{name} is empty")


def _device(model) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _positive_int(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def _non_negative_int(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)
