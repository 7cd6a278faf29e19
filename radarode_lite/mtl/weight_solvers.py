"""Gradient methods that solve a small problem over task weights (chapter 10).

CAGrad, MGDA (with :func:`mgda_weights`), IMTL-G, Nash-MTL (with :func:`nash_weights`) and
MoCo as pure functions of the gradient matrix ``G: (n_tasks, n_params)``, with the scale
conventions of :mod:`radarode_lite.mtl.functional`, which re-exports every one of them: use
them as ``functional.cagrad`` etc. Each reduces the method to an ``(n, n)`` problem on the
Gram matrix, solved in float64 by the helpers of :mod:`radarode_lite.mtl._linalg`; ``d`` has
the dtype and device of ``G``.

Taught in chapter 10.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from radarode_lite._checks import gradient_matrix as _gradient_matrix
from radarode_lite._checks import non_negative, positive_int
from radarode_lite._checks import task_vector as _vector

from ._linalg import cagrad_dual as _cagrad_dual
from ._linalg import combine as _combine
from ._linalg import gram as _gram
from ._linalg import mgda_alpha as _mgda_alpha
from ._linalg import min_norm_weights as _min_norm_weights
from ._linalg import nash_newton as _nash_newton
from ._linalg import project_simplex as _project_simplex
from ._linalg import quadratic as _quadratic

__all__ = ["cagrad", "mgda", "mgda_weights", "imtl_g", "nash_weights", "nash_mtl", "moco"]


# --------------------------------------------------------------------------------------


def cagrad(G, c: float = 0.5, rescale: bool = True) -> torch.Tensor:
    """CAGrad, conflict-averse gradient descent (Liu et al., NeurIPS 2021, Algorithm 1).

    With the mean gradient :math:`g_0 = \\frac1n \\sum_i g_i`, CAGrad seeks the direction that
    maximises the worst task's improvement within a ball around :math:`g_0`,

    .. math:: \\max_{d}\\ \\min_i\\ g_i \\cdot d \\quad \\text{s.t.} \\quad
              \\|d - g_0\\| \\le c\\, \\|g_0\\| ,

    through its dual over the simplex :math:`\\Delta`,

    .. math:: w^* = \\arg\\min_{w \\in \\Delta}\\ g_w \\cdot g_0 + \\phi\\, \\|g_w\\|, \\qquad
              g_w = G^\\top w, \\quad \\phi = c\\, \\|g_0\\|,

    whose solution gives :math:`d^* = g_0 + \\phi\\, g_w / \\|g_w\\|` (on the ball's boundary).
    The dual is solved in closed form for two tasks (a convex problem in one variable whose
    stationarity condition is a quadratic equation) and otherwise with SLSQP followed by an
    exact solve of the stationarity equations on the active face. Scale convention: the
    returned update is :math:`n\\, d^*/(1+c^2)` (``rescale=True``, the divisor of the authors'
    default ``rescale=1``) or :math:`n\\, d^*`; with ``c = 0`` it is the summed gradient.
    If :math:`g_{w^*} = 0` (the gradients are Pareto-stationary) the direction term is
    undefined: for :math:`c \\ge 1` the ball contains 0 and the zero update is returned (it
    raises no loss, as the paper's analysis of :math:`c \\ge 1` requires); for
    :math:`c < 1` the scaled mean gradient :math:`n g_0 / (1+c^2)`.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    c : float >= 0
        Radius of the ball relative to :math:`\\|g_0\\|` (the paper uses 0.4-0.5).
    rescale : bool
        Divide by :math:`1 + c^2` as in the authors' code.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    non_negative(c, "c")
    n = G.shape[0]
    M = _gram(G)
    scale = float(np.max(np.diag(M)))
    if scale == 0:
        return torch.zeros_like(G[0])
    divisor = (1 + c**2) if rescale else 1.0
    A = M / scale
    if c >= 1 and math.sqrt(_quadratic(A, _min_norm_weights(A))) <= 1e-7:
        # Pareto-stationary G (0 in the convex hull of the rows): the ball around g_0 holds 0
        # and no direction improves every task, so the best worst-case improvement, 0, is
        # reached by d = 0 (the dual's direction g_w / |g_w| is then undefined)
        return torch.zeros_like(G[0])
    b = A.mean(axis=1)
    g0_norm = math.sqrt(max(float(b.mean()), 0.0))  # |g_0| / sqrt(scale)
    phi = c * g0_norm
    w = _cagrad_dual(A, b, phi)
    gw_norm = math.sqrt(_quadratic(A, w))  # |g_w| / sqrt(scale)
    weights = np.full(n, 1.0 / n)  # d = G^T weights, starting from g_0
    if c > 0 and gw_norm > 1e-12:
        weights = weights + (c * g0_norm / gw_norm) * w
    return _combine(torch.from_numpy(n * weights / divisor), G)


def mgda(G) -> torch.Tensor:
    """MGDA: :math:`n` times the minimum-norm point of the convex hull of the gradients.

    .. math:: \\alpha^* = \\arg\\min_{\\alpha \\in \\Delta} \\|G^\\top \\alpha\\|^2, \\qquad
              d = n\\, G^\\top \\alpha^*

    (Désidéri, C. R. Math. 2012; Sener & Koltun, NeurIPS 2018). The minimum-norm point
    :math:`u = G^\\top\\alpha^*` satisfies :math:`g_i \\cdot u \\ge \\|u\\|^2` for every task, so
    ``-d`` is a descent direction for all tasks at once, and :math:`u = 0` exactly when the
    gradients are Pareto-stationary (e.g. a zero row, or two opposite rows). The factor
    :math:`n` makes ``d`` the sum when all rows are equal. See :func:`mgda_weights`.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    alpha = _mgda_alpha(G)
    return _combine(G.shape[0] * alpha, G)


def mgda_weights(G) -> torch.Tensor:
    """Weights :math:`\\alpha^*` on the simplex of MGDA's minimum-norm point (float64, (n_tasks,)).

    Solved exactly: in closed form for two tasks,
    :math:`\\alpha_1 = \\mathrm{clip}\\big((g_2 - g_1)\\cdot g_2 / \\|g_1 - g_2\\|^2, 0, 1\\big)`,
    and otherwise by solving the equality-constrained problem on every face of the simplex
    (its KKT system) and keeping the feasible solution of least norm (up to 12 tasks;
    projected gradient iterations beyond). Computed in float64 on the Gram matrix scaled by
    its largest diagonal entry. When the minimum-norm point is not unique in weights (linearly
    dependent rows), one minimiser is returned. Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    return _mgda_alpha(G)


def imtl_g(G) -> torch.Tensor:
    """IMTL-G, impartial gradient weighting (Liu et al., ICLR 2021, Section 3.2).

    Find weights :math:`\\alpha` with :math:`\\sum_i \\alpha_i = 1` such that
    :math:`g = G^\\top \\alpha` has equal projections on every unit gradient
    :math:`u_i = g_i/\\|g_i\\|`: :math:`g \\cdot u_i = g \\cdot u_j` for all :math:`i, j`.
    Writing :math:`g = U^\\top \\beta` with the unit rows :math:`U`, the condition
    :math:`U g = t\\mathbf{1}` gives :math:`\\beta \\propto (U U^\\top)^{+}\\mathbf{1}` and
    :math:`\\alpha_i \\propto \\beta_i / \\|g_i\\|`; this is the paper's closed form, computed on
    unit rows so that gradients of very different magnitudes stay well conditioned (the
    pseudo-inverse, as in torchjd's generalisation, handles dependent rows). Zero rows get
    weight 0; if the weights cannot be normalised (:math:`\\sum_i \\alpha_i \\approx 0`) the
    update is zero. Returns :math:`d = n\\, G^\\top \\alpha`.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    n = G.shape[0]
    G64 = G.to(torch.float64)
    norms = torch.linalg.vector_norm(G64, dim=1)
    nonzero = norms > 0
    if not bool(nonzero.any()):
        return torch.zeros_like(G[0])
    U = G64[nonzero] / norms[nonzero, None]
    A = _gram(U)
    beta = np.linalg.pinv(A, rcond=A.shape[0] * 1e-12, hermitian=True) @ np.ones(A.shape[0])
    raw = torch.zeros(n, dtype=torch.float64)
    raw[nonzero.cpu()] = torch.from_numpy(beta) / norms[nonzero].cpu()
    total = raw.sum()
    if abs(float(total)) <= 1e-12 * float(raw.abs().sum()):
        return torch.zeros_like(G[0])
    return _combine(n * raw / total, G)


def nash_weights(G, max_iter: int = 100, tol: float = 1e-20) -> torch.Tensor:
    """Nash-MTL weights: the positive solution of :math:`\\alpha_i (G G^\\top \\alpha)_i = 1`.

    Navon et al. (ICML 2022, Section 3) define the Nash bargaining update
    :math:`d = G^\\top \\alpha` by :math:`G G^\\top \\alpha = 1/\\alpha` (element-wise). This is
    the stationarity condition of the strictly convex problem

    .. math:: \\min_{\\alpha > 0}\\ \\tfrac12 \\alpha^\\top G G^\\top \\alpha - \\sum_i \\log \\alpha_i ,

    solved here exactly by damped Newton iterations (the objective is self-concordant, so the
    step :math:`1/(1+\\lambda)` with Newton decrement :math:`\\lambda` keeps :math:`\\alpha > 0`
    and converges globally), instead of the paper's sequence of convex approximations.
    Rows are first scaled to unit norm: if :math:`g_i \\to c_i g_i` then
    :math:`\\alpha_i \\to \\alpha_i / c_i` and :math:`d` is unchanged, which the solver uses to
    stay well conditioned. A ridge of :math:`10^{-12}` on the unit-row Gram matrix keeps the
    problem bounded when the gradients are Pareto-stationary (then :math:`d \\to 0`); rows of
    zeros get weight 0 (their bargaining condition cannot hold).

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    max_iter : int
        Newton iterations at most.
    tol : float
        Stop when the squared Newton decrement falls below ``tol``.

    Returns
    -------
    torch.Tensor (float64), shape (n_tasks,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    positive_int(max_iter, "max_iter")
    non_negative(tol, "tol")
    G64 = G.to(torch.float64)
    norms = torch.linalg.vector_norm(G64, dim=1)
    nonzero = norms > 0
    alpha = torch.zeros(G.shape[0], dtype=torch.float64)
    if not bool(nonzero.any()):
        return alpha.to(G.device)
    U = G64[nonzero] / norms[nonzero, None]
    A = _gram(U) + 1e-12 * np.eye(int(nonzero.sum()))
    beta = _nash_newton(A, max_iter, tol)
    alpha[nonzero.cpu()] = torch.from_numpy(beta) / norms[nonzero].cpu()
    return alpha.to(G.device)


def nash_mtl(G, max_norm: float | None = None, max_iter: int = 100) -> torch.Tensor:
    """Nash-MTL update :math:`d = G^\\top \\alpha` with :math:`\\alpha` from :func:`nash_weights`.

    Navon et al., ICML 2022. The update keeps the paper's scale, :math:`\\|d\\|^2 =
    \\alpha^\\top G G^\\top \\alpha = n` (one task: :math:`d = g/\\|g\\|`), and it is invariant
    to rescaling any task's loss. ``max_norm`` optionally clips :math:`\\|d\\|` as the authors'
    code does (they use 1.0).

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    max_norm : float, optional
        Clip the norm of ``d`` to this value.
    max_iter : int
        Newton iterations at most.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    if max_norm is not None:
        non_negative(max_norm, "max_norm")
    G64 = G.to(torch.float64)
    d = nash_weights(G, max_iter=max_iter) @ G64
    if max_norm is not None:
        norm = float(torch.linalg.vector_norm(d))
        if norm > max_norm:
            d = d * (max_norm / norm)
    return d.to(G.dtype)


def moco(
    G,
    state: dict | None = None,
    losses=None,
    beta: float = 0.5,
    beta_sigma: float = 0.5,
    gamma: float = 0.1,
    gamma_sigma: float = 0.5,
    rho: float = 0.0,
) -> tuple[torch.Tensor, dict]:
    """MoCo, multi-objective gradient correction (Fernando et al., ICLR 2023, Algorithm 1).

    MoCo tracks the gradients with a moving estimate :math:`Y` and the MGDA weights with a
    projected gradient step, so that the weights are not biased by stochastic gradients. At
    step :math:`k` (``state["step"] + 1``), with :math:`\\beta_k = \\beta/k^{\\sigma_\\beta}` and
    :math:`\\gamma_k = \\gamma/k^{\\sigma_\\gamma}`,

    .. math::
        Y \\leftarrow Y - \\beta_k (Y - G), \\qquad
        \\lambda \\leftarrow \\Pi_\\Delta\\big(\\lambda - \\gamma_k (Y Y^\\top + \\rho I)\\lambda\\big),
        \\qquad d = n\\, Y^\\top \\lambda ,

    where :math:`\\Pi_\\Delta` is the Euclidean projection on the simplex (the paper's
    choice; LibMTL uses a softmax instead). The first call starts from :math:`Y = G` and
    uniform :math:`\\lambda`; when all rows are equal the weights stay uniform and ``d`` is
    the summed gradient. If ``losses`` is given, each
    row is first replaced by :math:`\\mathcal{L}_i\\, g_i / \\|g_i\\|`, the normalisation of the
    authors' LibMTL implementation.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    state : dict or None
        ``{"y": (n_tasks, n_params), "lam": (n_tasks,), "step": int}`` from the previous
        call; not modified.
    losses : sequence of float, shape (n_tasks,), optional
    beta, beta_sigma, gamma, gamma_sigma : float
        Step sizes :math:`\\beta_k`, :math:`\\gamma_k` as above (defaults of LibMTL).
    rho : float >= 0
        Regularisation of the weight update.

    Returns
    -------
    (d, state) : (torch.Tensor of shape (n_params,), dict)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    for name, value in [("beta", beta), ("beta_sigma", beta_sigma), ("gamma", gamma),
                        ("gamma_sigma", gamma_sigma), ("rho", rho)]:
        non_negative(value, name)
    n, m = G.shape
    H = G.to(torch.float64)
    if losses is not None:
        loss_t = _vector(losses, "losses", n).to(H.device)
        norms = torch.linalg.vector_norm(H, dim=1, keepdim=True)
        H = torch.where(norms > 0, H / norms.clamp_min(1e-300), 0.0) * loss_t[:, None]
    if state is None:
        y, lam, step = H.clone(), torch.full((n,), 1.0 / n, dtype=torch.float64, device=H.device), 0
    else:
        if not isinstance(state, dict) or not {"y", "lam", "step"} <= set(state):
            raise ValueError("state must be None or the dict returned by moco (keys 'y', 'lam', 'step')")
        y = torch.as_tensor(state["y"], dtype=torch.float64, device=H.device)
        lam = torch.as_tensor(state["lam"], dtype=torch.float64, device=H.device)
        step = int(state["step"])
        if y.shape != (n, m) or lam.shape != (n,):
            raise ValueError(f"state['y'] must have shape ({n}, {m}) and state['lam'] shape ({n},)")
    step += 1
    beta_k = beta / step**beta_sigma
    gamma_k = gamma / step**gamma_sigma
    y = y - beta_k * (y - H)
    YYt = _gram(y) + rho * np.eye(n)
    lam_np = lam.cpu().numpy()
    lam = torch.from_numpy(_project_simplex(lam_np - gamma_k * (YYt @ lam_np))).to(H.device)
    d = n * (lam @ y)
    return d.to(G.dtype), {"y": y, "lam": lam, "step": step}


# --------------------------------------------------------------------------------------
# Aligned-MTL and eccentric gradient alignment
