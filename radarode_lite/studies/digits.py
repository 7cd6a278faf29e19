"""A second multi-task problem built from real data: damaged handwritten digits (chapter 15).

A study module (:mod:`radarode_lite.studies`): it imports the multi-task methods of
:mod:`radarode_lite.mtl` and applies them to a problem of its own; the optimiser package does
not import it.

The radar problem of the book has three tasks that read one shared representation of a noisy
measurement: restore a waveform (the ECG shape), classify (the cycle length, a 260-way
classification) and locate events (the R-peak anchors). This module builds a problem of the
same kind from the handwritten digits that ship with scikit-learn
(``sklearn.datasets.load_digits``: 1797 images of 8 x 8 pixels with 17 grey levels, the test
part of the UCI "optical recognition of handwritten digits" set; no download), so that the
multi-task methods of :mod:`radarode_lite.mtl.methods` can be compared on a second testbed
within a few minutes of one CPU core.

Every image is damaged once, with a seeded generator: an ink blot (a ``blot_size`` x
``blot_size`` square at full intensity, at a uniformly random position) is stamped on it and
Gaussian noise of standard deviation ``noise_std`` is added. From the damaged image the network
solves three tasks:

- ``"class"``: which digit, 10-way classification, cross-entropy loss; metric: accuracy (%).
- ``"image"``: the clean image (64 intensities in [0, 1]), mean squared error; metrics: RMSE
  and the Pearson correlation per image (%), as for the ECG shape.
- ``"blot"``: where the blot is, the row and column of its centre (pixels), mean squared error
  of the coordinates divided by 8; metric: mean Euclidean error (pixels), as for the anchors.

The tasks share structure (restoring the pixels under the blot needs to know which digit it
is and where the blot lies) and conflict in part: the class should be blind to the blot,
which the locating task must attend to, and the restoration needs the writer's stroke details,
which the classification may discard. Their losses have different scales and fall at
different speeds, which is what loss and gradient balancing are about.

The network (:class:`DigitsNet`) is a small multilayer perceptron trunk with one linear head per
task (hard parameter sharing). :func:`train` runs any method of
:func:`radarode_lite.mtl.methods.get_method` on it, :func:`train_single_task` the one-network-
per-task baselines, and :func:`delta_m_vs_single_task` scores a run against them with
:func:`radarode_lite.metrics.delta_m_from_metrics`.

Taught in chapter 15. The module is longer than the book's usual 600 lines because it holds one
whole application (data, network, losses, training, scores) that chapter 15 reads from top
to bottom; most of its length is the documentation of that problem.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import torch
from torch import nn

from radarode_lite import _checks
from radarode_lite import metrics as M
from radarode_lite.mtl import methods as _methods
from radarode_lite.train import run_epoch

__all__ = [
    "TASKS",
    "METRICS",
    "HIGHER_IS_BETTER",
    "IMAGE_SIDE",
    "DigitsProblem",
    "DigitsNet",
    "DigitsRun",
    "load_problem",
    "split_indices",
    "damage",
    "task_losses",
    "evaluate",
    "train",
    "train_single_task",
    "average_metrics",
    "delta_m_vs_single_task",
]

#: The three tasks, in the order of the loss vector.
TASKS = ("class", "image", "blot")
#: The metrics of each task, in the order :func:`delta_m_vs_single_task` uses. The digits'
#: tasks are not the radar tasks of :data:`radarode_lite.conventions.TASK_METRICS`; ``rmse``
#: and ``pcc_pct`` play the part of the shape task's ``rmse_norm`` and ``pcc_pct``, and
#: ``error_px`` that of the anchors' ``timing_error_ms``.
METRICS = {"class": ("accuracy_pct",), "image": ("rmse", "pcc_pct"), "blot": ("error_px",)}
#: Whether a higher value of each metric of :data:`METRICS` is better.
HIGHER_IS_BETTER = {"accuracy_pct": True, "rmse": False, "pcc_pct": True, "error_px": False}
#: Side of the square images, pixels.
IMAGE_SIDE = 8
_N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
_N_CLASSES = 10
_MAX_GREY = 16.0  # the data set's intensities are integers 0 ... 16


# ============================================================================ data


@dataclass(frozen=True)
class DigitsProblem:
    """The damaged-digits data, split into a training and a test set.

    Attributes
    ----------
    x_train, x_test : torch.Tensor, float32, shape (n, 64)
        Damaged images (blot and noise), row-major 8 x 8, intensity 1 = full ink.
    y_train, y_test : dict[str, torch.Tensor]
        Targets per task: ``"class"`` int64 ``(n,)``; ``"image"`` float32 ``(n, 64)``, the clean
        image in [0, 1]; ``"blot"`` float32 ``(n, 2)``, row and column of the blot centre in
        pixels (0 = centre of the first pixel).
    train_index, test_index : numpy.ndarray, int64
        Positions of the images in ``sklearn.datasets.load_digits()``; disjoint.
    settings : dict
        The arguments of :func:`load_problem` that made it.
    """

    x_train: torch.Tensor
    y_train: dict
    x_test: torch.Tensor
    y_test: dict
    train_index: np.ndarray
    test_index: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return int(self.x_test.shape[0])


def load_problem(split_seed: int = 0, test_fraction: float = 0.3, noise_std: float = 0.1,
                 blot_size: int = 2) -> DigitsProblem:
    """Load scikit-learn's digits, damage every image and split them, all from one seed.

    The split is stratified by digit (:func:`split_indices`); the damage (:func:`damage`) is
    drawn once per image, so the training and test sets are fixed for a ``split_seed``. The
    data set has no writer labels, so images of one writer can fall on both sides: the test
    set measures generalisation to new images, not to new writers.

    Parameters
    ----------
    split_seed : int >= 0
        Seed of the split and of the damage (default 0).
    test_fraction : float in (0, 1)
        Share of every class held out for testing (default 0.3: 539 of 1797 images).
    noise_std : float >= 0
        Standard deviation of the additive Gaussian noise, in units of full ink (default 0.1).
    blot_size : int in [1, 8]
        Side of the square ink blot, pixels (default 2, a sixteenth of the image; there is
        always a blot, the locating task needs one).

    Returns
    -------
    DigitsProblem

    Taught in chapter 15.
    """
    split_seed = _checks.integer(split_seed, "split_seed", low=0)
    test_fraction = _checks.fraction(test_fraction, "test_fraction", low_open=True, high_open=True)
    noise_std = _checks.non_negative(noise_std, "noise_std")
    blot_size = _checks.integer(blot_size, "blot_size", low=1, high=IMAGE_SIDE)
    images, labels = _digits()
    train_index, test_index = split_indices(labels, test_fraction, split_seed)
    rng = np.random.default_rng([split_seed, 15])
    damaged, centres = damage(images, rng, noise_std, blot_size)

    def part(index):
        x = torch.as_tensor(damaged[index], dtype=torch.float32)
        y = {
            "class": torch.as_tensor(labels[index], dtype=torch.int64),
            "image": torch.as_tensor(images[index], dtype=torch.float32),
            "blot": torch.as_tensor(centres[index], dtype=torch.float32),
        }
        return x, y

    x_train, y_train = part(train_index)
    x_test, y_test = part(test_index)
    settings = {"split_seed": split_seed, "test_fraction": test_fraction, "noise_std": noise_std,
                "blot_size": blot_size}
    return DigitsProblem(x_train, y_train, x_test, y_test, train_index, test_index, settings)


def split_indices(labels, test_fraction: float = 0.3, seed: int = 0):
    """Stratified random split: the same share of every class goes to the test set.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Class of every sample.
    test_fraction : float in (0, 1)
        Share of each class in the test set (rounded to the nearest sample, at least one
        sample on each side for a class of two or more).
    seed : int >= 0

    Returns
    -------
    train_index, test_index : numpy.ndarray, int64, sorted and disjoint, together
        ``0 ... n - 1``.

    Taught in chapter 15.
    """
    test_fraction = _checks.fraction(test_fraction, "test_fraction", low_open=True, high_open=True)
    seed = _checks.integer(seed, "seed", low=0)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a non-empty 1-D array of integers, got dtype {labels.dtype} "
                         f"and shape {labels.shape}")
    rng = np.random.default_rng([seed, 1])
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = int(round(test_fraction * members.size))
        if members.size >= 2:
            k = min(max(k, 1), members.size - 1)
        test.append(rng.permutation(members)[:k])
    test_index = np.sort(np.concatenate(test)).astype(np.int64)
    train_index = np.setdiff1d(np.arange(labels.size), test_index).astype(np.int64)
    return train_index, test_index


def damage(images, rng, noise_std: float = 0.1, blot_size: int = 2):
    """Stamp one ink blot on every image and add Gaussian noise.

    A ``blot_size`` x ``blot_size`` square at full intensity (1) replaces the pixels at a
    uniformly random position inside the image; noise :math:`\\mathcal N(0, \\sigma^2)` is then
    added to every pixel (the result is not clipped).

    Parameters
    ----------
    images : array-like, shape (n, 64)
        Clean images, row-major 8 x 8, intensities in [0, 1].
    rng : numpy.random.Generator or int
        Source of the positions and the noise.
    noise_std : float >= 0
        :math:`\\sigma`, in units of full ink.
    blot_size : int in [1, 8]

    Returns
    -------
    damaged : numpy.ndarray, float64, shape (n, 64)
    centres : numpy.ndarray, float64, shape (n, 2)
        Row and column of each blot's centre, pixels (0 = centre of the first pixel).

    Taught in chapter 15.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2 or images.shape[1] != _N_PIXELS or images.shape[0] == 0:
        raise ValueError(f"images must have shape (n, {_N_PIXELS}) with n >= 1, got {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError("images must be finite")
    if rng is None or (isinstance(rng, Integral) and not isinstance(rng, bool) and rng < 0):
        raise TypeError(f"rng must be a numpy Generator or an integer seed >= 0, got {rng!r}")  # not a fresh stream
    rng = _checks.rng(rng, "rng")
    noise_std = _checks.non_negative(noise_std, "noise_std")
    blot_size = _checks.integer(blot_size, "blot_size", low=1, high=IMAGE_SIDE)
    n = images.shape[0]
    corners = rng.integers(0, IMAGE_SIDE - blot_size + 1, size=(n, 2))
    rows = np.arange(IMAGE_SIDE)[None, :, None]
    cols = np.arange(IMAGE_SIDE)[None, None, :]
    inside = ((rows >= corners[:, 0, None, None]) & (rows < corners[:, 0, None, None] + blot_size)
              & (cols >= corners[:, 1, None, None]) & (cols < corners[:, 1, None, None] + blot_size))
    damaged = np.where(inside.reshape(n, _N_PIXELS), 1.0, images)
    damaged = damaged + noise_std * rng.standard_normal(damaged.shape)
    centres = corners + (blot_size - 1) / 2.0
    return damaged, centres.astype(np.float64)


# ============================================================================ model and losses


class DigitsNet(nn.Module):
    """Multilayer perceptron trunk shared by one linear head per task (hard parameter sharing).

    ``trunk``: 64 -> ``hidden[0]`` -> ... -> ``hidden[-1]`` with ReLU after every layer; its
    output is the shared representation ``z``. Heads: ``"class"`` 10 logits, ``"image"`` 64
    intensities, ``"blot"`` 2 coordinates divided by 8.

    Parameters
    ----------
    tasks : sequence of str
        Tasks with a head, a non-empty subset of :data:`TASKS` in any order (one task for a
        single-task baseline).
    hidden : sequence of int
        Widths of the trunk's layers (default (128, 64)).

    Taught in chapter 15.
    """

    _OUT = {"class": _N_CLASSES, "image": _N_PIXELS, "blot": 2}

    def __init__(self, tasks: Sequence[str] = TASKS, hidden: Sequence[int] = (128, 64)):
        super().__init__()
        self.tasks = _check_tasks(tasks)
        self.hidden = _check_hidden(hidden)
        layers, width = [], _N_PIXELS
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({t: nn.Linear(width, self._OUT[t]) for t in self.tasks})

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Shared representation ``z: (batch, hidden[-1])`` of images ``x: (batch, 64)``."""
        return self.trunk(x)

    def decode(self, z: torch.Tensor) -> dict:
        """Every head's output from the representation: task -> tensor ``(batch, ...)``."""
        return {t: head(z) for t, head in self.heads.items()}

    def forward(self, x: torch.Tensor) -> dict:
        """``decode(encode(x))``."""
        return self.decode(self.encode(x))

    def shared_parameters(self) -> list:
        """The trunk's parameters, in forward order."""
        return list(self.trunk.parameters())

    def task_parameters(self) -> dict:
        """Task -> the parameters of its head."""
        return {t: list(head.parameters()) for t, head in self.heads.items()}


def task_losses(outputs: Mapping, targets: Mapping) -> dict:
    """The loss of every task present in ``outputs``, a scalar tensor each.

    - ``"class"``: cross-entropy of the logits ``(batch, 10)`` and the labels ``(batch,)``;
    - ``"image"``: mean squared error of the intensities ``(batch, 64)``;
    - ``"blot"``: mean squared error of the predicted coordinates ``(batch, 2)`` and the
      true centre divided by 8 (so both coordinates live in [0, 1]).

    Parameters
    ----------
    outputs : Mapping[str, torch.Tensor]
        :meth:`DigitsNet.forward`'s output.
    targets : Mapping[str, torch.Tensor]
        Targets of the same batch, at least for the tasks of ``outputs``.

    Returns
    -------
    dict[str, torch.Tensor], in the order of ``outputs``.

    Taught in chapter 15.
    """
    if not isinstance(outputs, Mapping) or not isinstance(targets, Mapping):
        raise TypeError("outputs and targets must be dicts task -> tensor")
    losses = {}
    for task, out in outputs.items():
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r} in outputs; tasks are {TASKS}")
        if task not in targets:
            raise ValueError(f"targets lacks the task {task!r}")
        y = targets[task]
        if task == "class":
            losses[task] = nn.functional.cross_entropy(out, y)
        elif task == "image":
            losses[task] = nn.functional.mse_loss(out, y)
        else:
            losses[task] = nn.functional.mse_loss(out, y / IMAGE_SIDE)
    return losses


