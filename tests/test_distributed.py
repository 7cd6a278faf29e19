"""Training across processes (radarode_lite.distributed, data_scripts/train.py under torchrun).

The end-to-end tests start ``torchrun --nproc_per_node 2`` on CPU (gloo) and compare the run
with a single process on the same data: with group normalisation (statistics per segment) the
two must take the same steps, so the losses, the final weights and the held-out metrics agree to
float rounding. SGD, because Adam divides by the running gradient scale and so magnifies rounding
differences in near-zero gradient components into visible weight differences.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from radarode_lite import data
from radarode_lite.distributed import GradientReducer, is_distributed, shard_indices

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "data_scripts" / "train.py"


def test_shards_partition_the_batch_in_order():
    for n in range(0, 12):
        for world in (1, 2, 3, 4):
            parts = [shard_indices(range(n), r, world) for r in range(world)]
            assert sum(parts, []) == list(range(n))
            assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_shard_and_reducer_errors():
    with pytest.raises(ValueError, match="world_size"):
        shard_indices(range(4), 0, 0)
    with pytest.raises(ValueError, match="rank"):
        shard_indices(range(4), 2, 2)
    assert not is_distributed()
    with pytest.raises(ValueError, match="process group"):
        GradientReducer()


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    """3 subjects x 6 s of normal breathing: 6 training segments once subject 1 is held out."""
    root = tmp_path_factory.mktemp("ddp") / "set"
    data.generate_dataset(root, n_subjects=3, statuses=("NB",), duration_s=6.0, progress=False, save_mat=False)
    return root


def _run(root, out, method_options, method, procs):
    args = [str(TRAIN), "--data", str(root), "--out", str(out), "--epochs", "3", "--batch-size", "4",
            "--norm", "group", "--threads", "1", "--method", method, "--seed", "2",
            "--optimizer", "sgd", "--lr", "0.01"]
    for option in method_options:
        args += ["--method-option", option]
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    if procs == 1:
        command = [sys.executable, *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}", *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text()), torch.load(out / "model.pt", weights_only=True)


@pytest.mark.parametrize("method, options", [
    ("ew", []),
    ("ega", ["warmup_epoch=0", "temperature=0.5"]),
    ("ega", ["warmup_epoch=0", "gradients=representation", "variant=official"]),
], ids=["ew", "ega-params", "ega-representation"])
def test_two_processes_take_the_steps_of_one(small_root, tmp_path, method, options):
    one, one_model = _run(small_root, tmp_path / "one", options, method, 1)
    two, two_model = _run(small_root, tmp_path / "two", options, method, 2)
    assert two["config"]["world_size"] == 2 and one["config"]["world_size"] == 1
    for task, losses in one["history"]["train_loss"].items():
        assert two["history"]["train_loss"][task] == pytest.approx(losses, rel=1e-4, abs=1e-6), task
    for task, weights in one["history"]["weights"].items():
        assert two["history"]["weights"][task] == pytest.approx(weights, rel=1e-3, abs=1e-5), task
    for key, value in one_model["state_dict"].items():
        torch.testing.assert_close(two_model["state_dict"][key], value, rtol=1e-4, atol=1e-5, msg=key)
    for key in ("rmse_norm", "pcc_pct", "ppi_error_ms"):
        assert two["metrics"][key] == pytest.approx(one["metrics"][key], rel=1e-3, abs=1e-4), key
