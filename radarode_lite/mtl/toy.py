"""The two-task toy problem of CAGrad, Nash-MTL and Aligned-MTL, vectorised over start points.

Two losses of two parameters :math:`x = (x_1, x_2)` (Liu et al., NeurIPS 2021, Appendix;
reused by Navon et al., ICML 2022 and Senushkin et al., CVPR 2023). Above the axis
(:math:`x_2 > 0`) each loss is a logarithmic valley; below it each is a wide quadratic
bowl; smooth gates switch between the two:

.. math::
    h_1 &= \\log \\max\\big(|0.5(-x_1 - 7) - \\tanh(-x_2)|,\\ 5\\cdot 10^{-6}\\big) + 6, \\\\
    h_2 &= \\log \\max\\big(|0.5(-x_1 + 3) + \\tanh(-x_2) + 2|,\\ 5\\cdot 10^{-6}\\big) + 6, \\\\
    q_1 &= \\big((x_1 - 7)^2 + 0.1 (x_2 + 8)^2\\big)/10 - 20, \\qquad
    q_2 = \\big((x_1 + 7)^2 + 0.1 (x_2 + 8)^2\\big)/10 - 20, \\\\
    f_i &= s_i\\,\\big(h_i \\max(\\tanh(x_2/2), 0) + q_i \\max(\\tanh(-x_2/2), 0)\\big),

with optional loss scales :math:`s_i` (the "unequal magnitude" variant). Each unscaled loss
is larger than :math:`-20`. The Pareto set lies in the lower half-plane, on the curve
computed by :func:`pareto_set`: :math:`x_1 \\in [-7, 7]` and :math:`x_2` between
:math:`-8.355` (at :math:`x_1 = 0`) and :math:`-8.434` (at :math:`x_1 = \\pm 7`).

Taught in chapters 10 and 11.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from radarode_lite._checks import choice, integer, positive_int
from radarode_lite.mtl import functional as F

__all__ = [
    "CLAMP",
    "LOSS_LOWER_BOUND",
    "START_POINTS",
    "METHODS",
    "toy_losses",
    "toy_gradients",
    "pareto_set",
    "update_rule",
    "run_trajectories",
    "run_methods",
    "draw_landscape",
    "draw_front",
]

#: Floor of the absolute value inside the logarithmic valleys.
CLAMP = 5e-6
#: Every unscaled toy loss is larger than this value (the bowls' minimum is -20).
LOSS_LOWER_BOUND = -20.0
#: The five start points used in the CAGrad paper's toy figure, shape (5, 2).
START_POINTS = torch.tensor([[-8.5, 7.5], [0.0, 0.0], [9.0, 9.0], [-7.5, -0.5], [9.0, -1.0]],
                            dtype=torch.float64)
#: Method names understood by :func:`update_rule`.
METHODS = ("EW", "PCGrad", "GradDrop", "GradVac", "CAGrad", "MGDA", "IMTL-G", "Nash-MTL",
           "MoCo", "Aligned-MTL", "EGA")


def toy_losses(x: torch.Tensor, scales: Sequence[float] = (1.0, 1.0)) -> torch.Tensor:
    """The two toy losses at every point of ``x``: (..., 2) -> (..., 2).

    Parameters
    ----------
    x : torch.Tensor, shape (..., 2)
        Parameter points :math:`(x_1, x_2)`, any batch shape.
    scales : pair of float
        Loss scales :math:`(s_1, s_2)`.

    Returns
    -------
    torch.Tensor, shape (..., 2)
        :math:`(f_1, f_2)` at each point.

    Taught in chapter 10.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (..., 2), got {type(x).__name__}")
    if x.dim() < 1 or x.shape[-1] != 2:
        raise ValueError(f"x must have shape (..., 2), got {tuple(x.shape)}")
    s = _scales(scales).to(dtype=x.dtype if x.is_floating_point() else torch.float64)
    x1, x2 = x[..., 0], x[..., 1]
    h1 = torch.clamp((0.5 * (-x1 - 7) - torch.tanh(-x2)).abs(), CLAMP).log() + 6
    h2 = torch.clamp((0.5 * (-x1 + 3) + torch.tanh(-x2) + 2).abs(), CLAMP).log() + 6
    q1 = ((x1 - 7) ** 2 + 0.1 * (x2 + 8) ** 2) / 10 - 20
    q2 = ((x1 + 7) ** 2 + 0.1 * (x2 + 8) ** 2) / 10 - 20
    upper = torch.clamp(torch.tanh(0.5 * x2), min=0)
    lower = torch.clamp(torch.tanh(-0.5 * x2), min=0)
    return torch.stack([h1 * upper + q1 * lower, h2 * upper + q2 * lower], dim=-1) * s


