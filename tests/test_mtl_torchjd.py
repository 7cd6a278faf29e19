"""Cross-checks of radarode_lite.mtl.functional against torchjd's aggregators.

torchjd aggregators map a Jacobian ``J`` (tasks x parameters, our ``G``) to a vector. Each test
states how torchjd's scale convention relates to ours (our update replaces the *sum* of the
task gradients).
"""

import pytest
import torch

torchjd = pytest.importorskip("torchjd")
from torchjd import aggregation as A  # noqa: E402

from radarode_lite.mtl import functional as F  # noqa: E402

SEEDS = [0, 1, 2]


def random_G(n, m, seed):
    return torch.randn(n, m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _make_or_skip(factory, name):
    """Build a torchjd aggregator, skipping the test if its optional solver is missing."""
    try:
        return factory()
    except ImportError as exc:
        pytest.skip(f"torchjd's {name} needs optional solver packages (cvxpy) that are not installed: {exc}")


def test_sum_equals_ew():
    # Convention: torchjd Sum is the plain sum, like ours.
    G = random_G(3, 7, 0)
    assert torch.allclose(A.Sum()(G), F.ew(G))


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("seed", SEEDS)
def test_mgda_matches_torchjd_frank_wolfe(n, seed):
    # Convention: torchjd MGDA returns the min-norm point G^T alpha (weights on the simplex);
    # ours is n times it. torchjd solves by Frank-Wolfe, so it is only approximately optimal:
    # ours is never longer, and the two points are close (equal for two tasks, where the
    # first Frank-Wolfe step is the exact line search).
    G = random_G(n, 8, seed)
    theirs = A.MGDA(epsilon=1e-10, max_iters=1000)(G)
    ours = F.mgda(G) / n
    scale = float(G.norm())
    assert float(ours.norm()) <= float(theirs.norm()) + 1e-12 * scale
    assert float(theirs.norm()) ** 2 - float(ours.norm()) ** 2 <= 3e-4 * scale**2
    assert torch.allclose(ours, theirs, atol=(1e-12 if n == 2 else 1e-2) * scale)


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_pcgrad_matches_torchjd_for_the_same_random_orders(n, seed):
    # Convention: both return the sum of projected gradients. Both draw one randperm(n) per
    # task in the same order, torchjd from the global generator and ours from `generator`.
    G = random_G(n, 6, seed)
    torch.manual_seed(100 + seed)
    theirs = A.PCGrad()(G)
    ours = F.pcgrad(G, generator=torch.Generator().manual_seed(100 + seed))
    assert torch.allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("seed", SEEDS)
def test_imtl_g_matches_torchjd(n, seed):
    # Convention: torchjd IMTLG weights sum to one (G^T alpha); ours is n times that.
    G = random_G(n, 9, seed)
    assert torch.allclose(F.imtl_g(G), n * A.IMTLG()(G), atol=1e-9)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("seed", SEEDS)
def test_aligned_mtl_matches_torchjd(n, seed):
    # Convention: torchjd AlignedMTL uses the mean preference vector 1/n, i.e. G^T B 1 / n;
    # ours uses the sum (the authors' B.sum(0)), so ours = n * theirs. With an explicit
    # pref_vector v torchjd returns G^T B v, which is EGA's "paper" variant.
    G = random_G(n, 8, seed)
    assert torch.allclose(F.aligned_mtl(G), n * A.AlignedMTL()(G), atol=1e-10)
    v = torch.linspace(0.5, 1.5, n, dtype=torch.float64)
    assert torch.allclose(F.ega(G, v), A.AlignedMTL(pref_vector=v)(G), atol=1e-10)
    assert not torch.allclose(F.ega(G, v, variant="official"), A.AlignedMTL(pref_vector=v)(G), atol=1e-6)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("seed", SEEDS)
def test_gradvac_matches_torchjd_over_several_steps(n, seed):
    # Convention: both return the sum of the vaccinated gradients and keep EMA targets
    # between calls; the random visiting orders are drawn in the same way.
    aggregator = A.GradVac(beta=0.3)
    state = None
    for step in range(4):
        G = random_G(n, 5, 10 * seed + step)
        torch.manual_seed(step)
        theirs = aggregator(G)
        ours, state = F.gradvac(G, state=state, beta=0.3, generator=torch.Generator().manual_seed(step))
        assert torch.allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_graddrop_matches_torchjd_for_the_same_uniform_draws(seed):
    # Convention: both return the sum of the masked gradients; the uniform draws are one
    # torch.rand(n_params) in G's dtype, so equal seeds give equal masks.
    G = random_G(3, 50, seed)
    leak = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    torch.manual_seed(seed)
    theirs = A.GradDrop(leak=leak)(G)
    ours = F.graddrop(G, leak=leak.tolist(), generator=torch.Generator().manual_seed(seed))
    assert torch.allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_cagrad_matches_torchjd(seed):
    # Convention: torchjd CAGrad returns g0 + (phi/|g_w|) g_w without the authors' 1/(1+c^2)
    # rescaling; ours with rescale=False is n times that. torchjd solves the dual with a generic
    # conic solver (and a small norm regulariser), so the two agree to about 1e-4, and ours is
    # never worse on CAGrad's own objective: the worst task's improvement min_i g_i . d inside
    # the ball ||d - g0|| <= c ||g0||.
    aggregator = _make_or_skip(lambda: A.CAGrad(c=0.5), "CAGrad")
    G = random_G(3, 8, seed)
    ours = F.cagrad(G, c=0.5, rescale=False) / 3
    theirs = aggregator(G)
    assert torch.allclose(ours, theirs, atol=1e-3, rtol=1e-3)
    g0 = G.mean(dim=0)
    assert torch.linalg.vector_norm(ours - g0) <= 0.5 * torch.linalg.vector_norm(g0) * (1 + 1e-9)
    assert (G @ ours).min() >= (G @ theirs).min() - 1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_nash_mtl_matches_torchjd(seed):
    # Convention: torchjd NashMTL returns G^T alpha with alpha from the bargaining problem
    # (iterative convex approximations, then norm clipping at max_norm); ours solves the
    # same equations exactly, so with clipping disabled the two agree up to its tolerance.
    aggregator = _make_or_skip(lambda: A.NashMTL(n_tasks=3, max_norm=0.0, optim_niter=200), "NashMTL")
    G = random_G(3, 8, seed)
    assert torch.allclose(F.nash_mtl(G), aggregator(G), atol=1e-3 * float(G.norm()))
