"""Seconds per training epoch of the Table II grid's runs and the projected grid time: before, now, calibrated, plain (chapter 12).

    python data_scripts/bench_train.py                 # 2 timed epochs per kind, every protocol
    python data_scripts/bench_train.py --epochs 1
    python data_scripts/bench_train.py --worker plain:gradient_params_loop   # one kind alone (see below)

Prints one JSON object with four protocols side by side, measured in the same process, one
torch thread (as ``radarode-run-experiments`` runs them), the kinds of run timed round robin
so that a change of machine load touches them alike:

- ``before``: the earlier lite grid: ``book:default`` (6 subjects, 1 held out), constant rate,
  no augmentation, the flattened cycle-length head, the gradient methods on the gradient at the
  shared representation (MoCo on parameter gradients); 3 seeds x 24 runs x 12 epochs;
- ``now``: the benchmark protocol of ``radarode-run-experiments --grid table2``
  (``book:benchmark``, 4 held out, cosine rate, time-stretch, the autocorrelation head, every
  method on the gradients of the shared parameters as in the authors' code); 5 seeds x 19 runs
  x 16 epochs;
- ``calibrated``: the same grid on the candidate of the calibration study that puts the
  single-task rows within a factor of 2 of the paper's (``data_scripts/run_calibration.py``:
  20 subjects, 4 held out, radar channels at -19.5 to 0.5 dB) with 24 epochs per run; its data
  set is generated into the cache first if it is not there (about a minute). Here the
  gradient methods are timed a second way too, ``gradient_params_loop``: the task
  cotangents carried through the backbone one backward pass at a time instead of in one
  vectorised (``torch.func.vmap``) pass (``batched=False``, the same gradients up to rounding,
  and the methods' default on the CPU); its ``grid_looped`` is the grid projected with that
  timing for every gradient method, the time the grid takes with the defaults;
- ``plain``: the calibrated grid on the right-sized network, the lite network with plain
  convolutions in every backbone stage (``radarode-train --deformable none``; the calibration
  candidate ``..._plain``), timed both ways as ``calibrated`` is.

For each: ``s_per_epoch`` of the kinds ``ew`` (one backward pass of the summed loss),
``gradient_params`` (EGA on the shared parameters' gradients: three backward passes in one
vectorised pass, ``batched=True``, and the alignment, the cost of every gradient method), ``gradient_representation`` (the same at the
representation; ``before`` only) and ``single_task`` (the shape decoder alone, the dearest
baseline), each the median of ``--epochs`` epochs after an untimed warm-up; ``ratio_vs_ew``;
``eval_s`` (scoring the held-out subjects once); and ``grid``: the sum over the grid's runs of
epochs x s/epoch of the run's kind plus evaluation and a per-run start-up (a new process that
imports torch and the package), in hours, one at a time and two side by side. Two processes
side by side slow each other on many machines, so for ``calibrated`` and ``plain`` that is
measured too: ``side_by_side`` holds the seconds per epoch of a looped gradient-method run
(``--worker PROTOCOL:gradient_params_loop``, the kind most of the grid's time goes to) in a new
process alone and two such processes at once, and their ratio ``factor``;
``two_side_by_side_h`` of their grids is the one-at-a-time time x factor / 2 (``_ideal_h``:
divided by 2 alone).

Target (issue of the benchmark): the grid in at most 2 hours on 2 CPU cores; ``meets_target_on_2_cores``
says for each protocol whether it does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
TARGET_H = 2.0

#: The earlier grid, per seed: 3 single-task runs, 11 methods (6 gradient methods, MoCo among
#: them, on parameter gradients), EGA in 2 forms x 5 temperatures on the representation.
BEFORE = {"data": "default", "test_subjects": 1, "seeds": 3, "epochs": 12, "stretch": 0.0, "schedule": "constant",
          "cycle_head": "flatten",
          "runs": {"single_task": 3, "ew": 5, "gradient_representation": 5 + 10, "gradient_params": 1}}  # fmt: skip
NOW = {"data": "benchmark", "test_subjects": 4, "seeds": 5, "epochs": 16, "stretch": 0.3, "schedule": "cosine",
       "cycle_head": "autocorrelation", "runs": {"single_task": 3, "ew": 5, "gradient_params": 6 + 5}}  # fmt: skip
#: The calibration study's candidate that chapter 12 finds calibrated: the grid of ``NOW`` on it.
CALIBRATED_CANDIDATE = "lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per kind (after one warm-up)")
    parser.add_argument("--worker", default=None, metavar="PROTOCOL:KIND",
                        help="time one kind of one protocol (calibrated or plain) alone and print its seconds "
                             "per epoch (the side-by-side measurement runs two of these)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if args.worker is not None:
        name, _, kind = args.worker.partition(":")
        if name not in ("calibrated", "plain") or not kind:
            parser.error(f"--worker takes calibrated:KIND or plain:KIND, got {args.worker!r}")
        return _worker(args.worker, args.epochs)

    import torch

    from radarode_lite.cli import run_experiments

    began = time.perf_counter()
    torch.set_num_threads(1)
    assert len(run_experiments.table2_runs([0], NOW["epochs"])) == sum(NOW["runs"].values())
    startup_s = _startup_seconds()
    protocols = {"before": BEFORE, "now": NOW, **_calibrated_protocols()}
    setups = {name: _setup(protocol) for name, protocol in protocols.items()}
    times = _round_robin(setups, args.epochs)
    side_by_side = {name: side_by_side_slowdown("bench_train.py", f"{name}:gradient_params_loop", args.epochs)
                    for name in ("calibrated", "plain")}  # fmt: skip
    out = {"threads": 1, "startup_s": round(startup_s, 3)}
    for name, protocol in protocols.items():
        out[name] = _summary(protocol, setups[name], times[name], startup_s, side_by_side.get(name))
    out["grid_ratio_now_vs_before"] = round(out["now"]["grid"]["one_at_a_time_h"]
                                            / out["before"]["grid"]["one_at_a_time_h"], 3)  # fmt: skip
    out["grid_ratio_calibrated_vs_now"] = round(out["calibrated"]["grid"]["one_at_a_time_h"]
                                                / out["now"]["grid"]["one_at_a_time_h"], 3)  # fmt: skip
    out["grid_looped_ratio_plain_vs_calibrated"] = round(out["plain"]["grid_looped"]["two_side_by_side_h"]
                                                         / out["calibrated"]["grid_looped"]["two_side_by_side_h"], 3)  # fmt: skip
    out["bench_wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(out, indent=1))
    return 0


def _calibrated_protocols() -> dict:
    """The protocols ``calibrated`` and ``plain`` (the calibrated one on plain convolutions)."""
    calibrated = _calibrated()
    return {"calibrated": calibrated, "plain": dict(calibrated, deformable=(False,) * 4)}


def _worker(spec: str, epochs: int) -> int:
    """``--worker PROTOCOL:KIND``: one kind of one protocol, trained alone; prints its median seconds per epoch."""
    import torch

    name, _, kind = spec.partition(":")
    protocol = _calibrated_protocols()[name]
    torch.set_num_threads(1)
    setup = _setup(protocol, only=kind)
    times = _round_robin({name: setup}, epochs)[name][kind]
    print(json.dumps({"worker": spec, "s_per_epoch": statistics.median(times)}))
    return 0


def _calibrated() -> dict:
    """The ``NOW`` grid on the calibrated candidate's data set (generated into the cache if missing)."""
    sys.path.insert(0, str(_REPO / "data_scripts"))
    import run_calibration

    from radarode_lite.data.cache import default_cache_dir

    candidate = run_calibration.CANDIDATES[CALIBRATED_CANDIDATE]
    root = run_calibration.ensure_data(candidate, default_cache_dir(), quiet=True)
    return dict(NOW, data=root, epochs=candidate.epochs, loop=True)


