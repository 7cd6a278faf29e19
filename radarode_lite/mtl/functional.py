"""Gradient methods for multi-task learning as pure functions of the gradient matrix.

Every function takes the gradient matrix ``G: (n_tasks, n_params)``, one row
:math:`g_i = \\nabla_\\theta \\mathcal{L}_i` per task, and returns the update
``d: (n_params,)`` that *replaces the summed gradient* :math:`\\sum_i g_i`: an optimiser
step is then :math:`\\theta \\leftarrow \\theta - \\eta\\, d`. Stateful methods (GradVac,
MoCo) take and return a ``state`` dictionary instead of hiding it in an object.

Scale conventions (so that methods can share one learning rate), with the value for ``n``
equal rows ``g`` in brackets:

- ``ew``: :math:`\\sum_i g_i` (:math:`n g`);
- ``pcgrad``, ``graddrop``, ``gradvac``: the sum of the projected, sign-masked or corrected
  rows (:math:`n g`);
- ``cagrad``: :math:`n\\,(g_0 + \\phi\\, g_w/\\|g_w\\|)/(1+c^2)` (:math:`n g (1+c)/(1+c^2)`);
- ``mgda``: :math:`n\\, G^\\top \\alpha^*`, :math:`\\alpha^*` on the simplex (:math:`n g`);
- ``imtl_g``: :math:`n\\, G^\\top \\alpha` with :math:`\\sum_i \\alpha_i = 1` (:math:`n g`);
- ``nash_mtl``: :math:`G^\\top \\alpha` with :math:`\\alpha_i (G G^\\top\\alpha)_i = 1`
  (:math:`\\sqrt{n}\\, g/\\|g\\|`);
- ``moco``: :math:`n\\, Y^\\top \\lambda`, :math:`\\lambda` on the simplex (:math:`n g`);
- ``aligned_mtl``: :math:`G^\\top B \\mathbf{1}` (:math:`n g`);
- ``ega``: :math:`G^\\top B\\, v_{ecc}` (:math:`(\\sum_i v_i)\\, g`).

Methods whose published form returns a convex combination of the gradients (MGDA, IMTL-G,
CAGrad, MoCo) are multiplied by ``n`` so that, like the sum, they return :math:`n g` when
every task has the same gradient :math:`g`. Nash-MTL keeps its own scale: its weights solve
:math:`\\alpha_i (G G^\\top \\alpha)_i = 1`, which fixes :math:`\\|d\\|^2 = n` whatever the
gradient magnitudes (Navon et al., 2022).

Numerics: small ``(n, n)`` problems (Gram matrices, weights) are solved in float64; ``d``
has the dtype and device of ``G``. ``G`` containing NaN or inf raises ``ValueError``.

Taught in chapter 10 (gradient conflict and gradient methods) and chapter 11 (EGA, derived).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "ew",
    "pcgrad",
    "graddrop",
    "gradvac",
    "cagrad",
    "mgda",
    "mgda_weights",
    "imtl_g",
    "nash_mtl",
    "nash_weights",
    "moco",
    "balance_matrix",
    "aligned_mtl",
    "ega",
    "eccentric_weights",
]


# --------------------------------------------------------------------------------------
# Sum, projection and sign methods
# --------------------------------------------------------------------------------------


def ew(G) -> torch.Tensor:
    """Equal weighting: the summed gradient :math:`d = \\sum_i g_i = G^\\top \\mathbf{1}`.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
        One gradient per row.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    return G.sum(dim=0)


