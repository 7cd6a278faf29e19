"""Checkpoints that resume exactly, the learning-rate schedule and the paper's optimiser (radarode_lite.train)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from radarode_lite import data, train
from radarode_lite.models import RadarODEMTL


# tests/conftest.py; torch_one_thread too, for each test: generating tiny_set starts numba's
# threads, which resets torch's count after one_thread has set it (when this file runs alone)
pytestmark = pytest.mark.usefixtures("one_thread", "torch_one_thread")


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_resume") / "set"
    data.generate_dataset(root, n_subjects=2, statuses=("NB",), duration_s=6.0, progress=False, save_mat=False)
    return data.SegmentDataset(root)


class _Recording(torch.utils.data.Dataset):
    """Wraps a data set and records the order in which items are read."""

    def __init__(self, inner):
        self.inner, self.reads = inner, []

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        self.reads.append(int(i))
        return self.inner[i]


SETTINGS = dict(method="ega", method_kwargs={"warmup_epoch": 0, "temperature": 0.5}, batch_size=4, seed=3,
                warmup_epochs=1, **train.PAPER_OPTIMIZER)


@pytest.fixture(scope="module")
def uninterrupted(tiny_set):
    """The 4-epoch run, once for the module (with one thread, like the tests that resume it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        straight = RadarODEMTL("lite", seed=1)
        return straight, train.train(straight, tiny_set, epochs=4, **SETTINGS)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("older_file", [False, True])
def test_resumed_run_equals_uninterrupted_run_bit_for_bit(tiny_set, tmp_path, uninterrupted, older_file):
    straight, full = uninterrupted
    ckpt = tmp_path / "run" / "checkpoint.pt"
    # a 4-epoch run that crashes during its third epoch leaves the checkpoint of epoch 2
    interrupted = RadarODEMTL("lite", seed=1)
    _train_until(interrupted, tiny_set, ckpt, stop_after=2)
    assert train.load_checkpoint(ckpt)["epochs_done"] == 2
    if older_file:  # files written before the schedule was a LambdaLR: no initial_lr, the last step's lr
        state = torch.load(ckpt, weights_only=True)
        for group in state["optimizer"]["param_groups"]:
            group["lr"] = group.pop("initial_lr") * train.lr_factor(3, 8, 2, "cosine", 0.01)
        torch.save(state, ckpt)

    resumed_model = RadarODEMTL("lite", seed=99)  # other weights: everything must come from the file
    resumed = train.train(resumed_model, tiny_set, epochs=4, checkpoint=ckpt, **SETTINGS)
    assert resumed.train_loss == full.train_loss
    assert resumed.weights == full.weights
    assert resumed.lr == full.lr
    for (k, a), b in zip(straight.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), k
    assert train.load_checkpoint(ckpt)["epochs_done"] == 4


def _train_until(model, dataset, ckpt, stop_after):
    """Run the 4-epoch schedule and kill it (an exception from the data set) during epoch ``stop_after``."""

    class _Dies(torch.utils.data.Dataset):
        def __init__(self):
            self.epoch_reads = 0

        def __len__(self):
            return len(dataset)

        def __getitem__(self, i):
            self.epoch_reads += 1
            if self.epoch_reads > stop_after * len(dataset):
                raise KeyboardInterrupt("simulated crash")
            return dataset[i]

    with pytest.raises(KeyboardInterrupt):
        train.train(model, _Dies(), epochs=4, checkpoint=ckpt, **SETTINGS)


def test_finished_checkpoint_returns_the_stored_history_without_training(tiny_set, tmp_path):
    ckpt = tmp_path / "c.pt"
    first = train.train(RadarODEMTL("lite", seed=0), tiny_set, epochs=2, batch_size=6, checkpoint=ckpt)
    model = RadarODEMTL("lite", seed=5)
    again = train.train(model, tiny_set, epochs=2, batch_size=6, checkpoint=ckpt)
    assert again.train_loss == first.train_loss
    stored = train.load_checkpoint(ckpt)["model"]
    assert all(torch.equal(v, stored[k]) for k, v in model.state_dict().items())


def test_checkpoint_with_other_settings_is_refused_unless_resume_is_false(tiny_set, tmp_path):
    ckpt = tmp_path / "c.pt"
    train.train(RadarODEMTL("lite", seed=0), tiny_set, epochs=1, batch_size=6, checkpoint=ckpt, lr=1e-3)
    with pytest.raises(ValueError, match="lr"):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, epochs=1, batch_size=6, checkpoint=ckpt, lr=2e-3)
    history = train.train(RadarODEMTL("lite", seed=0), tiny_set, epochs=1, batch_size=6, checkpoint=ckpt,
                          lr=2e-3, resume=False)
    assert history.epochs == 1
    assert train.load_checkpoint(ckpt)["settings"]["lr"] == 2e-3


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train.load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        train.load_checkpoint(bad)


