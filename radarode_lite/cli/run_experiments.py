"""Run the book's experiment grids and store one results file per run (chapters 12 and 14).

    radarode-run-experiments --grid table2               # chapter 12, the lite grid
    radarode-run-experiments --grid table2 --workers 2   # two runs at a time
    radarode-run-experiments --grid table2 --only ega --seeds 0
    radarode-run-experiments --grid table2 --list        # the runs, nothing trained
    radarode-run-experiments --smoke --out /tmp/r        # tiny grid, a minute

In a clone of the book, ``python data_scripts/run_experiments.py`` is the same command. The
results go to ``--out`` (one sub-folder per grid); by default the checkout's
``book/data/results`` when run from a clone of the book (the book reads them there), else
``./results`` in the current folder.

Grids:

- ``table2``: Table II of Zhang et al. (IEEE TIM 2025) on the book's data set: the three
  single-task baselines and radarODE-MTL trained with EW, UW, GLS, DWA, STCH, GradDrop,
  GradVac, CAGrad, IMTL, MoCo, Aligned-MTL and EGA (T in 0.1, 0.5, 1.0, 1.5, 2.0; the
  ``paper`` and ``official`` variants), each with every seed of ``--seeds``.
- ``noise``: the robustness study of chapter 14 (``radarode-run-noise`` holds it; this
  tool forwards ``--out`` (as ``--out <out>/noise``), ``--seeds``, ``--epochs``, ``--data``, ``--preset``,
  ``--only`` (framework names), ``--overwrite``, ``--list`` and ``--smoke`` to it).
- ``digits``: the second multi-task problem of chapter 15 (``radarode-run-digits``; this
  tool forwards ``--out`` (as ``<out>/digits``), ``--seeds``, ``--epochs``, ``--overwrite``,
  ``--list`` and ``--smoke``).

Every run is one call of ``radarode-train`` (``python -m radarode_lite.cli.train``) in its own process (so that runs are
independent and several can go side by side, one CPU thread each). Its ``metrics.json`` (the
held-out metrics, the per-epoch losses and weights, the configuration, the seed, the command
line that reproduces the run, the git commit, the wall time and the machine) is checked with
:func:`radarode_lite.studies.results.load_result` and stored as ``<results>/<grid>/<run>.json``; the
model weights are not kept. The grid is resumable: a run whose results file exists and reads
back valid is skipped, so an interrupted grid continues where it stopped (``--overwrite`` re-runs);
a damaged results file (truncated, NaN, a key twice) counts as not done and is run again.
Each child works in a hidden scratch folder of the results folder, removed on every way out;
``kill`` (SIGTERM), ``Ctrl-C`` or a hang-up stops the children too, and after ``kill -9`` they
stop by themselves; the scratch folders of a killed grid are removed by the next run.

Lite grid protocol (what chapter 12 reports): the ``lite`` preset on ``book:default`` (6
subjects x 4 statuses x 30 s; one subject held out, drawn with split seed 0: subject 4), ``--epochs`` epochs of Adam (lr 1e-3,
batch 32), the gradient methods other than MoCo on the gradient with respect to the shared
representation (``gradients=representation``, a cheaper form chosen for CPU budgets; the
authors' ``main.py`` sets ``rep_grad = False``, i.e. parameter gradients), MoCo on the parameter
gradients (it refuses representation gradients), EGA's warm-up epoch ``min(4, epochs // 4)``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from radarode_lite.cli import _common

#: Default folder of the stored results (the book reads ``book/data/results`` of a checkout).
DEFAULT_RESULTS = _common.results_root()

#: The multi-task methods of Table II other than EGA, in the paper's order.
TABLE2_METHODS = ("ew", "uw", "gls", "dwa", "stch", "graddrop", "gradvac", "cagrad", "imtl", "moco",
                  "aligned_mtl")  # fmt: skip

#: EGA temperatures of Table II and the two forms of its alignment (chapter 11).
EGA_TEMPERATURES = (0.1, 0.5, 1.0, 1.5, 2.0)
EGA_VARIANTS = ("paper", "official")

#: Methods that combine task gradients.
GRADIENT_METHODS = {"graddrop", "gradvac", "cagrad", "imtl", "moco", "aligned_mtl", "ega"}

#: Those run on the representation gradient in the lite grid (MoCo tracks parameter gradients).
REPRESENTATION_METHODS = GRADIENT_METHODS - {"moco"}


@dataclass(frozen=True)
class Run:
    """One run of a grid: its name (file stem), the method or single task, and its options."""

    name: str
    tasks: tuple = ("shape", "anchor", "ppi")
    method: str = "ew"
    options: dict = field(default_factory=dict)
    seed: int = 0

    def train_args(self, data: str, epochs: int, preset: str, device: str = "cpu", extra=()) -> list[str]:
        """The arguments of ``radarode-train`` for this run (without ``--out``)."""
        args = ["--data", data, "--preset", preset, "--seed", str(self.seed), "--epochs", str(epochs),
                "--threads", "1", "--tasks", *self.tasks]  # fmt: skip
        if device != "cpu":
            args += ["--device", device]
        args += list(extra)
        if len(self.tasks) > 1:
            args += ["--method", self.method]
            for key, value in self.options.items():
                args += ["--method-option", f"{key}={json.dumps(value)}"]
        return args


def table2_runs(seeds, epochs: int) -> list[Run]:
    """The runs of the ``table2`` grid: single-task baselines, the methods, EGA's temperatures."""
    warmup = min(4, max(epochs // 4, 0))
    runs = []
    for seed in seeds:
        for task in ("shape", "anchor", "ppi"):
            runs.append(Run(f"single_{task}_seed{seed}", tasks=(task,), seed=seed))
        for method in TABLE2_METHODS:
            options = {"gradients": "representation"} if method in REPRESENTATION_METHODS else {}
            runs.append(Run(f"{method}_seed{seed}", method=method, options=options, seed=seed))
        for variant in EGA_VARIANTS:
            for t in EGA_TEMPERATURES:
                options = {"temperature": t, "variant": variant, "warmup_epoch": warmup,
                           "gradients": "representation"}  # fmt: skip
                runs.append(Run(f"ega_{variant}_T{t:g}_seed{seed}", method="ega", options=options, seed=seed))
    return runs


def smoke_runs() -> list[Run]:
    """A tiny grid for CI: one single-task baseline and two methods."""
    return [
        Run("single_ppi_seed0", tasks=("ppi",)),
        Run("ew_seed0", method="ew"),
        Run("ega_paper_T1_seed0", method="ega",
            options={"temperature": 1.0, "warmup_epoch": 0, "gradients": "representation"}),  # fmt: skip
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", default="table2", choices=["table2", "noise", "digits"], help="which grid to run")
    parser.add_argument("--out", dest="results", default=str(DEFAULT_RESULTS),
                        help="results folder, one sub-folder per grid (" + _common.RESULTS_RULE.format(sub="")
                             + ")")  # fmt: skip
    parser.add_argument("--results", dest="results", help=argparse.SUPPRESS)  # the old name of --out
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="seeds of every configuration (default 0 1 2; digits: its own default)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of every run (default 12; digits: its own default)")  # fmt: skip
    parser.add_argument("--data", default="book:default", help="data set of radarode-train's --data")
    parser.add_argument("--preset", default="lite", choices=["lite", "paper"], help="spectrogram/network preset")
    parser.add_argument("--only", nargs="+", default=None, metavar="PREFIX",
                        help="run only the runs whose name starts with one of these prefixes")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="runs side by side (one thread each)")
    parser.add_argument("--device", default="cpu", help="torch device of every run (e.g. cuda)")
    parser.add_argument("--train-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for every radarode-train call, e.g. --train-arg=--paper-optimizer "
                             "(repeatable); use a separate --out folder for such a grid")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="re-run runs whose results file exists")
    parser.add_argument("--force", dest="overwrite", action="store_true", help=argparse.SUPPRESS)  # the old flag
    parser.add_argument("--list", action="store_true", help="print the runs of the grid and stop")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny grid (3 runs of radarode-train --smoke) into <results>/smoke; for CI")  # fmt: skip
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``Ctrl-C``, a full disk or a closed pipe (``--list | head``) end with one line, not a traceback.
    """
    from radarode_lite import _children

    return _children.cli(_main, argv)


def _main(argv=None) -> int:
    from radarode_lite import _children

    _children.forward_signals()  # kill (SIGTERM) stops the children and removes their scratch folders
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.grid == "digits":
        if args.workers != 1 or args.device != "cpu" or args.train_arg or args.only:
            print("error: --workers, --device, --train-arg and --only apply to the table2 grid only", file=sys.stderr)
            return 2
        forwarded = ["--out", str(Path(args.results) / "digits")]
        forwarded += ["--seeds", *map(str, args.seeds)] if args.seeds is not None else []
        forwarded += ["--epochs", str(args.epochs)] if args.epochs is not None else []
        forwarded += ["--overwrite"] * args.overwrite + ["--list"] * args.list + ["--smoke"] * args.smoke
        return _children.run_child(_common.child_command("run_digits", *forwarded), capture=False,
                                   cwd=_common.child_cwd()).returncode  # fmt: skip
    args.seeds = [0, 1, 2] if args.seeds is None else args.seeds
    args.epochs = 12 if args.epochs is None else args.epochs
    if args.grid == "noise":
        if args.workers != 1 or args.device != "cpu" or args.train_arg:
            print("error: --workers, --device and --train-arg apply to the table2 grid only", file=sys.stderr)
            return 2
        forwarded = ["--out", str(Path(args.results) / "noise"), "--seeds", *map(str, args.seeds),
                     "--epochs", str(args.epochs), "--data", args.data, "--preset", args.preset]  # fmt: skip
        forwarded += ["--overwrite"] * args.overwrite + ["--list"] * args.list + ["--smoke"] * args.smoke
        if args.only:
            forwarded += ["--only", *args.only]
        return _children.run_child(_common.child_command("run_noise", *forwarded), capture=False,
                                   cwd=_common.child_cwd()).returncode  # fmt: skip
    if args.workers < 1:
        print(f"error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    if args.epochs < 1:
        print(f"error: --epochs must be >= 1, got {args.epochs}", file=sys.stderr)
        return 2
    if any(s < 0 for s in args.seeds):
        print(f"error: --seeds must be >= 0, got {args.seeds}", file=sys.stderr)
        return 2
    grid = "smoke" if args.smoke else args.grid
    runs = smoke_runs() if args.smoke else table2_runs(args.seeds, args.epochs)
    if args.only:
        runs = [r for r in runs if any(r.name.startswith(p) for p in args.only)]
        if not runs:
            print(f"error: --only {' '.join(args.only)} matches no run of the {grid} grid (see --list)", file=sys.stderr)
            return 2
    folder = Path(args.results) / grid
    state = {r.name: stored_state(folder / f"{r.name}.json") for r in runs}
    if args.list:
        for run in runs:
            line = shlex.join(run.train_args(args.data, args.epochs, args.preset, args.device, args.train_arg))
            print(f"{state[run.name]}  {run.name}  {line}")
        return 0
    return run_grid(args, grid, runs, state, folder)


def stored_state(path: Path) -> str:
    """``done`` (a valid results file), ``todo`` (none) or ``bad`` (a damaged one, to run again)."""
    from radarode_lite.studies import results

    problem = results.result_problem(path)
    return "done" if problem is None else "todo" if problem == "missing" else "bad"


def run_grid(args, grid, runs, state, folder) -> int:
    """Run the runs not done, ``--workers`` at a time; print a JSON summary; return the exit status."""
    from radarode_lite import _children, _files

    todo = [r for r in runs if args.overwrite or state[r.name] != "done"]
    for run in todo:
        if state[run.name] == "bad":
            print(f"  {run.name}: stored results file is damaged, running it again", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    removed = _files.remove_leftovers(folder)
    if removed:
        print(f"  removed leftovers of an interrupted grid: {', '.join(removed)}", flush=True)
    began = time.perf_counter()
    print(f"{grid}: {len(runs)} runs, {len(runs) - len(todo)} already stored, {len(todo)} to run", flush=True)
    failures = []

    def one(run: Run):
        try:
            wall = run_one(run, folder, args.data, args.epochs, args.preset, smoke=args.smoke, device=args.device,
                           extra=args.train_arg)  # fmt: skip
            print(f"  done {run.name} ({wall:.0f} s)", flush=True)
        except (RuntimeError, ValueError, OSError) as exc:
            if _children.stopping():  # interrupted: not a failure of the run
                return
            failures.append((run.name, str(exc)))
            print(f"  FAILED {run.name}: {exc}", flush=True)

    pool = ThreadPoolExecutor(max_workers=args.workers)
    try:
        for future in [pool.submit(one, run) for run in todo]:
            future.result()
    except BaseException:  # Ctrl-C or a forwarded signal: no new run, the running ones stopped
        _children.stop_children()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # the workers remove their scratch folders
    summary = {"grid": grid, "runs": len(runs), "ran": len(todo) - len(failures), "failed": [n for n, _ in failures],
               "results": str(folder), "wall_s": round(time.perf_counter() - began, 1)}  # fmt: skip
    print(json.dumps(summary))
    return 1 if failures else 0


def run_one(run: Run, folder: Path, data: str, epochs: int, preset: str, smoke: bool = False, device: str = "cpu",
            extra=()) -> float:  # fmt: skip
    """Train ``run`` with ``radarode-train`` in a child process and store its results file; return the wall time.

    The child works in ``folder/.<run>.tmp-<pid>``, removed whatever happens.
    """
    from radarode_lite import _children
    from radarode_lite.studies import results

    train_args = run.train_args(data, epochs, preset, device, extra)
    if smoke:
        train_args = [a for a in train_args] + ["--smoke"]
    began = time.perf_counter()
    scratch = folder.resolve() / f".{run.name}.tmp-{os.getpid()}"  # absolute: the child may run elsewhere
    try:
        command = _common.child_command("train", *train_args, "--out", str(scratch), "--overwrite", "--no-progress")
        env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        done = _children.run_child(command, env=env, cwd=_common.child_cwd())
        if done.returncode != 0:
            raise RuntimeError(f"radarode-train exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
        record = results.load_result(scratch / "metrics.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    record["command"] = _common.command_prefix("train") + " " + shlex.join(train_args + ["--out", f"runs/{run.name}"])
    record["run"] = run.name
    path = folder / f"{run.name}.json"
    core = ("format", "metrics", "config", "seed", "command", "wall_s", "git_commit", "machine", "timestamp_utc")
    results.save_result(path, record["metrics"], record["config"], record["seed"], record["command"],
                        record["wall_s"], git_commit_hash=record["git_commit"], machine=record["machine"],
                        timestamp_utc=record["timestamp_utc"],
                        **{k: v for k, v in record.items() if k not in core})  # fmt: skip
    results.load_result(path)  # what was written reads back
    return time.perf_counter() - began


if __name__ == "__main__":
    sys.exit(main())