def _setup(protocol: dict, only: str | None = None) -> dict:
    """The split, one fresh network per kind of run (or the kind ``only``), their methods and the
    augmentation of ``protocol``."""
    from radarode_lite import data
    from radarode_lite.data.augment import TimeStretch
    from radarode_lite.models import RadarODEMTL

    name = protocol["data"]
    root = Path(name) if Path(name).is_absolute() else data.book_dataset(name, "lite", 0)
    split = data.subject_split(root, test_subjects=protocol["test_subjects"], preset="lite", in_memory=True)
    kinds = {"ew": ("ew", {}), "gradient_params": ("ega", {"batched": True}), "single_task": ("ew", {})}
    if "gradient_representation" in protocol["runs"]:
        kinds["gradient_representation"] = ("ega", {"gradients": "representation"})
    if protocol.get("loop"):
        kinds["gradient_params_loop"] = ("ega", {"batched": False})
    if only is not None:
        if only not in kinds:
            raise ValueError(f"--worker takes a kind of {sorted(kinds)}, got {only!r}")
        kinds = {only: kinds[only]}
    models = {k: RadarODEMTL("lite", seed=0, cycle_head=protocol["cycle_head"], deformable=protocol.get("deformable"))
              for k in kinds}  # fmt: skip
    augment = TimeStretch(protocol["stretch"]) if protocol["stretch"] else None
    return {"split": split, "kinds": kinds, "models": models, "augment": augment, "schedule": protocol["schedule"]}


def _round_robin(setups: dict, epochs: int) -> dict:
    """Wall seconds of each epoch of every kind of both protocols, the kinds interleaved epoch by
    epoch so that a change of machine load touches all of them alike (the warm-up epoch dropped)."""
    from radarode_lite import train
    from radarode_lite.mtl import get_method

    times = {name: {k: [] for k in setup["kinds"]} for name, setup in setups.items()}
    for epoch in range(epochs + 1):
        for name, setup in setups.items():
            for k, (method, kwargs) in setup["kinds"].items():
                tasks = ("shape",) if k == "single_task" else train.TASKS
                history = train.train(setup["models"][k], setup["split"]["train"], tasks=tasks,
                                      method=get_method(method, len(tasks), **kwargs), epochs=1, seed=epoch,
                                      schedule=setup["schedule"], augment=setup["augment"])  # fmt: skip
                if epoch > 0:
                    times[name][k].append(history.epoch_s[-1])
    return times