def toy_gradients(x: torch.Tensor, scales: Sequence[float] = (1.0, 1.0)):
    """Losses and per-task gradients at a batch of points, in closed form.

    The derivatives are written out (chain rule through the gates and the clamped
    logarithms, with torch's convention that a clamp passes the gradient at its boundary),
    which is several times faster than autograd for many small steps; a test checks them
    against autograd.

    Parameters
    ----------
    x : torch.Tensor, shape (B, 2)
    scales : pair of float

    Returns
    -------
    losses : torch.Tensor, shape (B, 2)
    G : torch.Tensor, shape (B, 2, 2)
        ``G[b]`` is the gradient matrix (task x parameter) at point ``b``.

    Taught in chapter 10.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be a tensor of shape (B, 2), got {getattr(x, 'shape', type(x))}")
    x = x.detach()
    s = _scales(scales).to(x.dtype)
    x1, x2 = x[:, 0], x[:, 1]
    t2 = torch.tanh(x2)
    r = torch.stack([-0.5 * x1 - 3.5 + t2, -0.5 * x1 + 3.5 - t2], dim=1)  # inside |.|
    active = r.abs() >= CLAMP
    inv_r = torch.where(active, 1.0 / torch.where(active, r, torch.ones_like(r)), torch.zeros_like(r))
    h = torch.clamp(r.abs(), CLAMP).log() + 6
    dh1 = -0.5 * inv_r
    dh2 = torch.stack([inv_r[:, 0], -inv_r[:, 1]], dim=1) * (1 - t2**2)[:, None]
    bowl = 0.01 * (x2 + 8) ** 2
    q = torch.stack([(x1 - 7) ** 2 / 10, (x1 + 7) ** 2 / 10], dim=1) + (bowl - 20)[:, None]
    dq1 = torch.stack([(x1 - 7) / 5, (x1 + 7) / 5], dim=1)
    dq2 = (0.02 * (x2 + 8))[:, None]
    th = torch.tanh(0.5 * x2)
    upper, lower = torch.clamp(th, min=0)[:, None], torch.clamp(-th, min=0)[:, None]
    slope = 0.5 * (1 - th**2)
    d_upper = torch.where(x2 >= 0, slope, torch.zeros_like(slope))[:, None]
    d_lower = torch.where(x2 <= 0, -slope, torch.zeros_like(slope))[:, None]
    losses = (h * upper + q * lower) * s
    g1 = (dh1 * upper + dq1 * lower) * s
    g2 = (dh2 * upper + h * d_upper + dq2 * lower + q * d_lower) * s
    return losses, torch.stack([g1, g2], dim=2)


def pareto_set(n_points: int = 101) -> torch.Tensor:
    """Points of the toy problem's Pareto set, shape (n_points, 2), for :math:`x_1` in [-7, 7].

    In the lower half-plane :math:`f_i = \\tanh(-x_2/2)\\,q_i`. A convex combination
    :math:`\\lambda \\nabla f_1 + (1-\\lambda) \\nabla f_2 = 0` needs
    :math:`\\lambda = (x_1+7)/14` (first coordinate), and then the second coordinate vanishes
    where

    .. math:: -\\tfrac12 \\operatorname{sech}^2(x_2/2)\\big(a + 0.01(x_2+8)^2\\big)
              + 0.02 \\tanh(-x_2/2)(x_2 + 8) = 0, \\qquad a = (49 - x_1^2)/10 - 20,

    solved for :math:`x_2` with Brent's method. Taught in chapter 10.
    """
    integer(n_points, "n_points", low=2)
    return _pareto_set(n_points).clone()


@functools.lru_cache(maxsize=8)
def _pareto_set(n_points: int) -> torch.Tensor:
    from scipy.optimize import brentq

    def stationarity(x2, a):
        return (-0.5 / math.cosh(x2 / 2) ** 2 * (a + 0.01 * (x2 + 8) ** 2)
                + 0.02 * math.tanh(-x2 / 2) * (x2 + 8))

    x1 = np.linspace(-7.0, 7.0, n_points)
    x2 = [brentq(stationarity, -12.0, -8.0, args=((49 - v**2) / 10 - 20,), xtol=1e-14) for v in x1]
    return torch.tensor(np.stack([x1, x2], axis=1))


def update_rule(name: str, generator: torch.Generator | None = None, **options) -> Callable:
    """A fresh update rule ``d = rule(G, losses)`` for one trajectory of the named method.

    Stateless methods call the function of :mod:`radarode_lite.mtl.functional` of the same
    name; stateful ones (GradVac, MoCo, EGA) keep their state inside the returned closure, so
    each start point needs its own rule. ``losses`` must be positive (e.g. the toy losses
    minus :data:`LOSS_LOWER_BOUND` times the scales); only EGA uses them: the eccentric vector
    is uniform until ``warm_step`` (default 0), where the losses are recorded, and afterwards
    :func:`~radarode_lite.mtl.functional.eccentric_weights` of the previous step's losses with
    ``temperature`` (default 1.0). Other ``options`` are passed to the method (e.g. ``c``
    for CAGrad, ``variant`` for EGA).

    Parameters
    ----------
    name : one of :data:`METHODS`
    generator : torch.Generator, optional
        For the random methods (PCGrad, GradDrop, GradVac).

    Returns
    -------
    callable (G: (n_tasks, n_params), losses: (n_tasks,)) -> d: (n_params,)

    Taught in chapters 10 and 11.
    """
    choice(name, "name", METHODS)
    simple = {"EW": F.ew, "CAGrad": F.cagrad, "MGDA": F.mgda, "IMTL-G": F.imtl_g,
              "Nash-MTL": F.nash_mtl, "Aligned-MTL": F.aligned_mtl}
    if name in simple:
        function = simple[name]
        return lambda G, losses=None: function(G, **options)
    if name in ("PCGrad", "GradDrop"):
        function = F.pcgrad if name == "PCGrad" else F.graddrop
        return lambda G, losses=None: function(G, generator=generator, **options)
    memory: dict = {"state": None, "step": 0, "warm": None, "previous": None}
    if name in ("GradVac", "MoCo"):
        function = F.gradvac if name == "GradVac" else F.moco
        extra = {"generator": generator} if name == "GradVac" else {}

        def stateful(G, losses=None):
            d, memory["state"] = function(G, state=memory["state"], **extra, **options)
            return d

        return stateful
    temperature = options.pop("temperature", 1.0)
    warm_step = options.pop("warm_step", 0)

    def eccentric(G, losses):
        losses = torch.as_tensor(losses, dtype=torch.float64)
        if memory["step"] == warm_step:
            memory["warm"] = losses.clone()
        if memory["step"] > warm_step:
            v = F.eccentric_weights(memory["previous"], memory["warm"], temperature)
        else:
            v = torch.ones(G.shape[0], dtype=torch.float64)
        memory["previous"] = losses.clone()
        memory["step"] += 1
        return F.ega(G, v, **options)

    return eccentric


def run_trajectories(
    name: str,
    starts: torch.Tensor = START_POINTS,
    n_steps: int = 300,
    lr: float = 0.1,
    scales: Sequence[float] = (1.0, 1.0),
    optimizer: str = "adam",
    seed: int = 0,
    **options,
) -> dict:
    """Optimise the toy problem from every start point at once with one method.

    Every step evaluates the losses and gradients of all start points in one batch
    (:func:`toy_gradients`), lets each start point's update rule (:func:`update_rule`)
    combine its gradient matrix into ``d``, and takes an Adam step (default; Kingma & Ba,
    2015, betas (0.9, 0.999), as in the papers' toy experiments) or a plain gradient step
    with ``d`` in place of the gradient of ``x``. Update rules receive the positive losses
    :math:`f_i - s_i \\cdot` :data:`LOSS_LOWER_BOUND`.

    Parameters
    ----------
    name : one of :data:`METHODS`
    starts : torch.Tensor, shape (B, 2)
    n_steps : int
    lr : float
        Learning rate.
    scales : pair of float
        Loss scales :math:`(s_1, s_2)`.
    optimizer : {"adam", "sgd"}
    seed : int
        Seed of the random methods.
    **options
        Passed to :func:`update_rule`.

    Returns
    -------
    dict with ``"x"`` (n_steps + 1, B, 2) and ``"losses"`` (n_steps + 1, B, 2), float64.

    Taught in chapters 10 and 11.
    """
    return run_methods([name], starts, n_steps, lr, scales, optimizer, seed, {name: options})[name]


def run_methods(
    names: Sequence[str] = METHODS,
    starts: torch.Tensor = START_POINTS,
    n_steps: int = 300,
    lr: float = 0.1,
    scales: Sequence[float] = (1.0, 1.0),
    optimizer: str = "adam",
    seed: int = 0,
    options: dict | None = None,
) -> dict:
    """:func:`run_trajectories` for several methods at once, batching all their points.

    ``options`` maps a name to its keyword options. A name that is not one of
    :data:`METHODS` is a label, and its options must say which method it runs, e.g.
    ``names=["EGA T=0.1"], options={"EGA T=0.1": {"method": "EGA", "temperature": 0.1}}``.
    Returns a dict mapping each name to its ``{"x", "losses"}`` result. Taught in chapters
    10 and 11.
    """
    if isinstance(names, str):
        raise TypeError("names must be a sequence of method names; use run_trajectories for one")
    if not isinstance(starts, torch.Tensor) or starts.dim() != 2 or starts.shape[1] != 2:
        raise ValueError(f"starts must be a tensor of shape (B, 2), got {getattr(starts, 'shape', type(starts))}")
    positive_int(n_steps, "n_steps")
    choice(optimizer, "optimizer", ("adam", "sgd"))
    options = options or {}
    s = _scales(scales)
    n_starts = starts.shape[0]
    rules = []
    for name in names:  # one generator per method: results do not depend on the other methods run
        method_options = dict(options.get(name, {}))
        method = method_options.pop("method", name)
        if method not in METHODS:
            raise ValueError(f"{name!r} is not one of {METHODS}; give its method in options[{name!r}]['method']")
        generator = torch.Generator().manual_seed(seed * len(METHODS) + METHODS.index(method))
        rules.extend(update_rule(method, generator=generator, **method_options) for _ in range(n_starts))
    x = starts.detach().to(torch.float64).repeat(len(names), 1)
    path, loss_path = [x.clone()], []
    offset = -LOSS_LOWER_BOUND * s
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    for step in range(1, n_steps + 1):
        losses, G = toy_gradients(x, s)
        loss_path.append(losses)
        d = torch.stack([rule(G[b], losses[b] + offset) for b, rule in enumerate(rules)])
        if optimizer == "adam":
            m = 0.9 * m + 0.1 * d
            v = 0.999 * v + 0.001 * d * d
            x = x - lr * (m / (1 - 0.9**step)) / ((v / (1 - 0.999**step)).sqrt() + 1e-8)
        else:
            x = x - lr * d
        path.append(x.clone())
    loss_path.append(toy_losses(x, s))
    xs, ls = torch.stack(path), torch.stack(loss_path)
    return {name: {"x": xs[:, k * n_starts:(k + 1) * n_starts], "losses": ls[:, k * n_starts:(k + 1) * n_starts]}
            for k, name in enumerate(names)}


def draw_landscape(ax, scales: Sequence[float] = (1.0, 1.0), extent: float = 10.0, levels: int = 20):
    """Contours of :math:`f_1 + f_2` over the parameter plane, with the Pareto set in black.

    ``ax`` is a matplotlib axes; returns it. Taught in chapters 10 and 11.
    """
    grid = torch.linspace(-extent, extent, 121, dtype=torch.float64)
    X1, X2 = torch.meshgrid(grid, grid, indexing="xy")
    total = toy_losses(torch.stack([X1, X2], dim=-1), scales).sum(-1)
    ax.contour(X1.numpy(), X2.numpy(), total.numpy(), levels=levels, colors="0.65", linewidths=0.5,
               linestyles="solid")
    P = pareto_set(101).numpy()
    ax.plot(P[:, 0], P[:, 1], color="k", lw=2.5, ls="-", label="Pareto set")
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def draw_front(ax, scales: Sequence[float] = (1.0, 1.0)):
    """The Pareto front :math:`(f_1, f_2)` of the Pareto set, in black; returns ``ax``.

    Taught in chapters 10 and 11.
    """
    F_front = toy_losses(pareto_set(101), scales).numpy()
    ax.plot(F_front[:, 0], F_front[:, 1], color="k", lw=2.5, ls="-", label="Pareto front")
    ax.set_xlabel("$f_1$")
    ax.set_ylabel("$f_2$")
    return ax


def _scales(scales) -> torch.Tensor:
    s = torch.as_tensor(scales, dtype=torch.float64)
    if s.shape != (2,) or not bool(torch.all(torch.isfinite(s) & (s > 0))):
        raise ValueError(f"scales must be two positive finite numbers, got {scales!r}")
    return s
