"""The interface every multi-task method implements, and what the methods share (chapters 9-12).

:class:`MTLMethod` is the training interface (``backward``, ``start_epoch``, ``end_epoch``,
``state_dict``) of every method of :mod:`radarode_lite.mtl.methods`; the loss-balancing
methods (chapter 9) are in :mod:`radarode_lite.mtl.loss_methods`, the gradient methods
(chapters 10-11) in :mod:`radarode_lite.mtl.gradient_methods`.

Training across processes (chapter 12, appendix *Scaling up*) plugs in at one point,
:attr:`MTLMethod.reduction`: an object with the collectives a step needs (sum a tensor or a
list of tensors over the processes, put the processes' columns of ``G`` side by side and take
this process's slice back, sum the parameters' gradients). In one process it is
:data:`LOCAL`, a :class:`LocalReduction` whose collectives return their input; across
processes it is the :class:`radarode_lite.distributed.GradientReducer` that the training loop
sets as ``method.reducer``. The methods call the collectives unconditionally.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import torch

from radarode_lite._checks import integer, non_negative_int, positive_int, torch_generator

from . import weighting as W

__all__ = ["MTLMethod", "LocalReduction", "LOCAL", "GRADIENT_TARGETS"]

#: Where a gradient method takes its gradient matrix (see :class:`radarode_lite.mtl.GradientMethod`).
GRADIENT_TARGETS = ("params", "representation")


class LocalReduction:
    """The collectives of a training step within one process: each returns its input.

    :class:`radarode_lite.distributed.GradientReducer` has the same methods, which sum or
    gather across processes; :attr:`MTLMethod.reduction` is one or the other.
    """

    world_size = 1
    rank = 0

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over processes of ``tensor``: here ``tensor`` itself."""
        return tensor

    def sum_list(self, tensors, like) -> list:
        """The sums over processes of several tensors: here the tensors (``None`` kept)."""
        return list(tensors)

    def gather_columns(self, G: torch.Tensor) -> torch.Tensor:
        """All processes' columns of ``G`` side by side: here ``G``."""
        return G

    def local_columns(self, d: torch.Tensor) -> torch.Tensor:
        """This process's slice of a vector over the gathered columns: here all of ``d``."""
        return d

    def all_reduce_grads(self, params) -> None:
        """Sum every ``.grad`` of ``params`` over processes: here nothing to do."""

    def __repr__(self) -> str:
        return "LocalReduction()"


#: The reduction of a single process (the default of :attr:`MTLMethod.reduction`).
LOCAL = LocalReduction()