# ============================================================================ evaluation


@torch.no_grad()
def evaluate(model: DigitsNet, problem: DigitsProblem, split: str = "test") -> dict:
    """The metrics of every task of ``model`` on one part of ``problem``.

    - ``"class"``: ``accuracy_pct``, share of correctly classified images, %;
    - ``"image"``: ``rmse`` of the intensities (full ink = 1), averaged over images, and
      ``pcc_pct``, Pearson correlation of predicted and clean image, averaged over images, %
      (:func:`radarode_lite.metrics.rmse`, :func:`radarode_lite.metrics.pcc`);
    - ``"blot"``: ``error_px``, mean Euclidean distance between predicted and true centre, pixels.

    Every task also gets ``loss``, its loss (:func:`task_losses`) on the whole part.

    Parameters
    ----------
    model : DigitsNet
    problem : DigitsProblem
    split : {"test", "train"}

    Returns
    -------
    dict task -> dict metric name -> float

    Taught in chapter 15.
    """
    if not isinstance(model, DigitsNet):
        raise TypeError(f"model must be a DigitsNet, got {type(model).__name__}")
    x, y = _part(problem, split)
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    losses = task_losses(out, y)
    result = {}
    for task in model.tasks:
        pred = out[task]
        if task == "class":
            values = {"accuracy_pct": 100.0 * float((pred.argmax(1) == y[task]).double().mean())}
        elif task == "image":
            values = {"rmse": float(np.mean(M.rmse(pred, y[task], axis=1))),
                      "pcc_pct": 100.0 * float(np.mean(M.pcc(pred, y[task], axis=1)))}
        else:
            err = (pred.double() * IMAGE_SIDE - y[task].double()).norm(dim=1)
            values = {"error_px": float(err.mean())}
        values["loss"] = float(losses[task])
        result[task] = values
    return result


