"""Property tests of radarode_lite.mtl.functional: each method's defining equations hold."""

import itertools
import math

import pytest
import torch

from radarode_lite.mtl import functional as F

SEEDS = [0, 1, 2]


def random_G(n, m, rank=None, seed=0, dtype=torch.float64):
    """A random (n, m) gradient matrix of the given rank."""
    g = torch.Generator().manual_seed(seed)
    rank = min(n, m) if rank is None else rank
    A = torch.randn(n, rank, generator=g, dtype=torch.float64)
    B = torch.randn(rank, m, generator=g, dtype=torch.float64)
    return (A @ B).to(dtype)


def unit_rows(G):
    return G / G.norm(dim=1, keepdim=True)


# ---------------------------------------------------------------------------------------
# EW and PCGrad
# ---------------------------------------------------------------------------------------


def test_ew_is_the_sum_of_rows():
    G = random_G(3, 7, seed=5)
    assert torch.allclose(F.ew(G), G[0] + G[1] + G[2])


@pytest.mark.parametrize("seed", SEEDS)
def test_pcgrad_two_conflicting_tasks_removes_exactly_the_conflicting_component(seed):
    g = torch.Generator().manual_seed(seed)
    g1 = torch.randn(6, generator=g, dtype=torch.float64)
    g2 = torch.randn(6, generator=g, dtype=torch.float64)
    if g1 @ g2 > 0:
        g2 = g2 - 2 * (g1 @ g2) / (g1 @ g1) * g1  # reflect to make the pair conflict
    assert g1 @ g2 < 0
    d = F.pcgrad(torch.stack([g1, g2]), generator=torch.Generator().manual_seed(seed))
    p1 = g1 - (g1 @ g2) / (g2 @ g2) * g2
    p2 = g2 - (g1 @ g2) / (g1 @ g1) * g1
    assert torch.allclose(d, p1 + p2, atol=1e-12)
    assert abs(float(p1 @ g2)) < 1e-12 and abs(float(p2 @ g1)) < 1e-12


def test_pcgrad_leaves_non_conflicting_gradients_untouched():
    G = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.1, 3.0], [2.0, 0.0, 1.0]], dtype=torch.float64)
    assert bool(torch.all(G @ G.T >= 0))
    assert torch.allclose(F.pcgrad(G), G.sum(0))


def test_pcgrad_is_deterministic_for_a_seeded_generator():
    G = random_G(4, 9, seed=3)
    d1 = F.pcgrad(G, generator=torch.Generator().manual_seed(7))
    d2 = F.pcgrad(G, generator=torch.Generator().manual_seed(7))
    assert torch.equal(d1, d2)


# ---------------------------------------------------------------------------------------
# GradDrop and GradVac
# ---------------------------------------------------------------------------------------


def test_graddrop_keeps_one_sign_per_coordinate_with_frequency_equal_to_purity():
    column = torch.tensor([[3.0], [-1.0]], dtype=torch.float64)
    G = column.repeat(1, 40000)  # purity P = 0.5 (1 + 2/4) = 0.75 in every coordinate
    d = F.graddrop(G, generator=torch.Generator().manual_seed(0))
    assert bool(torch.all((d == 3.0) | (d == -1.0)))
    assert abs(float((d == 3.0).double().mean()) - 0.75) < 0.01


def test_graddrop_same_signs_full_leak_and_one_task_return_the_sum():
    G = torch.tensor([[1.0, -2.0, 0.5], [3.0, -1.0, 0.1]], dtype=torch.float64)
    assert torch.allclose(F.graddrop(G), G.sum(0))
    mixed = random_G(3, 50, seed=1)
    assert torch.allclose(F.graddrop(mixed, leak=1.0), mixed.sum(0))
    assert torch.allclose(F.graddrop(mixed[:1]), mixed[0])


def test_graddrop_leak_per_task_passes_that_task_entirely():
    G = random_G(2, 200, seed=4)
    d = F.graddrop(G, leak=[1.0, 0.0], generator=torch.Generator().manual_seed(1))
    rest = d - G[0]  # task 0 always passes; task 1 only where its sign was chosen
    assert bool(torch.all((rest == 0) | torch.isclose(rest, G[1])))


