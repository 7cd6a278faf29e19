"""The gradient methods: the task-gradient matrix ``G`` and the update ``d = f(G)`` that
replaces its row sum (chapters 10-11).

:class:`GradientMethod` builds ``G: (n_tasks, n_params)`` (with the machinery of
:mod:`radarode_lite.mtl.per_task`), calls ``_combine(G, losses)`` (a function of
:mod:`radarode_lite.mtl.functional`) and writes ``d`` into the shared parameters' ``.grad``;
the subclasses are EW (chapter 9's baseline, also through this path), PCGrad, GradDrop,
GradVac, CAGrad, MGDA, IMTL, Nash-MTL, MoCo (chapter 10), Aligned-MTL and EGA (chapter 11).

Across processes the collectives of :attr:`MTLMethod.reduction` (see
:mod:`radarode_lite.mtl.interface`) are called at the points where the step needs them: the
rows of ``G`` are summed over the processes (``gradients="params"``) or their columns put
side by side (``gradients="representation"``, then this process's slice of ``d`` goes
through its backbone and the resulting gradients are summed), and the heads' gradients are
summed. In one process every collective returns its input.

Import the classes from :mod:`radarode_lite.mtl` (or :mod:`radarode_lite.mtl.methods`).
"""

from __future__ import annotations

import inspect

import torch

from radarode_lite._checks import boolean, choice, fraction, non_negative, non_negative_int, positive

from .interface import GRADIENT_TARGETS, MTLMethod, check_representation, make_generator
from .per_task import (accumulate, backward_rest, batched_vjp, check_batched, representation_gradients,
                       span_coefficients, task_gradients, unflatten)

__all__ = ["GradientMethod", "EW", "PCGrad", "GradDrop", "GradVac", "CAGrad", "MGDA", "IMTL", "NashMTL",
           "MoCo", "AlignedMTL", "EGA"]


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
        :mod:`radarode_lite.mtl.per_task`); the result is the same.
    batched : bool or None
        Carry the ``n`` per-task cotangents through the backbone in one batched reverse pass
        (True) or in a loop of ``n`` passes (False); None (default): batched on a GPU, the loop
        on the CPU, where it is the faster for the book's networks and gives the same
        gradients. If an operation cannot be batched, the code warns and loops.
    """

    kind = "gradient"

    def __init__(self, n_tasks: int, gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks)
        self.gradients = choice(gradients, "gradients", GRADIENT_TARGETS)
        self.batched = check_batched(batched)

    def hyperparameters(self):
        return {"gradients": self.gradients, "batched": self.batched}

    def _combine(self, G: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        """Return the update ``d: (n_params,)`` for ``G: (n_tasks, n_params)``."""
        raise NotImplementedError

    def _backward(self, losses, shared, task, representation) -> dict:
        heads = list(task) if task else []
        vec = torch.stack([l.detach() for l in losses])
        if self.gradients == "representation":
            G, d, shared_update, head_grads = self._step_at_representation(
                losses, shared, heads, representation, vec, keep_graph=task is None)
        else:
            G, d, shared_update, head_grads = self._step_at_params(losses, shared, heads, representation, vec)
        head_grads = self.reduction.sum_list(head_grads, heads)
        if task is None:
            backward_rest(losses, shared, shared_update)
        else:
            accumulate(shared, shared_update)
            accumulate(heads, head_grads)
        with torch.no_grad():
            info = {"weights": span_coefficients(G, d).float().cpu(),
                    "grad_norms": G.norm(dim=1).float().cpu()}
        info.update(self._diagnostics())
        return info

    def _step_at_representation(self, losses, shared, heads, representation, vec, keep_graph):
        """``G`` at the representation (every process's columns side by side); this process's
        slice of ``d`` goes through the backbone, and the parameter gradients are summed."""
        red = self.reduction
        rep = check_representation(representation)
        rows, head_grads = representation_gradients(losses, rep, heads)
        G = red.gather_columns(rows.reshape(self.n_tasks, -1))
        d = self._combine(G, vec)
        cotangent = red.local_columns(d).reshape(rep.shape).to(rep.dtype)
        update = torch.autograd.grad(rep, shared, cotangent, retain_graph=keep_graph, allow_unused=True)
        return G, d, red.sum_list(update, shared), head_grads

    def _step_at_params(self, losses, shared, heads, representation, vec):
        """``G`` at the shared parameters, summed over processes: in two stages through the
        representation when one is given, else one batched pass from the losses."""
        rep = representation
        if isinstance(rep, torch.Tensor) and rep.requires_grad:
            rows, head_grads = representation_gradients(losses, rep, heads)
            grads = batched_vjp(rep, shared, rows, self.batched)
        else:
            grads = task_gradients(losses, shared + heads, batched=self.batched)
            grads, head_grads = grads[:len(shared)], [g.sum(0) for g in grads[len(shared):]]
        G = self.reduction.sum(torch.cat([g.reshape(self.n_tasks, -1) for g in grads], dim=1))
        d = self._combine(G, vec)
        return G, d, unflatten(d, shared), head_grads

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

    def __init__(self, n_tasks: int, gradients: str | None = None, batched: bool | None = None):
        MTLMethod.__init__(self, n_tasks)
        self.gradients = None if gradients is None else choice(gradients, "gradients", GRADIENT_TARGETS)
        self.batched = check_batched(batched)

    def _backward(self, losses, shared, task, representation) -> dict:
        if self.gradients is None:
            self._backward_scalar(torch.stack(losses).sum(), shared, task)
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
                 gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks, gradients, batched)
        self.seed = seed
        self.generator = make_generator(seed, generator)

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
                 generator: torch.Generator | None = None, gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks, seed=seed, generator=generator, gradients=gradients, batched=batched)
        self.leak = fraction(leak, "leak")

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
                 generator: torch.Generator | None = None, gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks, gradients, batched)
        self.beta = fraction(beta, "beta")
        self.seed = seed
        self.generator = make_generator(seed, generator)
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
                 gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks, gradients, batched)
        self.c = non_negative(c, "c")
        self.rescale = boolean(rescale, "rescale")

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
                 batched: bool | None = None):
        super().__init__(n_tasks, gradients, batched)
        if max_norm is not None:
            max_norm = positive(max_norm, "max_norm")
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
                 gamma_sigma: float = 0.5, rho: float = 0.0, gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks, gradients, batched)
        if self.gradients != "params":
            raise ValueError("MoCo needs gradients='params': its running average of the task gradients "
                             "is meaningless on representation gradients, whose coordinates belong to "
                             "different samples at every step")
        values = {"beta": beta, "beta_sigma": beta_sigma, "gamma": gamma, "gamma_sigma": gamma_sigma, "rho": rho}
        self.options = {key: non_negative(value, key) for key, value in values.items()}
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
                 variant: str = "paper", gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks, gradients, batched)
        self.temperature = positive(temperature, "temperature")
        self.warmup_epoch = non_negative_int(warmup_epoch, "warmup_epoch")
        self.variant = choice(variant, "variant", ("paper", "official"))
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