class MTLMethod:
    """Base class of every multi-task optimisation method (chapters 9-12).

    Parameters
    ----------
    n_tasks : int
        Number of tasks ``n >= 1``; ``backward`` expects exactly this many losses.

    Attributes
    ----------
    name : str
        Registry name (see :data:`METHODS`).
    kind : str
        ``"loss"`` (loss balancing) or ``"gradient"`` (gradient balancing).
    epoch : int
        Current epoch, set by :meth:`start_epoch` and advanced by :meth:`end_epoch`.
    epoch_losses : dict[int, list[float]]
        Mean task losses of every finished epoch: the loss buffers that DWA, STCH and EGA read.

    Notes
    -----
    With a single task every method's update on the shared parameters is the plain gradient
    ``g`` times a positive factor: 1 for EW, UW (at its initial ``s = 0``), GLS, DWA, RLW,
    GradNorm, PCGrad, GradDrop, GradVac, MGDA, IMTL, Aligned-MTL and EGA; :math:`1/\\mathcal{L}`
    for STCH (a log-loss); :math:`(1 + c)/(1 + c^2)` for CAGrad; :math:`1/\\lVert g\\rVert` for
    Nash-MTL (unit norm, never above ``max_norm``); :math:`\\mathcal{L}/\\lVert g\\rVert` for MoCo
    (its rows are rescaled to the loss). ``tests/test_mtl_methods.py`` checks each factor.
    """

    name = "base"
    kind = "loss"

    def __init__(self, n_tasks: int):
        self.n_tasks = positive_int(n_tasks, "n_tasks")
        self.epoch = 0
        self.steps = 0
        self.epoch_losses: dict[int, list[float]] = {}
        self._loss_sum = torch.zeros(self.n_tasks, dtype=torch.float64)
        self._loss_count = 0
        #: A :class:`radarode_lite.distributed.GradientReducer` when training across
        #: processes (set by :func:`radarode_lite.train.train`), else None.
        self.reducer = None

    # ------------------------------------------------------------------ public interface

    def backward(self, losses: Sequence[torch.Tensor], shared_params: Iterable[torch.Tensor],
                 task_params: Iterable[torch.Tensor] | None = None,
                 shared_representation: torch.Tensor | None = None) -> dict:
        """Back-propagate the task losses with this method; call in place of ``sum(losses).backward()``.

        Contract. Gradients are *accumulated* into ``.grad`` like ``Tensor.backward`` does,
        so call ``optimizer.zero_grad()`` first. Afterwards

        - every tensor of ``shared_params`` holds in ``.grad`` the method's combined update
          (for EW the summed gradient :math:`\\sum_i \\nabla \\mathcal{L}_i`);
        - every tensor of ``task_params`` holds its own task's gradient: the plain
          :math:`\\nabla \\mathcal{L}_i` for gradient methods (a head only sees its own
          loss), the weighted :math:`w_i \\nabla \\mathcal{L}_i` for loss-balancing methods,
          whose scalarisation *is* the objective;
        - with ``task_params=None`` gradient methods reach the task-specific parameters with
          one extra ordinary backward pass of :math:`\\sum_i \\mathcal{L}_i` (slower; pass
          them when you can).

        Parameters
        ----------
        losses : sequence of ``n_tasks`` scalar tensors
            The task losses of the current batch, still attached to the graph.
        shared_params : iterable of tensors
            The shared (backbone) parameters; with ``gradients="params"`` the gradient matrix
            ``G`` is taken with respect to them, in this order.
        task_params : iterable of tensors, optional
            All task-specific (head) parameters, of every task.
        shared_representation : tensor, optional
            The backbone's output that feeds every head; required with
            ``gradients="representation"``.

        Returns
        -------
        dict with detached CPU tensors: ``"losses"`` ``(n_tasks,)``; ``"weights"``
        ``(n_tasks,)``, the coefficient of each task gradient in the update (for gradient
        methods the least-squares coefficients of ``d`` on the rows of ``G``, exact when
        ``d`` lies in their span); gradient methods add ``"grad_norms"`` ``(n_tasks,)``.
        """
        loss_list = check_losses(losses, self.n_tasks)
        shared = check_params(shared_params, "shared_params")
        task = None if task_params is None else check_params(task_params, "task_params", allow_empty=True)
        if self.reducer is not None:
            self._check_distributed(task)
        self._record(loss_list)
        info = self._backward(loss_list, shared, task, shared_representation)
        self.steps += 1
        info.setdefault("losses", torch.stack([l.detach() for l in loss_list]).float().cpu())
        return info

    #: Whether :attr:`reducer` (training across processes) is supported.
    supports_distributed = True

    @property
    def reduction(self):
        """The collectives of a step: :attr:`reducer` across processes, else :data:`LOCAL`.

        The one place where training across processes plugs in: the methods call the
        collectives of this object unconditionally (see :class:`LocalReduction`).
        """
        return LOCAL if self.reducer is None else self.reducer

    def start_epoch(self, epoch: int) -> None:
        """Announce the start of ``epoch`` (0-based); epoch-level weights are refreshed."""
        self.epoch = non_negative_int(epoch, "epoch")
        self._loss_sum.zero_()
        self._loss_count = 0
        self._refresh()

    def end_epoch(self, epoch_mean_losses=None) -> None:
        """Record the mean task losses of the epoch that ends and move to the next epoch.

        Parameters
        ----------
        epoch_mean_losses : array-like ``(n_tasks,)``, optional
            Mean training loss of each task over the epoch. By default the mean of the batch
            losses that :meth:`backward` saw during the epoch.
        """
        if epoch_mean_losses is None:
            if self._loss_count == 0:
                raise ValueError("epoch_mean_losses must be given when backward() was not called this epoch")
            values = (self._loss_sum / self._loss_count).tolist()
        else:
            values = W._vector(epoch_mean_losses, "epoch_mean_losses").tolist()
            if len(values) != self.n_tasks:
                raise ValueError(f"epoch_mean_losses must have {self.n_tasks} values, got {len(values)}")
        self.epoch_losses[self.epoch] = [float(v) for v in values]
        self._on_epoch_losses(self.epoch)
        self.start_epoch(self.epoch + 1)

    def state_dict(self) -> dict:
        """Everything needed to resume exactly: epoch, loss buffers, random-generator
        states, moving averages and learned weights (with their optimiser state)."""
        state = {
            "name": self.name,
            "n_tasks": self.n_tasks,
            "epoch": self.epoch,
            "steps": self.steps,
            "epoch_losses": {int(k): list(v) for k, v in self.epoch_losses.items()},
            "loss_sum": self._loss_sum.clone(),
            "loss_count": self._loss_count,
        }
        state.update(_clone(self._extra_state()))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` of the same method and number of tasks."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from state_dict(), got {type(state).__name__}")
        if state.get("name") != self.name or state.get("n_tasks") != self.n_tasks:
            raise ValueError(f"state is for method {state.get('name')!r} with {state.get('n_tasks')} tasks; "
                             f"this is {self.name!r} with {self.n_tasks} tasks")
        self.epoch = int(state["epoch"])
        self.steps = int(state["steps"])
        self.epoch_losses = {int(k): list(v) for k, v in state["epoch_losses"].items()}
        self._loss_sum = state["loss_sum"].clone().to(torch.float64)
        self._loss_count = int(state["loss_count"])
        self._load_extra_state(_clone(state))
        self._refresh()

    def hyperparameters(self) -> dict:
        """The method's hyper-parameters as passed to the constructor."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}(n_tasks={self.n_tasks}{', ' if args else ''}{args})"

    # ------------------------------------------------------------------ for subclasses

    def _backward(self, losses, shared, task, representation) -> dict:
        raise NotImplementedError

    def _backward_scalar(self, total, shared, task) -> None:
        """``total.backward()`` on this process's share of the batch, then every parameter's
        gradient summed over the processes (a no-op in one process)."""
        total.backward()
        self.reduction.all_reduce_grads(shared + (task or []))

    def _check_distributed(self, task) -> None:
        if task is None:
            raise ValueError("task_params must be given when training across processes "
                             "(every head's gradient is summed over the ranks)")
        if not self.supports_distributed:
            raise ValueError(f"{type(self).__name__} cannot be trained across processes")

    def _refresh(self) -> None:
        """Recompute epoch-level state (DWA weights, EGA eccentric vector) for ``self.epoch``."""

    def _on_epoch_losses(self, epoch: int) -> None:
        """Called when the mean losses of ``epoch`` have been recorded."""

    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def _record(self, losses) -> None:
        with torch.no_grad():
            self._loss_sum += torch.stack([l.detach().reshape(()).double().cpu() for l in losses])
        self._loss_count += 1


# ============================================================================ helpers
# Checks of the tensors of a training step (the checks of plain values are in _checks).


def check_losses(losses, n_tasks: int) -> list[torch.Tensor]:
    """The ``n_tasks`` losses as scalar tensors that require grad (a 1-D tensor is unbound)."""
    if isinstance(losses, torch.Tensor):
        if losses.ndim != 1:
            raise ValueError(f"losses must be a sequence of scalar tensors or a 1-D tensor, got shape {tuple(losses.shape)}")
        losses = list(losses.unbind(0))
    if not isinstance(losses, Sequence):
        raise TypeError(f"losses must be a sequence of scalar tensors, got {type(losses).__name__}")
    if len(losses) != n_tasks:
        raise ValueError(f"losses must hold one loss per task ({n_tasks}), got {len(losses)}")
    out = []
    for i, loss in enumerate(losses):
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(f"losses[{i}] must be a scalar tensor")
        if not loss.requires_grad:
            raise ValueError(f"losses[{i}] does not require grad; compute the losses from the model's output")
        out.append(loss.reshape(()))
    return out


def check_params(params, name: str, allow_empty: bool = False) -> list[torch.Tensor]:
    """The tensors of ``params`` that require grad, as a list (at least one unless ``allow_empty``)."""
    if isinstance(params, torch.Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{name} must be an iterable of tensors, got {type(params).__name__}") from None
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name} must hold tensors, got {type(p).__name__}")
    params = [p for p in params if p.requires_grad]
    if not params and not allow_empty:
        raise ValueError(f"{name} holds no tensor that requires grad")
    return params


def check_representation(rep) -> torch.Tensor:
    """``rep`` if it is a tensor attached to the graph (the backbone's output)."""
    if not isinstance(rep, torch.Tensor):
        raise ValueError('shared_representation must be the backbone output tensor when gradients="representation"')
    if not rep.requires_grad:
        raise ValueError("shared_representation does not require grad; pass the backbone output, not a detached copy")
    return rep


def make_generator(seed, generator) -> torch.Generator:
    """``generator`` if given, else a ``torch.Generator`` seeded with ``seed``."""
    if generator is not None:
        return torch_generator(generator, allow_none=False)
    integer(seed, "seed")
    return torch.Generator().manual_seed(seed)


def _clone(obj):
    """Deep copy with tensors cloned (so a saved state never aliases live buffers)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_clone(v) for v in obj)
    return copy.deepcopy(obj)
