"""One small class per multi-task optimisation method, all behind one interface (chapters 9-12).

Every method of Table II of Zhang et al. (2025) is a subclass of :class:`MTLMethod` and is
used in a training loop the same way::

    method = get_method("ega", n_tasks=3, temperature=1.0)
    heads = [p for params in model.task_parameters().values() for p in params]
    for epoch in range(n_epochs):
        method.start_epoch(epoch)
        for batch in loader:
            optimizer.zero_grad()
            features = model.encode(batch["sst"])              # shared representation
            losses = list(task_losses(model.decode(features), batch).values())
            info = method.backward(losses, model.shared_parameters(), task_params=heads,
                                   shared_representation=features)
            optimizer.step()
        method.end_epoch()        # or end_epoch(mean losses of the epoch)

(``model`` a :class:`radarode_lite.models.RadarODEMTL`, ``task_losses`` from
:mod:`radarode_lite.losses`; :func:`radarode_lite.train.train` runs this loop.)

``backward`` replaces ``sum(losses).backward()``: afterwards the ``.grad`` of every shared
parameter holds the method's combined update and every task-specific parameter holds its
own task's gradient (see :meth:`MTLMethod.backward` for the exact contract).

Two families:

- **loss balancing** (``kind == "loss"``): EW, UW, GLS, DWA, STCH, RLW, GradNorm choose a
  scalarisation of the losses (:mod:`radarode_lite.mtl.weighting`, chapter 9) and run one
  ordinary backward pass of it.
- **gradient balancing** (``kind == "gradient"``): PCGrad, GradDrop, GradVac, CAGrad, MGDA,
  IMTL, Nash-MTL, MoCo, Aligned-MTL and EGA build the task-gradient matrix
  ``G: (n_tasks, n_params)`` and replace its row sum by the update ``d = f(G)`` of
  :mod:`radarode_lite.mtl.functional` (chapters 10-11).

Per-task gradients without ``n`` full backward passes. With hard parameter sharing every loss
reaches the shared parameters only through the shared representation ``z`` (the backbone's
output), so when ``shared_representation`` is passed the per-task gradients are built in two
stages: ``n`` cheap passes, one through each head, give :math:`\\partial\\mathcal{L}_i/\\partial z`
(:func:`representation_gradients`), then **one** batched reverse pass through the backbone
carries the ``n`` cotangents to the shared parameters,
``torch.autograd.grad(z, params, grad_outputs=rows, is_grads_batched=True)`` (vectorised with
``torch.func.vmap`` underneath). Without a representation the batched pass starts at the
losses themselves, ``torch.autograd.grad(stack(losses), params, grad_outputs=eye(n),
is_grads_batched=True)`` (:func:`task_gradients`). If an operation of the network has no
batching rule, the batched call raises and the code warns once and loops over the tasks
instead (same result, ``n`` passes).

With ``gradients="representation"`` the gradient matrix is taken at the representation
instead of the shared parameters, as Aligned-MTL (Senushkin et al., 2023) and the
radarODE-MTL code allow: ``G`` then has one row per task holding the gradient with respect to
the whole representation tensor (batch included, flattened), the combined vector is formed
there and sent through the backbone with a single backward pass, so a step costs little more
than EW. It is exact for EW; for the other methods it is a cheaper surrogate of the
parameter-space method, not the same update.

The representation passed must be the only path from the shared parameters to the losses
(true for a backbone followed by heads); if it is not, do not pass it, and use
``gradients="params"``.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Iterable, Sequence

import torch

from . import weighting as W

__all__ = [
    "MTLMethod",
    "LossBalancingMethod",
    "GradientMethod",
    "EW",
    "UW",
    "GLS",
    "DWA",
    "STCH",
    "RLW",
    "GradNorm",
    "PCGrad",
    "GradDrop",
    "GradVac",
    "CAGrad",
    "MGDA",
    "IMTL",
    "NashMTL",
    "MoCo",
    "AlignedMTL",
    "EGA",
    "METHODS",
    "get_method",
    "task_gradients",
    "representation_gradients",
]

GRADIENT_TARGETS = ("params", "representation")


# ============================================================================ interface


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
        self.n_tasks = W._check_n_tasks(n_tasks)
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
        loss_list = _check_losses(losses, self.n_tasks)
        shared = _check_params(shared_params, "shared_params")
        task = None if task_params is None else _check_params(task_params, "task_params", allow_empty=True)
        if self.reducer is not None:
            if task is None:
                raise ValueError("task_params must be given when training across processes "
                                 "(every head's gradient is summed over the ranks)")
            if not self.supports_distributed:
                raise ValueError(f"{type(self).__name__} cannot be trained across processes")
        self._record(loss_list)
        info = self._backward(loss_list, shared, task, shared_representation)
        if self.reducer is not None and not info.pop("_reduced", False):
            # one scalarisation was back-propagated on this rank's share: sum over the ranks
            self.reducer.all_reduce_grads(shared + task)
        self.steps += 1
        info.setdefault("losses", torch.stack([l.detach() for l in loss_list]).float().cpu())
        return info

    #: Whether :attr:`reducer` (training across processes) is supported.
    supports_distributed = True

    def start_epoch(self, epoch: int) -> None:
        """Announce the start of ``epoch`` (0-based); epoch-level weights are refreshed."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
        self.epoch = epoch
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