def test_gradvac_with_zero_targets_equals_pcgrad_for_two_tasks():
    G = torch.tensor([[1.0, 0.2, -0.3], [-0.8, 1.0, 0.1]], dtype=torch.float64)
    assert G[0] @ G[1] < 0
    d, _ = F.gradvac(G)
    assert torch.allclose(d, F.pcgrad(G), atol=1e-7)


def test_gradvac_raises_the_cosine_to_its_target_and_updates_the_ema():
    G = torch.tensor([[1.0, 0.0, 0.0], [0.3, 1.0, 0.2]], dtype=torch.float64)
    cos = float(unit_rows(G)[0] @ unit_rows(G)[1])
    targets = torch.tensor([[0.0, 0.8], [-1.0, 0.0]], dtype=torch.float64)  # only task 0 is moved
    d, state = F.gradvac(G, state={"targets": targets}, beta=0.25, eps=0.0)
    g0_new = d - G[1]
    assert math.isclose(float(unit_rows(g0_new[None])[0] @ unit_rows(G)[1]), 0.8, abs_tol=1e-10)
    assert math.isclose(float(state["targets"][0, 1]), 0.75 * 0.8 + 0.25 * cos, abs_tol=1e-12)
    assert math.isclose(float(state["targets"][1, 0]), 0.75 * -1.0 + 0.25 * cos, abs_tol=1e-12)
    assert float(targets[0, 1]) == 0.8  # the caller's state is not modified


# ---------------------------------------------------------------------------------------
# MGDA
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,rank", [(2, 2), (2, 1), (3, 3), (3, 2), (4, 4), (5, 3)])
@pytest.mark.parametrize("seed", SEEDS)
def test_mgda_min_norm_point_satisfies_kkt(n, rank, seed):
    G = random_G(n, 8, rank=rank, seed=seed)
    alpha = F.mgda_weights(G)
    assert bool(torch.all(alpha >= 0)) and math.isclose(float(alpha.sum()), 1.0, abs_tol=1e-12)
    u = alpha @ G
    uu = float(u @ u)
    inner = G @ u
    tol = 1e-9 * float((G * G).sum())
    assert bool(torch.all(inner >= uu - tol))  # g_i . u >= |u|^2 for every task
    support = alpha > 1e-9
    assert torch.allclose(inner[support], torch.full_like(inner[support], uu), atol=tol)
    assert torch.allclose(F.mgda(G), n * u, atol=1e-10)


def test_mgda_two_tasks_matches_a_fine_grid_search():
    G = torch.tensor([[2.0, 0.5], [-1.0, 1.5]], dtype=torch.float64)
    gamma = torch.linspace(0, 1, 200001, dtype=torch.float64)
    norms = (gamma[:, None] * G[0] + (1 - gamma[:, None]) * G[1]).norm(dim=1)
    assert math.isclose(float((F.mgda(G) / 2).norm()), float(norms.min()), rel_tol=1e-8)


