"""The gradient methods at the width and precision of real training (chapters 10-11).

Gradients arrive in float32 with tens of thousands to millions of columns; these tests use
such matrices (and float64 ones), compare Aligned-MTL and EGA with torchjd and with the
formula of the authors' released code, and check the properties the papers promise on the
same families of matrices as torchjd's property tests (generic ones of every rank, strongly
and weakly Pareto-stationary ones, non-stationary ones, scaled ones). The samplers below are
this project's own.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from radarode_lite.mtl import _linalg
from radarode_lite.mtl import functional as F
from radarode_lite.mtl import get_method

torchjd = pytest.importorskip("torchjd.aggregation")


# ---------------------------------------------------------------------------------------
# Matrices
# ---------------------------------------------------------------------------------------


def orthonormal(dim, gen, first=None):
    """A random (dim, dim) orthogonal matrix, optionally with given first columns."""
    A = torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    if first is not None:
        A[:, : first.shape[1]] = first
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R))  # keep the given columns' signs
    return Q


def from_left(U, n_cols, rank, gen):
    """U[:, :rank] diag(s) V[:rank] with random positive singular values."""
    V = orthonormal(n_cols, gen)
    s = torch.rand(rank, generator=gen, dtype=torch.float64) + 0.1
    return (U[:, :rank] * s) @ V[:rank]


def normal_matrix(m, n, rank, gen):
    return from_left(orthonormal(m, gen), n, rank, gen)


def strongly_stationary(m, n, rank, gen):
    """v^T G = 0 for some v > 0: the rows' convex hull holds 0 in its relative interior."""
    v = torch.rand(m, generator=gen, dtype=torch.float64) + 0.1
    U = orthonormal(m, gen, first=(v / v.norm())[:, None])
    return from_left(U[:, 1:], n, rank, gen)