def test_batch_order_is_that_of_a_shuffling_dataloader(tiny_set):
    recorder = _Recording(tiny_set)
    train.train(RadarODEMTL("lite", seed=0), recorder, tasks=("ppi",), epochs=2, batch_size=4, seed=7)
    loader = torch.utils.data.DataLoader(range(len(tiny_set)), batch_size=4, shuffle=True,
                                         generator=torch.Generator().manual_seed(7))
    expected = [int(i) for _ in range(2) for batch in loader for i in batch]
    assert recorder.reads == expected


def test_lr_factor_warmup_then_cosine_to_the_final_ratio():
    total, warm = 50, 10
    f = [train.lr_factor(s, total, warm, "cosine", 0.01) for s in range(total)]
    assert f[:warm] == pytest.approx([(s + 1) / warm for s in range(warm)])
    assert f[warm] == pytest.approx(1.0)
    assert f[-1] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(f[warm:], f[warm + 1:]))
    mid = warm + (total - warm - 1) / 2
    assert train.lr_factor(int(mid), total, warm, "cosine", 0.0) == pytest.approx(
        0.5 * (1 + math.cos(math.pi * (int(mid) - warm) / (total - warm - 1))))
    assert [train.lr_factor(s, total, 0, "constant") for s in range(total)] == [1.0] * total
    with pytest.raises(ValueError, match="schedule"):
        train.lr_factor(0, 10, 0, "linear")


@pytest.mark.parametrize("schedule, warmup, start", [("cosine", 3, 0), ("cosine", 3, 5), ("constant", 4, 2),
                                                     ("cosine", 0, 11)])
def test_scheduler_gives_the_rate_of_lr_factor_at_every_step_also_from_a_resumed_step(schedule, warmup, start):
    from radarode_lite.train import _lr_scheduler

    steps, epochs, base = 3, 4, 5e-3
    settings = {"epochs": epochs, "warmup_epochs": warmup // steps, "schedule": schedule, "final_lr_ratio": 0.01}
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=base)
    scheduler = _lr_scheduler(opt, [base], steps, settings, start=start)
    total, warm = steps * epochs, steps * (warmup // steps)
    for step in range(start, total):
        assert opt.param_groups[0]["lr"] == base * train.lr_factor(step, total, warm, schedule, 0.01)  # bit for bit
        opt.step()
        scheduler.step()
    assert opt.param_groups[0]["lr"] == base * train.lr_factor(total - 1, total, warm, schedule, 0.01)


def test_paper_optimizer_and_recorded_learning_rates(tiny_set):
    model = RadarODEMTL("lite", seed=0)
    history = train.train(model, tiny_set, tasks=("shape",), epochs=3, batch_size=6, **train.PAPER_OPTIMIZER)
    # one step per epoch: lr at steps 0, 1, 2 of a cosine over 3 steps
    assert history.lr == pytest.approx([5e-3, 5e-3 * (0.01 + 0.99 * 0.5), 5e-5])


@pytest.mark.parametrize("kwargs, match", [
    (dict(schedule="step"), "schedule"),
    (dict(warmup_epochs=2, epochs=2), "warmup_epochs"),
    (dict(final_lr_ratio=1.5), "final_lr_ratio"),
    (dict(optimizer="sgd", momentum=1.0), "momentum"),
    (dict(distributed=True), "torchrun"),
])
def test_bad_training_settings_raise(tiny_set, kwargs, match):
    kwargs = {"epochs": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, **kwargs)
    with pytest.raises(TypeError, match="resume"):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, epochs=1, resume="yes")


