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

- ``table2``: Table II of Zhang et al. (IEEE TIM 2025) on the book's benchmark data set, the
  17 rows of the published table: the three single-task baselines, radarODE-MTL trained with
  EW, UW, GLS, DWA, STCH, GradDrop, GradVac, CAGrad, IMTL, MoCo and Aligned-MTL, and EGA at
  T = 0.1, 0.5, 1.0, 1.5 and 2.0, each with every seed of ``--seeds``.
- ``baselines``: the trivial baselines on the table2 grid's held-out subjects (the mean training
  beat, the median cycle length, a fixed rate, the signal-processing anchors;
  ``radarode_lite.studies.baselines``), one file ``<out>/baselines/baselines_seed0.json``.
- ``noise``: the robustness study of chapter 14, on the calibrated benchmark of chapter 12's
  Table II by default (``radarode-run-noise`` holds it and its defaults; this tool forwards
  ``--out`` (as ``--out <out>/noise``; without ``--out``, its default, the ``noise`` folder
  chapter 14 reads), ``--seeds``, ``--epochs``, ``--data``, ``--test-subjects``, ``--preset``,
  ``--only`` (framework names), ``--workers``, ``--overwrite``, ``--list`` and ``--smoke`` to it; so
  ``--grid noise --out <folder>`` writes ``<folder>/noise``).
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