def weakly_stationary(m, n, rank, gen):
    """v^T G = 0 for some v >= 0 with zeros: 0 lies on a face of the convex hull."""
    v = torch.rand(m, generator=gen, dtype=torch.float64) + 0.1
    v[: m // 2] = 0.0
    U = orthonormal(m, gen, first=(v / v.norm())[:, None])
    return from_left(U[:, 1:], n, rank, gen)


def non_stationary(m, n, rank, gen):
    """A positive left singular vector with a positive singular value: 0 is not in the hull."""
    u = torch.rand(m, generator=gen, dtype=torch.float64) + 0.1
    U = orthonormal(m, gen, first=(u / u.norm())[:, None])
    return from_left(U, n, rank, gen)


_GEN = torch.Generator().manual_seed(0)
NORMAL = [normal_matrix(m, n, r, _GEN) for m, n, r in [(2, 3, 2), (4, 3, 1), (4, 3, 2), (4, 3, 3),
                                                         (9, 11, 5), (9, 11, 9)]]  # fmt: skip
_STAT_DIMS = [(6, 10, 5), (6, 10, 3), (6, 100, 1), (8, 100, 7)]
STRONG = [strongly_stationary(m, n, r, _GEN) for m, n, r in _STAT_DIMS]
WEAK = [weakly_stationary(m, n, r, _GEN) for m, n, r in _STAT_DIMS]
NON_STATIONARY = [non_stationary(m, n, r, _GEN) for m, n, r in _STAT_DIMS]
SCALES = [1e-10, 1e-3, 1e3, 1e5, 1e10, 1e15]

DETERMINISTIC = {
    "aligned_mtl": F.aligned_mtl,
    "ega": lambda G: F.ega(G, torch.linspace(0.5, 1.5, G.shape[0])),
    "mgda": F.mgda,
    "imtl_g": F.imtl_g,
    "cagrad": F.cagrad,
    "cagrad_c2": lambda G: F.cagrad(G, c=2.0),
    "nash_mtl": F.nash_mtl,
}


def wide_float32_G(width, small=200.0, seed=0):
    """Three gradients of a real network's width: two of norm ~1, the third `small` times smaller."""
    g = torch.Generator().manual_seed(seed)
    G = torch.randn(3, width, generator=g) / math.sqrt(width)
    G[1] += 0.6 * G[0]  # some correlation, as between task gradients
    G[2] /= small
    return G


def authors_ega_weights(G, v):
    """The weights of the authors' released EGA code, written from its description: the Gram
    matrix in G's dtype, eigenvalues above max(lambda) * n * eps kept, B scaled by the square
    root of the smallest kept eigenvalue, weights (B summed over rows) times v."""
    M = G @ G.T
    lam, V = torch.linalg.eigh(M)
    keep = lam > lam.max() * M.shape[0] * torch.finfo(M.dtype).eps
    lam, V = lam[keep], V[:, keep]
    B = lam.min().sqrt() * (V / lam.sqrt()) @ V.T
    return B.sum(0) * v


# ---------------------------------------------------------------------------------------
# Aligned-MTL and EGA at real width and precision
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", [1_000, 61_440, 100_000])
def test_a_task_200x_smaller_is_kept_and_balanced(dtype, width):
    G = wide_float32_G(width).to(dtype)
    aligned = (F.balance_matrix(G) @ G.double())
    norms = aligned.norm(dim=1)
    # every task, the small one included, gets an aligned gradient of the same norm
    assert torch.allclose(norms, norms[0].expand(3), rtol=1e-4)
    cos = (aligned @ aligned.T) / torch.outer(norms, norms)
    assert torch.allclose(cos, torch.eye(3, dtype=torch.float64), atol=1e-4)
    # float32 and float64 give the same update
    d32, d64 = F.aligned_mtl(G), F.aligned_mtl(G.double())
    assert torch.allclose(d32.double(), d64, rtol=1e-4, atol=1e-6 * float(d64.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", [1_000, 100_000])
def test_aligned_mtl_and_ega_agree_with_torchjd(dtype, width):
    G = wide_float32_G(width).to(dtype)
    v = torch.tensor([1.4, 0.9, 0.7], dtype=dtype)
    tol = 2e-3 if dtype == torch.float32 else 1e-8  # torchjd's Gram is in G's own dtype
    ours = F.aligned_mtl(G).double()
    theirs = 3 * torchjd.AlignedMTL()(G).double()  # torchjd averages: 1/n of our sum
    assert torch.allclose(ours, theirs, rtol=tol, atol=tol * float(ours.abs().max()))
    ours = F.ega(G, v, variant="paper").double()
    theirs = torchjd.AlignedMTL(pref_vector=v)(G).double()
    assert torch.allclose(ours, theirs, rtol=tol, atol=tol * float(ours.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_official_ega_agrees_with_the_authors_formula(dtype):
    G = wide_float32_G(61_440).to(dtype)
    v = torch.tensor([1.4, 0.9, 0.7], dtype=dtype)
    expected = authors_ega_weights(G, v).double() @ G.double()
    got = F.ega(G, v, variant="official").double()
    tol = 2e-3 if dtype == torch.float32 else 1e-8
    assert torch.allclose(got, expected, rtol=tol, atol=tol * float(expected.abs().max()))


def test_width_beyond_one_over_float32_eps_goes_through():
    """1.7e7 columns: more than 1/eps(float32); the width-proportional cut exceeded 100 %."""
    width = 17_000_000
    assert width * torch.finfo(torch.float32).eps > 1
    G = wide_float32_G(width, seed=1)
    B = F.balance_matrix(G)
    M = torch.from_numpy(F._gram(G))
    aligned_gram = B @ M @ B.T
    assert torch.allclose(aligned_gram, aligned_gram[0, 0] * torch.eye(3, dtype=torch.float64), rtol=1e-4,
                          atol=1e-4 * float(aligned_gram[0, 0]))  # fmt: skip
    for d in (F.aligned_mtl(G), F.ega(G, torch.tensor([1.2, 0.9, 0.9]))):
        assert d.shape == (width,) and d.dtype == torch.float32
        assert bool(torch.isfinite(d).all())
        assert float((G[2].double() @ d.double())) > 0  # the small task is not dropped: it improves too


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nearly_stationary_G_gives_a_nearly_zero_step(dtype):
    """g1 = (1, 0), g2 = (-0.5, e) embedded at width 1e5: the step shrinks with e, no jump."""
    gen = torch.Generator().manual_seed(3)
    Q, _ = torch.linalg.qr(torch.randn(100_000, 2, generator=gen, dtype=torch.float64))
    for e in [1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9, 0.0]:
        G = (torch.tensor([[1.0, 0.0], [-0.5, e]], dtype=torch.float64) @ Q.T).to(dtype)
        d = F.aligned_mtl(G).double()
        # the full-rank step has length about e; near the cut it never jumps to the plain
        # sum (length 0.5), which would raise the second loss
        assert float(d.norm()) <= 2 * e + 1e-6, (e, float(d.norm()))


def test_rank_deficient_but_not_stationary_keeps_the_smallest_kept_value():
    g = torch.tensor([0.3, -1.2, 2.0, 0.5], dtype=torch.float64)
    for dtype in (torch.float32, torch.float64):
        G = torch.stack([g, g, 2 * g]).to(dtype)
        # identical directions are not stationary: the sum, as the authors' code and torchjd give
        assert torch.allclose(F.aligned_mtl(G).double(), 4 * g, rtol=1e-5)
        # identical directions: the rank-one alignment is the projection on g, scaled by sigma_1
        B = F.balance_matrix(G)
        u = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64) / math.sqrt(6)
        assert torch.allclose(B, torch.outer(u, u), atol=1e-6)


def test_paper_preset_ega_step_on_cpu():
    """One EGA step on parameter gradients of the paper-size network (14.8 M shared parameters)."""
    from radarode_lite.losses import task_losses
    from radarode_lite.models import RadarODEMTL

    torch.manual_seed(0)
    net = RadarODEMTL("paper", seed=0)
    n_shared = sum(p.numel() for p in net.shared_parameters())
    assert n_shared * torch.finfo(torch.float32).eps > 1  # the old cut would have dropped every task
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, *net.preset.input_shape, generator=g)
    batch = {"shape": torch.rand(2, 200, generator=g), "anchor": torch.rand(2, 800, generator=g),
             "ppi": torch.randint(100, 250, (2,), generator=g)}  # fmt: skip
    method = get_method("ega", 3, gradients="params", warmup_epoch=0)
    heads = [p for params in net.task_parameters().values() for p in params]
    features = net.encode(x)
    info = method.backward(list(task_losses(net.decode(features), batch).values()), net.shared_parameters(),
                           heads, shared_representation=features)  # fmt: skip
    assert bool(torch.all(info["weights"] > 0)), info  # every task contributes
    assert all(bool(torch.isfinite(p.grad).all()) for p in net.shared_parameters() if p.grad is not None)


# ---------------------------------------------------------------------------------------
# Properties on torchjd-style families of matrices
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DETERMINISTIC))
@pytest.mark.parametrize("index", range(len(NORMAL + STRONG + WEAK + NON_STATIONARY)))
def test_permutation_invariance(name, index):
    G = (NORMAL + STRONG + WEAK + NON_STATIONARY)[index]
    if name == "imtl_g" and torch.linalg.matrix_rank(G) == 1:
        pytest.skip("IMTL-G is ill-posed for collinear rows: its answer depends on the BLAS kernel's rounding")
    perm = torch.randperm(G.shape[0], generator=torch.Generator().manual_seed(index))
    if name == "ega":
        v = torch.linspace(0.5, 1.5, G.shape[0])
        d, dp = F.ega(G, v), F.ega(G[perm], v[perm])
    else:
        d, dp = DETERMINISTIC[name](G), DETERMINISTIC[name](G[perm])
    assert torch.allclose(d, dp, rtol=1e-6, atol=1e-9 * float(G.norm())), name


@pytest.mark.parametrize("name", ["aligned_mtl", "ega", "mgda", "imtl_g", "cagrad"])
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("index", range(len(NORMAL)))
def test_linear_methods_scale_with_G(name, scale, index):
    G = NORMAL[index]
    if name == "imtl_g" and torch.linalg.matrix_rank(G) < G.shape[0]:
        pytest.skip("IMTL-G's equal projections are not unique for linearly dependent rows")
    d, ds = DETERMINISTIC[name](G), DETERMINISTIC[name](scale * G)
    assert torch.allclose(ds, scale * d, rtol=1e-6, atol=1e-9 * scale * float(G.norm())), name


@pytest.mark.parametrize("scale", SCALES)
def test_nash_mtl_is_scale_invariant(scale):
    G = NON_STATIONARY[0]
    assert torch.allclose(F.nash_mtl(scale * G, max_norm=None), F.nash_mtl(G, max_norm=None), rtol=1e-5, atol=1e-8)


def _conflict(G, d):
    """The most negative g_i . d, relative to |g_i| |G| (0 when nothing conflicts)."""
    norms = G.norm(dim=1) * G.norm()
    ratio = torch.where(norms > 0, (G @ d) / norms.clamp_min(1e-300), torch.zeros_like(norms))
    return float(ratio.min())


@pytest.mark.parametrize("index", range(len(NORMAL + STRONG + WEAK + NON_STATIONARY)))
def test_mgda_and_cagrad_c_ge_1_never_conflict(index):
    G = (NORMAL + STRONG + WEAK + NON_STATIONARY)[index]
    for d in (F.mgda(G), F.cagrad(G, c=1.0), F.cagrad(G, c=2.0)):
        assert _conflict(G, d) >= -1e-9


@pytest.mark.parametrize("index", range(len(STRONG + WEAK)))
def test_stationary_G_gives_zero_steps(index):
    """At Pareto-stationary G no direction improves every task: the methods that promise not to
    conflict (MGDA, CAGrad with c >= 1) and Aligned-MTL/EGA stop."""
    G = (STRONG + WEAK)[index]
    scale = float(G.norm())
    for name in ("mgda", "cagrad_c2", "aligned_mtl", "ega"):
        assert float(DETERMINISTIC[name](G).norm()) <= 1e-6 * scale, name


@pytest.mark.parametrize("index", range(len(NON_STATIONARY)))
def test_nash_mtl_never_conflicts_away_from_stationarity(index):
    G = NON_STATIONARY[index]
    d = F.nash_mtl(G, max_norm=None)
    assert bool(((G @ d) > 0).all())


def test_imtl_g_improves_both_losses_for_two_tasks_but_not_always_for_three():
    gen = torch.Generator().manual_seed(0)
    flips = 0
    for _ in range(2000):
        G2 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
        assert bool(((G2 @ F.imtl_g(G2)) > 0).all())
        G3 = torch.randn(3, 3, generator=gen, dtype=torch.float64)
        flips += bool(((G3 @ F.imtl_g(G3)) < 0).all())
    assert flips > 0  # the paper's normalisation can raise every loss with three tasks


# ---------------------------------------------------------------------------------------
# MGDA, GradVac, CAGrad and the simplex projection at extreme scales
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scales", [(1.0, 1e-4, 1e-8), (1.0, 1e-8, 1e-12), (1e8, 1.0, 1e-8, 1e-3),
                                    (1.0, 1.0, 1e-10, 1e-10, 1e-9)])  # fmt: skip
