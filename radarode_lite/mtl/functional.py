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

Where things live: this module states the sum, projection and sign methods (EW, PCGrad,
GradDrop, GradVac) and chapter 11's alignment (:func:`balance_matrix`, :func:`aligned_mtl`,
:func:`ega`, :func:`eccentric_weights`); the methods that solve a small problem over task
weights (CAGrad, MGDA, IMTL-G, Nash-MTL, MoCo) are stated in
:mod:`radarode_lite.mtl.weight_solvers` and re-exported here, so every method is
``functional.<name>``; the linear algebra they share (Gram matrices in column blocks,
minimum-norm solvers, simplex projection, KKT faces) is in :mod:`radarode_lite.mtl._linalg`.

Taught in chapter 10 (gradient conflict and gradient methods) and chapter 11 (EGA, derived).
"""


from __future__ import annotations

import math

import numpy as np
import torch

from radarode_lite._checks import choice, fraction, non_negative, positive, torch_generator
from radarode_lite._checks import gradient_matrix as _gradient_matrix
from radarode_lite._checks import task_vector as _vector

from ._linalg import combine as _combine
from ._linalg import gram as _gram
from ._linalg import min_norm_weights as _min_norm_weights
from ._linalg import quadratic as _quadratic
from .weight_solvers import cagrad, imtl_g, mgda, mgda_weights, moco, nash_mtl, nash_weights

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
# Sum, projection and sign methods (chapter 10)
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
    torch_generator(generator)
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
    torch_generator(generator)
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
    torch_generator(generator)
    fraction(beta, "beta")
    non_negative(eps, "eps")
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
    fraction(rtol, "rtol")
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
    choice(variant, "variant", ("paper", "official"))
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
    positive(temperature, "temperature")
    n = prev.shape[0]
    k = n * torch.softmax((prev / warm) / temperature, dim=0)
    if isinstance(prev_losses, torch.Tensor) and prev_losses.is_floating_point():
        return k.to(dtype=prev_losses.dtype, device=prev_losses.device)
    return k


# --------------------------------------------------------------------------------------
# Helpers