Defaults of ``table2`` and ``baselines``, the first benchmark of chapter 12: the ``lite`` preset
on ``book:benchmark`` (12 subjects x 4 statuses x 20 s, radar channels at -15 to 5 dB; 4
subjects held out, drawn with split seed 0), ``--epochs`` epochs of Adam (lr 1e-3, batch 32)
with a cosine schedule, time-stretch augmentation of +-30 % and the autocorrelation head of the
cycle-length decoder (:data:`PROTOCOL_ARGS`; chapter 8). Every method takes the gradients of the shared
parameters, as the authors' ``main.py`` does (``rep_grad = False``); EGA's warm-up epoch is
``min(4, epochs // 4)``, its alignment the paper's form (chapter 11 compares the two). Chapter
12's Table II is trained on the calibrated benchmark: ``--data book:calibrated --epochs 24
--train-arg=--lr=3e-3 --train-arg=--ppi-sigma=8`` (``data_scripts/run_calibration.py --table2``
runs it with these settings into the folder the chapter reads).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from radarode_lite.cli import _common

#: Default folder of the stored results (the book reads ``book/data/results`` of a checkout).
DEFAULT_RESULTS = _common.results_root()

#: The loss-balancing and gradient methods of Table II, in the paper's order.
LOSS_METHODS = ("ew", "uw", "gls", "dwa", "stch")
GRADIENT_METHODS = ("graddrop", "gradvac", "cagrad", "imtl", "moco", "aligned_mtl")
TABLE2_METHODS = LOSS_METHODS + GRADIENT_METHODS

#: EGA temperatures of Table II; the grid runs the paper's form of the alignment (chapter 11).
EGA_TEMPERATURES = (0.1, 0.5, 1.0, 1.5, 2.0)
EGA_VARIANT = "paper"

#: Defaults of the benchmark protocol (chapter 12): the data set, the held-out subjects, epochs, seeds.
DEFAULT_DATA = "book:benchmark"
DEFAULT_TEST_SUBJECTS = 4
DEFAULT_EPOCHS = 16
DEFAULT_SEEDS = (0, 1, 2, 3, 4)

#: Training settings every run of the table2 grid shares, as ``radarode-train`` flags: a cosine
#: rate schedule, time-stretch augmentation of +-30 % and the autocorrelation head of the
#: cycle-length decoder (chapter 8 explains why that decoder needs both to learn across subjects).
PROTOCOL_ARGS = ("--schedule", "cosine", "--stretch", "0.3", "--cycle-head", "autocorrelation")


@dataclass(frozen=True)
class Run:
    """One run of a grid: its name (file stem), the method or single task, and its options."""

    name: str
    tasks: tuple = ("shape", "anchor", "ppi")
    method: str = "ew"
    options: dict = field(default_factory=dict)
    seed: int = 0

    def train_args(self, data: str, epochs: int, preset: str, device: str = "cpu", extra=(),
                   test_subjects: int = DEFAULT_TEST_SUBJECTS) -> list[str]:  # fmt: skip
        """The arguments of ``radarode-train`` for this run (without ``--out``)."""
        args = ["--data", data, "--preset", preset, "--seed", str(self.seed), "--epochs", str(epochs),
                "--test-subjects", str(test_subjects), *PROTOCOL_ARGS, "--threads", "1",
                "--tasks", *self.tasks]  # fmt: skip
        if device != "cpu":
            args += ["--device", device]
        args += list(extra)
        if len(self.tasks) > 1:
            args += ["--method", self.method]
            for key, value in self.options.items():
                args += ["--method-option", f"{key}={json.dumps(value)}"]
        return args


def table2_runs(seeds, epochs: int) -> list[Run]:
    """The runs of the ``table2`` grid: the 17 rows of Table II (the single-task row is three runs) per seed.

    Every method trains on the gradients of the shared parameters, as the authors' ``main.py``
    does (``rep_grad = False``); EGA's warm-up epoch is ``min(4, epochs // 4)``.
    """
    warmup = min(4, max(epochs // 4, 0))
    runs = []
    for seed in seeds:
        for task in ("shape", "anchor", "ppi"):
            runs.append(Run(f"single_{task}_seed{seed}", tasks=(task,), seed=seed))
        for method in TABLE2_METHODS:
            runs.append(Run(f"{method}_seed{seed}", method=method, seed=seed))
        for t in EGA_TEMPERATURES:
            options = {"temperature": t, "variant": EGA_VARIANT, "warmup_epoch": warmup}
            runs.append(Run(f"ega_{EGA_VARIANT}_T{t:g}_seed{seed}", method="ega", options=options, seed=seed))
    return runs


def smoke_runs() -> list[Run]:
    """A tiny grid for CI: one single-task baseline and two methods."""
    return [
        Run("single_ppi_seed0", tasks=("ppi",)),
        Run("ew_seed0", method="ew"),
        Run("ega_paper_T1_seed0", method="ega", options={"temperature": 1.0, "warmup_epoch": 0}),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", default="table2", choices=["table2", "baselines", "noise", "digits"],
                        help="which grid to run")  # fmt: skip
    parser.add_argument("--out", dest="results", default=None,
                        help="results folder, one sub-folder per grid (" + _common.RESULTS_RULE.format(sub="")
                             + "; the noise grid: <out>/noise, without --out radarode-run-noise's default)")  # fmt: skip
    parser.add_argument("--results", dest="results", help=argparse.SUPPRESS)  # the old name of --out
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="seeds of every configuration (table2: 0 1 2 3 4; noise, digits: their own)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs of every run (table2: {DEFAULT_EPOCHS}; noise, digits: their own)")
    parser.add_argument("--data", default=None,
                        help=f"data set of radarode-train's --data (table2: {DEFAULT_DATA}; noise: its own)")
    parser.add_argument("--test-subjects", type=int, default=DEFAULT_TEST_SUBJECTS,
                        help="held-out subjects of every table2 run (radarode-train's --test-subjects) and of "
                             "the noise grid")  # fmt: skip
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
        args.results = str(DEFAULT_RESULTS) if args.results is None else args.results
        if args.workers != 1 or args.device != "cpu" or args.train_arg or args.only:
            print("error: --workers, --device, --train-arg and --only apply to the table2 grid only", file=sys.stderr)
            return 2
        forwarded = ["--out", str(Path(args.results) / "digits")]
        forwarded += ["--seeds", *map(str, args.seeds)] if args.seeds is not None else []
        forwarded += ["--epochs", str(args.epochs)] if args.epochs is not None else []
        forwarded += ["--overwrite"] * args.overwrite + ["--list"] * args.list + ["--smoke"] * args.smoke
        return _children.run_child(_common.child_command("run_digits", *forwarded), capture=False,
                                   cwd=_common.child_cwd()).returncode  # fmt: skip
    if args.grid == "noise":
        if args.device != "cpu" or args.train_arg:
            print("error: --device and --train-arg apply to the table2 grid only", file=sys.stderr)
            return 2
        forwarded = ["--preset", args.preset, "--test-subjects", str(args.test_subjects), "--workers", str(args.workers)]
        forwarded += ["--out", str(Path(args.results) / "noise")] if args.results is not None else []
        forwarded += ["--seeds", *map(str, args.seeds)] if args.seeds is not None else []
        forwarded += ["--epochs", str(args.epochs)] if args.epochs is not None else []
        forwarded += ["--data", args.data] if args.data is not None else []
        forwarded += ["--overwrite"] * args.overwrite + ["--list"] * args.list + ["--smoke"] * args.smoke
        if args.only:
            forwarded += ["--only", *args.only]
        return _children.run_child(_common.child_command("run_noise", *forwarded), capture=False,
                                   cwd=_common.child_cwd()).returncode  # fmt: skip
    args.results = str(DEFAULT_RESULTS) if args.results is None else args.results
    args.seeds = list(DEFAULT_SEEDS) if args.seeds is None else args.seeds
    args.epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs
    args.data = DEFAULT_DATA if args.data is None else args.data
    if args.smoke:
        args.test_subjects = 1  # the smoke data set of radarode-train --smoke has two subjects
    if args.workers < 1 or args.test_subjects < 1:
        print(f"error: --workers and --test-subjects must be >= 1, got {args.workers}, {args.test_subjects}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.epochs < 1:
        print(f"error: --epochs must be >= 1, got {args.epochs}", file=sys.stderr)
        return 2
    if any(s < 0 for s in args.seeds):
        print(f"error: --seeds must be >= 0, got {args.seeds}", file=sys.stderr)
        return 2
    if args.grid == "baselines":
        return run_baselines(args, argv)
    grid = "smoke" if args.smoke else args.grid
    runs = smoke_runs() if args.smoke else table2_runs(args.seeds, args.epochs)
    if args.only:
        runs = [r for r in runs if any(r.name.startswith(p) for p in args.only)]
        if not runs:
            print(f"error: --only {' '.join(args.only)} matches no run of the {grid} grid (see --list)", file=sys.stderr)
            return 2
    folder = Path(args.results) / grid
    state = {r.name: stored_state(folder / f"{r.name}.json") for r in runs}
    if not args.overwrite:
        try:
            refuse_other_settings(args, [r for r in runs if state[r.name] == "done"], folder)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.list:
        for run in runs:
            line = shlex.join(run.train_args(args.data, args.epochs, args.preset, args.device, args.train_arg,
                                             args.test_subjects))  # fmt: skip
            print(f"{state[run.name]}  {run.name}  {line}")
        return 0
    return run_grid(args, grid, runs, state, folder)


def refuse_other_settings(args, runs, folder: Path) -> None:
    """Raise ``ValueError`` when a stored run's recorded command trains otherwise than this grid
    would (another data set, epochs, ``--train-arg``...): skipping it as done would mix two
    protocols in one folder. The device, the thread count and ``--out`` do not count."""
    from radarode_lite.studies import results

    for run in runs:
        path = folder / f"{run.name}.json"
        wanted = run.train_args(args.data, args.epochs, args.preset, "cpu", args.train_arg, args.test_subjects)
        if args.smoke:
            wanted = wanted + ["--smoke"]
        found = _train_settings(results.load_result(path)["command"])
        if found != _train_settings(shlex.join(["radarode-train", *wanted])):
            raise ValueError(f"{str(path)!r} was made by another command ({shlex.join(found)}); choose "
                             "another --out, or --overwrite to run the grid again")  # fmt: skip


def _train_settings(command: str) -> list[str]:
    """The arguments of a recorded ``radarode-train`` command that decide what it trains."""
    words = shlex.split(command)
    start = next((i + 1 for i, w in enumerate(words) if w.endswith(("train.py", "radarode-train", "cli.train"))), 0)
    kept, skip = [], False
    for word in words[start:]:
        if skip or word in ("--out", "--device", "--threads"):
            skip = not skip
            continue
        kept.append(word)
    return kept


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
                           extra=args.train_arg, test_subjects=args.test_subjects)  # fmt: skip
            print(f"  done {run.name} ({wall:.0f} s)", flush=True)
        except (RuntimeError, ValueError, OSError) as exc:
            if _children.stopping():  # interrupted: not a failure of the run
                return
            failures.append((run.name, str(exc)))
            print(f"  FAILED {run.name}: {exc}", flush=True)

    _children.side_by_side(one, todo, args.workers)  # Ctrl-C or a signal: no new run, the running ones stopped
    summary = {"grid": grid, "runs": len(runs), "ran": len(todo) - len(failures), "failed": [n for n, _ in failures],
               "results": str(folder), "wall_s": round(time.perf_counter() - began, 1)}  # fmt: skip
    print(json.dumps(summary))
    return 1 if failures else 0


def run_baselines(args, argv) -> int:
    """Score the trivial baselines (:mod:`radarode_lite.studies.baselines`) on the table2 grid's split
    and store them as ``<results>/baselines/baselines_seed0.json`` (the split seed)."""
    from radarode_lite import data
    from radarode_lite.cli import train as train_tool
    from radarode_lite.studies import baselines, results

    path = Path(args.results) / "baselines" / "baselines_seed0.json"
    if args.list:
        print(f"{stored_state(path)}  baselines_seed0  --data {args.data} --test-subjects {args.test_subjects}")
        return 0
    if stored_state(path) == "done" and not args.overwrite:
        print(json.dumps({"grid": "baselines", "runs": 1, "ran": 0, "results": str(path.parent)}))
        return 0
    began = time.perf_counter()
    root, name = train_tool.resolve_data(args.data, args.preset, 0, {"name": "clean"})
    split = data.subject_split(root, test_subjects=args.test_subjects, seed=0, preset=args.preset)
    scores = baselines.trivial_baselines(split["train"], split["test"])
    config = {"data": name, "preset": args.preset, "split_seed": 0, "train_subjects": list(split["train"].subjects),
              "test_subjects": list(split["test"].subjects), "baselines": sorted(scores)}  # fmt: skip
    flat = {f"{b}.{k}": v for b, values in scores.items() for k, v in values.items()}
    command = _common.command_prefix("run_experiments") + " " + shlex.join(argv)
    results.save_result(path, flat, config, 0, command, round(time.perf_counter() - began, 1), run="baselines_seed0")
    results.load_result(path)  # what was written reads back
    print(json.dumps({"grid": "baselines", "runs": 1, "ran": 1, "results": str(path.parent)}))
    return 0


def run_one(run: Run, folder: Path, data: str, epochs: int, preset: str, smoke: bool = False, device: str = "cpu",
            extra=(), test_subjects: int = DEFAULT_TEST_SUBJECTS) -> float:  # fmt: skip
    """Train ``run`` with ``radarode-train`` in a child process and store its results file; return the wall time.

    The child works in ``folder/.<run>.tmp-<pid>``, removed whatever happens.
    """
    from radarode_lite import _children
    from radarode_lite.studies import results

    train_args = run.train_args(data, epochs, preset, device, extra, test_subjects)
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