# ============================================================================ training


@dataclass
class DigitsRun:
    """What :func:`train` returns.

    Attributes
    ----------
    model : DigitsNet
        The trained network (final epoch; no early stopping, no model selection).
    metrics : dict
        :func:`evaluate` on the test set.
    history : dict
        ``"train_losses"``: per epoch the mean training loss of every task, ``(epochs, n)``;
        ``"weights"``: per epoch the mean over steps of the method's task weights (for gradient
        methods the coefficients of the update on the task gradients), ``(epochs, n)``;
        ``"v_ecc"`` (EGA only): the eccentric vector used in every epoch, ``(epochs, n)``.
    config : dict
        Every setting of the run.
    wall_s : float
        Training and evaluation time, s.
    """

    model: DigitsNet
    metrics: dict
    history: dict
    config: dict
    wall_s: float


def train(method: str = "ew", seed: int = 0, problem: DigitsProblem | None = None,
          tasks: Sequence[str] = TASKS, epochs: int = 30, batch_size: int = 64, lr: float = 3e-3,
          hidden: Sequence[int] = (128, 64), method_kwargs: Mapping | None = None) -> DigitsRun:
    """Train a :class:`DigitsNet` on ``tasks`` with a multi-task method; evaluate it on the test set.

    The loop of :func:`radarode_lite.train.run_epoch`: Adam on all parameters; at every step the
    method's ``backward`` (with the heads as ``task_params`` and the trunk output as
    ``shared_representation``) replaces ``sum(losses).backward()``; every epoch starts with
    ``method.start_epoch(epoch)`` and ends with ``method.end_epoch(mean losses of the epoch)``,
    which fills the loss buffers DWA, STCH and EGA read.

    Deterministic for ``seed``: the initial weights, the order of the mini-batches and the
    random draws of GradDrop/GradVac come from it, and no global random state is touched.

    Parameters
    ----------
    method : str
        A name of :data:`radarode_lite.mtl.methods.METHODS` (``"ega"``, ``"Aligned-MTL"`` ...).
    seed : int >= 0
    problem : DigitsProblem, optional
        Default: :func:`load_problem` with its defaults.
    tasks : sequence of str
        Tasks to learn, a subset of :data:`TASKS` (default all three).
    epochs : int >= 1
        Passes over the training set (default 30).
    batch_size : int >= 1
        Images per step (default 64: 20 steps per epoch).
    lr : float > 0
        Adam learning rate (default 3e-3).
    hidden : sequence of int
        Trunk widths (see :class:`DigitsNet`).
    method_kwargs : mapping, optional
        Hyper-parameters of the method, e.g. ``{"temperature": 0.5}`` for EGA. A method that
        takes a ``seed`` gets ``seed`` unless given here.

    Returns
    -------
    DigitsRun

    Taught in chapter 15.
    """
    seed = _checks.integer(seed, "seed", low=0)
    tasks = _check_tasks(tasks)
    epochs = _checks.integer(epochs, "epochs", low=1)
    batch_size = _checks.integer(batch_size, "batch_size", low=1)
    lr = _checks.positive(lr, "lr")
    hidden = _check_hidden(hidden)
    problem = _problem(problem)
    mtl = _method(method, len(tasks), seed, method_kwargs)

    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsNet(tasks, hidden)
    history = _fit(model, mtl, problem, tasks, epochs, batch_size, lr, seed)
    result = evaluate(model, problem, "test")
    wall = time.perf_counter() - start
    config = {"method": mtl.name, "method_kwargs": _plain(mtl.hyperparameters()), "tasks": list(tasks),
              "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": "adam",
              "hidden": list(hidden), "n_train": problem.n_train, "n_test": problem.n_test,
              **problem.settings}
    return DigitsRun(model, result, history, config, wall)


