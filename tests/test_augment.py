"""Time-stretch augmentation (radarode_lite.data.augment) and its use by train.train."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from radarode_lite import data, train
from radarode_lite.conventions import PPI_CLASSES
from radarode_lite.data import augment
from radarode_lite.models import RadarODEMTL


def _sine_batch(factors, period=24.0, n_frames=120):
    t = torch.arange(n_frames, dtype=torch.float64)
    sst = torch.sin(2 * np.pi * t / period).expand(len(factors), 2, 3, n_frames).clone()
    anchor = torch.zeros(len(factors), 800, dtype=torch.float64)
    anchor[:, 500] = 1.0  # 100.5 samples right of the centre (399.5)
    batch = {"sst": sst, "anchor": anchor, "ppi": torch.full((len(factors),), 100), "shape": torch.ones(len(factors), 200)}
    return batch, augment.time_stretch(batch, torch.tensor(factors))


def test_factor_one_changes_nothing():
    batch, out = _sine_batch([1.0, 1.0])
    assert torch.equal(out["sst"], batch["sst"]) and torch.equal(out["anchor"], batch["anchor"])
    assert torch.equal(out["ppi"], batch["ppi"]) and out["shape"] is batch["shape"]


@pytest.mark.parametrize("factor", [0.7, 0.8, 1.25, 1.3])
def test_the_period_and_the_cycle_length_scale_with_the_factor(factor):
    _, out = _sine_batch([factor])
    y = out["sst"][0, 0, 0].numpy()
    rising = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    inner = rising[(rising > 15) & (rising < 105)]  # away from the held edges
    assert np.mean(np.diff(inner)) == pytest.approx(24.0 * factor, abs=1.0)
    assert int(out["ppi"][0]) == round(100 * factor)
    assert torch.equal(out["shape"], torch.ones(1, 200))  # one normalised cycle: unchanged


@pytest.mark.parametrize("factor", [0.8, 1.2])
def test_anchor_bumps_move_about_the_window_centre(factor):
    _, out = _sine_batch([factor])
    heat = out["anchor"][0].numpy()
    centre = (800 - 1) / 2
    where = np.sum(np.arange(800) * heat) / np.sum(heat)  # centre of mass of the moved bump
    assert where == pytest.approx(centre + factor * (500 - centre), abs=0.5)


def test_cycle_length_stays_a_class():
    batch = {"sst": torch.zeros(2, 1, 1, 10), "ppi": torch.tensor([250, 0])}
    out = augment.time_stretch(batch, torch.tensor([1.3, 0.7]))
    assert out["ppi"].tolist() == [PPI_CLASSES - 1, 0] and out["ppi"].dtype == torch.int64


def test_draws_are_log_uniform_within_the_range_and_follow_the_generator():
    f = augment.draw_stretch(20_000, 0.3, torch.Generator().manual_seed(0))
    assert float(f.min()) >= 1 / 1.3 and float(f.max()) <= 1.3
    assert abs(float(torch.log(f).mean())) < 0.01  # symmetric in log: as much faster as slower
    assert torch.equal(f, augment.draw_stretch(20_000, 0.3, torch.Generator().manual_seed(0)))
    assert torch.equal(augment.draw_stretch(3, 0.0, torch.Generator()), torch.ones(3))


def test_no_stretch_leaves_the_batch_and_the_generator_alone():
    g = torch.Generator().manual_seed(1)
    batch = {"sst": torch.zeros(2, 1, 1, 4)}
    assert augment.TimeStretch(0.0)(batch, g) is batch
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(1).get_state())
    assert repr(augment.TimeStretch(0.3)) == "TimeStretch(max_stretch=0.3)"


@pytest.mark.parametrize("call, error, match", [
    (lambda: augment.time_stretch({"sst": torch.zeros(2, 3, 4)}, [1.0, 1.0]), ValueError, "B, C, F, T"),
    (lambda: augment.time_stretch({"sst": torch.zeros(2, 1, 1, 4)}, [1.0]), ValueError, "factors"),
    (lambda: augment.time_stretch({"sst": torch.zeros(2, 1, 1, 4)}, [1.0, -1.0]), ValueError, "factors"),
    (lambda: augment.draw_stretch(2, -0.1, torch.Generator()), ValueError, "max_stretch"),
    (lambda: augment.draw_stretch(2, 0.1, 0), TypeError, "generator"),
    (lambda: augment.TimeStretch("0.3"), TypeError, "max_stretch"),
])  # fmt: skip
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- in the training loop


@pytest.fixture(scope="module")
def tiny_set(tiny_root):
    return data.SegmentDataset(tiny_root)


def _run(dataset, checkpoint=None, stretch=0.3, epochs=2):
    model = RadarODEMTL("lite", seed=0)
    history = train.train(model, dataset, tasks=("ppi",), epochs=epochs, batch_size=4, seed=2,
                          checkpoint=checkpoint, augment=augment.TimeStretch(stretch))  # fmt: skip
    return model, history


def test_training_with_augmentation_is_repeatable_and_differs_from_without(tiny_set, torch_one_thread):
    a, ha = _run(tiny_set)
    b, hb = _run(tiny_set)
    assert ha.train_loss == hb.train_loss and all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    plain = train.train(RadarODEMTL("lite", seed=0), tiny_set, tasks=("ppi",), epochs=2, batch_size=4, seed=2)
    assert plain.train_loss != ha.train_loss


class _DiesInEpochTwo(torch.utils.data.Dataset):
    """The data set, until the second epoch is half read: then a crash (the checkpoint of epoch 1 stays)."""

    def __init__(self, inner):
        self.inner, self.reads = inner, 0

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        self.reads += 1
        if self.reads > 1.5 * len(self.inner):
            raise KeyboardInterrupt("simulated crash")
        return self.inner[i]


def test_a_resumed_augmented_run_equals_an_uninterrupted_one(tiny_set, tmp_path, torch_one_thread):
    straight, full = _run(tiny_set, epochs=3)
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        _run(_DiesInEpochTwo(tiny_set), checkpoint=ckpt, epochs=3)
    state = torch.load(ckpt, weights_only=False)
    assert state["epochs_done"] == 1 and state["settings"]["augment"] == "TimeStretch(max_stretch=0.3)"
    resumed_model = RadarODEMTL("lite", seed=7)  # other weights: everything must come from the file
    resumed = train.train(resumed_model, tiny_set, tasks=("ppi",), epochs=3, batch_size=4, seed=2, checkpoint=ckpt,
                          augment=augment.TimeStretch(0.3))  # fmt: skip
    assert resumed.train_loss == full.train_loss
    assert all(torch.equal(x, y) for x, y in zip(straight.parameters(), resumed_model.parameters()))
    with pytest.raises(ValueError, match="augment"):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, tasks=("ppi",), epochs=3, batch_size=4, seed=2,
                    checkpoint=ckpt, augment=augment.TimeStretch(0.2))  # fmt: skip


def test_train_refuses_an_augmentation_that_is_not_callable(tiny_set):
    with pytest.raises(TypeError, match="augment"):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, tasks=("ppi",), epochs=1, augment="stretch")