# ============================================================================ loss balancing


class LossBalancingMethod(MTLMethod):
    """A method that backpropagates one scalarisation of the losses (chapter 9).

    Subclasses implement ``_objective(losses) -> (total, weights)`` where ``losses`` is the
    stacked ``(n_tasks,)`` loss vector and ``weights`` the effective coefficients of the task
    gradients. ``backward`` runs ``total.backward()``; the shared and task-specific
    parameters then hold the gradient of the scalarisation.
    """

    kind = "loss"

    def _backward(self, losses, shared, task, representation) -> dict:
        vec = torch.stack(losses)
        total, weights = self._objective(vec)
        total.backward()
        return {"weights": weights.detach().float().cpu()}

    def _objective(self, losses: torch.Tensor):
        raise NotImplementedError


class UW(LossBalancingMethod):
    """Uncertainty weighting (Kendall, Gal and Cipolla, CVPR 2018), chapter 9.

    Minimises :math:`\\sum_i e^{-s_i}\\mathcal{L}_i + s_i` jointly in the network and the
    log-variances :math:`s_i = \\log\\sigma_i^2` (:func:`weighting.uncertainty_loss`). The
    :math:`s_i` are updated inside :meth:`backward` by an internal Adam optimiser, so the
    training loop needs no change; at their optimum :math:`\\sigma_i^2 = \\mathcal{L}_i`.

    Parameters
    ----------
    n_tasks : int
    lr : float
        Adam learning rate of the log-variances (default 0.01).
    init_log_var : float
        Initial :math:`s_i` (default 0: the first step equals EW).
    """

    name = "uw"

    def __init__(self, n_tasks: int, lr: float = 0.01, init_log_var: float = 0.0):
        super().__init__(n_tasks)
        self.lr = W._positive_float(lr, "lr")
        self.init_log_var = float(init_log_var)
        self.module = W.UncertaintyWeights(self.n_tasks, self.init_log_var)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=self.lr)

    def _objective(self, losses):
        self.module.to(device=losses.device)
        return self.module(losses), self.module.weights()

    def _backward(self, losses, shared, task, representation) -> dict:
        self.optimizer.zero_grad(set_to_none=True)
        info = super()._backward(losses, shared, task, representation)
        self.optimizer.step()
        info["log_vars"] = self.module.log_vars.detach().float().cpu().clone()
        return info

    def hyperparameters(self):
        return {"lr": self.lr, "init_log_var": self.init_log_var}

    def _extra_state(self):
        return {"module": self.module.state_dict(), "optimizer": self.optimizer.state_dict()}

    def _load_extra_state(self, state):
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])


class GLS(LossBalancingMethod):
    """Geometric loss strategy (Chennupati et al., CVPR-W 2019), chapter 9.

    Backpropagates :math:`(\\prod_i \\mathcal{L}_i)^{1/n}` (:func:`weighting.gls_loss`). No
    hyper-parameters. With one task it is the task's loss itself.
    """

    name = "gls"

    def _objective(self, losses):
        return W.gls_loss(losses), W.gls_weights(losses)


class DWA(LossBalancingMethod):
    """Dynamic weight average (Liu, Johns and Davison, CVPR 2019), chapter 9.

    The weights of epoch ``t`` come from the mean losses of epochs ``t-1`` and ``t-2``
    (:func:`weighting.dwa_weights`), read from :attr:`epoch_losses`; they are 1 until two
    epochs have been recorded with :meth:`end_epoch`.

    Parameters
    ----------
    n_tasks : int
    temperature : float
        Softmax temperature ``T`` (default 2.0, as in the paper).
    """

    name = "dwa"

    def __init__(self, n_tasks: int, temperature: float = 2.0):
        super().__init__(n_tasks)
        self.temperature = W._positive_float(temperature, "temperature")
        self.weights = torch.ones(self.n_tasks)

    def _refresh(self):
        t = self.epoch
        if t - 1 in self.epoch_losses and t - 2 in self.epoch_losses:
            self.weights = W.dwa_weights(self.epoch_losses[t - 1], self.epoch_losses[t - 2], self.temperature)
        else:
            self.weights = torch.ones(self.n_tasks)

    def _objective(self, losses):
        w = self.weights.to(losses)
        return (w * losses).sum(), w

    def hyperparameters(self):
        return {"temperature": self.temperature}


