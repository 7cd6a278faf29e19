"""Properties of the loss-balancing functions of radarode_lite.mtl.weighting (chapter 9)."""

import math

import numpy as np
import pytest
import torch

from radarode_lite.mtl import weighting as W


def _quadratic_losses(theta, scales):
    """Two smooth positive losses of a 3-vector ``theta``, each multiplied by a scale."""
    a = torch.tensor([1.0, -2.0, 0.5])
    b = torch.tensor([0.3, 0.7, -1.1])
    l1 = ((theta - a) ** 2).sum() + 0.1
    l2 = ((theta * b).sum() - 2.0) ** 2 + 0.2
    return torch.stack([scales[0] * l1, scales[1] * l2])


def _grad(fn, theta0):
    theta = theta0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(theta), theta)
    return g


# ------------------------------------------------------------------ EW and UW


def test_equal_weights_are_ones():
    assert torch.equal(W.equal_weights(4), torch.ones(4))


def test_uw_gradient_vanishes_exactly_at_sigma2_equal_loss():
    losses = torch.tensor([0.3, 4.0, 250.0])
    s = torch.log(losses).clone().requires_grad_(True)
    (g,) = torch.autograd.grad(W.uncertainty_loss(losses, s), s)
    assert torch.allclose(g, torch.zeros(3), atol=1e-6)
    s_off = (torch.log(losses) + 0.5).requires_grad_(True)
    (g_off,) = torch.autograd.grad(W.uncertainty_loss(losses, s_off), s_off)
    assert (g_off > 0.3).all()  # above the optimum the objective still increases