def _problem(problem) -> DigitsProblem:
    """``problem``, or :func:`load_problem` with its defaults for None."""
    if problem is None:
        return load_problem()
    if not isinstance(problem, DigitsProblem):
        raise TypeError(f"problem must be a DigitsProblem from load_problem(), got {type(problem).__name__}")
    return problem


def _method(method, n_tasks, seed, method_kwargs):
    """The multi-task method ``method`` for ``n_tasks``; one that takes a ``seed`` gets ``seed`` unless given."""
    if method_kwargs is None:
        method_kwargs = {}
    elif not isinstance(method_kwargs, Mapping):
        raise TypeError(f"method_kwargs must be a dict of hyper-parameters, got {type(method_kwargs).__name__}")
    kwargs = dict(method_kwargs)
    if not isinstance(method, str):
        raise TypeError(f"method must be a method name (str), got {type(method).__name__}")
    mtl = _methods.get_method(method, n_tasks, **kwargs)  # checks the name and hyper-parameters
    if "seed" in inspect.signature(type(mtl).__init__).parameters and "seed" not in kwargs:
        mtl = _methods.get_method(method, n_tasks, seed=seed, **kwargs)
    return mtl


def _fit(model, mtl, problem, tasks, epochs, batch_size, lr, seed) -> dict:
    """Adam on all parameters for ``epochs`` passes in seeded random mini-batches; the history of :class:`DigitsRun`.

    Every epoch is one :func:`radarode_lite.train.run_epoch`; the method's epoch hooks are
    called here around it, so that EGA's eccentric vector can be read once it is set for the
    epoch and before the first step.
    """
    shuffle = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    shared = model.shared_parameters()
    heads = [p for params in model.task_parameters().values() for p in params]
    x_all, y_all = problem.x_train, problem.y_train

    def compute_losses(net, idx):
        z = net.encode(x_all[idx])
        losses = task_losses(net.decode(z), {t: y_all[t][idx] for t in tasks})
        return [losses[t] for t in tasks], z, idx.numel()

    n = problem.n_train
    history = {"train_losses": [], "weights": []}
    if mtl.name == "ega":
        history["v_ecc"] = []
    for epoch in range(epochs):
        mtl.start_epoch(epoch)
        if "v_ecc" in history:
            history["v_ecc"].append([float(v) for v in mtl.v_ecc])
        order = torch.randperm(n, generator=shuffle)
        batches = (order[first:first + batch_size] for first in range(0, n, batch_size))
        result = run_epoch(model, batches, compute_losses, mtl, optimizer, shared, task_params=heads)
        mtl.end_epoch(result["loss"])
        history["train_losses"].append(result["loss"])
        history["weights"].append(result["weights"])
    return history