class STCH(LossBalancingMethod):
    """Smooth Tchebycheff scalarisation (Lin et al., ICML 2024), chapter 9.

    Until the end of epoch ``warmup_epoch`` it minimises :math:`\\sum_i \\log\\mathcal{L}_i`;
    the mean losses of that epoch become the reference point ``z`` and from the next epoch
    on it minimises :math:`n\\mu\\log\\sum_i\\exp(\\log(\\mathcal{L}_i/z_i)/\\mu)`
    (:func:`weighting.stch_loss`). Both are invariant to the scale of each loss.

    Parameters
    ----------
    n_tasks : int
    mu : float
        Smoothing temperature (default 1.0, as in the radarODE-MTL configuration).
    warmup_epoch : int
        Epoch (0-based) whose mean losses define ``z`` (default 4, as in that configuration).
    """

    name = "stch"

    def __init__(self, n_tasks: int, mu: float = 1.0, warmup_epoch: int = 4):
        super().__init__(n_tasks)
        self.mu = W._positive_float(mu, "mu")
        self.warmup_epoch = _check_epoch(warmup_epoch, "warmup_epoch")
        self.nadir = None

    def _on_epoch_losses(self, epoch):
        if epoch == self.warmup_epoch:
            self.nadir = torch.tensor(self.epoch_losses[epoch])

    def _refresh(self):
        if self.warmup_epoch in self.epoch_losses and self.epoch > self.warmup_epoch:
            self.nadir = torch.tensor(self.epoch_losses[self.warmup_epoch])
        else:
            self.nadir = None

    def _objective(self, losses):
        return W.stch_loss(losses, self.nadir, self.mu), W.stch_weights(losses, self.nadir, self.mu)

    def hyperparameters(self):
        return {"mu": self.mu, "warmup_epoch": self.warmup_epoch}


class RLW(LossBalancingMethod):
    """Random loss weighting (Lin et al., TMLR 2022), chapter 9.

    Draws :math:`w = \\mathrm{softmax}(z)`, :math:`z\\sim\\mathcal N(0, I)`, at every step from
    its own generator (:func:`weighting.rlw_weights`); the weights sum to 1.

    Parameters
    ----------
    n_tasks : int
    seed : int
        Seed of the method's ``torch.Generator`` (default 0); its state is in :meth:`state_dict`.
    generator : torch.Generator, optional
        Use this generator instead of a seeded one.
    """

    name = "rlw"

    def __init__(self, n_tasks: int, seed: int = 0, generator: torch.Generator | None = None):
        super().__init__(n_tasks)
        self.seed = seed
        self.generator = _make_generator(seed, generator)

    def _objective(self, losses):
        w = W.rlw_weights(self.n_tasks, self.generator).to(losses)
        return (w * losses).sum(), w

    def hyperparameters(self):
        return {"seed": self.seed}

    def _extra_state(self):
        return {"generator": self.generator.get_state()}

    def _load_extra_state(self, state):
        self.generator.set_state(state["generator"])


class GradNorm(LossBalancingMethod):
    """GradNorm (Chen, Badrinarayanan, Lee and Rabinovich, ICML 2018), chapter 9.

    The network is updated with :math:`\\sum_i w_i\\mathcal{L}_i`; the weights :math:`w_i`
    descend :func:`weighting.gradnorm_loss` (gradient norms of the last shared layer pulled
    towards a common value scaled by each task's relative training rate to the power
    ``alpha``) with an internal Adam optimiser, then are renormalised to sum to ``n``.
    The reference losses :math:`\\mathcal{L}_i(0)` are those of the first ``backward``.

    Parameters
    ----------
    n_tasks : int
    alpha : float
        Restoring-force asymmetry (default 1.5, the paper's and the authors' default).
    lr : float
        Adam learning rate of the weights (default 0.025).
    gradients : {"params", "representation"}
        Take the gradient norms at the last shared layer, i.e. the last tensor of
        ``shared_params`` with at least two dimensions (pass the backbone's parameters in
        forward order), or at the shared representation (cheaper).
    batched : bool
        Compute the per-task gradients in one batched pass (default) or a loop.
    """

    name = "gradnorm"
    supports_distributed = False

    def __init__(self, n_tasks: int, alpha: float = 1.5, lr: float = 0.025,
                 gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
            raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
        self.alpha = float(alpha)
        self.lr = W._positive_float(lr, "lr")
        self.gradients = _check_gradients(gradients)
        self.batched = _check_bool(batched, "batched")
        self.module = W.GradNormWeights(self.n_tasks)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=self.lr)
        self.initial_losses = None

    def _backward(self, losses, shared, task, representation) -> dict:
        vec = torch.stack(losses)
        matrices = [p for p in shared if p.ndim >= 2]
        layer = [matrices[-1]] if matrices else shared
        rep = representation if isinstance(representation, torch.Tensor) and representation.requires_grad else None
        if self.gradients == "representation":
            grads = [representation_gradients(losses, _check_representation(representation), [])[0]]
        elif rep is not None:
            grads = _batched_vjp(rep, layer, representation_gradients(losses, rep, [])[0], self.batched)
        else:
            grads = task_gradients(losses, layer, batched=self.batched)
        norms = torch.cat([g.reshape(self.n_tasks, -1) for g in grads], dim=1).norm(dim=1).detach()
        current = vec.detach()
        if self.initial_losses is None:
            self.initial_losses = current.clone().cpu()
        module = self.module.to(device=vec.device)
        weights = module.weights.detach().clone()
        # network update with the current weights
        module(vec).backward()
        # weight update: descend the GradNorm loss, then renormalise to sum to n
        self.optimizer.zero_grad(set_to_none=True)
        gn_loss = W.gradnorm_loss(module.weights, norms, current, self.initial_losses.to(current), self.alpha)
        module.weights.grad = torch.autograd.grad(gn_loss, module.weights)[0]
        self.optimizer.step()
        module.renormalise()
        return {"weights": weights.float().cpu(), "grad_norms": norms.float().cpu(),
                "gradnorm_loss": gn_loss.detach().float().cpu()}

    def hyperparameters(self):
        return {"alpha": self.alpha, "lr": self.lr, "gradients": self.gradients, "batched": self.batched}

    def _extra_state(self):
        return {"module": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                "initial_losses": self.initial_losses}

    def _load_extra_state(self, state):
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.initial_losses = state["initial_losses"]


