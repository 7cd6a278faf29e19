"""Tests of radarode_lite.train: the cached book data set, the training loop, prediction and metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from radarode_lite import data, train
from radarode_lite.models import RadarODEMTL
from radarode_lite.mtl import get_method


@pytest.fixture(autouse=True)
def _one_thread(torch_one_thread):
    """Every test here on one torch thread (tiny networks; shared CPUs lose a lot with more)."""


@pytest.fixture(scope="module")
def tiny_set(tiny_root):
    return data.SegmentDataset(tiny_root)


def _model(seed=0, use_ode=True):
    return RadarODEMTL("lite", use_ode=use_ode, seed=seed)


# --------------------------------------------------------------------------- training


def test_training_lowers_the_loss_of_every_task(tiny_set):
    history = train.train(_model(), tiny_set, epochs=4, batch_size=3, lr=3e-3, seed=0)
    assert history.tasks == ("shape", "anchor", "ppi")
    assert history.epochs == 4
    for task in history.tasks:
        assert len(history.train_loss[task]) == 4
        assert history.train_loss[task][-1] < history.train_loss[task][0], task
    assert history.total_loss()[-1] < history.total_loss()[0]
    assert all(w == [1.0] * 4 for w in history.weights.values())  # equal weighting


def test_same_seed_gives_identical_losses_and_other_seed_differs(tiny_set):
    runs = [train.train(_model(), tiny_set, epochs=2, batch_size=4, seed=s).train_loss for s in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # a different batch order changes the path


def test_a_data_set_held_in_memory_trains_the_same_network(tiny_root):
    from radarode_lite.data.augment import TimeStretch

    runs = []
    for in_memory in (False, True):
        model = _model()
        history = train.train(model, data.SegmentDataset(tiny_root, in_memory=in_memory), epochs=2, batch_size=4,
                              seed=0, augment=TimeStretch(0.3))  # fmt: skip
        runs.append((history.train_loss, [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]  # augmentation works on copies: the kept arrays stay as read
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_training_does_not_disturb_the_global_random_state(tiny_set):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train.train(_model(), tiny_set, epochs=1, batch_size=6, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_single_task_trains_only_the_backbone_and_its_decoder(tiny_set):
    model = _model()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    history = train.train_single_task(model, tiny_set, "shape", epochs=1, batch_size=3, val_set=tiny_set)
    assert history.tasks == ("shape",) and set(history.train_loss) == {"shape"}
    assert len(history.val_loss["shape"]) == 1 and math.isfinite(history.val_loss["shape"][0])
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert any(n.startswith("backbone.") for n in changed)
    assert any(n.startswith("decoders.shape.") for n in changed)
    assert not any(n.startswith(("decoders.anchor.", "decoders.ppi.")) for n in changed)


def test_method_epoch_hooks_receive_the_epoch_mean_losses(tiny_set):
    method = get_method("dwa", n_tasks=2)
    history = train.train(_model(), tiny_set, tasks=("shape", "ppi"), method=method, epochs=3, batch_size=3)
    assert history.method == "dwa"
    assert sorted(method.epoch_losses) == [0, 1, 2]
    for epoch in range(3):
        recorded = [history.train_loss["shape"][epoch], history.train_loss["ppi"][epoch]]
        assert np.allclose(method.epoch_losses[epoch], recorded)
    # DWA reweights from epoch 2 on: weights still sum to the number of tasks.
    assert np.isclose(history.weights["shape"][2] + history.weights["ppi"][2], 2.0)


def test_sgd_and_a_gradient_method_run(tiny_set):
    history = train.train(_model(), tiny_set, method="pcgrad", optimizer="sgd", epochs=1, batch_size=6,
                          method_kwargs={"gradients": "representation"})
    assert history.method == "pcgrad"
    assert all(math.isfinite(v[0]) for v in history.train_loss.values())


class _TwoHeads(torch.nn.Module):
    """A toy network: one shared layer, two linear heads."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.shared, self.heads = torch.nn.Linear(3, 4), torch.nn.ModuleList([torch.nn.Linear(4, 1) for _ in range(2)])


