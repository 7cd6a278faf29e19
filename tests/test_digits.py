"""Tests of radarode_lite.studies.digits (the damaged-digits multi-task problem) and its grid script."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from radarode_lite.studies import digits as D
from radarode_lite.studies import results

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def problem():
    return D.load_problem()


# ----------------------------------------------------------------------------- data


def test_split_is_deterministic_disjoint_complete_and_stratified(problem):
    again = D.load_problem()
    assert np.array_equal(problem.train_index, again.train_index)
    assert np.array_equal(problem.test_index, again.test_index)
    assert torch.equal(problem.x_train, again.x_train)
    assert np.intersect1d(problem.train_index, problem.test_index).size == 0
    assert np.array_equal(np.union1d(problem.train_index, problem.test_index), np.arange(1797))
    # no test image is also a training image (clean pixels compared)
    train_images = {tuple(row) for row in problem.y_train["image"].numpy()}
    assert not any(tuple(row) in train_images for row in problem.y_test["image"].numpy())
    # every digit holds out about the same share
    share = np.bincount(problem.y_test["class"].numpy(), minlength=10) / (
        np.bincount(problem.y_test["class"].numpy(), minlength=10)
        + np.bincount(problem.y_train["class"].numpy(), minlength=10))
    assert np.all(np.abs(share - 0.3) < 0.01)
    other = D.load_problem(split_seed=1)
    assert not np.array_equal(other.test_index, problem.test_index)


def test_damage_places_the_blot_where_the_target_says():
    images = np.zeros((50, 64))
    damaged, centres = D.damage(images, np.random.default_rng(3), noise_std=0.0, blot_size=3)
    grid = damaged.reshape(50, 8, 8)
    assert np.all(grid.sum(axis=(1, 2)) == 9)
    rows, cols = np.indices((8, 8))
    mass = grid.sum(axis=(1, 2))
    centroid = np.stack([(grid * rows).sum(axis=(1, 2)) / mass, (grid * cols).sum(axis=(1, 2)) / mass], 1)
    assert np.allclose(centroid, centres)
    assert centres.min() >= 1 and centres.max() <= 6


def test_problem_targets_are_consistent(problem):
    x, y = problem.x_train, problem.y_train
    assert x.shape == (problem.n_train, 64) and y["image"].shape == (problem.n_train, 64)
    assert float(y["image"].min()) >= 0 and float(y["image"].max()) <= 1
    # away from the blot, the damaged image is the clean one plus noise of std 0.1
    rows, cols = np.indices((8, 8))
    c = y["blot"].numpy()
    far = (np.abs(rows.ravel()[None] - c[:, :1]) > 1.5) | (np.abs(cols.ravel()[None] - c[:, 1:]) > 1.5)
    residual = (x.numpy() - y["image"].numpy())[far]
    assert abs(residual.std() - 0.1) < 0.005 and abs(residual.mean()) < 0.005


# ----------------------------------------------------------------------------- training


def test_training_lowers_every_task_loss(problem, one_thread):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        untrained = D.DigitsNet()
    before = D.evaluate(untrained, problem, "train")
    run = D.train("aligned_mtl", seed=0, problem=problem, epochs=3)
    after = D.evaluate(run.model, problem, "train")
    for task in D.TASKS:
        assert after[task]["loss"] < 0.7 * before[task]["loss"], task
    first, last = np.array(run.history["train_losses"][0]), np.array(run.history["train_losses"][-1])
    assert np.all(last < first)


def test_same_seed_same_result_other_seed_differs(problem, one_thread):
    a = D.train("ega", seed=3, problem=problem, epochs=2, method_kwargs={"warmup_epoch": 0})
    b = D.train("ega", seed=3, problem=problem, epochs=2, method_kwargs={"warmup_epoch": 0})
    c = D.train("ega", seed=4, problem=problem, epochs=2, method_kwargs={"warmup_epoch": 0})
    assert a.metrics == b.metrics and a.history == b.history
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)
    assert a.metrics != c.metrics


def test_ega_eccentric_vector_follows_the_loss_buffers(problem, one_thread):
    run = D.train("ega", seed=0, problem=problem, epochs=4, method_kwargs={"warmup_epoch": 1, "temperature": 0.5})
    v = np.array(run.history["v_ecc"])
    losses = np.array(run.history["train_losses"])
    assert np.allclose(v[:2], 1.0)  # up to and including the warm-up epoch
    for t in (2, 3):
        ratio = losses[t - 1] / losses[1]
        expected = 3 * np.exp(ratio / 0.5) / np.exp(ratio / 0.5).sum()
        assert np.allclose(v[t], expected, atol=1e-5)


def test_single_task_baseline_has_one_head(problem, one_thread):
    run = D.train_single_task("blot", seed=0, problem=problem, epochs=1)
    assert run.model.tasks == ("blot",) and set(run.metrics) == {"blot"}
    assert run.config["tasks"] == ["blot"]


# ----------------------------------------------------------------------------- scoring


def test_delta_m_signs():
    base = {"class": {"accuracy_pct": 80.0}, "image": {"rmse": 0.2, "pcc_pct": 90.0}, "blot": {"error_px": 1.0}}
    assert D.delta_m_vs_single_task(base, base) == 0.0
    better = {"class": {"accuracy_pct": 88.0}, "image": {"rmse": 0.2, "pcc_pct": 90.0}, "blot": {"error_px": 1.0}}
    assert np.isclose(D.delta_m_vs_single_task(better, base), 100 * 0.1 / 3)
    worse_blot = {**base, "blot": {"error_px": 1.3}}
    assert np.isclose(D.delta_m_vs_single_task(worse_blot, base), -100 * 0.3 / 3)
    avg = D.average_metrics([base, better])
    assert avg["class"]["accuracy_pct"] == 84.0


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, error", [
    ({"method": "not_a_method"}, ValueError),
    ({"method": 3}, TypeError),
    ({"seed": -1}, ValueError),
    ({"seed": 1.5}, TypeError),
    ({"epochs": 0}, ValueError),
    ({"tasks": ("class", "depth")}, ValueError),
    ({"tasks": "class"}, TypeError),
    ({"tasks": ()}, ValueError),
    ({"lr": 0.0}, ValueError),
    ({"hidden": 64}, TypeError),
    ({"problem": "digits"}, TypeError),
    ({"method_kwargs": [("temperature", 1.0)]}, TypeError),
])
def test_train_rejects_bad_input(problem, kwargs, error):
    kwargs = {"problem": problem, "epochs": 1, **kwargs}
    with pytest.raises(error):
        D.train(**kwargs)


def test_bad_problem_and_data_arguments_raise(problem):
    with pytest.raises(ValueError, match="test_fraction"):
        D.load_problem(test_fraction=1.0)
    with pytest.raises(ValueError, match="blot_size"):
        D.load_problem(blot_size=0)
    with pytest.raises(ValueError, match="noise_std"):
        D.load_problem(noise_std=-0.1)
    with pytest.raises(TypeError, match="split_seed"):
        D.load_problem(split_seed="0")
    with pytest.raises(ValueError, match="images"):
        D.damage(np.zeros((4, 63)), 0)
    with pytest.raises(ValueError, match="labels"):
        D.split_indices([0.5, 1.5])
    with pytest.raises(ValueError, match="task"):
        D.train_single_task("depth", problem=problem)
    with pytest.raises(ValueError, match="split"):
        D.evaluate(D.DigitsNet(), problem, "validation")
    with pytest.raises(ValueError, match="image"):
        D.delta_m_vs_single_task({"class": {"accuracy_pct": 1.0}}, {"class": {"accuracy_pct": 1.0}})


# ----------------------------------------------------------------------------- the grid script


def test_smoke_grid_writes_results_that_load(tmp_path):
    out = tmp_path / "tmp"
    cmd = [sys.executable, "data_scripts/run_digits.py", "--smoke", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    records = results.load_results(out)
    assert len(records) == 5 and summary["runs_done"] == 5
    labels = {r["config"]["label"] for r in records}
    assert {"EW", "EGA (T=1.0)", "Single-task (class)"} <= labels
    for r in records:
        assert r["config"]["epochs"] == 2 and r["seed"] == 0
        assert "--runs" in r["command"] and len(r["history"]["train_losses"]) == 2
    assert np.isfinite(summary["labels"]["EW"]["delta_m_pct"][0])
    # resumable: a second call (in this process) skips every existing file and trains nothing
    spec = importlib.util.spec_from_file_location("run_digits", ROOT / "radarode_lite" / "cli" / "run_digits.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    threads = torch.get_num_threads()
    try:
        again = script.run(["--smoke", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert again["runs_skipped"] == 5 and again["runs_done"] == 0
    assert again["labels"]["EW"]["delta_m_pct"] == summary["labels"]["EW"]["delta_m_pct"]


@pytest.mark.parametrize("extra", [["--epochs", "0"], ["--smoke", "--epochs", "0"], ["--threads", "0"]])
def test_grid_script_refuses_zero_epochs_instead_of_the_default(tmp_path, extra):
    done = subprocess.run([sys.executable, "data_scripts/run_digits.py", "--out", str(tmp_path), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "--epochs" in done.stderr and not list(tmp_path.iterdir())
