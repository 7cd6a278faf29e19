"""Seconds per training epoch of the three frameworks of chapter 14 and the projected time of its noise grids.

    python data_scripts/bench_noise.py                 # 2 timed epochs per kind, both protocols
    python data_scripts/bench_noise.py --epochs 1
    python data_scripts/bench_noise.py --worker plain:radarode_mtl_looped_noisy   # one kind alone (see below)

Prints one JSON object, measured in one process on one torch thread (as ``radarode-run-noise``
runs its grids), the kinds timed round robin so that a change of machine load touches them
alike, for three protocols side by side:

- ``first``: the first benchmark of chapter 12 (``book:benchmark``, 8 training and 4 held-out
  people), 16 epochs of Adam at 1e-3, the cycle-length target 2 classes wide;
- ``calibrated``: the calibrated benchmark of chapter 12's Table II (``book:calibrated``, 16
  and 4), 24 epochs at 3e-3, the target 8 classes wide;
- ``plain``: the calibrated protocol on the right-sized network, plain convolutions in every
  backbone stage of the three frameworks (``train_framework(protocol={"deformable": (False,) * 4})``).

For each: ``s_per_epoch`` of each framework's training (``frameworks.train_framework`` on the
training set held in memory, clean inputs) and of ``radarode_mtl_looped`` (EGA with
``batched=False``: the per-task backward passes one after another instead of one vectorised
``torch.func.vmap`` pass, the same gradients up to rounding, and the default on the CPU), each also under the authors'
input noise at 0 dB (``_noisy``), as the matched grid trains all but its clean baseline; ``noisy_set_s``
(the noisy copy of the held-out segments under one condition) and ``eval_s`` of each framework
(rebuilding and scoring every held-out 4-s ECG under one condition). ``grids`` projects, in
hours on 2 cores (two processes side by side), the grid trained clean (3 seeds x 3 frameworks,
each tested under the 13 conditions) and the matched grid (one network per seed, framework and
condition), the matched one also per table: Table III is the clean baseline and 6 SNRs, Table V
the clean baseline and 6 bursts, 7 conditions each. ``*_looped`` uses the looped EGA.
``radarode-run-noise --workers 2`` runs two trainings side by side, and two processes slow each
other on many machines, so for ``calibrated`` and ``plain`` that is measured: ``side_by_side``
holds the seconds per epoch of the looped radarode-MTL trained under noise (``--worker
PROTOCOL:radarode_mtl_looped_noisy``, the kind most of the matched grid's time goes to) in a
new process alone and two at once, and their ratio ``factor``; their ``grids_h_on_2_cores``
are the one-at-a-time times x factor / 2 (``grids_h_on_2_cores_ideal``: divided by 2 alone).

Target (issue of the benchmark): Tables III and V in at most 1 hour each on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

TARGET_H = 1.0
SEEDS = 3
PROTOCOLS = {
    "first": {"data": "benchmark", "epochs": 16, "lr": 1e-3, "ppi_sigma": 2.0},
    "calibrated": {"data": "calibrated", "epochs": 24, "lr": 3e-3, "ppi_sigma": 8.0},
    "plain": {"data": "calibrated", "epochs": 24, "lr": 3e-3, "ppi_sigma": 8.0, "deformable": (False,) * 4},
}
#: The kinds of training timed: (framework, noise condition of training, EGA batched); the
#: matched grid trains under noise (``_noisy``), the other on clean inputs.
KINDS = {
    f"{framework}{looped}{noisy}": (framework, noise, not looped)
    for framework, looped in (("mmecg", ""), ("radarode", ""), ("radarode_mtl", ""), ("radarode_mtl", "_looped"))
    for noisy, noise in (("", "clean"), ("_noisy", "snr:0"))
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per kind (after one warm-up)")
    parser.add_argument("--worker", default=None, metavar="PROTOCOL:KIND",
                        help="time one kind of one protocol alone and print its seconds per epoch (the "
                             "side-by-side measurement runs two of these)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if args.worker is not None:
        return _worker(args.worker, args.epochs)

    import torch

    began = time.perf_counter()
    torch.set_num_threads(1)
    setups = {name: _setup(protocol) for name, protocol in PROTOCOLS.items()}
    times = _round_robin(setups, args.epochs)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_train import side_by_side_slowdown

    side_by_side = {name: side_by_side_slowdown("bench_noise.py", f"{name}:radarode_mtl_looped_noisy", args.epochs)
                    for name in ("calibrated", "plain")}  # fmt: skip
    out = {"threads": 1, "seeds": SEEDS}
    for name, protocol in PROTOCOLS.items():
        out[name] = _summary(protocol, setups[name], times[name], side_by_side.get(name))
    out["tables_ratio_plain_vs_calibrated"] = {
        k: round(out["plain"]["grids_h_on_2_cores"][k] / out["calibrated"]["grids_h_on_2_cores"][k], 3)
        for k in out["plain"]["grids_h_on_2_cores"] if k.startswith("table")}  # fmt: skip
    out["bench_wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(out, indent=1))
    return 0


def _worker(spec: str, epochs: int) -> int:
    """``--worker PROTOCOL:KIND``: one kind of one protocol, trained alone; prints its median seconds per epoch."""
    import torch

    name, _, kind = spec.partition(":")
    if name not in PROTOCOLS or kind not in KINDS:
        raise SystemExit(f"error: --worker takes PROTOCOL:KIND of {sorted(PROTOCOLS)} and {sorted(KINDS)}, got {spec!r}")
    torch.set_num_threads(1)
    times = _round_robin({name: _setup(PROTOCOLS[name])}, epochs, kinds=[kind])[name][kind]
    print(json.dumps({"worker": spec, "s_per_epoch": statistics.median(times)}))
    return 0


def _setup(protocol: dict) -> dict:
    """The split of the protocol's data set and its training segments held in memory."""
    from radarode_lite import data
    from radarode_lite.studies import frameworks

    split = data.subject_split(data.book_dataset(protocol["data"]), test_subjects=4, seed=0)
    return {"split": split, "train": frameworks.in_memory(split["train"]), "models": {}}


