"""Tests for radarode_lite.losses: the shape, anchor and cycle-length losses."""

import pytest
import torch

from radarode_lite.losses import PPI_SIGMA, cycle_length_loss, soft_targets, task_losses
from radarode_lite.models import TASKS


pytestmark = pytest.mark.usefixtures("one_thread")


def make_batch(batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "sst": torch.rand(batch, 8, 32, 120, generator=g),
        "shape": torch.rand(batch, 200, generator=g),
        "anchor": torch.rand(batch, 800, generator=g),
        "ppi": torch.randint(90, 255, (batch,), generator=g),
    }


def entropy(q):
    return -(q * q.clamp_min(1e-30).log()).sum(dim=1)


# --------------------------------------------------------------------------- soft targets


@pytest.mark.parametrize("sigma", [0.0, 0.5, PPI_SIGMA, 7.0])
def test_soft_targets_sum_to_one_and_peak_at_the_true_class(sigma):
    ppi = torch.tensor([0, 1, 130, 258, 259])
    q = soft_targets(ppi, sigma=sigma)
    assert q.shape == (5, 260)
    assert (q >= 0).all()
    torch.testing.assert_close(q.sum(dim=1), torch.ones(5))
    assert torch.equal(q.argmax(dim=1), ppi)


def test_soft_targets_are_symmetric_gaussians_of_the_documented_width():
    q = soft_targets(torch.tensor([130]), sigma=3.0)[0]
    offsets = torch.arange(1, 12)
    torch.testing.assert_close(q[130 + offsets], q[130 - offsets])
    # ratio to the peak follows exp(-k^2 / (2 sigma^2))
    torch.testing.assert_close(q[133] / q[130], torch.exp(torch.tensor(-0.5)))
    one_hot = torch.zeros(260)
    one_hot[130] = 1.0
    assert torch.equal(soft_targets(torch.tensor([130]), sigma=0.0)[0], one_hot)


def test_wider_soft_targets_carry_more_entropy():
    ppi = torch.tensor([150])
    entropies = [entropy(soft_targets(ppi, sigma=s)).item() for s in (0.0, 1.0, 2.0, 4.0)]
    assert entropies == sorted(entropies) and entropies[0] == 0.0 and entropies[-1] > entropies[0]


# --------------------------------------------------------------------------- losses


def test_mse_losses_vanish_at_a_perfect_prediction_and_grow_with_the_error():
    batch = make_batch()
    perfect = {"shape": batch["shape"].clone(), "anchor": batch["anchor"].clone(), "ppi": torch.zeros(4, 260)}
    losses = task_losses(perfect, batch)
    assert losses["shape"].item() == 0.0 and losses["anchor"].item() == 0.0
    off = dict(perfect, shape=batch["shape"] + 0.1, anchor=batch["anchor"] - 0.2)
    losses = task_losses(off, batch)
    assert losses["shape"].item() == pytest.approx(0.01, rel=1e-4)
    assert losses["anchor"].item() == pytest.approx(0.04, rel=1e-4)


def test_cycle_length_cross_entropy_is_minimal_at_the_soft_target():
    ppi = torch.tensor([100, 180, 240])
    q = soft_targets(ppi)
    best_logits = q.clamp_min(1e-30).log().requires_grad_(True)
    best = cycle_length_loss(best_logits, ppi)
    torch.testing.assert_close(best, entropy(q).mean())  # minimum of CE = entropy of the target
    (grad,) = torch.autograd.grad(best, best_logits)
    assert grad.abs().max() < 1e-6  # stationary point: softmax(logits) - q = 0
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        perturbed = best_logits.detach() + 0.5 * torch.randn(3, 260, generator=g)
        assert cycle_length_loss(perturbed, ppi) > best
    # the hard one-hot-like guess at the right class is worse than the soft target, better than a wrong class
    right = torch.full((3, 260), -20.0).scatter(1, ppi[:, None], 20.0)
    wrong = torch.full((3, 260), -20.0).scatter(1, (ppi - 30)[:, None], 20.0)
    assert best < cycle_length_loss(right, ppi) < cycle_length_loss(wrong, ppi)


def test_task_losses_returns_three_differentiable_scalars():
    batch = make_batch(seed=1)
    pred = {
        "shape": torch.zeros(4, 200, requires_grad=True),
        "anchor": torch.zeros(4, 800, requires_grad=True),
        "ppi": torch.zeros(4, 260, requires_grad=True),
    }
    losses = task_losses(pred, batch)
    assert tuple(losses) == TASKS
    for task, loss in losses.items():
        assert loss.ndim == 0 and torch.isfinite(loss), task
        (grad,) = torch.autograd.grad(loss, pred[task])
        assert grad.abs().sum() > 0, task
    # uniform logits: the cross-entropy of any distribution against uniform is log(260)
    assert losses["ppi"].item() == pytest.approx(torch.log(torch.tensor(260.0)).item(), rel=1e-5)


# --------------------------------------------------------------------------- bad inputs


def test_bad_targets_and_predictions_raise():
    batch = make_batch()
    pred = {"shape": torch.zeros(4, 200), "anchor": torch.zeros(4, 800), "ppi": torch.zeros(4, 260)}
    with pytest.raises(TypeError, match=r"batch\['ppi'\] must have dtype torch.int64"):
        task_losses(pred, dict(batch, ppi=batch["ppi"].float()))
    with pytest.raises(ValueError, match=r"batch\['ppi'\] must lie in \[0, 260\)"):
        task_losses(pred, dict(batch, ppi=torch.tensor([10, 20, 260, 30])))
    with pytest.raises(ValueError, match=r"pred\['shape'\] must have shape \(B, 200\)"):
        task_losses(dict(pred, shape=torch.zeros(4, 199)), batch)
    with pytest.raises(ValueError, match=r"batch\['anchor'\] must have shape \(B, 800\)"):
        task_losses(pred, dict(batch, anchor=torch.zeros(4, 1, 800)))
    with pytest.raises(ValueError, match="same batch size"):
        task_losses(dict(pred, ppi=torch.zeros(3, 260)), batch)
    with pytest.raises(ValueError, match="missing keys"):
        task_losses({"shape": pred["shape"]}, batch)
    with pytest.raises(TypeError, match="pred must be a dict"):
        task_losses([pred], batch)
    with pytest.raises(TypeError, match="floating-point"):
        task_losses(dict(pred, anchor=torch.zeros(4, 800, dtype=torch.int64)), batch)


def test_bad_soft_target_arguments_raise():
    with pytest.raises(ValueError, match="sigma"):
        soft_targets(torch.tensor([5]), sigma=-1.0)
    with pytest.raises(ValueError, match="n_classes"):
        soft_targets(torch.tensor([5]), n_classes=0)
    with pytest.raises(ValueError, match=r"ppi must have shape \(B,\)"):
        soft_targets(torch.tensor([[5]]))
    with pytest.raises(TypeError, match="ppi must be a torch.Tensor"):
        soft_targets([5])
