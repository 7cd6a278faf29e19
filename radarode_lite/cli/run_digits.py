"""Run the multi-task methods and the single-task baselines on the damaged-digits problem (chapter 15).

The grid: fourteen multi-task configurations (EW, UW, GLS, DWA, STCH, GradDrop, GradVac,
CAGrad, IMTL, MoCo, Aligned-MTL and EGA at T = 0.5, 1.0, 2.0) and the three single-task
baselines, each for every seed, on the problem of :mod:`radarode_lite.studies.digits` (fixed
train/test split, seed 0). Every run writes one results file with
:func:`radarode_lite.studies.results.save_result`: test metrics, configuration, seed, the command that
repeats it, git commit, wall time and machine, plus the per-epoch history (training losses,
task weights, EGA's eccentric vector). Runs whose file exists and reads back valid are
skipped, so an interrupted grid resumes where it stopped; a damaged file is run again. At the end a JSON summary (mean and standard deviation over
seeds of every metric and of delta_m against the single-task baselines) is printed.

Usage::

    radarode-run-digits                       # the whole grid, one CPU thread
    radarode-run-digits --only ega_T1.0 --seeds 0 --overwrite   # one run again
    radarode-run-digits --smoke --out /tmp/digits_smoke         # a few seconds
    radarode-run-digits --list                # the run names

In a clone of the book, ``python data_scripts/run_digits.py`` (from the repository root) is
the same command. The results go to ``--out``; by default the checkout's
``book/data/results/digits`` when run from a clone of the book (the book reads them there),
else ``./results/digits`` in the current folder. The whole grid takes a few minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from radarode_lite.cli import _common

#: The checkout when run from a clone of the book (stored commands name folders relative to it), else None.
ROOT = _common.checkout()
DEFAULT_OUT = _common.results_root() / "digits"
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
DEFAULT_EPOCHS = 30

#: run name -> (label shown in the book, method name, hyper-parameters); in the order of Table II.
MTL_RUNS = {
    "ew": ("EW", "ew", {}),
    "uw": ("UW", "uw", {}),
    "gls": ("GLS", "gls", {}),
    "dwa": ("DWA", "dwa", {}),
    "stch": ("STCH", "stch", {}),
    "graddrop": ("GradDrop", "graddrop", {}),
    "gradvac": ("GradVac", "gradvac", {}),
    "cagrad": ("CAGrad", "cagrad", {}),
    "imtl": ("IMTL", "imtl", {}),
    "moco": ("MoCo", "moco", {}),
    "aligned_mtl": ("Aligned-MTL", "aligned_mtl", {}),
    "ega_T0.5": ("EGA (T=0.5)", "ega", {"temperature": 0.5}),
    "ega_T1.0": ("EGA (T=1.0)", "ega", {"temperature": 1.0}),
    "ega_T2.0": ("EGA (T=2.0)", "ega", {"temperature": 2.0}),
}
#: run name -> task of a single-task baseline.
SINGLE_RUNS = {f"single_{t}": t for t in ("class", "image", "blot")}  # radarode_lite.studies.digits.TASKS
SMOKE_RUNS = ("ew", "ega_T1.0")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="results folder (" + _common.RESULTS_RULE.format(sub="digits") + ")")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds (default 0 1 2 3 4)")
    parser.add_argument("--epochs", type=int, default=None, help=f"epochs per run (default {DEFAULT_EPOCHS})")
    parser.add_argument("--only", "--runs", dest="runs", nargs="+", default=None, metavar="NAME",
                        help="run names (default all; see --list); baselines: single_class, single_image, single_blot")
    parser.add_argument("--overwrite", action="store_true", help="run again even where a results file exists")
    parser.add_argument("--force", dest="overwrite", action="store_true", help=argparse.SUPPRESS)  # the old flag
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny grid: EW and EGA (T=1.0) and the baselines, seed 0, 2 epochs (use with --out)")
    parser.add_argument("--list", action="store_true", help="print the run names and exit")
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``Ctrl-C``, a full disk or a closed pipe (``--list | head``) end with one line, not a traceback.
    """
    from radarode_lite import _children

    return _children.cli(_main, argv)


def _main(argv=None) -> int:
    run(argv)  # bad arguments exit with status 2 (argparse)
    return 0