def test_mgda_is_zero_at_a_pareto_stationary_point():
    G = torch.tensor([[1.0, 0.0], [-2.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    assert float(F.mgda(G).norm()) < 1e-12
    assert float(F.mgda(G[:2]).norm()) < 1e-12


# ---------------------------------------------------------------------------------------
# Aligned-MTL and EGA
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,rank", [(2, 2), (3, 3), (3, 2), (4, 2)])
@pytest.mark.parametrize("seed", SEEDS)
def test_aligned_gradients_are_orthogonal_with_equal_norms_on_the_span(n, rank, seed):
    G = random_G(n, 10, rank=rank, seed=seed)
    G_tilde = F.balance_matrix(G) @ G
    sigma = torch.linalg.svdvals(G)
    # the common norm is the smallest kept singular value, or ~0 when a direction is dropped
    # and 0 lies in the convex hull of the rows (G Pareto-stationary)
    stationary = rank < n and float(F.mgda(G).norm()) < 1e-6 * float(sigma[0])
    s = 0.0 if stationary else float(sigma[rank - 1])
    eig = torch.linalg.eigvalsh(G_tilde @ G_tilde.T).flip(0)
    assert torch.allclose(eig[:rank], torch.full((rank,), s**2, dtype=torch.float64),
                          rtol=1e-9, atol=1e-12 * float(sigma[0]) ** 2)
    assert torch.allclose(eig[rank:], torch.zeros(n - rank, dtype=torch.float64), atol=1e-9)
    # rows of G_tilde stay in the row space of G
    P = torch.linalg.pinv(G) @ G
    assert torch.allclose(G_tilde @ P, G_tilde, atol=1e-9)


def test_aligned_mtl_of_orthogonal_rows_sums_unit_rows_times_smallest_norm():
    Q, _ = torch.linalg.qr(torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    G = Q.T * torch.tensor([[1.0], [2.0], [5.0]], dtype=torch.float64)
    assert torch.allclose(F.aligned_mtl(G), Q.T.sum(0) * 1.0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_aligned_mtl_and_ega_scale_linearly_with_G(seed):
    G = random_G(3, 8, seed=seed)
    v = torch.tensor([0.5, 1.7, 0.8], dtype=torch.float64)
    for c in (1e-3, 7.5):
        assert torch.allclose(F.aligned_mtl(c * G), c * F.aligned_mtl(G), rtol=1e-9, atol=1e-12)
        for variant in ("paper", "official"):
            assert torch.allclose(F.ega(c * G, v, variant=variant), c * F.ega(G, v, variant=variant),
                                  rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_ega_with_uniform_vector_is_aligned_mtl_and_variants_agree(seed):
    G = random_G(3, 8, seed=seed)
    for variant in ("paper", "official"):
        assert torch.allclose(F.ega(G, torch.ones(3)), F.aligned_mtl(G), atol=1e-12)
        assert torch.allclose(F.ega(G, [2.5, 2.5, 2.5], variant=variant), 2.5 * F.aligned_mtl(G), atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_ega_paper_and_official_differ_for_non_uniform_vector(seed):
    G = random_G(3, 8, seed=seed)
    v = torch.tensor([0.4, 2.0, 0.6], dtype=torch.float64)
    paper, official = F.ega(G, v), F.ega(G, v, variant="official")
    assert float((paper - official).norm()) > 1e-3 * float(paper.norm())
    # paper: the aligned rows weighted by v, so G_tilde d = sigma^2 v
    G_tilde = F.balance_matrix(G) @ G
    sigma2 = float(torch.linalg.svdvals(G)[-1]) ** 2
    assert torch.allclose(G_tilde @ paper, sigma2 * v, rtol=1e-9)


def test_ega_variants_coincide_when_gradients_are_orthogonal():
    G = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=torch.float64)  # B is diagonal
    v = torch.tensor([1.6, 0.4], dtype=torch.float64)
    assert torch.allclose(F.ega(G, v), F.ega(G, v, variant="official"))


# ---------------------------------------------------------------------------------------
# IMTL-G
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("seed", SEEDS)
def test_imtl_g_has_equal_projections_on_unit_gradients(n, seed):
    G = random_G(n, 9, seed=seed)
    d = F.imtl_g(G)
    proj = unit_rows(G) @ d
    assert torch.allclose(proj, proj.mean().expand(n), rtol=1e-9)
    alpha = torch.linalg.lstsq(G.T, d[:, None] / n).solution[:, 0]  # weights sum to one
    assert math.isclose(float(alpha.sum()), 1.0, abs_tol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_imtl_g_matches_the_papers_closed_form(seed):
    G = random_G(3, 9, seed=seed)
    U = unit_rows(G)
    D = G[0] - G[1:]  # rows g_1 - g_i
    Ud = U[0] - U[1:]  # rows u_1 - u_i
    alpha_rest = G[0] @ Ud.T @ torch.linalg.inv(D @ Ud.T)
    alpha = torch.cat([1 - alpha_rest.sum(0, keepdim=True), alpha_rest])
    assert torch.allclose(F.imtl_g(G), 3 * alpha @ G, atol=1e-9)


# ---------------------------------------------------------------------------------------
# Nash-MTL
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", SEEDS)
def test_nash_weights_solve_the_bargaining_equations(n, seed):
    G = random_G(n, 10, seed=seed)
    alpha = F.nash_weights(G)
    M = G @ G.T
    assert bool(torch.all(alpha > 0))
    assert torch.allclose(alpha * (M @ alpha), torch.ones(n, dtype=torch.float64), atol=1e-6)
    d = F.nash_mtl(G)
    assert math.isclose(float(d @ d), n, rel_tol=1e-6)  # |d|^2 = alpha^T M alpha = n


@pytest.mark.parametrize("seed", SEEDS)
def test_nash_update_is_invariant_to_loss_rescaling(seed):
    G = random_G(3, 10, seed=seed)
    c = torch.tensor([[0.01], [3.0], [250.0]], dtype=torch.float64)
    assert torch.allclose(F.nash_mtl(c * G), F.nash_mtl(G), atol=1e-8)
    # the weights transform as alpha_i / c_i
    assert torch.allclose(F.nash_weights(c * G), F.nash_weights(G) / c[:, 0], rtol=1e-7)


def test_nash_max_norm_clips_the_update():
    G = random_G(3, 10, seed=1)
    assert math.isclose(float(F.nash_mtl(G, max_norm=1.0).norm()), 1.0, rel_tol=1e-9)


# ---------------------------------------------------------------------------------------
# CAGrad
# ---------------------------------------------------------------------------------------


def test_cagrad_with_c_zero_is_the_sum():
    G = random_G(3, 8, seed=2)
    assert torch.allclose(F.cagrad(G, c=0.0), G.sum(0), atol=1e-12)


def _cagrad_dual_grid(G, c, steps):
    """Brute-force the CAGrad dual min_w g_w.g0 + c|g0||g_w| on a grid of the simplex."""
    n = G.shape[0]
    g0 = G.mean(0)
    grid = [w for w in itertools.product(range(steps + 1), repeat=n - 1) if sum(w) <= steps]
    W = torch.tensor([[*w, steps - sum(w)] for w in grid], dtype=torch.float64) / steps
    gw = W @ G
    return float((gw @ g0 + c * g0.norm() * gw.norm(dim=1)).min())


@pytest.mark.parametrize("n,steps", [(2, 20000), (3, 150)])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("c", [0.3, 0.8])
def test_cagrad_meets_its_constraint_and_is_optimal(n, steps, seed, c):
    G = random_G(n, 6, seed=seed)
    d = F.cagrad(G, c=c, rescale=False) / n  # the paper's d*, before our factor n
    assert torch.allclose(F.cagrad(G, c=c), n * d / (1 + c**2), atol=1e-12)
    g0 = G.mean(0)
    assert float((d - g0).norm()) <= c * float(g0.norm()) * (1 + 1e-9)
    worst = float((G @ d).min())
    # strong duality: the primal value equals the minimum of the dual over the simplex
    dual = _cagrad_dual_grid(G, c, steps)
    assert worst <= dual + 1e-9
    assert dual - worst < (3e-3 if n == 3 else 1e-7) * float(G.norm()) ** 2
    # and no random feasible direction does better
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(1000, 6, generator=gen, dtype=torch.float64)
    r = torch.rand(1000, 1, generator=gen, dtype=torch.float64)
    feasible = g0 + c * float(g0.norm()) * r * z / z.norm(dim=1, keepdim=True)
    assert float((feasible @ G.T).min(dim=1).values.max()) <= worst + 1e-9


# ---------------------------------------------------------------------------------------
# MoCo
# ---------------------------------------------------------------------------------------


def test_moco_weights_converge_to_mgda_weights_for_a_fixed_G():
    G = random_G(3, 5, seed=0)
    G = G / G.norm()
    state = None
    for _ in range(1500):
        d, state = F.moco(G, state=state, gamma=4.0)
    assert state["step"] == 1500
    assert torch.allclose(state["y"], G)
    assert torch.allclose(state["lam"], F.mgda_weights(G), atol=2e-3)
    assert torch.allclose(d, 3 * state["lam"] @ G)


def test_moco_losses_rescale_rows_to_the_loss_values():
    G = torch.tensor([[3.0, 0.0], [0.0, 0.5]], dtype=torch.float64)
    _, state = F.moco(G, losses=[2.0, 4.0])
    assert torch.allclose(state["y"], torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=torch.float64))


# ---------------------------------------------------------------------------------------
# Eccentric weights
# ---------------------------------------------------------------------------------------


def test_eccentric_weights_sum_to_n_and_prefer_the_slow_task():
    warm = [1.0, 2.0, 0.5]
    prev = [0.2, 1.8, 0.25]  # relative progress 0.2, 0.9, 0.5: task 1 is the slowest
    k = F.eccentric_weights(prev, warm, temperature=0.5)
    assert math.isclose(float(k.sum()), 3.0, rel_tol=1e-12)
    assert bool(torch.all(k > 0))
    assert int(k.argmax()) == 1 and int(k.argmin()) == 0
    assert torch.allclose(F.eccentric_weights(prev, warm, 1e6), torch.ones(3, dtype=torch.float64), atol=1e-5)
    sharp = F.eccentric_weights(prev, warm, 0.01)
    assert float(sharp[1]) > 2.99


def test_eccentric_weights_ratio_of_two_tasks_is_exp_of_progress_gap():
    k = F.eccentric_weights(torch.tensor([0.6, 0.3]), torch.tensor([1.0, 1.0]), temperature=0.2)
    assert math.isclose(float(k[0] / k[1]), math.exp((0.6 - 0.3) / 0.2), rel_tol=1e-6)
    assert k.dtype == torch.float32


# ---------------------------------------------------------------------------------------
# Degenerate inputs
# ---------------------------------------------------------------------------------------

STATELESS = [F.ew, F.pcgrad, F.graddrop, F.cagrad, F.mgda, F.imtl_g, F.nash_mtl, F.aligned_mtl,
             lambda G: F.ega(G, torch.ones(G.shape[0])), lambda G: F.gradvac(G)[0],
             lambda G: F.moco(G)[0]]


def _degenerate_cases():
    g = torch.tensor([0.3, -1.2, 2.0, 0.5], dtype=torch.float64)
    h = torch.tensor([1.0, 0.4, -0.7, 0.2], dtype=torch.float64)
    return {
        "one_task": g[None],
        "zero_row": torch.stack([g, torch.zeros(4, dtype=torch.float64)]),
        "all_zero": torch.zeros(3, 4, dtype=torch.float64),
        "identical": torch.stack([g, g, g]),
        "rank_deficient": torch.stack([g, h, g + 2 * h]),
        "opposite": torch.stack([g, -g]),
        "scale_1e12": torch.stack([1e12 * g, h]),
        "more_tasks_than_params": random_G(5, 2, seed=0),
    }


@pytest.mark.parametrize("case", list(_degenerate_cases()))
@pytest.mark.parametrize("method", range(len(STATELESS)))
def test_degenerate_inputs_give_finite_updates(case, method):
    G = _degenerate_cases()[case]
    d = STATELESS[method](G)
    assert d.shape == (G.shape[1],)
    assert bool(torch.isfinite(d).all())


def test_one_task_returns_its_gradient_or_the_documented_scaling():
    g = torch.tensor([[0.3, -1.2, 2.0, 0.5]], dtype=torch.float64)
    for method in STATELESS:
        if method not in (F.cagrad, F.nash_mtl):
            assert torch.allclose(method(g), g[0], atol=1e-12)
    assert torch.allclose(F.cagrad(g, c=0.5), g[0] * 1.5 / 1.25)
    assert torch.allclose(F.nash_mtl(g), g[0] / g[0].norm())


def test_identical_gradients_give_the_sum():
    G = _degenerate_cases()["identical"]
    for method in STATELESS:
        if method not in (F.cagrad, F.nash_mtl):
            assert torch.allclose(method(G), 3 * G[0], atol=1e-12)
    assert torch.allclose(F.nash_mtl(G), math.sqrt(3) * G[0] / G[0].norm())


def test_zero_row_makes_mgda_and_aligned_mtl_stop_and_others_follow_the_other_task():
    # a zero row makes G Pareto-stationary: MGDA and Aligned-MTL (whose full-rank step shrinks
    # with the smallest singular value) stop; the others follow the other task
    G = _degenerate_cases()["zero_row"]
    assert float(F.mgda(G).norm()) == 0.0
    assert float(F.aligned_mtl(G).norm()) == 0.0
    assert torch.allclose(F.nash_mtl(G), G[0] / G[0].norm())
    assert torch.allclose(F.imtl_g(G), 2 * G[0])


def test_rank_deficient_G_keeps_aligned_rows_orthogonal_on_the_span():
    G = _degenerate_cases()["rank_deficient"]
    G_tilde = F.balance_matrix(G) @ G
    eig = torch.linalg.eigvalsh(G_tilde @ G_tilde.T)
    sigma = torch.linalg.svdvals(G)
    assert float(eig[0]) < 1e-10 and torch.allclose(eig[1:], sigma[1].square().expand(2), rtol=1e-8)


def test_gradients_1e12_apart_are_balanced_not_dominated():
    G = _degenerate_cases()["scale_1e12"]
    # Aligned-MTL: a task 1e6 smaller still gets the same share of the aligned update,
    # G_tilde d = sigma^2 (1, 1); at 1e12 the Gram matrix cannot resolve it (below the cut of
    # n * eps on its eigenvalues), G is then nearly Pareto-stationary and the step nearly zero
    G6 = torch.stack([1e6 * G[0] / 1e12, G[1]])
    share = (F.balance_matrix(G6) @ G6) @ F.aligned_mtl(G6)
    assert math.isclose(float(share[0]), float(share[1]), rel_tol=1e-6)
    assert float(F.aligned_mtl(G).norm()) <= 1e-7 * float(G.norm())
    proj = unit_rows(G) @ F.imtl_g(G)
    assert math.isclose(float(proj[0]), float(proj[1]), rel_tol=1e-6)
    alpha = F.nash_weights(G)
    assert torch.allclose(alpha * (G @ G.T @ alpha), torch.ones(2, dtype=torch.float64), atol=1e-6)
    u = F.mgda(G) / 2
    assert float(G[1] @ u) >= float(u @ u) * (1 - 1e-9)


def test_float32_input_gives_float32_output():
    G = random_G(3, 5, seed=0, dtype=torch.float32)
    for method in STATELESS:
        assert method(G).dtype == torch.float32
    assert F.mgda(torch.tensor([[1, 0], [0, 1]])).dtype == torch.float64  # integers promoted


# ---------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", range(len(STATELESS)))
def test_non_finite_G_raises_naming_G(method):
    for bad in (float("nan"), float("inf")):
        G = random_G(2, 3, seed=0)
        G[1, 2] = bad
        with pytest.raises(ValueError, match="G"):
            STATELESS[method](G)


@pytest.mark.parametrize("bad", [torch.ones(3), torch.ones(2, 2, 2), torch.ones(0, 3), torch.ones(2, 0)])
def test_G_must_be_a_non_empty_matrix(bad):
    with pytest.raises(ValueError, match="G"):
        F.aligned_mtl(bad)


def test_G_of_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="G"):
        F.mgda([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match="G"):
        F.ew(torch.ones(2, 2, dtype=torch.complex64))


def test_bad_arguments_raise():
    G = random_G(3, 4, seed=0)
    with pytest.raises(ValueError, match="v_ecc"):
        F.ega(G, [1.0, 1.0])
    with pytest.raises(ValueError, match="variant"):
        F.ega(G, [1.0, 1.0, 1.0], variant="other")
    with pytest.raises(ValueError, match="c"):
        F.cagrad(G, c=-0.1)
    with pytest.raises(ValueError, match="leak"):
        F.graddrop(G, leak=[0.5, 0.5])
    with pytest.raises(TypeError, match="generator"):
        F.pcgrad(G, generator=0)
    with pytest.raises(ValueError, match="state"):
        F.gradvac(G, state={"targets": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="warm_losses"):
        F.eccentric_weights([1.0, 2.0], [1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="temperature"):
        F.eccentric_weights([1.0, 2.0], [1.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="warm_losses"):
        F.eccentric_weights([1.0, 2.0], [1.0, 1.0, 1.0], 1.0)
