"""Tests of the two-task toy problem (radarode_lite.mtl.toy)."""

import pytest
import torch

from radarode_lite.mtl import functional as F
from radarode_lite.mtl import toy


def _autograd_G(x, scales):
    x = x.clone().requires_grad_(True)
    losses = toy.toy_losses(x, scales)
    rows = [torch.autograd.grad(losses[:, i].sum(), x, retain_graph=True)[0] for i in range(2)]
    return torch.stack(rows, dim=1)


@pytest.mark.parametrize("scales", [(1.0, 1.0), (0.1, 3.0)])
def test_closed_form_gradients_match_autograd(scales):
    gen = torch.Generator().manual_seed(0)
    x = torch.cat([20 * torch.rand(300, 2, generator=gen, dtype=torch.float64) - 10, toy.START_POINTS])
    losses, G = toy.toy_gradients(x, scales)
    assert torch.allclose(losses, toy.toy_losses(x, scales), atol=1e-12)
    assert torch.allclose(G, _autograd_G(x, scales), atol=1e-10)


def test_losses_are_bounded_below_and_scale():
    grid = torch.stack(torch.meshgrid(torch.linspace(-10, 10, 101, dtype=torch.float64),
                                      torch.linspace(-10, 10, 101, dtype=torch.float64), indexing="ij"), -1)
    losses = toy.toy_losses(grid)
    assert float(losses.min()) > toy.LOSS_LOWER_BOUND
    assert torch.allclose(toy.toy_losses(grid, (2.0, 0.5)), losses * torch.tensor([2.0, 0.5], dtype=torch.float64))


def test_pareto_set_is_pareto_stationary_and_near_the_quoted_line():
    P = toy.pareto_set(41)
    _, G = toy.toy_gradients(P)
    for b in range(P.shape[0]):
        assert float(F.mgda(G[b]).norm()) < 1e-8 * float(G[b].norm())  # 0 in the hull
    assert torch.allclose(P[[0, -1], 0], torch.tensor([-7.0, 7.0], dtype=torch.float64))
    middle = float(P[20, 1])
    assert abs(middle - (-8.3552)) < 2e-4  # the line x2 = -8.3552 quoted for the toy problem
    assert float(P[:, 1].min()) > -8.44 and float(P[:, 1].max()) < -8.35
    # off the set, a small move along x2 lets MGDA find a common descent direction
    _, G_off = toy.toy_gradients(P + torch.tensor([0.0, 0.3], dtype=torch.float64))
    assert all(float(F.mgda(G_off[b]).norm()) > 1e-3 for b in range(P.shape[0]))


def test_trajectories_are_deterministic_and_independent_of_batching():
    a = toy.run_trajectories("GradDrop", n_steps=20, seed=3)
    b = toy.run_trajectories("GradDrop", n_steps=20, seed=3)
    both = toy.run_methods(["EW", "GradDrop"], n_steps=20, seed=3)
    assert a["x"].shape == (21, 5, 2) and a["losses"].shape == (21, 5, 2)
    assert torch.equal(a["x"], b["x"]) and torch.equal(a["x"], both["GradDrop"]["x"])
    assert torch.equal(a["x"][0], toy.START_POINTS)


def test_sgd_step_follows_the_update():
    start = torch.tensor([[1.0, -3.0]], dtype=torch.float64)
    result = toy.run_trajectories("EW", starts=start, n_steps=1, lr=0.01, optimizer="sgd")
    _, G = toy.toy_gradients(start)
    assert torch.allclose(result["x"][1, 0], start[0] - 0.01 * G[0].sum(0))


def test_ega_rule_uses_eccentric_weights_after_warm_up():
    rule = toy.update_rule("EGA", temperature=0.5, warm_step=0)
    G = torch.tensor([[1.0, 0.2], [0.1, 1.0]], dtype=torch.float64)
    first = rule(G, torch.tensor([2.0, 2.0]))  # warm-up step: uniform vector
    assert torch.allclose(first, F.aligned_mtl(G))
    second = rule(G, torch.tensor([1.0, 1.9]))
    v = F.eccentric_weights([2.0, 2.0], [2.0, 2.0], 0.5)  # previous losses / warm-up losses
    assert torch.allclose(second, F.ega(G, v))
    third = rule(G, torch.tensor([0.5, 1.8]))
    v = F.eccentric_weights([1.0, 1.9], [2.0, 2.0], 0.5)
    assert torch.allclose(third, F.ega(G, v))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="x"):
        toy.toy_losses(torch.ones(3))
    with pytest.raises(ValueError, match="scales"):
        toy.toy_losses(torch.ones(2), scales=(1.0, -1.0))
    with pytest.raises(ValueError, match="name"):
        toy.update_rule("SGD")
    with pytest.raises(ValueError, match="starts"):
        toy.run_trajectories("EW", starts=torch.ones(2))