def pcgrad(G, generator: torch.Generator | None = None) -> torch.Tensor:
    """PCGrad, projecting conflicting gradients (Yu et al., NeurIPS 2020, Algorithm 1).

    For each task :math:`i`, start from :math:`g_i^{PC} = g_i` and visit the other tasks
    :math:`j` in a random order; whenever :math:`g_i^{PC} \\cdot g_j < 0`, remove the
    conflicting component,

    .. math:: g_i^{PC} \\leftarrow g_i^{PC} - \\frac{g_i^{PC}\\cdot g_j}{\\|g_j\\|^2} g_j ,

    and return :math:`d = \\sum_i g_i^{PC}`. Tasks that do not conflict are left untouched,
    so with no conflict at all ``d`` equals the sum. The projections are carried out on the
    coefficients of :math:`g_i^{PC}` in the basis of the rows, using the Gram matrix in
    float64.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    generator : torch.Generator, optional
        Source of the random visiting orders (one ``torch.randperm(n_tasks)`` per task,
        skipping the task itself); the global torch generator when ``None``.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    _check_generator(generator)
    n = G.shape[0]
    G64 = G.to(torch.float64)
    M = _gram(G64)
    C = np.eye(n)
    for i in range(n):
        order = torch.randperm(n, generator=generator).tolist()
        for j in order:
            if j == i or M[j, j] <= 0:
                continue
            inner = C[i] @ M[:, j]
            if inner < 0:
                C[i, j] -= inner / M[j, j]
    return _combine(torch.from_numpy(C.sum(axis=0)), G)


def graddrop(G, leak=0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """GradDrop, gradient sign dropout (Chen et al., NeurIPS 2020, Algorithm 1).

    Per coordinate :math:`k`, the positive sign purity

    .. math:: P_k = \\tfrac12 \\Big(1 + \\frac{\\sum_i G_{ik}}{\\sum_i |G_{ik}|}\\Big) \\in [0, 1]

    is compared with a uniform draw :math:`U_k \\in [0, 1)`: if :math:`U_k < P_k` only the
    positive entries of column :math:`k` are kept, otherwise only the negative ones. With
    leak :math:`\\ell_i` a task also passes a fraction of what would be dropped,

    .. math:: d = \\sum_i \\big(\\ell_i + (1-\\ell_i) M_i\\big) \\odot g_i .

    The paper applies the masks to gradients at a layer of activations (with the signs of the
    inputs when batch-reduced); here, as in LibMTL and torchjd, they act directly on the
    parameter gradients, so no input signs are involved. A column of zeros gives
    :math:`P_k = 1/2` and contributes zero. With one task, :math:`P_k \\in \\{0, 1\\}` and
    the gradient is returned unchanged.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    leak : float or sequence of float in [0, 1], shape () or (n_tasks,)
        How much of each task's gradient passes the mask (0: none, 1: everything).
    generator : torch.Generator, optional
        Source of the uniform draws ``torch.rand(n_params)`` in ``G``'s dtype.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    _check_generator(generator)
    n, m = G.shape
    leak_t = torch.as_tensor(leak, dtype=torch.float64)
    if leak_t.dim() == 0:
        leak_t = leak_t.expand(n)
    if leak_t.shape != (n,):
        raise ValueError(f"leak must be a scalar or have shape ({n},), got shape {tuple(leak_t.shape)}")
    if not bool(torch.all((leak_t >= 0) & (leak_t <= 1))):
        raise ValueError(f"leak must lie in [0, 1], got {leak_t.tolist()}")
    G64 = G.to(torch.float64)
    total = G64.abs().sum(dim=0)
    purity = torch.where(total > 0, 0.5 * (1 + G64.sum(dim=0) / total.clamp_min(1e-300)), 0.5)
    U = torch.rand(m, generator=generator, dtype=G.dtype).to(dtype=torch.float64, device=G.device)
    keep_positive = U < purity
    mask = torch.where(keep_positive, G64 > 0, G64 < 0).to(torch.float64)
    leak_t = leak_t.to(G.device)
    weights = leak_t[:, None] + (1 - leak_t[:, None]) * mask
    return (weights * G64).sum(dim=0).to(G.dtype)