def train_single_task(task: str, seed: int = 0, problem: DigitsProblem | None = None, **kwargs) -> DigitsRun:
    """The single-task baseline of ``task``: its own trunk and head, trained on its loss alone.

    Same network widths, optimiser, epochs and mini-batches as :func:`train` (whose keyword
    arguments ``epochs``, ``batch_size``, ``lr`` and ``hidden`` it accepts); with one task every
    method reduces to the plain gradient, so it runs :func:`train` with ``method="ew"``.

    Taught in chapter 15.
    """
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    unknown = set(kwargs) - {"epochs", "batch_size", "lr", "hidden"}
    if unknown:
        raise TypeError(f"train_single_task got unexpected arguments {sorted(unknown)}")
    return train("ew", seed=seed, problem=problem, tasks=(task,), **kwargs)


# ============================================================================ scoring


def average_metrics(runs: Sequence[Mapping]) -> dict:
    """Mean of each metric over several runs' metrics (dicts task -> metric -> value).

    Only the tasks and metrics every run has are kept. Used to average the single-task
    baselines over seeds before :func:`delta_m_vs_single_task`.

    Taught in chapter 15.
    """
    if isinstance(runs, Mapping) or not isinstance(runs, Sequence) or len(runs) == 0:
        raise ValueError("runs must be a non-empty list of metrics dicts")
    for r in runs:
        if not isinstance(r, Mapping):
            raise TypeError(f"every run must be a dict task -> metric -> value, got {type(r).__name__}")
    tasks = [t for t in runs[0] if all(t in r for r in runs)]
    out = {}
    for t in tasks:
        names = [k for k in runs[0][t] if all(k in r[t] for r in runs)]
        out[t] = {k: float(np.mean([r[t][k] for r in runs])) for k in names}
    return out