def run(argv=None) -> dict:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return its JSON summary.

    Bad arguments end the process with status 2 (``argparse``), as ``main`` does.
    """
    from radarode_lite import _children, _files

    _children.follow_parent()  # started by run_experiments: end with it
    parser = build_parser()
    args = parser.parse_args(argv)
    names = list(MTL_RUNS) + list(SINGLE_RUNS)
    if args.list:
        print("\n".join(names))
        return {"runs": names}
    runs, seeds, epochs = _grid(args, names, parser)
    import torch

    from radarode_lite.studies import digits, results

    torch.set_num_threads(args.threads)
    out = args.out

    if _files.remove_leftovers(out):
        print(f"removed leftovers of an interrupted grid in {str(out)!r}", file=sys.stderr)
    problem = digits.load_problem()
    start = time.perf_counter()
    done, skipped = [], []
    for seed in seeds:
        for run_name in runs:
            path = out / _file_name(run_name, seed)
            if not args.overwrite and results.result_problem(path) is None:
                skipped.append(str(path))
                continue
            record_run(path, run_name, seed, epochs, problem, out, args.threads)
            done.append(str(path))
            print(f"{path.relative_to(out)} done", file=sys.stderr, flush=True)
    summary = summarise(out)
    summary.update({"out": str(out), "runs_done": len(done), "runs_skipped": len(skipped),
                    "grid_wall_s": round(time.perf_counter() - start, 2), "threads": args.threads})
    print(json.dumps(summary, indent=1))
    return summary


def _grid(args, names, parser) -> tuple[list, list, int]:
    """The runs, seeds and epochs that ``args`` ask for (``--smoke`` has its own defaults); bad ones refused."""
    if args.smoke:
        runs = args.runs or list(SMOKE_RUNS) + list(SINGLE_RUNS)
        seeds = [0] if args.seeds is None else args.seeds
        epochs = 2 if args.epochs is None else args.epochs
    else:
        runs = args.runs or names
        seeds = list(DEFAULT_SEEDS) if args.seeds is None else args.seeds
        epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs
    unknown = [r for r in runs if r not in names]
    if unknown:
        parser.error(f"unknown run names {unknown}; valid: {', '.join(names)}")
    if any(s < 0 for s in seeds) or epochs < 1 or args.threads < 1:
        parser.error("--seeds must be >= 0, --epochs and --threads >= 1")
    return runs, seeds, epochs


def record_run(path: Path, run: str, seed: int, epochs: int, problem, out: Path, threads: int) -> Path:
    """Train one run and write its results file at ``path``."""
    from radarode_lite.studies import digits, results

    if run in MTL_RUNS:
        label, method, kwargs = MTL_RUNS[run]
        trained = digits.train(method, seed=seed, problem=problem, epochs=epochs, method_kwargs=kwargs)
        kind = "mtl"
    else:
        task = SINGLE_RUNS[run]
        label = f"Single-task ({task})"
        trained = digits.train_single_task(task, seed=seed, problem=problem, epochs=epochs)
        kind = "single_task"
    config = {"problem": "digits", "run": run, "label": label, "kind": kind, "seed": seed,
              "threads": threads, **trained.config}
    command = " ".join([_common.command_prefix("run_digits"), "--runs", run, "--seeds", str(seed),
                        "--epochs", str(epochs), "--out", shlex.quote(_display(out)), "--overwrite"])
    params = sum(p.numel() for p in trained.model.parameters())
    return results.save_result(path, trained.metrics, config, seed, command, round(trained.wall_s, 3),
                               history=trained.history, n_parameters=params)


def summarise(out: Path) -> dict:
    """Mean and standard deviation over seeds of every metric and of delta_m, per label."""
    import numpy as np

    from radarode_lite.studies import digits, results

    if not out.is_dir():
        return {"labels": {}}
    records = [r for r in results.load_results(out) if r["config"].get("problem") == "digits"]
    singles = {}
    for r in records:
        if r["config"]["kind"] == "single_task":
            singles.setdefault(r["config"]["tasks"][0], []).append(r["metrics"])
    baseline = None
    if all(t in singles for t in digits.TASKS):
        baseline = {t: digits.average_metrics(singles[t])[t] for t in digits.TASKS}
    groups = {}
    for r in records:
        groups.setdefault(r["config"]["label"], []).append(r)
    labels = {}
    for label, recs in groups.items():
        entry = {"n_seeds": len(recs), "wall_s_mean": round(float(np.mean([r["wall_s"] for r in recs])), 3)}
        for task, values in recs[0]["metrics"].items():
            for name in values:
                xs = [r["metrics"][task][name] for r in recs]
                entry[f"{task}.{name}"] = [round(float(np.mean(xs)), 4), round(float(np.std(xs)), 4)]
        if baseline is not None and recs[0]["config"]["kind"] == "mtl":
            dm = [digits.delta_m_vs_single_task(r["metrics"], baseline) for r in recs]
            entry["delta_m_pct"] = [round(float(np.mean(dm)), 3), round(float(np.std(dm)), 3)]
        labels[label] = entry
    return {"labels": labels, "baseline": baseline,
            "total_run_wall_s": round(float(sum(r["wall_s"] for r in records)), 2)}


def _file_name(run: str, seed: int) -> str:
    folder = "single_task" if run in SINGLE_RUNS else "mtl"
    return f"{folder}/{run}_seed{seed}.json"


def _display(path: Path) -> str:
    """``path`` relative to the repository root when inside a checkout, else absolute."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(ROOT)) if ROOT is not None else str(path)
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
