"""Numerical helpers of the gradient methods (chapters 10-11): small float64 problems on ``(n, n)``.

The public functions of :mod:`radarode_lite.mtl.functional` and
:mod:`radarode_lite.mtl.weight_solvers` state each method; the linear algebra they share lives
here:

- :func:`gram`, :func:`combine`, :func:`column_blocks`: the Gram matrix :math:`G G^\\top` and
  the combination :math:`G^\\top w`, accumulated in float64 one block of columns at a time;
- :func:`project_simplex`: Euclidean projection on the probability simplex (MoCo);
- :func:`min_norm_weights`, :func:`mgda_alpha`, :func:`min_norm_faces`, :func:`face_kkt`,
  :func:`min_norm_projected`, :func:`quadratic`: the minimum-norm point of the convex hull of
  the gradients, by a KKT solve on every face of the simplex (MGDA, CAGrad, the balance matrix);
- :func:`cagrad_dual`, :func:`cagrad_dual_two`, :func:`cagrad_face`, :func:`cagrad_objective`:
  CAGrad's dual over the simplex;
- :func:`nash_newton`: damped Newton iterations for the Nash bargaining weights.

Taught in chapter 10 (and used by chapter 11's balance matrix).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def combine(weights: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """:math:`G^\\top w` accumulated in float64, returned in ``G``'s dtype and device."""
    w = weights.to(dtype=torch.float64, device=G.device)
    if G.dtype == torch.float64:
        return w @ G
    return torch.cat([w @ block.to(torch.float64) for block in column_blocks(G)]).to(G.dtype)


def gram(G: torch.Tensor) -> np.ndarray:
    """The (n, n) Gram matrix :math:`G G^\\top` in float64, as a numpy array on the CPU.

    A ``G`` of another dtype is converted one block of columns at a time, so that no
    float64 copy of a very wide matrix is ever held.
    """
    if G.dtype == torch.float64:
        return (G @ G.T).cpu().numpy()
    M = torch.zeros(G.shape[0], G.shape[0], dtype=torch.float64, device=G.device)
    for block in column_blocks(G):
        block = block.to(torch.float64)
        M += block @ block.T
    return M.cpu().numpy()


def column_blocks(G: torch.Tensor, width: int = 1 << 20):
    """Views of ``G`` of at most ``width`` columns each, left to right."""
    return torch.split(G, width, dim=1)


def project_simplex(v: np.ndarray) -> np.ndarray:
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


def mgda_alpha(G: torch.Tensor) -> torch.Tensor:
    n = G.shape[0]
    if n == 2:
        G64 = G.to(torch.float64)
        diff = G64[0] - G64[1]
        denom = float(diff @ diff)
        if denom == 0.0:
            return torch.full((2,), 0.5, dtype=torch.float64, device=G.device)
        gamma = min(max(float(-(diff @ G64[1])) / denom, 0.0), 1.0)
        return torch.tensor([gamma, 1.0 - gamma], dtype=torch.float64, device=G.device)
    return torch.from_numpy(min_norm_weights(gram(G))).to(G.device)


def min_norm_weights(M: np.ndarray) -> np.ndarray:
    """Weights on the simplex of the minimum of :math:`\\alpha^\\top M \\alpha` (M a Gram matrix)."""
    n = M.shape[0]
    scale = float(np.max(np.diag(M)))
    if n == 1 or scale == 0.0:
        return np.full(n, 1.0 / n)
    A = M / scale
    alpha = min_norm_faces(A) if n <= 12 else None
    if alpha is None:  # many tasks, or no face solved cleanly: projected gradient iterations
        alpha = min_norm_projected(A)
    return alpha


def min_norm_faces(A: np.ndarray) -> np.ndarray:
    """Exact min of a^T A a over the simplex: KKT solve on every face, best feasible point.

    Every comparison is relative (to the size of the face's system, of 1 for the weights,
    and of the best value so far), so the answer does not depend on the overall scale of
    ``A`` nor on how different the task scales are.
    """
    n = A.shape[0]
    best, best_value = None, np.inf
    for mask in range(1, 2**n):
        S = [i for i in range(n) if mask >> i & 1]
        alpha = face_kkt(A, S)
        if alpha is None:
            continue
        value = quadratic(A, alpha)
        if best is None or value < best_value * (1 - 1e-12):
            best, best_value = alpha, value
    return best


def face_kkt(A: np.ndarray, S: list) -> np.ndarray | None:
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


def quadratic(A: np.ndarray, a: np.ndarray) -> float:
    """a^T A a, never negative."""
    return max(float(a @ A @ a), 0.0)


def min_norm_projected(A: np.ndarray, iters: int = 20000) -> np.ndarray:
    """Accelerated projected gradient for min a^T A a over the simplex (many tasks)."""
    n = A.shape[0]
    step = 1.0 / (2 * max(np.linalg.eigvalsh(A)[-1], 1e-300))
    alpha = np.full(n, 1.0 / n)
    z, t = alpha.copy(), 1.0
    for _ in range(iters):
        new = project_simplex(z - step * 2 * A @ z)
        t_new = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
        z = new + ((t - 1) / t_new) * (new - alpha)
        if np.abs(new - alpha).max() < 1e-15:
            alpha = new
            break
        alpha, t = new, t_new
    return alpha


def cagrad_objective(w: np.ndarray, A: np.ndarray, b: np.ndarray, phi: float) -> float:
    return float(w @ b + phi * math.sqrt(max(float(w @ A @ w), 0.0)))


def cagrad_dual(A: np.ndarray, b: np.ndarray, phi: float) -> np.ndarray:
    """argmin over the simplex of w.b + phi * sqrt(w^T A w), A scaled to unit max diagonal."""
    n = A.shape[0]
    if n == 1:
        return np.ones(1)
    if n == 2:
        return cagrad_dual_two(A, b, phi)
    from scipy.optimize import minimize

    def objective(w):
        return cagrad_objective(w, A, b, phi)

    def gradient(w):
        q = math.sqrt(max(float(w @ A @ w), 1e-30))
        return b + phi * (A @ w) / q

    start = np.full(n, 1.0 / n)
    result = minimize(objective, start, jac=gradient, method="SLSQP", bounds=[(0.0, 1.0)] * n,
                      constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
                      options={"ftol": 1e-15, "maxiter": 1000})
    candidates = [start, np.clip(result.x, 0.0, None) / max(np.clip(result.x, 0.0, None).sum(), 1e-300)]
    candidates.extend(np.eye(n))
    polished = cagrad_face(A, b, phi, candidates[1] > 1e-9)
    if polished is not None:
        candidates.append(polished)
    values = [cagrad_objective(w, A, b, phi) for w in candidates]
    return candidates[int(np.argmin(values))]


def cagrad_face(A, b, phi, support) -> np.ndarray | None:
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


def cagrad_dual_two(A, b, phi) -> np.ndarray:
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
    values = [cagrad_objective(w, A, b, phi) for w in candidates]
    return candidates[int(np.argmin(values))]


def nash_newton(A: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
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