def _round_robin(setups: dict, epochs: int, kinds=None) -> dict:
    """Wall seconds of one-epoch trainings of every kind (or those of ``kinds``) of the
    protocols, interleaved (the warm-up round dropped); the last network of each framework is
    kept for the evaluation."""
    from radarode_lite.studies import frameworks

    kinds = {k: KINDS[k] for k in (KINDS if kinds is None else kinds)}
    times = {name: {k: [] for k in kinds} for name in setups}
    ega = dict(frameworks.PROTOCOL["ega"])
    try:
        for rep in range(epochs + 1):
            for name, setup in setups.items():
                protocol = PROTOCOLS[name]
                for kind, (framework, noise, batched) in kinds.items():
                    frameworks.PROTOCOL["ega"] = {**ega, "batched": batched}
                    model, record = frameworks.train_framework(
                        framework, setup["train"], epochs=1, seed=rep, lr=protocol["lr"], noise=noise,
                        ppi_sigma=protocol["ppi_sigma"] if framework == "radarode_mtl" else None,
                        protocol={"deformable": protocol["deformable"]} if "deformable" in protocol else None)  # fmt: skip
                    setup["models"][framework] = model
                    if rep > 0:
                        times[name][kind].append(record["train_s"])
    finally:
        frameworks.PROTOCOL["ega"] = ega
    return times


def _summary(protocol: dict, setup: dict, times: dict, side_by_side: dict | None = None) -> dict:
    """Seconds per epoch, the evaluation of one condition and the projected grid times (two side
    by side: slowed by ``side_by_side["factor"]`` where it was measured)."""
    from radarode_lite.studies import frameworks, noise_conditions, robustness

    per_epoch = {k: statistics.median(v) for k, v in times.items()}
    t0 = time.perf_counter()
    noisy = noise_conditions.noisy_test_set(setup["split"]["test"], "snr:0")
    noisy_s = time.perf_counter() - t0
    eval_s = {}
    for framework in frameworks.FRAMEWORKS:
        t0 = time.perf_counter()
        ecg = frameworks.reconstruct_ecg(framework, setup["models"][framework], noisy)
        robustness.ecg_metrics(ecg, noisy.reference, noisy.r_peaks_s)
        eval_s[framework] = time.perf_counter() - t0
    grids = {}
    for suffix in ("", "_looped"):
        kind = {f: f + suffix if f == "radarode_mtl" else f for f in frameworks.FRAMEWORKS}
        train_s = {noisy: {f: protocol["epochs"] * per_epoch[kind[f] + noisy] for f in frameworks.FRAMEWORKS}
                   for noisy in ("", "_noisy")}  # fmt: skip
        grids.update(_grids(train_s[""], train_s["_noisy"], eval_s, noisy_s, suffix))
    factor = 1.0 if side_by_side is None else side_by_side["factor"]
    out = {
        "data": f"book:{protocol['data']}", "epochs": protocol["epochs"],
        "deformable_stages": [i + 1 for i, d in enumerate(setup["models"]["radarode"].preset.deformable) if d],
        "n_train_segments": len(setup["split"]["train"]), "n_test_segments": len(setup["split"]["test"]),
        "conditions": len(noise_conditions.GRID_CONDITIONS),
        "s_per_epoch": {k: round(v, 3) for k, v in per_epoch.items()},
        "looped_vs_batched": round(per_epoch["radarode_mtl_looped"] / per_epoch["radarode_mtl"], 3),
        "noisy_vs_clean": {f: round(per_epoch[f + "_noisy"] / per_epoch[f], 3) for f in frameworks.FRAMEWORKS},
        "noisy_set_s": round(noisy_s, 3), "eval_s": {k: round(v, 3) for k, v in eval_s.items()},
        "grids_h_on_2_cores": {k: round(v * factor / 7200, 3) for k, v in grids.items()},
        "tables_meet_target": {k: v * factor / 7200 <= TARGET_H for k, v in grids.items() if k.startswith("table")},
        "target_h_per_table": TARGET_H,
    }  # fmt: skip
    if side_by_side is not None:
        out["side_by_side"] = side_by_side
        out["grids_h_on_2_cores_ideal"] = {k: round(v / 7200, 3) for k, v in grids.items()}
    return out


def _grids(train_s: dict, noisy_train_s: dict, eval_s: dict, noisy_s: float, suffix: str) -> dict:
    """Seconds, one process at a time, of the grids at the given training times (clean inputs
    for the grid trained clean, noisy ones for the matched grid) and evaluation times."""
    from radarode_lite.studies import noise_conditions

    n = len(noise_conditions.GRID_CONDITIONS)
    assert n == 13  # the clean baseline, 6 SNRs (Table III), 6 bursts (Table V)
    tests = noisy_s + SEEDS * sum(eval_s.values())  # one condition: its noisy copy, every network tested
    baseline = SEEDS * sum(train_s.values()) + tests  # the clean condition: trained clean
    noisy = SEEDS * sum(noisy_train_s.values()) + tests  # any other condition of the matched grid
    return {
        f"clean_trained{suffix}": SEEDS * sum(train_s.values()) + n * tests,
        f"matched{suffix}": baseline + (n - 1) * noisy,
        f"table3_matched{suffix}": baseline + 6 * noisy,
        f"table5_matched{suffix}": baseline + 6 * noisy,
    }


if __name__ == "__main__":
    sys.exit(main())