# ============================================================================ gradient balancing


class GradientMethod(MTLMethod):
    """A method that combines the per-task gradients ``G: (n_tasks, n_params)`` into one
    update ``d = f(G)`` replacing their sum (chapters 10-11).

    Parameters
    ----------
    n_tasks : int
    gradients : {"params", "representation"}
        Build ``G`` from the gradients with respect to the shared parameters (default; the
        method as published) or to the shared representation (one row per task, the whole
        representation tensor flattened; much cheaper). In the second mode ``d`` is pushed
        through the backbone with one backward pass of the representation. In the first,
        passing ``shared_representation`` anyway makes the per-task gradients cheaper (see
        the module docstring); the result is the same.
    batched : bool
        Carry the ``n`` per-task cotangents through the backbone in one batched reverse pass
        (default) or in a loop; if an operation cannot be batched, the code warns and loops.
    """

    kind = "gradient"

    def __init__(self, n_tasks: int, gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks)
        self.gradients = _check_gradients(gradients)
        self.batched = _check_bool(batched, "batched")

    def hyperparameters(self):
        return {"gradients": self.gradients, "batched": self.batched}

    def _combine(self, G: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        """Return the update ``d: (n_params,)`` for ``G: (n_tasks, n_params)``."""
        raise NotImplementedError

    def _backward(self, losses, shared, task, representation) -> dict:
        n = self.n_tasks
        vec = torch.stack([l.detach() for l in losses])
        extra = list(task) if task else []
        rep = representation
        if self.gradients == "representation":
            rep = _check_representation(rep)
        elif not (isinstance(rep, torch.Tensor) and rep.requires_grad):
            rep = None
        red = self.reducer
        if rep is not None:
            # stage 1: per-task gradients at the representation, one pass through each head
            rep_rows, head_grads = representation_gradients(losses, rep, extra)
            if self.gradients == "representation":
                G = rep_rows.reshape(n, -1)
                if red is not None:  # every rank's slice of the batch, side by side
                    G = red.gather_columns(G)
                d = self._combine(G, vec)
                d_here = d if red is None else red.local_columns(d)
                shared_update = torch.autograd.grad(rep, shared, d_here.reshape(rep.shape).to(rep.dtype),
                                                    retain_graph=task is None, allow_unused=True)
                if red is not None:
                    shared_update = red.sum_list(shared_update, shared)
            else:
                # stage 2: the n cotangents through the backbone in one batched pass
                grads = _batched_vjp(rep, shared, rep_rows, self.batched)
                G = torch.cat([g.reshape(n, -1) for g in grads], dim=1)
                if red is not None:
                    G = red.sum(G)
                d = self._combine(G, vec)
                shared_update = _unflatten(d, shared)
        else:
            grads = task_gradients(losses, shared + extra, batched=self.batched)
            k = len(shared)
            G = torch.cat([g.reshape(n, -1) for g in grads[:k]], dim=1)
            if red is not None:
                G = red.sum(G)
            d = self._combine(G, vec)
            shared_update = _unflatten(d, shared)
            head_grads = [g.sum(0) for g in grads[k:]]
        if red is not None:
            head_grads = red.sum_list(head_grads, extra)
        if task is None:
            _backward_rest(losses, shared, shared_update)
        else:
            _accumulate(shared, shared_update)
            _accumulate(extra, head_grads)
        with torch.no_grad():
            info = {"weights": _span_coefficients(G, d).float().cpu(),
                    "grad_norms": G.norm(dim=1).float().cpu()}
        info.update(self._diagnostics())
        if red is not None:
            info["_reduced"] = True
        return info

    def _diagnostics(self) -> dict:
        return {}


class EW(GradientMethod):
    """Equal weighting: the update is :math:`\\sum_i \\nabla\\mathcal{L}_i` (chapter 9).

    By default (``gradients=None``) one ordinary backward pass of the summed loss, the
    baseline every method is timed against. With ``gradients="params"`` or
    ``"representation"`` it goes through the gradient-matrix path with
    ``functional.ew(G) = G.sum(0)``, which gives the same result (a check of that path).
    """

    name = "ew"
    kind = "loss"

    def __init__(self, n_tasks: int, gradients: str | None = None, batched: bool = True):
        MTLMethod.__init__(self, n_tasks)
        self.gradients = None if gradients is None else _check_gradients(gradients)
        self.batched = _check_bool(batched, "batched")

    def _backward(self, losses, shared, task, representation) -> dict:
        if self.gradients is None:
            torch.stack(losses).sum().backward()
            return {"weights": torch.ones(self.n_tasks)}
        return super()._backward(losses, shared, task, representation)

    def _combine(self, G, losses):
        return _functional().ew(G)


class PCGrad(GradientMethod):
    """Projecting conflicting gradients (Yu et al., NeurIPS 2020), chapter 10.

    Each task gradient is projected off the normal plane of every other task gradient it
    conflicts with, in random order (:func:`functional.pcgrad`).

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    seed : int
        Seed of the generator that draws the projection order (default 0).
    generator : torch.Generator, optional
        Use this generator instead.
    """

    name = "pcgrad"

    def __init__(self, n_tasks: int, seed: int = 0, generator: torch.Generator | None = None,
                 gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks, gradients, batched)
        self.seed = seed
        self.generator = _make_generator(seed, generator)

    def _combine(self, G, losses):
        return _call(_functional().pcgrad, G, generator=self.generator)

    def hyperparameters(self):
        return {"seed": self.seed, **super().hyperparameters()}

    def _extra_state(self):
        return {"generator": self.generator.get_state()}

    def _load_extra_state(self, state):
        self.generator.set_state(state["generator"])


class GradDrop(PCGrad):
    """Gradient sign dropout (Chen et al., NeurIPS 2020), chapter 10.

    Keeps, per coordinate, only the gradients of one sign, chosen at random with the
    probability given by the sign purity (:func:`functional.graddrop`).

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    leak : float
        Fraction in [0, 1] of a dropped gradient that still passes (default 0).
    seed, generator : see :class:`PCGrad` (the source of the uniform draws).
    """

    name = "graddrop"

    def __init__(self, n_tasks: int, leak: float = 0.0, seed: int = 0,
                 generator: torch.Generator | None = None, gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks, seed=seed, generator=generator, gradients=gradients, batched=batched)
        if isinstance(leak, bool) or not isinstance(leak, (int, float)) or not 0 <= leak <= 1:
            raise ValueError(f"leak must be a number in [0, 1], got {leak!r}")
        self.leak = float(leak)

    def _combine(self, G, losses):
        return _call(_functional().graddrop, G, leak=self.leak, generator=self.generator)

    def hyperparameters(self):
        return {"leak": self.leak, **super().hyperparameters()}


class GradVac(GradientMethod):
    """Gradient vaccine (Wang et al., ICLR 2021), chapter 10.

    Aligns each pair of task gradients towards an exponential moving average of their cosine
    similarity (:func:`functional.gradvac`); the moving averages are in :meth:`state_dict`.

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    beta : float
        EMA rate of the target similarities (default 0.5, the radarODE-MTL configuration).
    seed : int
        Seed of the generator for the random task order.
    """

    name = "gradvac"

    def __init__(self, n_tasks: int, beta: float = 0.5, seed: int = 0,
                 generator: torch.Generator | None = None, gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks, gradients, batched)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta <= 1:
            raise ValueError(f"beta must be a number in [0, 1], got {beta!r}")
        self.beta = float(beta)
        self.seed = seed
        self.generator = _make_generator(seed, generator)
        self.state = None

    def _combine(self, G, losses):
        d, self.state = _call(_functional().gradvac, G, state=self.state, beta=self.beta,
                              generator=self.generator)
        return d

    def hyperparameters(self):
        return {"beta": self.beta, "seed": self.seed, **super().hyperparameters()}

    def _extra_state(self):
        return {"state": self.state, "generator": self.generator.get_state()}

    def _load_extra_state(self, state):
        self.state = state["state"]
        self.generator.set_state(state["generator"])


class CAGrad(GradientMethod):
    """Conflict-averse gradient descent (Liu et al., NeurIPS 2021), chapter 10.

    Maximises the worst task improvement within a ball of radius ``c`` times the mean
    gradient's norm around the mean gradient (:func:`functional.cagrad`).

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    c : float
        Radius factor ``c >= 0`` (default 0.5, the paper's and the authors' setting).
    rescale : bool
        Divide the update by :math:`1 + c^2` as the authors' default does (default True).
    """

    name = "cagrad"

    def __init__(self, n_tasks: int, c: float = 0.5, rescale: bool = True,
                 gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks, gradients, batched)
        if isinstance(c, bool) or not isinstance(c, (int, float)) or c < 0:
            raise ValueError(f"c must be a number >= 0, got {c!r}")
        self.c = float(c)
        self.rescale = _check_bool(rescale, "rescale")

    def _combine(self, G, losses):
        return _call(_functional().cagrad, G, c=self.c, rescale=self.rescale)

    def hyperparameters(self):
        return {"c": self.c, "rescale": self.rescale, **super().hyperparameters()}


class MGDA(GradientMethod):
    """Multiple-gradient descent (Désidéri, 2012; Sener and Koltun, NeurIPS 2018), chapter 10:
    the minimum-norm point of the convex hull of the task gradients (:func:`functional.mgda`)."""

    name = "mgda"

    def _combine(self, G, losses):
        return _functional().mgda(G)


class IMTL(GradientMethod):
    """Impartial MTL, gradient part IMTL-G (Liu et al., ICLR 2021), chapter 10: the update has
    equal projections on every task's unit gradient (:func:`functional.imtl_g`)."""

    name = "imtl"

    def _combine(self, G, losses):
        return _functional().imtl_g(G)


class NashMTL(GradientMethod):
    """Nash-MTL (Navon et al., ICML 2022), chapter 10: the Nash bargaining solution
    :math:`\\alpha_i (G G^\\top \\alpha)_i = 1`, :math:`d = G^\\top\\alpha`
    (:func:`functional.nash_mtl`); :math:`\\lVert d\\rVert^2 = n` before clipping.

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    max_norm : float or None
        Clip the norm of the update to this value (default 1.0, the authors' configuration;
        ``None`` keeps the solution's own scale).
    """

    name = "nash_mtl"

    def __init__(self, n_tasks: int, max_norm: float | None = 1.0, gradients: str = "params",
                 batched: bool = True):
        super().__init__(n_tasks, gradients, batched)
        if max_norm is not None:
            max_norm = W._positive_float(max_norm, "max_norm")
        self.max_norm = max_norm

    def _combine(self, G, losses):
        return _call(_functional().nash_mtl, G, max_norm=self.max_norm)

    def hyperparameters(self):
        return {"max_norm": self.max_norm, **super().hyperparameters()}


class MoCo(GradientMethod):
    """Stochastic multi-objective optimisation with correction, MoCo (Fernando et al., ICLR
    2023), chapter 10: tracked (moving-average) task gradients, each first rescaled to
    :math:`\\mathcal{L}_i g_i/\\lVert g_i\\rVert` as in the authors' implementation, and a
    projected-gradient update of the task weights (:func:`functional.moco`); the tracking
    state is in :meth:`state_dict`.

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    beta, beta_sigma : float
        Tracking rate :math:`\\beta_k = \\beta / k^{\\sigma_\\beta}` (defaults 0.5, 0.5).
    gamma, gamma_sigma : float
        Weight step :math:`\\gamma_k = \\gamma / k^{\\sigma_\\gamma}` (defaults 0.1, 0.5).
    rho : float
        Regularisation of the weight update (default 0). All defaults are the radarODE-MTL
        configuration.

    Only ``gradients="params"``: MoCo tracks a running average of the gradient matrix across
    steps, and a gradient at the shared representation has one coordinate per sample of the
    batch, so its average would mix coordinates of different samples (LibMTL refuses this
    combination too).
    """

    name = "moco"

    def __init__(self, n_tasks: int, beta: float = 0.5, beta_sigma: float = 0.5, gamma: float = 0.1,
                 gamma_sigma: float = 0.5, rho: float = 0.0, gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks, gradients, batched)
        if self.gradients != "params":
            raise ValueError("MoCo needs gradients='params': its running average of the task gradients "
                             "is meaningless on representation gradients, whose coordinates belong to "
                             "different samples at every step")
        values = {"beta": beta, "beta_sigma": beta_sigma, "gamma": gamma, "gamma_sigma": gamma_sigma, "rho": rho}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{key} must be a number >= 0, got {value!r}")
        self.options = {k: float(v) for k, v in values.items()}
        self.state = None

    def _combine(self, G, losses):
        d, self.state = _call(_functional().moco, G, state=self.state, losses=losses, **self.options)
        return d

    def hyperparameters(self):
        return {**self.options, **super().hyperparameters()}

    def _extra_state(self):
        return {"state": self.state}

    def _load_extra_state(self, state):
        self.state = state["state"]


class AlignedMTL(GradientMethod):
    """Aligned-MTL (Senushkin et al., CVPR 2023), chapter 11: the gradient matrix is replaced by
    the nearest one with orthogonal rows of equal norm (the smallest singular value),
    :math:`\\tilde G = \\sigma_{min} U \\Sigma^{-1} U^\\top G`, and the update is its row sum
    (:func:`functional.aligned_mtl`). No hyper-parameters."""

    name = "aligned_mtl"

    def _combine(self, G, losses):
        return _functional().aligned_mtl(G)


class EGA(GradientMethod):
    """Eccentric gradient alignment (Zhang, Yang, Yue and Lim, IEEE TIM 2025; Algorithm 1), chapter 11.

    Aligns the task gradients like Aligned-MTL, then combines the aligned rows with the
    eccentric vector :math:`v_{ecc}` instead of ones: :math:`\\tilde g = \\tilde G^\\top v_{ecc}`
    (:func:`functional.ega`). :math:`v_{ecc} = 1` up to and including the warm-up epoch
    :math:`t_{warm}`, whose mean losses are recorded; from then on, at epoch ``t``,
    :math:`v_{ecc} = n\\,\\mathrm{softmax}\\big(\\mathcal{L}(t-1)/\\mathcal{L}(t_{warm}) / T\\big)`
    (:func:`functional.eccentric_weights`), read from the loss buffers that
    :meth:`end_epoch` fills: the task whose loss has fallen least gets the most weight.

    Parameters
    ----------
    n_tasks, gradients, batched : see :class:`GradientMethod`
    temperature : float
        Softmax temperature ``T > 0`` (default 1.0, the best of Table II; small ``T``
        skews the update more).
    warmup_epoch : int
        :math:`t_{warm}` (0-based; default 4, like the warm-up of STCH in the authors' code).
    variant : {"paper", "official"}
        Which form of the alignment :func:`functional.ega` applies (chapter 11 compares them).
    """

    name = "ega"

    def __init__(self, n_tasks: int, temperature: float = 1.0, warmup_epoch: int = 4,
                 variant: str = "paper", gradients: str = "params", batched: bool = True):
        super().__init__(n_tasks, gradients, batched)
        self.temperature = W._positive_float(temperature, "temperature")
        self.warmup_epoch = _check_epoch(warmup_epoch, "warmup_epoch")
        if variant not in ("paper", "official"):
            raise ValueError(f"variant must be 'paper' or 'official', got {variant!r}")
        self.variant = variant
        self.v_ecc = torch.ones(self.n_tasks)

    @property
    def warm_losses(self):
        """Mean losses of the warm-up epoch, or None before it has ended."""
        return self.epoch_losses.get(self.warmup_epoch)

    def _refresh(self):
        t = self.epoch
        warm = self.warm_losses
        if t > self.warmup_epoch and warm is not None and (t - 1) in self.epoch_losses:
            v = _functional().eccentric_weights(torch.tensor(self.epoch_losses[t - 1]),
                                                torch.tensor(warm), self.temperature)
            self.v_ecc = torch.as_tensor(v, dtype=torch.float32).detach().reshape(-1).clone()
        else:
            self.v_ecc = torch.ones(self.n_tasks)

    def _combine(self, G, losses):
        return _call(_functional().ega, G, self.v_ecc.to(G), variant=self.variant)

    def _diagnostics(self):
        return {"v_ecc": self.v_ecc.clone()}

    def hyperparameters(self):
        return {"temperature": self.temperature, "warmup_epoch": self.warmup_epoch,
                "variant": self.variant, **super().hyperparameters()}


# ============================================================================ registry


#: Registry name -> class, in the order of Table II.
METHODS: dict[str, type[MTLMethod]] = {
    cls.name: cls
    for cls in (EW, UW, GLS, DWA, STCH, RLW, GradNorm, PCGrad, GradDrop, GradVac, CAGrad,
                MGDA, IMTL, NashMTL, MoCo, AlignedMTL, EGA)
}


def get_method(name: str, n_tasks: int, **kwargs) -> MTLMethod:
    """Create the method registered as ``name`` (see :data:`METHODS`) for ``n_tasks`` tasks.

    ``name`` is case-insensitive and may use ``-`` for ``_`` (``"Aligned-MTL"``); the keyword
    arguments are the class's hyper-parameters, e.g.
    ``get_method("ega", n_tasks=3, temperature=1.0, gradients="representation")``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    aliases = {"imtl_g": "imtl", "nashmtl": "nash_mtl", "alignedmtl": "aligned_mtl", "nash": "nash_mtl"}
    key = aliases.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown MTL method {name!r}; valid names: {', '.join(METHODS)}")
    return METHODS[key](n_tasks, **kwargs)


# ============================================================================ per-task gradients

_BATCHING_WARNED = False


def task_gradients(losses: Sequence[torch.Tensor], inputs: Sequence[torch.Tensor],
                   batched: bool = True, retain_graph: bool = True) -> list[torch.Tensor]:
    """Per-task gradients of ``n`` scalar losses with respect to each tensor of ``inputs``.

    One reverse pass with a batch of ``n`` one-hot output gradients,
    ``torch.autograd.grad(stack(losses), inputs, grad_outputs=eye(n), is_grads_batched=True)``,
    which vectorises the ``n`` backward passes (``torch.func.vmap`` underneath). If an
    operation of the graph has no batching rule the call raises, and this function warns once
    and falls back to a loop of ``n`` ordinary ``autograd.grad`` calls (same result, ``n``
    passes). An input that no loss depends on gets zeros.

    Parameters
    ----------
    losses : sequence of ``n`` scalar tensors
    inputs : sequence of tensors requiring gradients (parameters or an intermediate tensor)
    batched : bool
        Try the batched pass (default) or loop directly.
    retain_graph : bool
        Keep the graph for later passes (default True).

    Returns
    -------
    list with one tensor ``(n, *p.shape)`` per input ``p``.
    """
    global _BATCHING_WARNED
    loss_list = list(losses)
    inputs = list(inputs)
    n = len(loss_list)
    grads = None
    if batched and n > 1:
        stacked = torch.stack([l.reshape(()) for l in loss_list])
        eye = torch.eye(n, dtype=stacked.dtype, device=stacked.device)
        try:
            grads = torch.autograd.grad(stacked, inputs, grad_outputs=eye, is_grads_batched=True,
                                        retain_graph=True, allow_unused=True, materialize_grads=True)
        except (RuntimeError, NotImplementedError) as exc:  # an op without a batching rule
            if not _BATCHING_WARNED:
                warnings.warn(f"batched per-task gradients failed ({type(exc).__name__}: {str(exc)[:200]}); "
                              "falling back to one backward pass per task", RuntimeWarning, stacklevel=2)
                _BATCHING_WARNED = True
            grads = None
        if grads is not None:
            return [g.detach() for g in grads]
    rows = []
    for i, loss in enumerate(loss_list):
        keep = retain_graph or i < n - 1
        rows.append(torch.autograd.grad(loss, inputs, retain_graph=keep, allow_unused=True,
                                        materialize_grads=True))
    return [torch.stack([row[j] for row in rows]).detach() for j in range(len(inputs))]


def representation_gradients(losses: Sequence[torch.Tensor], representation: torch.Tensor,
                             task_params: Sequence[torch.Tensor] = ()):
    """Per-task gradients at the shared representation, plus the heads' own gradients.

    One ordinary ``autograd.grad`` per task with respect to ``[representation, *task_params]``:
    with hard parameter sharing each loss reaches only its own head, so the ``n`` passes
    together traverse every head once (a batched pass would traverse all of them ``n``
    times) and never enter the backbone.

    Returns
    -------
    rows : tensor ``(n, *representation.shape)``
        :math:`\\partial \\mathcal{L}_i / \\partial z` for the representation :math:`z`.
    head_grads : list of tensors (or ``None`` where no loss depends on the parameter)
        :math:`\\sum_i \\partial \\mathcal{L}_i / \\partial \\phi` for each task parameter.
    """
    inputs = [representation, *task_params]
    rows = []
    head = [None] * len(task_params)
    for loss in losses:
        grads = torch.autograd.grad(loss, inputs, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(representation) if grads[0] is None else grads[0])
        for j, g in enumerate(grads[1:]):
            if g is not None:
                head[j] = g if head[j] is None else head[j] + g
    return torch.stack(rows).detach(), head


def _batched_vjp(output: torch.Tensor, inputs: Sequence[torch.Tensor], cotangents: torch.Tensor,
                 batched: bool) -> list[torch.Tensor]:
    """``n`` vector-Jacobian products of ``output`` w.r.t. ``inputs`` for ``cotangents (n, *output.shape)``,
    in one batched reverse pass (falling back to a loop, as :func:`task_gradients`)."""
    global _BATCHING_WARNED
    inputs = list(inputs)
    n = cotangents.shape[0]
    cotangents = cotangents.to(output.dtype)
    if batched and n > 1:
        try:
            grads = torch.autograd.grad(output, inputs, grad_outputs=cotangents, is_grads_batched=True,
                                        retain_graph=True, allow_unused=True, materialize_grads=True)
            return [g.detach() for g in grads]
        except (RuntimeError, NotImplementedError) as exc:
            if not _BATCHING_WARNED:
                warnings.warn(f"batched per-task gradients failed ({type(exc).__name__}: {str(exc)[:200]}); "
                              "falling back to one backward pass per task", RuntimeWarning, stacklevel=3)
                _BATCHING_WARNED = True
    rows = [torch.autograd.grad(output, inputs, c, retain_graph=True, allow_unused=True, materialize_grads=True)
            for c in cotangents]
    return [torch.stack([row[j] for row in rows]).detach() for j in range(len(inputs))]


# ============================================================================ helpers


def _functional():
    from . import functional

    return functional


def _call(fn, *args, **kwargs):
    """Call ``fn`` with the keyword arguments it accepts (the functional API's optional knobs)."""
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(*args, **kwargs)


def _check_losses(losses, n_tasks: int) -> list[torch.Tensor]:
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


def _check_params(params, name: str, allow_empty: bool = False) -> list[torch.Tensor]:
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


def _check_representation(rep) -> torch.Tensor:
    if not isinstance(rep, torch.Tensor):
        raise ValueError('shared_representation must be the backbone output tensor when gradients="representation"')
    if not rep.requires_grad:
        raise ValueError("shared_representation does not require grad; pass the backbone output, not a detached copy")
    return rep


def _check_gradients(value) -> str:
    if value not in GRADIENT_TARGETS:
        raise ValueError(f"gradients must be one of {GRADIENT_TARGETS}, got {value!r}")
    return value


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check_epoch(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _make_generator(seed, generator) -> torch.Generator:
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def _unflatten(d: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    sizes = [p.numel() for p in params]
    return [chunk.reshape(p.shape) for chunk, p in zip(torch.split(d, sizes), params)]


def _accumulate(params, grads) -> None:
    """Add ``grads`` to ``.grad`` like ``Tensor.backward`` (``None`` entries are skipped)."""
    for p, g in zip(params, grads):
        if g is None:
            continue
        g = g.detach().to(dtype=p.dtype, device=p.device)
        if p.grad is None:
            p.grad = g.clone()
        else:
            p.grad.add_(g)


def _backward_rest(losses, shared, shared_update) -> None:
    """Give every parameter outside ``shared`` its summed-loss gradient and ``shared`` the update.

    Used when the task-specific parameters are not known: one ordinary backward pass of the
    summed loss reaches them, and the shared parameters' ``.grad`` are restored to what they
    held before plus ``shared_update``.
    """
    before = [None if p.grad is None else p.grad.clone() for p in shared]
    torch.stack(losses).sum().backward()
    for p, old, upd in zip(shared, before, shared_update):
        new = torch.zeros_like(p) if upd is None else upd.detach().to(dtype=p.dtype, device=p.device).clone()
        if old is not None:
            new = new + old
        p.grad = new


def _span_coefficients(G: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Least-squares ``w`` with ``G^T w ≈ d`` (exact when ``d`` lies in the row span of ``G``)."""
    G = G.double()
    gram = G @ G.T
    return torch.linalg.pinv(gram, hermitian=True) @ (G @ d.double())


def _clone(obj):
    """Deep copy with tensors cloned (so a saved state never aliases live buffers)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_clone(v) for v in obj)
    return copy.deepcopy(obj)