def gradvac(
    G,
    state: dict | None = None,
    beta: float = 0.01,
    generator: torch.Generator | None = None,
    eps: float = 1e-8,
) -> tuple[torch.Tensor, dict]:
    """Gradient Vaccine (Wang et al., ICLR 2021, Algorithm 1): raise pairwise cosines to targets.

    For each task :math:`i` and each other task :math:`j` (random order), with
    :math:`\\phi_{ij} = \\cos(g_i^{GV}, g_j)` and the target :math:`\\hat\\phi_{ij}` (an
    exponential moving average of past cosines): if :math:`\\phi_{ij} < \\hat\\phi_{ij}`,

    .. math::
        g_i^{GV} \\leftarrow g_i^{GV} + \\frac{\\|g_i^{GV}\\|\\,\\big(\\hat\\phi_{ij}
        \\sqrt{1-\\phi_{ij}^2} - \\phi_{ij} \\sqrt{1-\\hat\\phi_{ij}^2}\\big)}
        {\\|g_j\\| \\sqrt{1-\\hat\\phi_{ij}^2}}\\, g_j ,

    which sets the cosine to exactly :math:`\\hat\\phi_{ij}`; then
    :math:`\\hat\\phi_{ij} \\leftarrow (1-\\beta)\\hat\\phi_{ij} + \\beta \\phi_{ij}`. The update
    is :math:`d = \\sum_i g_i^{GV}`. Targets start at zero, so the first call behaves like
    PCGrad (a conflicting pair is made orthogonal).

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    state : dict or None
        ``{"targets": tensor (n_tasks, n_tasks)}`` from the previous call; ``None`` starts
        from zero targets. The input dictionary is not modified.
    beta : float in [0, 1]
        EMA rate of the targets (the paper uses 0.01).
    generator : torch.Generator, optional
        Source of the random visiting orders.
    eps : float
        Relative guard of the one denominator that can vanish, :math:`\\|g_j\\|
        \\max(\\sqrt{1-\\hat\\phi_{ij}^2}, \\epsilon)` (a target of exactly 1). It multiplies
        :math:`\\|g_j\\|`, so the update scales with ``G`` whatever its magnitude. Cosines
        and targets are clamped to :math:`[-1, 1]`; a zero row is left out of the
        comparisons.

    Returns
    -------
    (d, state) : (torch.Tensor of shape (n_params,), dict)

    Taught in chapter 10.
    """
    G = _gradient_matrix(G)
    _check_generator(generator)
    _check_real(beta, "beta", low=0.0, high=1.0)
    _check_real(eps, "eps", low=0.0)
    n = G.shape[0]
    if state is None:
        targets = torch.zeros(n, n, dtype=torch.float64)
    else:
        if not isinstance(state, dict) or "targets" not in state:
            raise ValueError("state must be None or a dict with key 'targets' returned by gradvac")
        targets = torch.as_tensor(state["targets"], dtype=torch.float64).detach().cpu().clone()
        if targets.shape != (n, n):
            raise ValueError(f"state['targets'] must have shape ({n}, {n}), got {tuple(targets.shape)}")
    M = _gram(G)
    targets = targets.clamp(-1.0, 1.0)
    phi_hat = targets.numpy()  # a view: the loop updates the returned targets in place
    C = np.eye(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for idx in torch.randperm(len(others), generator=generator).tolist():
            j = others[idx]
            cM = C[i] @ M
            norm_i = math.sqrt(max(float(cM @ C[i]), 0.0))
            norm_j = math.sqrt(max(float(M[j, j]), 0.0))
            if norm_i == 0.0 or norm_j == 0.0:
                continue  # no direction to compare: nothing to vaccinate
            phi = min(max(float(cM[j]) / (norm_i * norm_j), -1.0), 1.0)
            target = float(phi_hat[i, j])
            if phi < target:
                root_phi = math.sqrt(1 - phi**2)
                root_target = math.sqrt(1 - target**2)
                C[i, j] += norm_i * (target * root_phi - phi * root_target) / (norm_j * max(root_target, eps))
            phi_hat[i, j] = (1 - beta) * target + beta * phi
    return _combine(torch.from_numpy(C.sum(axis=0)), G), {"targets": targets}


# --------------------------------------------------------------------------------------
# Methods that solve a small problem over task weights
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
    _check_real(c, "c", low=0.0)
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
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    _check_real(tol, "tol", low=0.0)
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
        _check_real(max_norm, "max_norm", low=0.0)
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
        _check_real(value, name, low=0.0)
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
# --------------------------------------------------------------------------------------


def balance_matrix(G, rtol: float | None = None) -> torch.Tensor:
    """Aligned-MTL's balance matrix :math:`B` such that :math:`\\tilde G = B G` (float64, (n, n)).

    With the eigen-decomposition of the Gram matrix :math:`G G^\\top = U \\Lambda U^\\top`
    (eigenvalues :math:`\\lambda_1 \\ge \\dots \\ge \\lambda_n`, :math:`\\lambda_k = \\sigma_k^2`
    the squared singular values of :math:`G`),

    .. math:: B = s\\, U_r \\Sigma_r^{-1} U_r^\\top, \\qquad \\tilde G = B G = s\\, U_r V_r^\\top

    (Senushkin et al., CVPR 2023, Algorithm 1; slides of Zhang et al., Algorithm 1 steps
    6-8). The rows of :math:`\\tilde G` are orthogonal with equal norms on the kept span,
    :math:`\\tilde G \\tilde G^\\top = s^2 U_r U_r^\\top`.

    **Rank rule.** Direction :math:`k` is kept when :math:`\\lambda_k > \\text{rtol}\\,
    \\lambda_1`, with ``rtol = n_tasks * eps(G.dtype)`` by default (the rule of the authors'
    ``EGA.py`` and of torchjd's ``AlignedMTL``, here with the machine epsilon of ``G``'s own
    dtype); the largest direction is always kept. On singular values this is
    :math:`\\sigma_k > \\tau = \\sqrt{\\text{rtol}}\\,\\sigma_1` (about
    :math:`6 \\times 10^{-4}\\,\\sigma_1` for three float32 gradients). The cut is relative
    to the largest eigenvalue and does not grow with the number of columns: the rounding
    errors of a float32 gradient are about :math:`\\epsilon\\,\\sigma_1` whatever its
    width, so a cut proportional to ``max(n_tasks, n_params)`` (the convention of
    ``numpy.linalg.matrix_rank``) would discard real directions of wide matrices.

    **Scale.** :math:`s = \\sigma_r`, the smallest kept singular value (Aligned-MTL's
    :math:`\\sigma_{\\min}` when nothing is dropped), except when a direction was dropped
    *and* ``G`` is nearly Pareto-stationary: when the minimum-norm point of the convex hull
    of the gradients (MGDA's, :math:`\\rho = \\min_{\\alpha \\in \\Delta}
    \\|G^\\top\\alpha\\|`) is not longer than the cut :math:`\\tau`, then :math:`s = \\rho`.
    The full-rank formula gives a step of size about :math:`\\sigma_n \\le \\sqrt{n}\\,
    \\rho` there, and without this exception the step would jump to the reduced-rank sum
    as soon as :math:`\\sigma_n` fell below the cut (with :math:`g_1 = (1, 0)`,
    :math:`g_2 = (-0.5, e)`: a step of length about :math:`e`, then :math:`(0.5, 0)`, which
    raises the second loss); with it the step shrinks to zero with :math:`\\rho`. A
    rank-deficient ``G`` that is far from stationary (identical rows, say) keeps
    :math:`s = \\sigma_r`, so two identical gradients still give their sum. ``G = 0``
    gives ``B = 0``. Computed from the float64 Gram matrix (accumulated over column blocks,
    so a float32 ``G`` of 1.7e7 columns needs no float64 copy of itself).

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    rtol : float, optional
        Relative threshold on the eigenvalues of :math:`G G^\\top` (default
        ``n_tasks * torch.finfo(G.dtype).eps``).

    Returns
    -------
    torch.Tensor (float64), shape (n_tasks, n_tasks)

    Taught in chapter 11.
    """
    G = _gradient_matrix(G)
    n = G.shape[0]
    if rtol is None:
        rtol = n * torch.finfo(G.dtype).eps
    _check_real(rtol, "rtol", low=0.0, high=1.0)
    M = _gram(G)
    lam, U = np.linalg.eigh(M)
    lam, U = lam[::-1], U[:, ::-1]
    if lam[0] <= 0.0:
        return torch.zeros(n, n, dtype=torch.float64, device=G.device)
    keep = lam > rtol * lam[0]
    keep[0] = True
    sigma = np.sqrt(lam[keep])
    scale = sigma[-1]
    if not keep.all():
        rho = math.sqrt(_quadratic(M, _min_norm_weights(M)))
        if rho <= math.sqrt(rtol * lam[0]):  # nearly Pareto-stationary: the step shrinks with rho
            scale = rho
    U_r = U[:, keep]
    return torch.from_numpy(scale * (U_r / sigma) @ U_r.T).to(G.device)


def aligned_mtl(G, rtol: float | None = None) -> torch.Tensor:
    """Aligned-MTL, independent component alignment (Senushkin et al., CVPR 2023).

    .. math:: d = \\tilde G^\\top \\mathbf{1} = G^\\top B \\mathbf{1}

    with the balance matrix :math:`B` of :func:`balance_matrix`: the gradients are replaced
    by orthogonal rows of equal norm :math:`\\sigma_{\\min}`, removing both conflict and
    magnitude dominance, and summed (the authors' ``B.sum(0)``; torchjd's ``AlignedMTL``
    uses the mean, i.e. ``d / n``). One task: ``d = g``; equal rows: the sum; ``G = 0`` or
    a Pareto-stationary ``G`` (0 in the convex hull of the rows, e.g. a zero row): zero,
    and nearly zero near such a ``G`` (see :func:`balance_matrix`). The rows of
    :math:`\\tilde G` do not conflict with each other, but ``d`` can still conflict with an
    original gradient :math:`g_i` (:math:`g_i \\cdot d < 0`): the alignment removes conflict
    in the aligned space only. Equal to ``ega(G, torch.ones(n))``.

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    rtol : float, optional
        See :func:`balance_matrix`.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapters 10 and 11.
    """
    G = _gradient_matrix(G)
    B = balance_matrix(G, rtol=rtol)
    return _combine(B.sum(dim=1), G)


def ega(G, v_ecc, variant: str = "paper", rtol: float | None = None) -> torch.Tensor:
    """Eccentric gradient alignment (Zhang et al., IEEE TIM 2025, Algorithm 1).

    ``variant="paper"`` (Algorithm 1, step 15):

    .. math:: \\tilde G = \\sigma_{\\min} U \\Sigma^{-1} U^\\top G, \\qquad
              d = \\tilde G^\\top v_{ecc} = G^\\top B\\, v_{ecc} ,

    the aligned gradients (orthogonal, equal norms) weighted by the eccentric vector.
    ``variant="official"`` follows the authors' released code, which scales the aligned
    weights instead, :math:`d = G^\\top \\big((B\\mathbf{1}) \\odot v_{ecc}\\big)`. The two agree
    when :math:`v_{ecc}` is uniform (then both are :func:`aligned_mtl` times that constant)
    and differ otherwise, because :math:`B` is not diagonal. ``v_ecc`` is usually
    :func:`eccentric_weights` (positive, summing to ``n``).

    Parameters
    ----------
    G : torch.Tensor, shape (n_tasks, n_params)
    v_ecc : sequence or tensor of float, shape (n_tasks,)
        Non-negative task weights, not all zero (a negative weight would reverse a task's
        aligned gradient).
    variant : {"paper", "official"}
    rtol : float, optional
        See :func:`balance_matrix`.

    Returns
    -------
    torch.Tensor, shape (n_params,)

    Taught in chapter 11.
    """
    G = _gradient_matrix(G)
    v = _vector(v_ecc, "v_ecc", G.shape[0])
    if bool((v < 0).any()) or float(v.sum()) <= 0:
        raise ValueError(f"v_ecc must be non-negative with a positive sum (task weights), got {v.tolist()}")
    if variant not in ("paper", "official"):
        raise ValueError(f"variant must be 'paper' or 'official', got {variant!r}")
    B = balance_matrix(G, rtol=rtol)
    v = v.to(B.device)
    weights = B @ v if variant == "paper" else B.sum(dim=1) * v
    return _combine(weights, G)


def eccentric_weights(prev_losses, warm_losses, temperature: float) -> torch.Tensor:
    """Eccentric vector :math:`v_{ecc}`: task difficulty weights from relative loss progress.

    .. math:: lr_i = \\frac{\\mathcal{L}_i(t-1)}{\\mathcal{L}_i(t_{warm})}, \\qquad
              k_i = \\frac{n \\exp(lr_i / T)}{\\sum_j \\exp(lr_j / T)}

    (Zhang et al., IEEE TIM 2025, Eq. (17)). A task whose loss has fallen less since the
    warm-up (a larger :math:`lr_i`, a slow or hard task) gets a larger weight; the weights
    are positive and sum to :math:`n`; a small temperature :math:`T` widens the differences,
    a large one makes them uniform.

    Parameters
    ----------
    prev_losses : sequence or tensor, shape (n_tasks,)
        Losses at the previous epoch :math:`t-1`.
    warm_losses : sequence or tensor, shape (n_tasks,)
        Losses recorded at the warm-up epoch :math:`t_{warm}`, all positive.
    temperature : float > 0

    Returns
    -------
    torch.Tensor, shape (n_tasks,)
        float64, or the dtype of ``prev_losses`` if it is a floating tensor.

    Taught in chapter 11.
    """
    prev = _vector(prev_losses, "prev_losses")
    warm = _vector(warm_losses, "warm_losses", prev.shape[0])
    if not bool(torch.all(warm > 0)):
        raise ValueError(f"warm_losses must all be positive, got {warm.tolist()}")
    _check_real(temperature, "temperature", low=0.0)
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    n = prev.shape[0]
    k = n * torch.softmax((prev / warm) / temperature, dim=0)
    if isinstance(prev_losses, torch.Tensor) and prev_losses.is_floating_point():
        return k.to(dtype=prev_losses.dtype, device=prev_losses.device)
    return k


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _gradient_matrix(G) -> torch.Tensor:
    """Validate ``G``: a finite real 2-D tensor (or array) with at least one row and column."""
    if isinstance(G, np.ndarray):
        G = torch.from_numpy(G)
    if not isinstance(G, torch.Tensor):
        raise TypeError(f"G must be a torch.Tensor of shape (n_tasks, n_params), got {type(G).__name__}")
    if G.dim() != 2:
        raise ValueError(f"G must be 2-D (n_tasks, n_params), got shape {tuple(G.shape)}")
    if G.shape[0] == 0 or G.shape[1] == 0:
        raise ValueError(f"G must have at least one task and one parameter, got shape {tuple(G.shape)}")
    if G.is_complex() or G.dtype == torch.bool:
        raise TypeError(f"G must be real-valued, got dtype {G.dtype}")
    if not G.is_floating_point():
        G = G.to(torch.float64)
    if not bool(torch.isfinite(G).all()):
        raise ValueError("G contains NaN or inf; every task gradient must be finite")
    return G.detach()


def _vector(x, name: str, length: int | None = None) -> torch.Tensor:
    """A finite 1-D float64 tensor of the expected length."""
    try:
        if isinstance(x, (list, tuple)):  # e.g. a list of scalar loss tensors
            x = [float(e.detach()) if isinstance(e, torch.Tensor) else e for e in x]
        t = torch.as_tensor(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a sequence of numbers, got {type(x).__name__}") from exc
    if t.dim() != 1 or t.shape[0] == 0:
        raise ValueError(f"{name} must be 1-D and non-empty, got shape {tuple(t.shape)}")
    if length is not None and t.shape[0] != length:
        raise ValueError(f"{name} must have length {length} (one entry per task), got {t.shape[0]}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    return t


def _check_real(value, name: str, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def _combine(weights: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """:math:`G^\\top w` accumulated in float64, returned in ``G``'s dtype and device."""
    w = weights.to(dtype=torch.float64, device=G.device)
    if G.dtype == torch.float64:
        return w @ G
    return torch.cat([w @ block.to(torch.float64) for block in _column_blocks(G)]).to(G.dtype)


def _gram(G: torch.Tensor) -> np.ndarray:
    """The (n, n) Gram matrix :math:`G G^\\top` in float64, as a numpy array on the CPU.

    A ``G`` of another dtype is converted one block of columns at a time, so that no
    float64 copy of a very wide matrix is ever held.
    """
    if G.dtype == torch.float64:
        return (G @ G.T).cpu().numpy()
    M = torch.zeros(G.shape[0], G.shape[0], dtype=torch.float64, device=G.device)
    for block in _column_blocks(G):
        block = block.to(torch.float64)
        M += block @ block.T
    return M.cpu().numpy()


def _column_blocks(G: torch.Tensor, width: int = 1 << 20):
    """Views of ``G`` of at most ``width`` columns each, left to right."""
    return torch.split(G, width, dim=1)


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``v`` onto the probability simplex (sort-based).

    The projection is unchanged by adding a constant to every entry, so ``v`` is first
    shifted to a largest entry of 0: no cancellation between huge entries and the 1 of
    the constraint, whatever the scale of ``v``.
    """
    v = np.asarray(v, dtype=np.float64)
    v = v - v.max()
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    idx = np.arange(1, len(v) + 1)
    r = np.flatnonzero(u - css / idx > 0)[-1] + 1  # u[0] = 0 > -1: never empty
    return np.maximum(v - css[r - 1] / r, 0.0)


def _mgda_alpha(G: torch.Tensor) -> torch.Tensor:
    n = G.shape[0]
    if n == 2:
        G64 = G.to(torch.float64)
        diff = G64[0] - G64[1]
        denom = float(diff @ diff)
        if denom == 0.0:
            return torch.full((2,), 0.5, dtype=torch.float64, device=G.device)
        gamma = min(max(float(-(diff @ G64[1])) / denom, 0.0), 1.0)
        return torch.tensor([gamma, 1.0 - gamma], dtype=torch.float64, device=G.device)
    return torch.from_numpy(_min_norm_weights(_gram(G))).to(G.device)


def _min_norm_weights(M: np.ndarray) -> np.ndarray:
    """Weights on the simplex of the minimum of :math:`\\alpha^\\top M \\alpha` (M a Gram matrix)."""
    n = M.shape[0]
    scale = float(np.max(np.diag(M)))
    if n == 1 or scale == 0.0:
        return np.full(n, 1.0 / n)
    A = M / scale
    alpha = _min_norm_faces(A) if n <= 12 else None
    if alpha is None:  # many tasks, or no face solved cleanly: projected gradient iterations
        alpha = _min_norm_projected(A)
    return alpha


def _min_norm_faces(A: np.ndarray) -> np.ndarray:
    """Exact min of a^T A a over the simplex: KKT solve on every face, best feasible point.

    Every comparison is relative (to the size of the face's system, of 1 for the weights,
    and of the best value so far), so the answer does not depend on the overall scale of
    ``A`` nor on how different the task scales are.
    """
    n = A.shape[0]
    best, best_value = None, np.inf
    for mask in range(1, 2**n):
        S = [i for i in range(n) if mask >> i & 1]
        alpha = _face_kkt(A, S)
        if alpha is None:
            continue
        value = _quadratic(A, alpha)
        if best is None or value < best_value * (1 - 1e-12):
            best, best_value = alpha, value
    return best


def _face_kkt(A: np.ndarray, S: list) -> np.ndarray | None:
    """Minimiser of a^T A a with sum(a) = 1 on the face ``S``, if it is feasible (a >= 0)."""
    k, n = len(S), A.shape[0]
    K = np.zeros((k + 1, k + 1))
    K[:k, :k] = A[np.ix_(S, S)]
    K[:k, k] = 1.0
    K[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        sol = np.linalg.solve(K, rhs)
    except np.linalg.LinAlgError:  # singular face: a minimiser on it, if any, by least squares
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
    size = np.abs(K).sum(axis=1) @ np.abs(sol) + 1.0
    if not np.isfinite(sol).all() or np.abs(K @ sol - rhs).max() > 1e-10 * size:
        return None
    if np.any(sol[:k] < -1e-10):
        return None
    alpha = np.zeros(n)
    alpha[S] = np.clip(sol[:k], 0.0, None)
    return alpha / alpha.sum()


def _quadratic(A: np.ndarray, a: np.ndarray) -> float:
    """a^T A a, never negative."""
    return max(float(a @ A @ a), 0.0)


def _min_norm_projected(A: np.ndarray, iters: int = 20000) -> np.ndarray:
    """Accelerated projected gradient for min a^T A a over the simplex (many tasks)."""
    n = A.shape[0]
    step = 1.0 / (2 * max(np.linalg.eigvalsh(A)[-1], 1e-300))
    alpha = np.full(n, 1.0 / n)
    z, t = alpha.copy(), 1.0
    for _ in range(iters):
        new = _project_simplex(z - step * 2 * A @ z)
        t_new = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
        z = new + ((t - 1) / t_new) * (new - alpha)
        if np.abs(new - alpha).max() < 1e-15:
            alpha = new
            break
        alpha, t = new, t_new
    return alpha


def _cagrad_objective(w: np.ndarray, A: np.ndarray, b: np.ndarray, phi: float) -> float:
    return float(w @ b + phi * math.sqrt(max(float(w @ A @ w), 0.0)))


def _cagrad_dual(A: np.ndarray, b: np.ndarray, phi: float) -> np.ndarray:
    """argmin over the simplex of w.b + phi * sqrt(w^T A w), A scaled to unit max diagonal."""
    n = A.shape[0]
    if n == 1:
        return np.ones(1)
    if n == 2:
        return _cagrad_dual_two(A, b, phi)
    from scipy.optimize import minimize

    def objective(w):
        return _cagrad_objective(w, A, b, phi)

    def gradient(w):
        q = math.sqrt(max(float(w @ A @ w), 1e-30))
        return b + phi * (A @ w) / q

    start = np.full(n, 1.0 / n)
    result = minimize(objective, start, jac=gradient, method="SLSQP", bounds=[(0.0, 1.0)] * n,
                      constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
                      options={"ftol": 1e-15, "maxiter": 1000})
    candidates = [start, np.clip(result.x, 0.0, None) / max(np.clip(result.x, 0.0, None).sum(), 1e-300)]
    candidates.extend(np.eye(n))
    polished = _cagrad_face(A, b, phi, candidates[1] > 1e-9)
    if polished is not None:
        candidates.append(polished)
    values = [_cagrad_objective(w, A, b, phi) for w in candidates]
    return candidates[int(np.argmin(values))]


def _cagrad_face(A, b, phi, support) -> np.ndarray | None:
    """Stationary point of the CAGrad dual on the relative interior of one face, if valid."""
    S = np.flatnonzero(support)
    if len(S) < 2 or phi <= 0:
        return None
    A_S, b_S, ones = A[np.ix_(S, S)], b[S], np.ones(len(S))
    try:
        x = np.linalg.solve(A_S, ones)
        y = np.linalg.solve(A_S, b_S)
    except np.linalg.LinAlgError:
        return None
    s11, s1b, sbb = ones @ x, ones @ y, b_S @ y
    disc = s1b**2 - s11 * (sbb - phi**2)
    if s11 <= 0 or disc <= 0:
        return None
    nu = (s1b + math.sqrt(disc)) / s11
    rho = phi / math.sqrt(disc)
    w_S = (rho / phi) * (nu * x - y)
    if np.any(w_S < -1e-12) or not np.isfinite(w_S).all():
        return None
    w = np.zeros(len(b))
    w[S] = np.clip(w_S, 0.0, None)
    return w / w.sum()


def _cagrad_dual_two(A, b, phi) -> np.ndarray:
    """Closed form for two tasks: w = (t, 1 - t), F(t) convex; solve F'(t) = 0 and clip."""
    a = A[0, 0] + A[1, 1] - 2 * A[0, 1]  # |g1 - g2|^2
    p = A[0, 1] - A[1, 1]  # g2 . (g1 - g2)
    r = A[1, 1]  # |g2|^2
    db = b[0] - b[1]
    if a <= 1e-15 * max(A[0, 0], A[1, 1]):
        return np.array([0.5, 0.5])
    if phi == 0:
        return np.array([1.0, 0.0]) if db < 0 else np.array([0.0, 1.0])
    k = -db / phi  # required value of (a t + p) / sqrt(q(t))
    D = max(a * r - p * p, 0.0)
    if k * k >= a:
        t = 1.0 if k > 0 else 0.0
    else:
        t = (math.copysign(math.sqrt(k * k * D / (a - k * k)), k) - p) / a
    t = min(max(t, 0.0), 1.0)
    candidates = [np.array([t, 1 - t]), np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    values = [_cagrad_objective(w, A, b, phi) for w in candidates]
    return candidates[int(np.argmin(values))]


def _nash_newton(A: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    """Damped Newton for min 0.5 b^T A b - sum(log b) over b > 0 (self-concordant).

    Stops when the squared Newton decrement is below ``tol``, when the bargaining residual
    max |b_i (A b)_i - 1| is below 1e-13, or when the decrement stops shrinking once it is
    tiny (the limit of float64 for nearly Pareto-stationary gradients).
    """
    n = A.shape[0]
    beta = np.full(n, 1.0 / math.sqrt(max(float(A.sum()), 1e-12) / n))
    previous = np.inf
    for _ in range(max_iter):
        Ab = A @ beta
        if np.max(np.abs(beta * Ab - 1.0)) < 1e-13:
            break
        grad = Ab - 1.0 / beta
        delta = np.linalg.solve(A + np.diag(1.0 / beta**2), grad)
        decrement2 = float(grad @ delta)
        if decrement2 < tol or (decrement2 < 1e-12 and decrement2 > 0.25 * previous):
            break
        previous = decrement2
        lam = math.sqrt(max(decrement2, 0.0))
        step = 1.0 if lam < 0.25 else 1.0 / (1.0 + lam)
        new = beta - step * delta
        while np.any(new <= 0):
            step *= 0.5
            new = beta - step * delta
        beta = new
    return beta