def _toy_losses(model, batch):
    x, y = batch
    z = model.shared(x)
    return [torch.mean((head(z).squeeze(1) - y[:, i]) ** 2) for i, head in enumerate(model.heads)], z, len(x)


def test_run_epoch_weights_the_batch_losses_by_their_size_and_calls_the_hooks():
    model = _TwoHeads()
    generator = torch.Generator().manual_seed(1)
    batches = [(torch.randn(n, 3, generator=generator), torch.randn(n, 2, generator=generator)) for n in (4, 4, 2)]
    with torch.no_grad():
        before = [[float(v) for v in _toy_losses(model, b)[0]] for b in batches]
    method = get_method("dwa", n_tasks=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # no change: the losses can be recomputed
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    heads = [p for h in model.heads for p in h.parameters()]
    result = train.run_epoch(model, batches, _toy_losses, method, opt, list(model.shared.parameters()), heads,
                             scheduler=scheduler, epoch=0)
    assert result["steps"] == 3 and result["items"] == 10 and scheduler.last_epoch == 3
    expected = [sum(b[i] * n for b, n in zip(before, (4, 4, 2))) / 10 for i in range(2)]
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert result["weights"] == [1.0, 1.0]
    assert method.epoch_losses[0] == pytest.approx(result["loss"], rel=1e-6) and method.epoch == 1
    with pytest.raises(ValueError, match="no batch"):
        train.run_epoch(model, [], _toy_losses, method, opt, list(model.shared.parameters()))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"tasks": ("shape", "heart")}, ValueError),
        ({"tasks": ()}, ValueError),
        ({"tasks": ("shape", "shape")}, ValueError),
        ({"epochs": 0}, ValueError),
        ({"epochs": 1.5}, ValueError),
        ({"batch_size": 0}, ValueError),
        ({"optimizer": "rmsprop"}, ValueError),
        ({"lr": -1.0}, ValueError),
        ({"method": "no-such-method"}, ValueError),
        ({"method": 3}, TypeError),
        ({"seed": -1}, ValueError),
    ],
)
def test_bad_arguments_raise(tiny_set, kwargs, error):
    args = {"epochs": 1, **kwargs}
    with pytest.raises(error):
        train.train(_model(), tiny_set, **args)


def test_bad_single_task_model_and_method_size_raise(tiny_set):
    with pytest.raises(ValueError, match="task"):
        train.train_single_task(_model(), tiny_set, "ecg", epochs=1)
    with pytest.raises(TypeError, match="model"):
        train.train(torch.nn.Linear(2, 2), tiny_set, epochs=1)
    with pytest.raises(ValueError, match="3 tasks"):
        train.train(_model(), tiny_set, tasks=("shape",), method=get_method("ew", n_tasks=3), epochs=1)


# --------------------------------------------------------------------------- prediction and metrics


def test_predict_shapes_and_mode_restored(tiny_set):
    model = _model()
    model.train()
    pred = train.predict(model, tiny_set, batch_size=4)
    n = len(tiny_set)
    assert pred["shape"].shape == (n, 200) and pred["anchor"].shape == (n, 800)
    assert pred["ppi_logits"].shape == (n, 260)
    assert np.array_equal(pred["ppi"], pred["ppi_logits"].argmax(axis=1))
    assert model.training


def test_evaluate_returns_documented_finite_keys(tiny_set):
    model = _model()
    train.train(model, tiny_set, epochs=1, batch_size=6)
    scores = train.evaluate(model, tiny_set)
    expected = {k for keys in train.METRIC_KEYS.values() for k in keys} | {"n_segments"}
    assert set(scores) == expected
    assert scores["n_segments"] == len(tiny_set)
    for key in ("rmse_norm", "pcc_pct", "ppi_error_ms", "mdr_pct"):
        assert math.isfinite(scores[key]), key
    assert 0.0 <= scores["mdr_pct"] <= 100.0 and -100.0 <= scores["pcc_pct"] <= 100.0
    # The timing error is undefined only when no true peak was found.
    assert math.isfinite(scores["timing_error_ms"]) or scores["mdr_pct"] == 100.0
    only_shape = train.evaluate(model, tiny_set, tasks=("shape",))
    assert set(only_shape) == {"rmse_norm", "pcc_pct", "n_segments"}


