"""Time an epoch of the lite Table II grid's runs and the whole grid on this machine (chapter 12).

    python data_scripts/bench_train.py                 # book:default, 2 timed epochs per kind
    python data_scripts/bench_train.py --epochs 1 --data book:small

Prints one JSON object:

- ``s_per_epoch``: wall seconds of one training epoch, measured side by side in this process
  (one torch thread, as ``radarode-run-experiments`` runs them) for the kinds of run in the grid:
  ``ew`` (one backward pass of the summed loss), ``ega_representation`` (EGA on the gradient at
  the shared representation: the grid's setting for every gradient method but MoCo), ``ega_params`` (EGA
  on the gradients of all shared parameters, the published form, and MoCo's in the grid), and ``single_task`` (the
  shape decoder alone, the dearest of the three baselines); the median of ``--epochs`` epochs
  after one untimed warm-up epoch;
- ``ratio_vs_ew``: each kind's epoch time over EW's, from the same run;
- ``eval_s``: evaluating the held-out subject once;
- ``grid``: the estimate for the whole lite grid of ``radarode-run-experiments --grid table2``
  (its runs, epochs and seeds): sum over runs of epochs x s/epoch of the run's kind plus
  evaluation and a per-run start-up cost (``--startup-s``, measured separately: importing
  torch and the package in a new process), in hours, one run at a time;
- ``stored_grid``: if stored results exist under ``book/data/results/table2``, the number of
  runs and the sum of their recorded wall times (what the grid really took when it was run,
  on the machine recorded in each file).

Target (the book promises it): the whole lite grid in under 3 hours on 2 cores, so that a reader
can reproduce chapter 12 overnight.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="book:default", choices=["book:default", "book:small"])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per kind (after one warm-up)")
    parser.add_argument("--grid-epochs", type=int, default=12, help="epochs of every grid run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the grid")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")

    import torch

    from radarode_lite import data, train

    began = time.perf_counter()
    size = args.data.split(":")[1]
    root = data.book_dataset(size, "lite", 0)
    split = data.subject_split(root, test_subjects=[1], preset="lite")
    torch.set_num_threads(1)

    per_epoch, ew_model = _seconds_per_epoch(split, args.epochs)
    t0 = time.perf_counter()
    train.evaluate(ew_model, split["test"])
    eval_s = time.perf_counter() - t0
    startup_s = _startup_seconds()
    runs, total = _grid_estimate(args.seeds, args.grid_epochs, per_epoch, eval_s + startup_s)
    stored = _stored_grid(_REPO / "book" / "data" / "results" / "table2")
    result = {
        "data": args.data,
        "n_train_segments": len(split["train"]),
        "threads": 1,
        "s_per_epoch": {k: round(v, 3) for k, v in per_epoch.items()},
        "ratio_vs_ew": {k: round(v / per_epoch["ew"], 3) for k, v in per_epoch.items()},
        "eval_s": round(eval_s, 3),
        "startup_s": round(startup_s, 3),
        "grid": {
            "runs": len(runs),
            "epochs_per_run": args.grid_epochs,
            "one_at_a_time_h": round(total / 3600, 3),
            "two_side_by_side_h": round(total / 3600 / 2, 3),
            "target_h": 3.0,
            "meets_target_on_2_cores": total / 3600 / 2 < 3.0,
        },
        "stored_grid": stored,
        "bench_wall_s": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result, indent=1))
    return 0


def _seconds_per_epoch(split, epochs: int) -> tuple[dict, object]:
    """Median wall seconds of a training epoch of each kind of run, after one untimed warm-up epoch,
    and the network trained with EW."""
    from radarode_lite import train
    from radarode_lite.models import RadarODEMTL
    from radarode_lite.mtl import get_method

    kinds = {
        "ew": dict(method="ew"),
        "ega_representation": dict(method="ega", method_kwargs={"gradients": "representation"}),
        "ega_params": dict(method="ega"),
        "single_task": dict(tasks=("shape",), method="ew"),
    }
    times = {k: [] for k in kinds}
    models = {k: RadarODEMTL("lite", seed=0) for k in kinds}
    methods = {}
    for k, spec in kinds.items():
        tasks = spec.get("tasks", train.TASKS)
        methods[k] = get_method(spec["method"], len(tasks), **spec.get("method_kwargs", {}))
    # round robin, so that a change of machine load touches every kind alike
    for epoch in range(epochs + 1):
        for k, spec in kinds.items():
            tasks = spec.get("tasks", train.TASKS)
            history = train.train(models[k], split["train"], tasks=tasks, method=methods[k], epochs=1, seed=epoch)
            if epoch > 0:
                times[k].append(history.epoch_s[-1])
    return {k: statistics.median(v) for k, v in times.items()}, models["ew"]


def _grid_estimate(seeds: int, grid_epochs: int, per_epoch: dict, per_run_s: float) -> tuple[list, float]:
    """The runs of the lite Table II grid and the seconds they take one at a time on this machine."""
    from radarode_lite.cli import run_experiments as grid_mod

    runs = grid_mod.table2_runs(range(seeds), grid_epochs)
    total = 0.0
    for run in runs:
        if len(run.tasks) == 1:
            kind = "single_task"
        elif run.method in grid_mod.REPRESENTATION_METHODS:
            kind = "ega_representation"
        elif run.method in grid_mod.GRADIENT_METHODS:  # MoCo: parameter gradients
            kind = "ega_params"
        else:
            kind = "ew"
        total += grid_epochs * per_epoch[kind] + per_run_s
    return runs, total


def _startup_seconds() -> float:
    """Wall time of a new Python process that imports torch and the package (median of 3)."""
    code = "import torch, radarode_lite.train, radarode_lite.mtl"
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def _stored_grid(folder: Path):
    if not folder.is_dir():
        return None
    from radarode_lite.studies import results

    records = results.load_results(folder)
    if not records:
        return None
    return {"runs": len(records), "sum_wall_h": round(sum(r["wall_s"] for r in records) / 3600, 3),
            "machines": sorted({f"{r['machine'].get('platform')} ({r['machine'].get('cpu_count')} CPUs)"
                                for r in records})}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