def _summary(protocol: dict, setup: dict, times: dict, startup_s: float, side_by_side: dict | None = None) -> dict:
    """Seconds per epoch of each kind, their ratios to EW, the evaluation and the projected grid
    time (two side by side: slowed by ``side_by_side["factor"]`` where it was measured)."""
    from radarode_lite import evaluation

    per_epoch = {k: statistics.median(v) for k, v in times.items()}
    t0 = time.perf_counter()
    evaluation.evaluate(setup["models"]["ew"], setup["split"]["test"])
    eval_s = time.perf_counter() - t0
    runs_per_seed = protocol["runs"]
    total = _grid_s(protocol, per_epoch, eval_s, startup_s)
    out = {
        "data": protocol["data"] if Path(protocol["data"]).is_absolute() else f"book:{protocol['data']}",
        "deformable_stages": [i + 1 for i, d in enumerate(setup["models"]["ew"].preset.deformable) if d],
        "n_train_segments": len(setup["split"]["train"]),
        "n_test_segments": len(setup["split"]["test"]),
        "s_per_epoch": {k: round(v, 3) for k, v in per_epoch.items()},
        "ratio_vs_ew": {k: round(v / per_epoch["ew"], 3) for k, v in per_epoch.items()},
        "eval_s": round(eval_s, 3),
        "grid": {"runs": protocol["seeds"] * sum(runs_per_seed.values()), "epochs_per_run": protocol["epochs"],
                 "one_at_a_time_h": round(total / 3600, 3), "two_side_by_side_h": round(total / 7200, 3),
                 "target_h": TARGET_H, "meets_target_on_2_cores": total / 7200 <= TARGET_H},  # fmt: skip
    }
    if "gradient_params_loop" in per_epoch:
        looped = _grid_s(protocol, dict(per_epoch, gradient_params=per_epoch["gradient_params_loop"]), eval_s,
                         startup_s)  # fmt: skip
        out["grid_looped"] = {"two_side_by_side_h": round(looped / 7200, 3),
                              "meets_target_on_2_cores": looped / 7200 <= TARGET_H}  # fmt: skip
    if side_by_side is not None:
        out["side_by_side"] = side_by_side
        for key, seconds in (("grid", total), ("grid_looped", looped)):
            measured = seconds * side_by_side["factor"] / 7200
            out[key].update(two_side_by_side_ideal_h=round(seconds / 7200, 3), two_side_by_side_h=round(measured, 3),
                            meets_target_on_2_cores=measured <= TARGET_H)  # fmt: skip
    return out


def _grid_s(protocol: dict, per_epoch: dict, eval_s: float, startup_s: float) -> float:
    """Seconds of the whole grid, one run at a time, at the given seconds per epoch of each kind."""
    return protocol["seeds"] * sum(n * (protocol["epochs"] * per_epoch[k] + eval_s + startup_s)
                                   for k, n in protocol["runs"].items())  # fmt: skip


def _startup_seconds() -> float:
    """Wall time of a new Python process that imports torch and the package (median of 3)."""
    code = "import torch, radarode_lite.train, radarode_lite.mtl"
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def side_by_side_slowdown(script: str, worker: str, epochs: int, copies: int = 2) -> dict:
    """Seconds per epoch of ``data_scripts/<script> --worker worker --epochs epochs`` alone, then
    ``copies`` such processes at once: a grid "on 2 cores" runs two one-thread processes at once,
    and on many machines they share more than the cores (caches, memory bandwidth, a boost
    clock), so that halving the one-at-a-time time is optimistic. ``--worker`` prints
    ``{"s_per_epoch": ...}``, the median of its timed epochs.

    Returns ``alone_s``, ``side_by_side_s`` (the median over the copies), ``measured_ratio``, their
    ratio, and ``factor``, the ratio but at least 1 (below 1 only by the noise of a short
    measurement): the wall time of a grid on ``copies`` cores is its one-at-a-time time x factor
    / copies.
    """
    command = [sys.executable, str(_REPO / "data_scripts" / script), "--worker", worker, "--epochs", str(epochs)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(_REPO))
    alone = _seconds(subprocess.run(command, env=env, capture_output=True, text=True, check=False), command)
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(copies)]  # fmt: skip
    together = []
    for proc in procs:
        out, err = proc.communicate()
        together.append(_seconds(subprocess.CompletedProcess(command, proc.returncode, out, err), command))
    side = statistics.median(together)
    return {"worker": worker, "copies": copies, "alone_s": round(alone, 3), "side_by_side_s": round(side, 3),
            "measured_ratio": round(side / alone, 3), "factor": round(max(side / alone, 1.0), 3)}  # fmt: skip


def _seconds(done: subprocess.CompletedProcess, command) -> float:
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {done.returncode}: {done.stderr.strip()[-1000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["s_per_epoch"])


if __name__ == "__main__":
    sys.exit(main())