@pytest.mark.parametrize("seed", range(4))
def test_mgda_is_exact_whatever_the_task_scales(scales, seed):
    """KKT conditions of min |G^T a| over the simplex: g_i . u >= |u|^2, equality on the support."""
    gen = torch.Generator().manual_seed(seed)
    G = torch.randn(len(scales), 7, generator=gen, dtype=torch.float64) * torch.tensor(scales)[:, None]
    alpha = F.mgda_weights(G)
    assert math.isclose(float(alpha.sum()), 1.0, rel_tol=1e-12) and bool((alpha >= 0).all())
    u = alpha @ G
    slack = G @ u - u @ u
    # attainable precision: u carries rounding of about eps * sum_j alpha_j |g_j|, and a
    # tiny weight on a large row is known to about eps |g_j| / |u| relative to u
    tol = G.norm(dim=1) * (1e-5 * u.norm() + 1e-12 * (alpha @ G.norm(dim=1))) + 1e-300
    assert bool((slack >= -tol).all()), slack
    assert bool((slack[alpha > 1e-9].abs() <= tol[alpha > 1e-9] + 1e-6 * (u @ u)).all()), (alpha, slack)


def test_gradvac_anti_parallel_rows_and_out_of_range_targets():
    g = torch.tensor([0.3, -1.2, 2.0, 0.5], dtype=torch.float64)
    G = torch.stack([g, -2 * g])
    d, _ = F.gradvac(G, generator=torch.Generator().manual_seed(0))
    assert float(d.norm()) <= 1e-12 * float(G.norm())
    bad = {"targets": torch.tensor([[0.0, 3.0], [-7.0, 0.0]])}  # not cosines: clamped to [-1, 1]
    d, state = F.gradvac(torch.stack([g, torch.tensor([1.0, 0.4, -0.7, 0.2], dtype=torch.float64)]), state=bad,
                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert bool(torch.isfinite(d).all())  # a target of 1 asks for a parallel row: large but finite
    assert bool((state["targets"].abs() <= 1).all())


@pytest.mark.parametrize("scale", [1e-12, 1e-6, 1e6, 1e12])
def test_gradvac_scales_with_G(scale):
    G = NORMAL[4]
    targets = {"targets": torch.full((9, 9), 0.3, dtype=torch.float64)}
    d, _ = F.gradvac(G, state=targets, generator=torch.Generator().manual_seed(1))
    ds, _ = F.gradvac(scale * G, state=targets, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(ds, scale * d, rtol=1e-6, atol=1e-9 * scale * float(G.norm()))


@pytest.mark.parametrize("scale", [0.0, 1e9, 1e12, -1e12])
def test_project_simplex_is_stable_at_any_scale(scale):
    rng = np.random.default_rng(0)
    for _ in range(50):
        v = scale + rng.normal(size=6)
        p = _linalg.project_simplex(v)
        assert math.isclose(p.sum(), 1.0, rel_tol=1e-12) and (p >= 0).all()
        # independent check: the projection of v equals that of the exactly representable
        # v - scale, which is max(w - t, 0) with t found by bisection
        w = v - scale
        lo, hi = w.min() - 1.0, w.max()
        for _ in range(200):
            t = 0.5 * (lo + hi)
            lo, hi = (t, hi) if np.maximum(w - t, 0).sum() > 1 else (lo, t)
        np.testing.assert_allclose(p, np.maximum(w - 0.5 * (lo + hi), 0), atol=1e-9)


@pytest.mark.parametrize("v", [[1.0, -0.5, 1.0], [0.0, 0.0, 0.0], [1.0, float("nan"), 1.0], [1.0, float("inf"), 1.0]])
def test_ega_refuses_negative_or_non_finite_v_ecc(v):
    with pytest.raises(ValueError, match="v_ecc"):
        F.ega(NORMAL[2][:3], v)
