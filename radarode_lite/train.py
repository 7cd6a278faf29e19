r"""Training radarODE-MTL: one epoch loop and the run around it (chapters 6-8, 12).

- :func:`run_epoch`: one epoch of multi-task training, the loop every study reuses: for each
  batch the task losses :math:`\mathcal L_1, \dots, \mathcal L_n`, the method's backward pass
  (which replaces :math:`\nabla \sum_i \mathcal L_i`), the optimiser's step and the
  learning-rate scheduler's. Around the epoch the method's hooks run: ``start_epoch(t)``
  before, ``end_epoch(mean losses of epoch t)`` after; these are the loss buffers
  :math:`\bar{\mathcal L}_i(t)` that DWA and EGA read (chapters 9 and 11).
- :func:`train`: epochs of :func:`run_epoch` on the network of :mod:`radarode_lite.models`
  for any subset of the three tasks, with one method of :mod:`radarode_lite.mtl` (equal
  weighting by default). It only wires the parts together: the learning-rate schedule (a
  ``torch.optim.lr_scheduler.LambdaLR`` over :func:`lr_factor`: linear warm-up, then constant
  or cosine decay; the paper's settings are :data:`PAPER_OPTIMIZER`), the checkpoints of
  :mod:`radarode_lite.checkpoints` (a run resumes exactly), the sharding of each batch across
  processes under ``torchrun`` (:mod:`radarode_lite.distributed`) and the per-epoch
  :class:`History`, validation losses and progress bar.
- :func:`train_single_task`: one decoder and the shared backbone, trained on one loss only
  (the single-task baseline of Table II of Zhang et al., IEEE TIM 2025; chapters 6-8).

Prediction and the paper's metrics live in :mod:`radarode_lite.evaluation`
(:func:`predict`, :func:`dataset_targets`, :func:`compute_metrics`, :func:`evaluate`,
:data:`METRIC_KEYS`) and the checkpoint files in :mod:`radarode_lite.checkpoints`
(:func:`load_checkpoint`, :class:`SettingsMismatch`); both are importable from here too, as is
the cached data set of the chapters, :func:`book_dataset`.

Everything is deterministic for a seed: the initial weights come from the model's own seed
(:class:`radarode_lite.models.RadarODEMTL`), the order of the mini-batches from a seeded
``torch.Generator``, any other random draw from ``torch.manual_seed(seed)`` inside the loop
(the caller's global random state is restored afterwards); data are loaded in the main
process. On one machine with the same number of threads, the same arguments give the same
losses bit for bit.

Example
-------
>>> from radarode_lite import data, models, train                        # doctest: +SKIP
>>> folder = train.book_dataset("small")                                  # doctest: +SKIP
>>> train_set = data.SegmentDataset(folder)                               # doctest: +SKIP
>>> model = models.RadarODEMTL("lite", seed=0)                            # doctest: +SKIP
>>> history = train.train(model, train_set, method="dwa", epochs=5, warmup_epochs=1,
...                       checkpoint="run/checkpoint.pt", **train.PAPER_OPTIMIZER)  # doctest: +SKIP
>>> history.train_loss["shape"], history.lr                             # doctest: +SKIP
>>> train.evaluate(model, train_set)                                      # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from radarode_lite import _checks, losses
from radarode_lite.checkpoints import (CHECKPOINT_FORMAT, SettingsMismatch, check_identity, load_checkpoint,
                                       model_identity, plain, restore_checkpoint, save_checkpoint)  # fmt: skip
from radarode_lite.conventions import TASKS
from radarode_lite.distributed import shard_indices
from radarode_lite.evaluation import (METRIC_KEYS, check_dataset, check_model, check_tasks, compute_metrics,
                                      dataset_targets, evaluate, model_device, predict)  # fmt: skip
from radarode_lite.mtl.methods import MTLMethod, get_method

__all__ = [
    "TASKS",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD_MOMENTUM",
    "PAPER_OPTIMIZER",
    "CHECKPOINT_FORMAT",
    "lr_factor",
    "load_checkpoint",
    "SettingsMismatch",
    "METRIC_KEYS",
    "History",
    "run_epoch",
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

#: Default learning rate of each optimiser.
_DEFAULT_LR = {"adam": 1e-3, "sgd": 5e-3}

_SINGLE_TASK_LOSS = {
    "shape": losses.shape_loss,
    "anchor": losses.anchor_loss,
    "ppi": losses.cycle_length_loss,
}


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


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0, schedule: str = "constant",
              final_lr_ratio: float = 0.01) -> float:  # fmt: skip
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps`` (see :func:`train`).

    Linear warm-up ``(step + 1) / warmup_steps`` over the first ``warmup_steps`` steps, then 1
    (``"constant"``) or a half cosine from 1 down to ``final_lr_ratio`` at the last step
    (``"cosine"``).
    """
    _checks.choice(schedule, "schedule", SCHEDULES)
    total_steps = _checks.positive_int(total_steps, "total_steps")
    step = _checks.non_negative_int(step, "step")
    warmup_steps = _checks.non_negative_int(warmup_steps, "warmup_steps")
    if step >= total_steps or warmup_steps > total_steps:
        raise ValueError(f"step and warmup_steps must be < total_steps ({total_steps}) and <= it, "
                         f"got step {step}, warmup_steps {warmup_steps}")  # fmt: skip
    final_lr_ratio = _checks.real_number(final_lr_ratio, "final_lr_ratio")
    if not 0 <= final_lr_ratio <= 1:
        raise ValueError(f"final_lr_ratio must be in [0, 1], got {final_lr_ratio}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(total_steps - warmup_steps - 1, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    return final_lr_ratio + (1.0 - final_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


# ---------------------------------------------------------------------------------------
# The epoch loop
# ---------------------------------------------------------------------------------------


def run_epoch(model, batches, compute_losses, method, optimizer, shared, task_params=(), scheduler=None,
              epoch=None) -> dict:  # fmt: skip
    """One epoch of multi-task training: for each batch, losses -> ``method.backward`` -> optimiser step (chapters 9, 12).

    The model is put in training mode. For each batch: ``compute_losses(model, batch)``, then
    ``optimizer.zero_grad(set_to_none=True)``, ``info = method.backward(losses, shared,
    task_params=task_params, shared_representation=representation)`` (the method leaves its
    combined update in the gradients of ``shared`` and each task's own gradient in its
    parameters), ``optimizer.step()`` and ``scheduler.step()`` if a scheduler is given. With an
    ``epoch`` number the method's hooks run around the epoch: ``method.start_epoch(epoch)``
    before, ``method.end_epoch(mean losses)`` after.

    Parameters
    ----------
    model : the network (any ``nn.Module``; only its mode is set here).
    batches : iterable of batches, anything ``compute_losses`` accepts.
    compute_losses : ``compute_losses(model, batch) -> (losses, representation, n_items)``: a
        list of scalar tensors (one per task), the shared representation the losses were
        computed from (or None) and the number of segments the losses average over.
    method : an :class:`~radarode_lite.mtl.MTLMethod`.
    optimizer : a ``torch.optim.Optimizer``.
    shared : the shared parameters (a list).
    task_params : the task-specific parameters (the decoders'): a gradient method gives each
        its task's gradient only if it is listed here (the default ``()`` lists none).
    scheduler : None or a ``torch.optim.lr_scheduler`` stepped after every optimiser step.
    epoch : None (no hooks) or the method's epoch number.

    Returns
    -------
    dict: ``"loss"``, each task's mean loss over the epoch's segments (the batch losses
    weighted by ``n_items``, summed in float64); ``"weights"``, the mean over the steps of the
    coefficient the method gave each task (``info["weights"]``); ``"steps"`` and ``"items"``.
    """
    if epoch is not None:
        method.start_epoch(epoch)
    model.train()
    loss_sum = weight_sum = None
    n_items, n_steps = 0, 0
    for batch in batches:
        task_losses, representation, n = compute_losses(model, batch)
        optimizer.zero_grad(set_to_none=True)
        info = method.backward(task_losses, shared, task_params=task_params, shared_representation=representation)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if loss_sum is None:
            loss_sum = torch.zeros(len(task_losses), dtype=torch.float64)
            weight_sum = torch.zeros(len(task_losses), dtype=torch.float64)
        loss_sum += torch.tensor([value.item() for value in task_losses], dtype=torch.float64) * n
        weight_sum += info["weights"].detach().double().cpu().reshape(-1)
        n_items, n_steps = n_items + int(n), n_steps + 1
    if n_steps == 0:
        raise ValueError("run_epoch got no batch: batches was empty")
    mean = loss_sum / n_items
    if epoch is not None:
        method.end_epoch(mean.tolist())
    return {"loss": mean.tolist(), "weights": (weight_sum / n_steps).tolist(), "steps": n_steps, "items": n_items}


# ---------------------------------------------------------------------------------------
# The run: schedule, checkpoints, sharding, history
# ---------------------------------------------------------------------------------------


def train(model, train_set, tasks=TASKS, method="ew", epochs=10, batch_size=32, optimizer="adam", lr=None,
          weight_decay=0.0, seed=0, val_set=None, method_kwargs=None, progress=False, momentum=None,
          schedule="constant", warmup_epochs=0, final_lr_ratio=0.01, checkpoint=None, resume=True,
          distributed=None, identity=None, augment=None, ppi_sigma=None) -> History:  # fmt: skip
    r"""Train ``model`` on ``tasks`` with a multi-task method; return the per-epoch :class:`History` (chapters 9, 12).

    Each step (:func:`run_epoch`): the backbone encodes the batch once, the decoders of
    ``tasks`` read the shared features, the task losses are computed
    (:func:`radarode_lite.losses.task_losses` for all three tasks, the single-task functions of
    :mod:`radarode_lite.losses` otherwise) and ``method.backward`` replaces
    :math:`\nabla \sum_i \mathcal L_i`. Only the backbone and the decoders of ``tasks`` are
    optimised. The rate rises linearly over ``warmup_epochs`` epochs' steps to ``lr``, then
    stays (``"constant"``) or follows a half cosine to ``final_lr_ratio * lr`` at the last
    step (``"cosine"``): a function of the step number alone, so a resumed run follows it.

    With ``checkpoint``, the complete state is written there atomically after every epoch; if
    the file exists and ``resume`` is true, the run continues from it and ends exactly as an
    uninterrupted run would. A checkpoint of another identity (every setting below, the
    network's layout, the size of the training set, ``identity``) is refused with
    :class:`SettingsMismatch`; a damaged or edited one with ``ValueError``. Under ``torchrun``
    every process draws the same batch order and takes its contiguous slice of each batch,
    the gradients combined as :mod:`radarode_lite.distributed` explains (a last batch smaller
    than the number of processes is skipped); only rank 0 writes the checkpoint.

    Parameters
    ----------
    model : :class:`radarode_lite.models.RadarODEMTL` (or a module with ``encode``,
        ``decoders``, ``shared_parameters``); trained in place.
    train_set : torch ``Dataset`` of :class:`radarode_lite.data.SegmentDataset` items.
    tasks : non-empty sequence of distinct names from ``("shape", "anchor", "ppi")``.
    method : registry name of :data:`radarode_lite.mtl.METHODS` or an
        :class:`~radarode_lite.mtl.MTLMethod` built for ``len(tasks)`` tasks.
    epochs : int >= 1, the total number of epochs (a resumed run counts the finished ones).
    batch_size : int >= 1, segments per step (over all processes).
    optimizer : ``"adam"`` or ``"sgd"``; lr : peak rate, None for 1e-3 (Adam) or 5e-3 (SGD).
    weight_decay : L2 penalty, >= 0; momentum : SGD momentum in [0, 1), None for 0.937.
    seed : int >= 0: batch order and every other random draw of the loop.
    val_set : optional ``Dataset``; its losses are recorded after every epoch.
    method_kwargs : hyper-parameters for :func:`radarode_lite.mtl.get_method` (with a name).
    progress : show a tqdm bar over the epochs.
    schedule : ``"constant"`` or ``"cosine"``; warmup_epochs : int >= 0 and < ``epochs``.
    final_lr_ratio : final rate of the cosine schedule as a fraction of ``lr``, in [0, 1].
    checkpoint : path of the checkpoint file, or None; resume : continue from it if it exists.
    distributed : None (detect ``torchrun``), True (require a process group) or False.
    identity : None or a dict of further JSON-like settings that define the run (the data
        set's fingerprint, the split ...), compared on resume; not the built-in settings' keys.
    augment : None, or ``augment(batch, generator) -> batch`` applied to every training batch
        (e.g. :class:`radarode_lite.data.augment.TimeStretch`), drawing its random numbers from
        the batch-order generator, so that a resumed run augments as an uninterrupted one;
        its ``repr`` is part of the run's identity. Not with several processes.
    ppi_sigma : None (:data:`~radarode_lite.losses.PPI_SIGMA`) or >= 0, width of the cycle-length soft
        target (:func:`~radarode_lite.losses.soft_targets`); another value than the default is part of the identity.
    """
    tasks = check_tasks(tasks)
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seed = _checks.non_negative_int(seed, "seed")
    warmup_epochs, final_lr_ratio = _check_schedule(epochs, schedule, warmup_epochs, final_lr_ratio)
    _checks.boolean(resume, "resume")
    check_model(model)
    check_dataset(train_set, "train_set")
    if val_set is not None:
        check_dataset(val_set, "val_set")
    reducer = _make_reducer(distributed)
    mtl = _make_method(method, len(tasks), method_kwargs)
    opt = _make_optimizer(model, tasks, optimizer, lr, weight_decay, momentum)
    ckpt_path = None if checkpoint is None else Path(checkpoint)
    settings = {"tasks": list(tasks), "method": mtl.name, "method_hparams": plain(mtl.hyperparameters()),
                "epochs": epochs, "batch_size": batch_size, "optimizer": type(opt).__name__,
                "lr": opt.param_groups[0]["lr"], "momentum": opt.param_groups[0].get("momentum"),
                "weight_decay": float(weight_decay), "seed": seed, "schedule": schedule,
                "warmup_epochs": warmup_epochs, "final_lr_ratio": final_lr_ratio,
                "n_train": len(train_set), "world_size": 1 if reducer is None else reducer.world_size,
                "model": model_identity(model)}  # fmt: skip
    settings.update(_optional_settings(augment, reducer, ppi_sigma))
    settings.update(check_identity(identity, settings))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        history = _fit(model, train_set, val_set, mtl, opt, reducer, settings, ckpt_path, resume, progress, augment)
    return history


def _optional_settings(augment, reducer, ppi_sigma) -> dict:
    """The settings that a run records only when given: ``augment`` (its repr) and a ``ppi_sigma`` other
    than :data:`~radarode_lite.losses.PPI_SIGMA` (so the identity of a default run stays as it was)."""
    extra = {} if augment is None else {"augment": _check_augment(augment, reducer)}
    if ppi_sigma is not None and (ppi_sigma := _checks.non_negative(ppi_sigma, "ppi_sigma")) != losses.PPI_SIGMA:
        extra["ppi_sigma"] = ppi_sigma
    return extra


def _check_augment(augment, reducer) -> str:
    """The ``repr`` of a usable augmentation (the run identity records it); errors name ``augment``."""
    if not callable(augment):
        raise TypeError(f"augment must be None or a callable (batch, generator) -> batch, got {augment!r}")
    if reducer is not None:
        raise ValueError("augment is not supported with several processes (distributed training)")
    return repr(augment)


def _fit(model, train_set, val_set, mtl, opt, reducer, settings, checkpoint, resume, progress, augment=None) -> History:
    """The epochs of a checked run (``settings`` as stored in its checkpoint)."""
    from tqdm.auto import tqdm

    tasks, epochs, batch_size = tuple(settings["tasks"]), settings["epochs"], settings["batch_size"]
    steps = _steps_per_epoch(len(train_set), batch_size, settings["world_size"])
    base_lrs = [group["lr"] for group in opt.param_groups]
    history = History(tasks=tasks, method=mtl.name, train_loss={t: [] for t in tasks},
                      val_loss={t: [] for t in tasks} if val_set is not None else {},
                      weights={t: [] for t in tasks})  # fmt: skip
    shared, heads = list(model.shared_parameters()), [p for t in tasks for p in model.decoders[t].parameters()]
    order = torch.Generator().manual_seed(settings["seed"])
    sigma = settings.get("ppi_sigma", losses.PPI_SIGMA)
    compute = _batch_losses(train_set, tasks, reducer, model_device(model), augment, order, sigma)
    # the loader draws the batch order exactly as a DataLoader over the data set would
    loader = torch.utils.data.DataLoader(range(len(train_set)), batch_size=batch_size, shuffle=True,
                                         num_workers=0, generator=order)  # fmt: skip
    done = 0
    if checkpoint is not None and resume and checkpoint.exists():
        done = restore_checkpoint(checkpoint, settings, model, opt, mtl, order, history)
    scheduler = _lr_scheduler(opt, base_lrs, steps, settings, start=done * steps)
    if reducer is not None:
        reducer.broadcast_module(model)
        mtl.reducer = reducer
    first, was_training = mtl.epoch - done, model.training
    bar = tqdm(range(done, epochs), desc="epochs", unit="epoch", disable=not progress, initial=done, total=epochs)
    try:
        for e in bar:
            began = time.perf_counter()
            result = run_epoch(model, _shards(loader, reducer), compute, mtl, opt, shared, heads, scheduler,
                               epoch=first + e)  # fmt: skip
            _record(history, result, _last_lr(scheduler), model, val_set, batch_size, sigma)
            history.epoch_s.append(time.perf_counter() - began)
            if checkpoint is not None and (reducer is None or reducer.rank == 0):
                save_checkpoint(checkpoint, settings, e + 1, model, opt, mtl, order, history)
            bar.set_postfix({t: f"{history.train_loss[t][-1]:.4g}" for t in tasks})
    finally:
        bar.close()
        mtl.reducer = None
    model.train(was_training)
    return history


def _record(history, result, lr, model, val_set, batch_size, sigma=losses.PPI_SIGMA) -> None:
    """Append an epoch's mean losses, weights, last learning rate and validation losses."""
    for i, t in enumerate(history.tasks):
        history.train_loss[t].append(result["loss"][i])
        history.weights[t].append(result["weights"][i])
    history.lr.append(lr)
    if val_set is not None:
        val = _mean_losses(model, val_set, history.tasks, batch_size, model_device(model), sigma)
        for t in history.tasks:
            history.val_loss[t].append(val[t])


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
# The parts train wires together
# ---------------------------------------------------------------------------------------


def _lr_scheduler(opt, base_lrs, steps_per_epoch, settings, start) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR`` over :func:`lr_factor`, set for step ``start`` (``epochs_done * steps_per_epoch`` on resume).

    The rate of step ``s`` is ``base_lr * lr_factor(s, ...)``; the scheduler steps after every
    optimiser step, and past the last step keeps the last step's rate. The peak rates
    ``base_lrs`` are taken before a checkpoint is loaded (older checkpoints do not store them
    as ``initial_lr``).
    """
    total, warmup = steps_per_epoch * settings["epochs"], steps_per_epoch * settings["warmup_epochs"]
    schedule, final_lr_ratio = settings["schedule"], settings["final_lr_ratio"]

    def factor(step):
        return lr_factor(min(step, total - 1), total, warmup, schedule, final_lr_ratio)

    for group, base in zip(opt.param_groups, base_lrs):
        group["initial_lr"] = base
    return torch.optim.lr_scheduler.LambdaLR(opt, factor, last_epoch=start - 1)


def _last_lr(scheduler) -> float:
    """Learning rate of the step just taken (the scheduler already holds the next step's)."""
    return float(scheduler.base_lrs[0] * scheduler.lr_lambdas[0](scheduler.last_epoch - 1))


def _check_schedule(epochs, schedule, warmup_epochs, final_lr_ratio) -> tuple:
    warmup_epochs = _checks.non_negative_int(warmup_epochs, "warmup_epochs")
    if warmup_epochs >= epochs:
        raise ValueError(f"warmup_epochs must be < epochs ({epochs}), got {warmup_epochs}")
    _checks.choice(schedule, "schedule", SCHEDULES)
    return warmup_epochs, _checks.fraction(final_lr_ratio, "final_lr_ratio")


def _steps_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    steps, last = divmod(n, batch_size)
    if last >= world_size:  # a last batch smaller than the number of processes is skipped
        steps += 1
    if steps == 0:
        raise ValueError(f"the training set has {n} segments, fewer than the {world_size} processes")
    return steps


def _shards(loader, reducer):
    """This process's indices of each batch of ``loader``, with the batch's size over all processes.

    One process takes every batch whole; under ``torchrun`` each takes its contiguous slice
    (:func:`radarode_lite.distributed.shard_indices`) and a batch smaller than the number of
    processes is skipped (every process skips it).
    """
    for indices in loader:
        if reducer is None:
            yield indices.tolist(), len(indices)
        elif len(indices) >= reducer.world_size:
            yield shard_indices(indices, reducer.rank, reducer.world_size), len(indices)


def _batch_losses(dataset, tasks, reducer, device, augment=None, generator=None, sigma=losses.PPI_SIGMA):
    """The ``compute_losses`` of :func:`run_epoch` for batches ``(indices, n_global)`` of ``dataset``."""

    def compute(model, batch):
        mine, n_global = batch
        items = _to_device(torch.utils.data.default_collate([dataset[i] for i in mine]), device)
        if augment is not None:
            items = augment(items, generator)
        features = model.encode(items["sst"])
        values = _losses({t: model.decoders[t](features) for t in tasks}, items, tasks, sigma)
        task_losses = [values[t] for t in tasks]
        if reducer is not None:
            task_losses = reducer.global_losses(task_losses, len(mine), n_global)
        return task_losses, features, n_global

    return compute


def _losses(pred: dict, batch: dict, tasks: tuple, sigma: float = losses.PPI_SIGMA) -> dict:
    if set(tasks) == set(TASKS):
        return losses.task_losses(pred, batch, sigma=sigma)
    loss_of = {**_SINGLE_TASK_LOSS, "ppi": functools.partial(losses.cycle_length_loss, sigma=sigma)}
    return {t: loss_of[t](pred[t], batch[t]) for t in tasks}


def _mean_losses(model, dataset, tasks, batch_size, device, sigma=losses.PPI_SIGMA) -> dict:
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    total = dict.fromkeys(tasks, 0.0)
    count = 0
    model.eval()
    with torch.no_grad():
        for batch in loader:
            batch = _to_device(batch, device)
            features = model.encode(batch["sst"])
            values = _losses({t: model.decoders[t](features) for t in tasks}, batch, tasks, sigma)
            n = int(batch["sst"].shape[0])
            for t in tasks:
                total[t] += values[t].item() * n
            count += n
    return {t: total[t] / count for t in tasks}


def _to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


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
    lr = _checks.positive(_DEFAULT_LR[name] if lr is None else lr, "lr")
    weight_decay = _checks.non_negative(weight_decay, "weight_decay")
    momentum = _checks.fraction(SGD_MOMENTUM if momentum is None else momentum, "momentum", high_open=True)
    params = list(model.shared_parameters()) + [p for t in tasks for p in model.decoders[t].parameters()]
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


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