def test_metrics_of_perfect_predictions(tiny_set):
    targets = train.dataset_targets(tiny_set)
    perfect = {"shape": targets["shape"], "anchor": targets["anchor"], "ppi": targets["ppi"]}
    scores = train.compute_metrics(perfect, targets)
    assert scores["rmse_norm"] == pytest.approx(0.0, abs=1e-7)
    assert scores["pcc_pct"] == pytest.approx(100.0)
    assert scores["ppi_error_ms"] == 0.0
    # Bumps of the true heat map sit on the stored R peaks (sub-sample refinement).
    assert scores["timing_error_ms"] < 1.0
    # Only a peak on the first or last sample of a window can escape peak picking.
    edge = sum(int(np.sum((np.round(p * 200) <= 0) | (np.round(p * 200) >= 799))) for p in targets["r_peaks_s"])
    total = sum(len(p) for p in targets["r_peaks_s"])
    assert scores["mdr_pct"] <= 100.0 * edge / total + 1e-9


def test_metrics_see_errors(tiny_set):
    targets = train.dataset_targets(tiny_set)
    shifted = {
        "shape": np.roll(targets["shape"], 20, axis=1),
        "anchor": np.roll(targets["anchor"], 4, axis=1),  # 4 samples = 20 ms late
        "ppi": targets["ppi"] + 2,  # 2 samples = 10 ms
    }
    scores = train.compute_metrics(shifted, targets)
    assert scores["rmse_norm"] > 0.05 and scores["pcc_pct"] < 99.0
    assert scores["ppi_error_ms"] == pytest.approx(10.0)
    assert scores["timing_error_ms"] == pytest.approx(20.0, abs=0.5)


def test_stored_r_peaks_follow_a_subset(tiny_set):
    full = train.dataset_targets(tiny_set)["r_peaks_s"]
    sub = train.dataset_targets(torch.utils.data.Subset(tiny_set, [3, 1]))["r_peaks_s"]
    assert np.array_equal(sub[0], full[3]) and np.array_equal(sub[1], full[1])




def test_cycle_length_target_width_is_the_loss_that_trains_and_bad_widths_are_refused(tiny_set):
    from radarode_lite import losses

    models = {s: _model() for s in (None, 2.0, 8.0)}
    runs = {s: train.train(m, tiny_set, tasks=("ppi",), epochs=1, batch_size=6, seed=0, ppi_sigma=s,
                           val_set=tiny_set) for s, m in models.items()}  # fmt: skip
    assert runs[None].train_loss == runs[2.0].train_loss  # None is the default, PPI_SIGMA
    assert losses.PPI_SIGMA == 2.0 and runs[8.0].train_loss != runs[2.0].train_loss
    # the recorded validation loss is the cross-entropy against the soft target of that width
    batch = torch.utils.data.default_collate([tiny_set[i] for i in range(len(tiny_set))])
    for s in (2.0, 8.0):
        model = models[s].eval()
        with torch.no_grad():
            logits = model.decoders["ppi"](model.encode(batch["sst"]))
        direct = losses.cycle_length_loss(logits, batch["ppi"], sigma=s).item()
        assert runs[s].val_loss["ppi"][0] == pytest.approx(direct, rel=1e-5)
    # the whole network: sigma reaches the cycle-length loss only
    both = [train.train(_model(), tiny_set, epochs=1, batch_size=6, seed=0, ppi_sigma=s) for s in (2.0, 8.0)]
    assert both[0].train_loss["shape"][0] == both[1].train_loss["shape"][0]
    assert both[0].train_loss["ppi"][0] != both[1].train_loss["ppi"][0]
    for bad, error in ((-1.0, ValueError), (float("nan"), ValueError), (True, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="ppi_sigma"):
            train.train(_model(), tiny_set, tasks=("ppi",), epochs=1, batch_size=6, ppi_sigma=bad)