def test_uw_minimisation_finds_sigma2_equal_loss():
    losses = torch.tensor([0.05, 2.0, 80.0])
    module = W.UncertaintyWeights(3)
    opt = torch.optim.LBFGS(module.parameters(), lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = module(losses)
        loss.backward()
        return loss

    opt.step(closure)
    sigma2 = torch.exp(module.log_vars.detach())
    assert torch.allclose(sigma2, losses, rtol=1e-3)
    assert torch.allclose(module.weights(), 1 / losses, rtol=1e-3)


def test_uw_starts_as_equal_weighting():
    module = W.UncertaintyWeights(2)
    assert torch.equal(module.weights(), torch.ones(2))


# ------------------------------------------------------------------ DWA


def test_dwa_weights_sum_to_n_and_favour_slow_task():
    w = W.dwa_weights([0.9, 0.5, 0.7], [1.0, 1.0, 1.0], temperature=2.0)
    assert math.isclose(float(w.sum()), 3.0, rel_tol=1e-6)
    assert int(torch.argmax(w)) == 0 and int(torch.argmin(w)) == 1


def test_dwa_weights_invariant_to_rescaling_a_loss():
    prev, prev2 = np.array([0.8, 3.0]), np.array([1.0, 4.5])
    scale = np.array([1.0, 1000.0])
    assert torch.allclose(W.dwa_weights(prev, prev2), W.dwa_weights(prev * scale, prev2 * scale))


def test_dwa_matches_formula_and_temperature_limit():
    prev, prev2, T = np.array([0.6, 0.9]), np.array([1.0, 1.0]), 2.0
    r = prev / prev2
    expected = 2 * np.exp(r / T) / np.exp(r / T).sum()
    assert np.allclose(W.dwa_weights(prev, prev2, T).numpy(), expected, rtol=1e-6)
    assert torch.allclose(W.dwa_weights(prev, prev2, 1e6), torch.ones(2), atol=1e-5)


# ------------------------------------------------------------------ GLS


def test_gls_is_geometric_mean():
    losses = torch.tensor([0.2, 5.0, 40.0])
    assert math.isclose(float(W.gls_loss(losses)), float(np.prod(losses.numpy()) ** (1 / 3)), rel_tol=1e-6)


def test_gls_update_direction_invariant_to_rescaling_a_loss():
    theta0 = torch.tensor([0.2, -0.4, 0.9])
    g1 = _grad(lambda t: W.gls_loss(_quadratic_losses(t, (1.0, 1.0))), theta0)
    g100 = _grad(lambda t: W.gls_loss(_quadratic_losses(t, (1.0, 100.0))), theta0)
    cos = torch.dot(g1, g100) / (g1.norm() * g100.norm())
    assert float(cos) > 1 - 1e-6
    assert math.isclose(float(g100.norm() / g1.norm()), 100 ** 0.5, rel_tol=1e-4)
    # while the plain sum is dominated by the rescaled loss
    s1 = _grad(lambda t: _quadratic_losses(t, (1.0, 1.0)).sum(), theta0)
    s100 = _grad(lambda t: _quadratic_losses(t, (1.0, 100.0)).sum(), theta0)
    assert float(torch.dot(s1, s100) / (s1.norm() * s100.norm())) < 0.999


def test_gls_weights_are_the_gradient_coefficients():
    theta0 = torch.tensor([0.5, 0.1, -0.3])
    theta = theta0.clone().requires_grad_(True)
    losses = _quadratic_losses(theta, (1.0, 7.0))
    grads = [torch.autograd.grad(l, theta, retain_graph=True)[0] for l in losses]
    (g,) = torch.autograd.grad(W.gls_loss(losses), theta)
    w = W.gls_weights(losses)
    assert torch.allclose(g, w[0] * grads[0] + w[1] * grads[1], rtol=1e-5)


# ------------------------------------------------------------------ RLW


def test_rlw_weights_on_simplex_and_reproducible():
    a = [W.rlw_weights(4, torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(a[0], a[1])
    gen = torch.Generator().manual_seed(3)
    draws = torch.stack([W.rlw_weights(4, gen) for _ in range(50)])
    assert (draws > 0).all()
    assert torch.allclose(draws.sum(1), torch.ones(50), atol=1e-6)
    assert torch.equal(draws[0], a[0])
    assert draws.std(0).min() > 0.05  # fresh weights at every step


# ------------------------------------------------------------------ STCH


def test_stch_warmup_is_sum_of_logs():
    losses = torch.tensor([0.5, 3.0])
    assert math.isclose(float(W.stch_loss(losses)), float(torch.log(losses).sum()), rel_tol=1e-6)


def test_stch_gradient_invariant_to_rescaling_a_loss():
    theta0 = torch.tensor([0.1, 0.2, 0.3])
    nadir = _quadratic_losses(theta0 + 0.5, (1.0, 1.0)).detach()
    for mu in (0.1, 1.0):
        g1 = _grad(lambda t: W.stch_loss(_quadratic_losses(t, (1.0, 1.0)), nadir, mu), theta0)
        g2 = _grad(lambda t: W.stch_loss(_quadratic_losses(t, (1.0, 250.0)), nadir * torch.tensor([1.0, 250.0]), mu),
                   theta0)
        assert torch.allclose(g1, g2, rtol=1e-4, atol=1e-6)


def test_stch_small_mu_approaches_the_max():
    losses, nadir = torch.tensor([2.0, 9.0, 1.0]), torch.tensor([1.0, 3.0, 2.0])
    f = torch.log(losses / nadir)
    assert math.isclose(float(W.stch_loss(losses, nadir, mu=1e-3)) / 3, float(f.max()), rel_tol=1e-2)
    w = W.stch_weights(losses, nadir, mu=1e-3) * losses  # softmax part times n
    assert int(torch.argmax(w)) == int(torch.argmax(f)) and math.isclose(float(w.max()), 3.0, rel_tol=1e-3)


def test_stch_weights_are_the_gradient_coefficients():
    theta0 = torch.tensor([-0.2, 0.4, 0.1])
    theta = theta0.clone().requires_grad_(True)
    losses = _quadratic_losses(theta, (1.0, 3.0))
    nadir = torch.tensor([2.0, 0.5])
    grads = [torch.autograd.grad(l, theta, retain_graph=True)[0] for l in losses]
    (g,) = torch.autograd.grad(W.stch_loss(losses, nadir, 0.5), theta)
    w = W.stch_weights(losses, nadir, 0.5)
    assert torch.allclose(g, w[0] * grads[0] + w[1] * grads[1], rtol=1e-5)


# ------------------------------------------------------------------ GradNorm


def test_gradnorm_loss_zero_at_balance_and_pushes_large_norm_down():
    w = torch.ones(2, requires_grad=True)
    balanced = W.gradnorm_loss(w, [2.0, 2.0], [0.5, 0.5], [1.0, 1.0], alpha=1.5)
    assert float(balanced.detach()) == pytest.approx(0.0, abs=1e-7)
    loss = W.gradnorm_loss(w, [4.0, 1.0], [0.5, 0.5], [1.0, 1.0], alpha=1.5)
    (g,) = torch.autograd.grad(loss, w)
    assert g[0] > 0 and g[1] < 0  # descending lowers the weight of the task with the larger gradient


def test_gradnorm_slow_task_gets_larger_target():
    w = torch.ones(2, requires_grad=True)
    # equal gradient norms, but task 1's loss has fallen less: its weight must grow
    loss = W.gradnorm_loss(w, [1.0, 1.0], [0.9, 0.1], [1.0, 1.0], alpha=1.0)
    (g,) = torch.autograd.grad(loss, w)
    assert g[0] < 0 < g[1]


def test_gradnorm_weights_renormalise_to_n():
    module = W.GradNormWeights(3)
    with torch.no_grad():
        module.weights.copy_(torch.tensor([0.5, -0.1, 4.0]))
    module.renormalise()
    assert math.isclose(float(module.weights.detach().sum()), 3.0, rel_tol=1e-6)
    assert (module.weights > 0).all()


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: W.dwa_weights([1.0, 2.0], [1.0, 2.0], temperature=0.0),
        lambda: W.dwa_weights([1.0, -2.0], [1.0, 2.0]),
        lambda: W.dwa_weights([1.0, 2.0], [1.0, 2.0, 3.0]),
        lambda: W.stch_loss(torch.tensor([1.0, 2.0]), [1.0, 0.0]),
        lambda: W.stch_loss(torch.tensor([1.0, 2.0]), [1.0, 1.0], mu=-1.0),
        lambda: W.rlw_weights(0),
        lambda: W.uncertainty_loss(torch.tensor([1.0, 2.0]), torch.zeros(3)),
        lambda: W.gradnorm_loss(torch.ones(2), [1.0, 1.0], [1.0, 1.0], [1.0, 1.0], alpha=-1.0),
        lambda: W.gls_loss(torch.ones(2, 2)),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_rlw_rejects_non_generator():
    with pytest.raises(TypeError, match="generator"):
        W.rlw_weights(2, generator=1)