def delta_m_vs_single_task(metrics: Mapping, baseline: Mapping, tasks: Sequence[str] = TASKS) -> float:
    """:math:`\\Delta_m` (%) of a multi-task run against the single-task baselines.

    :func:`radarode_lite.metrics.delta_m_from_metrics` with the groups :data:`METRICS`: the
    class task counts its accuracy, the image task the mean of its RMSE and PCC changes, the
    blot task its error, and the three tasks weigh alike. Positive means better than one
    network per task.

    Parameters
    ----------
    metrics : dict task -> metric -> value
        A run's test metrics (:func:`evaluate`).
    baseline : dict task -> metric -> value
        The single-task metrics, e.g. :func:`average_metrics` of the baselines over seeds.
    tasks : sequence of str
        Tasks to score (default all three).

    Taught in chapter 15.
    """
    groups = {t: METRICS[t] for t in _check_tasks(tasks)}
    return M.delta_m_from_metrics(baseline, metrics, groups, HIGHER_IS_BETTER)


# ============================================================================ helpers


def _digits():
    """Clean images (1797, 64) in [0, 1] and labels (1797,) of scikit-learn's bundled copy."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency of the book
        raise ImportError("chapter 15 needs scikit-learn (pip install scikit-learn)") from exc
    bunch = load_digits()
    return bunch.data.astype(np.float64) / _MAX_GREY, bunch.target.astype(np.int64)


def _part(problem, split):
    if not isinstance(problem, DigitsProblem):
        raise TypeError(f"problem must be a DigitsProblem from load_problem(), got {type(problem).__name__}")
    if split == "test":
        return problem.x_test, problem.y_test
    if split == "train":
        return problem.x_train, problem.y_train
    raise ValueError(f"split must be 'test' or 'train', got {split!r}")


def _check_tasks(tasks) -> tuple:
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise TypeError(f"tasks must be a sequence of task names from {TASKS}, got {tasks!r}")
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError("tasks must name at least one task")
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"unknown task {t!r}; tasks are {TASKS}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must not repeat, got {tasks}")
    return tasks


def _check_hidden(hidden) -> tuple:
    if isinstance(hidden, (str, Integral)) or not isinstance(hidden, Sequence) or len(hidden) == 0:
        raise TypeError(f"hidden must be a non-empty sequence of layer widths, got {hidden!r}")
    return tuple(_checks.integer(h, "hidden widths", low=1) for h in hidden)


def _plain(value):
    """Hyper-parameters as JSON-friendly Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value