# ---------------------------------------------------------------------------------------
# A run's identity and hand-edited checkpoints
# ---------------------------------------------------------------------------------------

QUICK = dict(tasks=("ppi",), epochs=2, batch_size=6)


@pytest.fixture(scope="module")
def finished_once(tiny_set, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("finished") / "checkpoint.pt"
    train.train(RadarODEMTL("lite", seed=0), tiny_set, checkpoint=ckpt, identity={"split_seed": 0}, **QUICK)
    return ckpt


@pytest.fixture
def finished(finished_once, tmp_path):
    """A copy of the checkpoint of a finished two-epoch run with an identity."""
    import shutil

    return Path(shutil.copy(finished_once, tmp_path / "checkpoint.pt"))


@pytest.mark.parametrize("model, identity, differing", [
    (dict(use_ode=False), {"split_seed": 0}, ["model"]),
    (dict(norm="group"), {"split_seed": 0}, ["model"]),
    ({}, {"split_seed": 1}, ["split_seed"]),
    ({}, {"split_seed": 0, "test_subjects": [2]}, ["test_subjects"]),
])  # fmt: skip
def test_resume_refuses_another_identity_naming_what_differs(tiny_set, finished, model, identity, differing):
    with pytest.raises(train.SettingsMismatch) as info:
        train.train(RadarODEMTL("lite", seed=0, **model), tiny_set, checkpoint=finished, identity=identity, **QUICK)
    assert info.value.differences == differing
    assert "resume=False" in str(info.value) and "\n" not in str(info.value)


def test_identity_may_not_redefine_a_built_in_setting(tiny_set, tmp_path):
    with pytest.raises(ValueError, match="built-in"):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, identity={"epochs": 3}, **QUICK)
    with pytest.raises(TypeError, match="identity"):
        train.train(RadarODEMTL("lite", seed=0), tiny_set, identity=[("a", 1)], **QUICK)


def _edited(path, edit):
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)
    return path


@pytest.mark.parametrize("edit, match", [
    (lambda s: s.update(epochs_done=99), "epochs_done is 99 but the run has 2 epochs"),
    (lambda s: s.update(epochs_done=-3), "epochs_done must be >= 0"),
    (lambda s: s.update(epochs_done="2"), "'epochs_done' must be int"),
    (lambda s: s.pop("optimizer"), "lacks its entry 'optimizer'"),
    (lambda s: s["history"]["epoch_s"].pop(), r"history epoch_s must hold 2 entries"),
    (lambda s: s["history"]["train_loss"].pop("ppi"), r"history train_loss\[ppi\]"),
    (lambda s: s["model"].pop(next(iter(s["model"]))), "does not fit this run"),
])  # fmt: skip
def test_hand_edited_checkpoints_are_refused_with_a_clear_message(tiny_set, finished, edit, match):
    _edited(finished, edit)
    with pytest.raises(ValueError, match=match) as info:
        train.train(RadarODEMTL("lite", seed=0), tiny_set, checkpoint=finished, identity={"split_seed": 0}, **QUICK)
    assert str(finished) in str(info.value)


@pytest.mark.parametrize("args, error", [
    ((0, 0), ValueError), ((5, 5), ValueError), ((-1, 10), ValueError), ((0, 10, 11), ValueError),
    ((0, 10, 0, "cosine", float("nan")), ValueError), ((0, 10, 0, "cosine", "0.1"), TypeError),
    (("0", 10), ValueError), ((0.5, 10), ValueError),
])  # fmt: skip
def test_lr_factor_validates_its_arguments(args, error):
    with pytest.raises(error):
        train.lr_factor(*args)


def test_resume_refuses_another_cycle_length_target_width(tiny_set, finished):
    with pytest.raises(train.SettingsMismatch) as info:
        train.train(RadarODEMTL("lite", seed=0), tiny_set, checkpoint=finished, identity={"split_seed": 0},
                    ppi_sigma=8.0, **QUICK)  # fmt: skip
    assert info.value.differences == ["ppi_sigma"]
    # the default width, given explicitly, is the same run
    train.train(RadarODEMTL("lite", seed=0), tiny_set, checkpoint=finished, identity={"split_seed": 0},
                ppi_sigma=2.0, **QUICK)  # fmt: skip
