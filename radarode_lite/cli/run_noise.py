"""Noise robustness of three frameworks, Tables III and V of radarODE-MTL, on the book's data (chapter 14).

    radarode-run-noise                          # the grid: 3 frameworks x seeds 0 1 2 x 13 conditions
    radarode-run-noise --seeds 3                # one more seed (stored files are skipped)
    radarode-run-noise --only radarode_mtl --seeds 0 --conditions clean snr:-3
    radarode-run-noise --list                   # what is stored and what is left
    radarode-run-noise --smoke --out /tmp/r/noise # tiny check, seconds
    radarode-run-noise --train-noise matched    # the authors' way: trained under each condition's noise
    radarode-run-noise --workers 2              # two networks trained side by side (2 cores)

In a clone of the book, ``python data_scripts/run_noise.py`` is the same command, and
``radarode-run-experiments --grid noise --out <folder>`` runs it into ``<folder>/noise``. The
results go to ``--out``; by default to ``noise`` (``noise_matched`` with ``--train-noise
matched``) in the calibrated benchmark's folder of the checkout,
``book/data/results/benchmark/calibration/lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24/``,
when run from a clone of the book (chapter 14 reads them there), else in the same folder below
``./results`` of the current folder; with ``--deformable none`` (plain convolutions in every
backbone stage, the right-sized network of chapter 12) in the folder of that network's
candidate, the same name ending in ``_plain``.

Protocol (``radarode_lite.studies`` holds every piece: ``noise_conditions``, ``frameworks``, ``robustness``):

1. Each framework is trained once per seed on the **clean** training subjects of the data set
   (with ``--train-noise matched``, once per seed and condition, under that condition's input
   noise drawn afresh for every batch, ``noise_conditions.TrainingNoise``: the authors' dataset
   class adds its noise to the training and the test subjects alike; those networks are not
   kept, and the results go to ``noise_matched``)
   with the protocol of chapter 12's Table II (``frameworks.PROTOCOL``): ``book:calibrated``
   (20 subjects x 4 statuses x 20 s, radar channels at -19.5 to 0.5 dB), ``--test-subjects`` (4)
   subjects held out as ``data.subject_split(root, test_subjects=4, seed=0)`` draws them (the
   table2 grid's split), ``--epochs`` (24) epochs of Adam (``--lr``, 3e-3; batch 32) with a cosine schedule,
   time-stretch of +-30 % and the autocorrelation head of the cycle-length decoder, one CPU thread:
   ``mmecg`` (direct regression of the 4-s ECG; not stretched: the stretch leaves its ECG
   target as it is), ``radarode`` (the shape decoder with its ODE branch, trained alone;
   anchors by signal processing), ``radarode_mtl`` (three tasks, EGA with T = 1 on the shared
   parameters' gradients, warm-up epoch ``min(4, epochs // 4)``; ``--ppi-sigma`` sets the width
   of its cycle-length soft target, 8 classes by default).
2. The held-out subjects' segments are copied under every noise condition of the grid
   (``noise_conditions.GRID_CONDITIONS``: clean; constant noise at 6, 3, 0, -1, -2, -3 dB; one
   burst of 1, 2 or 3 s at 0 dB or -9 dB in one segment in five), the same noise for every
   framework and seed (``--noise-seed``), and each framework rebuilds the 4-s ECG of every
   segment. The noise goes on the network input, the normalised spectrogram, as the
   authors' released code adds it; ``radar-snr:DB`` and ``radar-abrupt:DB:SECONDS[:FRACTION]``
   (``noise_conditions.RADAR_CONDITIONS``) put it on the radar phase instead, the physical
   view, and compute the spectrograms again. The anchors of ``radarode`` come from the noisy
   network input under input noise and clean (the radar stays clean there), from the noisy
   radar phase under the ``radar-`` conditions (``frameworks.single_cycle_anchors``; the clean
   baseline of its delta_m then uses radar anchors too).
3. RMSE, PCC, R-peak error and MDR of the 4-s ECG, and delta_m against the framework's own
   clean baseline (same seed), are stored with ``radarode_lite.studies.results.save_result`` (with the
   git commit at the start of the run and a fingerprint of the package's source), one file
   per (framework, seed, condition): ``<results>/noise/<framework>_seed<seed>_<condition>.json``
   (``--out`` names the folder directly). Existing files are skipped (``--overwrite`` redoes them),
   so an interrupted grid continues where it stopped; a file made with other settings
   (``--epochs``, ``--lr``, ``--ppi-sigma``, ``--preset``, ``--deformable``, ``--data-seed``, ``--noise-seed``)
   stops the grid with an error instead of being mixed with the new runs. Under abrupt noise
   the same columns over the segments with a burst alone are stored too, as
   ``metrics["burst_segments"]`` (with ``"segments"``, their indices, and delta_m against the
   clean baseline over all segments).

With ``--workers N`` the networks train side by side, each in a child process
(``radarode-run-noise`` on one framework and seed, and for matched training one condition, the
clean baselines first); every results file is the same as one process at a time makes it, with
the same command.

The networks of the seeds in ``--save-models`` (default 0) are kept in ``<folder>/models/`` for
the chapter's figures; when such a file exists and matches the settings, the network is loaded
instead of trained again. The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from radarode_lite.cli import _common

#: Default parent folder of the stored results: the calibrated benchmark's folder (chapter 14
#: reads its ``noise`` and ``noise_matched`` in a checkout).
BENCHMARK_FOLDER = "benchmark/calibration/lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24"
DEFAULT_RESULTS = _common.results_root() / BENCHMARK_FOLDER
#: Defaults of the calibrated benchmark's protocol (chapter 12's Table II): data set, held-out
#: subjects (split seed :data:`SPLIT_SEED`), epochs, Adam's rate, the width in classes of the
#: cycle-length soft target; and the seeds of the grid.
DEFAULT_DATA = "book:calibrated"
DEFAULT_TEST_SUBJECTS = 4
DEFAULT_EPOCHS = 24
DEFAULT_LR = 3e-3
DEFAULT_PPI_SIGMA = 8.0
DEFAULT_SEEDS = (0, 1, 2)
SPLIT_SEED = 0
#: Width of the cycle-length soft target of results files and networks stored before the
#: option existed (``losses.PPI_SIGMA``).
_LOSS_SIGMA = 2.0
#: Epochs of a ``--smoke`` run (two, so that the cosine schedule and EGA's loss buffers take a step).
SMOKE_EPOCHS = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=None, help=argparse.SUPPRESS)  # the old form: <results>/noise
    parser.add_argument("--out", default=None,
                        help="folder of the results files ("
                             + _common.RESULTS_RULE.format(sub=BENCHMARK_FOLDER + "/noise")
                             + "; with --smoke a new temporary folder)")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="training seeds (>= 0)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"training epochs of every framework (default {DEFAULT_EPOCHS})")  # fmt: skip
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"Adam's peak rate (default {DEFAULT_LR:g})")
    parser.add_argument("--ppi-sigma", type=float, default=DEFAULT_PPI_SIGMA,
                        help=f"width in classes of radarode_mtl's cycle-length soft target (default {DEFAULT_PPI_SIGMA:g})")  # fmt: skip
    parser.add_argument("--only", nargs="+", default=None, metavar="FRAMEWORK",
                        help="frameworks to run: mmecg, radarode, radarode_mtl (default all)")  # fmt: skip
    parser.add_argument("--conditions", nargs="+", default=None, metavar="CONDITION",
                        help="noise conditions (default the whole grid), e.g. snr:-3 abrupt:-9:3 (noise on the "
                             "network input, as the authors' code) or radar-snr:-3 radar-abrupt:-9:3:1 (on the "
                             "radar phase); the clean baseline is always included (delta_m needs it)")  # fmt: skip
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help=f"book:small, book:default, book:benchmark, book:calibrated or a data set folder "
                             f"(default {DEFAULT_DATA})")  # fmt: skip
    parser.add_argument("--test-subjects", type=int, default=DEFAULT_TEST_SUBJECTS,
                        help=f"held-out subjects, drawn with split seed {SPLIT_SEED} (default {DEFAULT_TEST_SUBJECTS})")  # fmt: skip
    parser.add_argument("--preset", default="lite", choices=["lite", "paper"], help="spectrogram and network size")
    parser.add_argument("--deformable", default="preset", choices=list(_common.DEFORMABLE_OPTIONS),
                        help="deformable convolutions in the backbone stages of the preset (default), or plain "
                             "convolutions everywhere (the right-sized network of chapter 12)")  # fmt: skip
    parser.add_argument("--data-seed", type=int, default=0, help="seed of a book data set")
    parser.add_argument("--noise-seed", type=int, default=0, help="seed of the test noise (the same for all runs)")
    parser.add_argument("--train-noise", default="clean", choices=["clean", "matched"],
                        help="clean: one network per framework and seed, trained on clean inputs (default); "
                             "matched: one per condition, trained with that condition's input noise as the "
                             "authors' dataset class adds it (default folder noise_matched beside noise)")  # fmt: skip
    parser.add_argument("--save-models", type=int, nargs="*", default=[0], metavar="SEED",
                        help="seeds whose trained networks are kept in <folder>/models (default 0)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--workers", type=int, default=1,
                        help="networks trained side by side, each in its own process with --threads threads "
                             "(default 1; 2 on 2 cores)")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="redo runs whose results file exists")
    parser.add_argument("--force", dest="overwrite", action="store_true", help=argparse.SUPPRESS)  # the old flag
    parser.add_argument("--list", action="store_true", help="list the runs (done or to do) and stop")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny check: 2 subjects x 6 s of synthetic data (1 held out), 2 epochs, seed 0, "
                             "conditions clean and abrupt:-9:1:1 (or --conditions)")  # fmt: skip
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars while training")
    parser.add_argument("--progress", action="store_true", default=True, help=argparse.SUPPRESS)  # the old flag
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``Ctrl-C``, a full disk or a closed pipe end with one line, not a traceback.
    """
    from radarode_lite import _children

    return _children.cli(_main, argv)


def _main(argv=None) -> int:
    from radarode_lite import _children, _files

    _children.follow_parent()  # started by run_experiments: end with it
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.threads < 1 or args.workers < 1:
        print(f"error: --threads and --workers must be >= 1, got {args.threads}, {args.workers}", file=sys.stderr)
        return 2
    if args.workers > 1 and args.overwrite:
        print("error: --overwrite runs one process at a time; leave out --workers", file=sys.stderr)
        return 2
    if args.workers > 1:
        _children.forward_signals()  # kill (SIGTERM) stops the children
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before numpy, numba and torch are imported
    if args.threads == 1:
        os.environ["SSQ_PARALLEL"] = "0"
    try:
        summary = run(args, argv)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {_files.disk_error(exc)}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def run(args, argv) -> dict:
    """The grid as ``args`` say; returns a summary (files written and skipped, wall time)."""
    from radarode_lite import _files
    from radarode_lite.studies import noise_conditions, results

    began = time.perf_counter()
    commit = results.git_commit()  # the code loaded now is the code that runs, whatever is committed meanwhile
    fingerprint = _package_fingerprint()
    seeds, frameworks, conditions = check_arguments(args)
    epochs = SMOKE_EPOCHS if args.smoke else args.epochs
    folder = results_folder(args)

    def path_of(fw, seed, cond):
        return folder / f"{fw}_seed{seed}_{noise_conditions.condition_tag(cond)}.json"

    runs = [(fw, seed, c) for fw in frameworks for seed in seeds for c in conditions]
    todo = [r for r in runs if args.overwrite or results.result_problem(path_of(*r)) is not None]
    if not args.overwrite:
        _refuse_other_settings(args, epochs, [path_of(*r) for r in runs if r not in todo])
    if args.list:
        for r in runs:
            print(f"{'todo' if r in todo else 'done'}  {path_of(*r).name}")
        return {"runs": len(runs), "todo": len(todo), "folder": str(folder)}
    if _files.remove_leftovers(folder):
        print(f"removed leftovers of an interrupted grid in {str(folder)!r}", flush=True)
    print(f"noise grid: {len(runs)} runs, {len(runs) - len(todo)} stored, {len(todo)} to do -> {folder}", flush=True)
    written = 0
    if todo and args.workers > 1:
        written = _run_children(args, todo, folder, path_of)
    elif todo:
        with tempfile.TemporaryDirectory(prefix="radarode-noise-data-") as scratch:
            split, base_config = _data_and_config(args, Path(scratch), epochs, fingerprint)
            if args.train_noise == "clean":  # one network per (framework, seed) for every condition
                models, trained = _networks(args, todo, split, base_config, folder)
                grid = SimpleNamespace(args=args, split=split, base_config=base_config, models=models,
                                       trained=trained, epochs=epochs, commit=commit, path_of=path_of)  # fmt: skip
                written = _evaluate_conditions(grid, conditions, todo)
            else:  # matched: one network per (framework, seed, condition), trained under that noise
                baselines = {}
                for cond in conditions:  # the clean baseline first
                    jobs = [r for r in todo if r[2]["name"] == cond["name"]]
                    models, trained = _networks(args, jobs, split, base_config, folder, noise=cond["name"])
                    grid = SimpleNamespace(args=args, split=split, models=models, trained=trained, epochs=epochs,
                                           base_config={**base_config, "train_noise": cond["name"]},
                                           commit=commit, path_of=path_of)  # fmt: skip
                    written += _evaluate_conditions(grid, [cond], todo if cond["family"] == "clean" else jobs,
                                                    baselines)  # fmt: skip
    return {"runs": len(runs), "written": written, "skipped": len(runs) - len(todo), "folder": str(folder),
            "wall_s": round(time.perf_counter() - began, 1)}  # fmt: skip


def _run_children(args, todo, folder: Path, path_of) -> int:
    """Run ``todo`` in children, ``--workers`` at a time, each ``radarode-run-noise`` on one framework
    and seed (matched: and one condition; the clean baselines first, every delta_m reads them) into
    ``folder``; return the number of results files written (the same files, commands included, as
    one process makes)."""
    from radarode_lite import _children
    from radarode_lite.studies import results

    if not args.smoke:
        _resolve_data(args.data, args.preset, args.data_seed)  # a book data set generated once, not by each child
    common = ["--out", str(folder.resolve()), "--threads", str(args.threads), "--save-models", *map(str, args.save_models),
              "--no-progress"]  # fmt: skip
    keys = list(dict.fromkeys((fw, seed) for fw, seed, _ in todo))
    if args.train_noise == "clean":  # one network per (framework, seed), tested under its conditions
        phases = [[(fw, seed, [c["name"] for f, s, c in todo if (f, s) == (fw, seed)]) for fw, seed in keys]]
    else:  # one network per condition; the clean baselines first
        phases = [[(fw, seed, [c["name"]]) for fw, seed, c in todo if c["family"] == "clean"],
                  [(fw, seed, [c["name"]]) for fw, seed, c in todo if c["family"] != "clean"]]
    order = {"radarode_mtl": 0, "radarode": 1, "mmecg": 2}  # the longest trainings first
    failures = []

    def one(job):
        fw, seed, names = job
        selected = ["--only", fw, "--seeds", str(seed), "--conditions", *names] if args.smoke else []
        command = _common.child_command("run_noise", *_run_args(args, fw, seed, names, args.epochs), *selected,
                                        *common)  # fmt: skip
        t0 = time.perf_counter()
        done = _children.run_child(command, env=dict(os.environ, OMP_NUM_THREADS=str(args.threads)),
                                   cwd=_common.child_cwd())  # fmt: skip
        if done.returncode != 0:
            if not _children.stopping():
                failures.append(f"{fw} seed {seed}")
                print(f"  FAILED {fw} seed {seed} {' '.join(names)}: {done.stderr.strip()[-2000:]}", flush=True)
            return
        print(f"  done {fw} seed {seed} {' '.join(names)} ({time.perf_counter() - t0:.0f} s)", flush=True)

    for jobs in phases:
        _children.side_by_side(one, sorted(jobs, key=lambda j: order[j[0]]), args.workers)
        if failures:
            break  # the baselines of the next phase are missing
    if failures:
        raise ValueError(f"{len(failures)} children failed ({', '.join(failures)}); run the grid again to continue")
    return sum(results.result_problem(path_of(*r)) is None for r in todo)


def check_arguments(args) -> tuple[list, list, list]:
    """Refuse bad arguments; return the seeds, the frameworks and the noise conditions (clean first)."""
    from radarode_lite.studies import frameworks as frameworks_, noise_conditions

    if args.epochs < 1 or args.test_subjects < 1:
        raise ValueError(f"--epochs and --test-subjects must be >= 1, got {args.epochs}, {args.test_subjects}")
    for name in ("lr", "ppi_sigma"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {value}")
    for name in ("data_seed", "noise_seed"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    seeds = [0] if args.smoke else list(args.seeds)
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must be distinct ints >= 0, got {seeds}")
    if any(s < 0 for s in args.save_models):
        raise ValueError(f"--save-models must be seeds >= 0, got {args.save_models}")
    frameworks = list(frameworks_.FRAMEWORKS if args.only is None else args.only)
    unknown = [f for f in frameworks if f not in frameworks_.FRAMEWORKS]
    if unknown or len(set(frameworks)) != len(frameworks):
        raise ValueError(f"--only takes distinct frameworks of {frameworks_.FRAMEWORKS}, got {frameworks}")
    names = args.conditions or (["clean", "abrupt:-9:1:1"] if args.smoke else list(noise_conditions.GRID_CONDITIONS))
    conditions = [noise_conditions.parse_condition("clean")]  # the baseline is always part of a run: delta_m needs it
    for name in names:
        cond = noise_conditions.parse_condition(name)
        if args.train_noise == "matched" and cond["model"] == "radar":
            raise ValueError(f"--train-noise matched takes input-noise conditions (snr:, abrupt:), got {name!r}")
        if cond["name"] not in [c["name"] for c in conditions]:
            conditions.append(cond)
    return seeds, frameworks, conditions


def _network_protocol(args) -> dict | None:
    """The entry of ``frameworks.train_framework``'s ``protocol`` that ``--deformable`` asks for (None: the preset's)."""
    stages = _common.DEFORMABLE_OPTIONS[args.deformable]
    return None if stages is None else {"deformable": stages}


def _ppi_sigma(args) -> float:
    """The width of the cycle-length soft target that ``args`` ask for (:data:`DEFAULT_PPI_SIGMA` if none)."""
    return DEFAULT_PPI_SIGMA if args.ppi_sigma is None else float(args.ppi_sigma)


def _refuse_other_settings(args, epochs: int, stored_paths) -> None:
    """Raise ``ValueError`` when a stored results file of this grid was made with other training
    settings than ``args`` ask for: resuming would mix two protocols in one folder."""
    from radarode_lite.studies import results

    asked = {"epochs": epochs, "lr": float(args.lr), "ppi_sigma": _ppi_sigma(args), "preset": args.preset,
             "deformable": args.deformable, "data_seed": args.data_seed, "noise_seed": args.noise_seed}  # fmt: skip
    for path in stored_paths:
        # older files: the default width and the preset's deformable stages
        config = {"ppi_sigma": _LOSS_SIGMA, "deformable": "preset", **results.load_result(path)["config"]}
        found = {k: config.get(k) for k in asked}
        if found != asked:
            other = ", ".join(f"{k} {found[k]} (asked {asked[k]})" for k in asked if found[k] != asked[k])
            raise ValueError(f"{str(path)!r} was made with other settings: {other}; "
                             "choose another --out, or --overwrite to redo the grid")  # fmt: skip


def results_folder(args) -> Path:
    """The folder of the results files: ``--out``, else ``<--results>/noise``, else the default
    ``<results root>/<BENCHMARK_FOLDER>/noise`` (``noise_matched`` for matched training;
    ``<BENCHMARK_FOLDER>_plain`` for ``--deformable none``, the right-sized network's candidate)."""
    if args.out is not None:
        folder = Path(args.out)
    elif args.results is not None:
        folder = Path(args.results) / "noise"
    elif args.smoke:
        folder = Path(tempfile.mkdtemp(prefix="radarode-noise-smoke-")) / "noise"
    else:
        parent = DEFAULT_RESULTS if args.deformable == "preset" else DEFAULT_RESULTS.with_name(
            DEFAULT_RESULTS.name + "_plain")  # fmt: skip
        folder = parent / ("noise" if args.train_noise == "clean" else "noise_matched")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"the results folder {str(folder)!r} is a file")
    return folder


def _data_and_config(args, scratch: Path, epochs: int, fingerprint: str) -> tuple[dict, dict]:
    """The subject split of the data set (a smoke data set goes to ``scratch``) and the
    configuration shared by every results file."""
    import torch

    from radarode_lite import data

    if args.smoke:
        root = scratch / "data"
        data.generate_dataset(root, n_subjects=2, statuses=("NB",), duration_s=6.0, preset=args.preset,
                              seed=args.data_seed, progress=False, save_mat=True)  # fmt: skip
        data_name = "smoke"
    else:
        root, data_name = _resolve_data(args.data, args.preset, args.data_seed)
    test_subjects = 1 if args.smoke else args.test_subjects  # the smoke data set has two subjects
    split = data.subject_split(root, test_subjects=test_subjects, seed=SPLIT_SEED, preset=args.preset)
    torch.set_num_threads(args.threads)  # after generating data (its parallel SST may reset it)
    base_config = {
        "data": data_name,
        "data_root": None if args.smoke else str(root),
        "data_seed": args.data_seed,
        "preset": args.preset,
        "deformable": args.deformable,
        "epochs": epochs,
        "batch_size": 32,
        "optimizer": "adam",
        "lr": args.lr,
        "ppi_sigma": _ppi_sigma(args),
        "protocol": _protocol_record(epochs),
        "train_noise": "clean",
        "split_seed": SPLIT_SEED,
        "train_subjects": split["train"].subjects,
        "test_subjects": split["test"].subjects,
        "n_train_segments": len(split["train"]),
        "n_test_segments": len(split["test"]),
        "noise_seed": args.noise_seed,
        "reference": "ECG window, baseline (median filters 0.2 s and 0.6 s) removed, min-max normalised",
        "threads": args.threads,
        "smoke": bool(args.smoke),
        "package_fingerprint": fingerprint,
    }
    return split, base_config


def _networks(args, todo, split, base_config: dict, folder: Path, noise="clean") -> tuple[dict, dict]:
    """The networks, trained (or loaded) once per (framework, seed) that has runs to do, and
    the record of their training; both keyed by (framework, seed). ``noise`` names the input
    noise of training (``--train-noise matched``); those networks are neither stored nor loaded."""
    from radarode_lite.studies import frameworks as frameworks_, results

    train_items = frameworks_.in_memory(split["train"])
    epochs = base_config["epochs"]
    models, trained = {}, {}
    for fw, seed in dict.fromkeys((fw, seed) for fw, seed, _ in todo):
        checkpoint = folder / "models" / f"{fw}_seed{seed}.pt"
        wanted = {k: base_config[k] for k in ("data", "data_seed", "preset", "deformable", "epochs", "batch_size",
                                              "lr", "ppi_sigma", "protocol", "train_subjects")}  # fmt: skip
        model = record = None
        keep = args.train_noise == "clean"
        if keep and checkpoint.is_file() and not args.overwrite:
            try:
                loaded, stored = frameworks_.load_model(checkpoint)
            except ValueError as exc:  # a damaged file: trained again
                print(f"  {exc}; training again", flush=True)
                loaded, stored = None, {}
            # networks stored before the options: the default width, the preset's deformable stages
            stored = {"ppi_sigma": _LOSS_SIGMA, "deformable": "preset", **stored}
            if {k: stored.get(k) for k in wanted} == wanted and stored.get("seed") == seed:
                model, record = loaded, stored["training"]
        if model is None:
            print(f"  training {fw} seed {seed} ({epochs} epochs, {noise} inputs)", flush=True)
            model, record = frameworks_.train_framework(fw, train_items, epochs=epochs, seed=seed, noise=noise,
                                                       preset=args.preset, progress=args.progress, lr=args.lr,
                                                       ppi_sigma=base_config["ppi_sigma"],
                                                       protocol=_network_protocol(args))  # fmt: skip
            record = results.json_safe(record)
            if keep and seed in args.save_models:
                frameworks_.save_model(checkpoint, fw, model, {**wanted, "seed": seed, "training": record})
        models[(fw, seed)], trained[(fw, seed)] = model, record
        print(f"    {fw} seed {seed}: training {record['train_s']:.0f} s", flush=True)
    return models, trained


def _evaluate_conditions(grid, conditions, todo, baselines=None) -> int:
    """Every condition: one noisy copy of the test segments, every network to do on it, one
    results file each; returns the number of files written. ``baselines`` (filled in place)
    holds the clean scores of each (framework, seed), the reference of delta_m."""
    from radarode_lite.studies import frameworks as frameworks_, noise_conditions, results

    baselines, written = ({} if baselines is None else baselines), 0
    for cond in conditions:  # the clean baseline first
        jobs = [(fw, seed) for fw, seed, c in todo if c["name"] == cond["name"]]
        if cond["family"] == "clean":  # stored baselines are read (a NaN is stored as null), missing ones evaluated
            for key in dict.fromkeys((fw, seed) for fw, seed, _ in todo):
                if key not in jobs:
                    stored = results.load_result(grid.path_of(*key, cond))["metrics"]
                    baselines[key] = {k: float("nan") if v is None else v for k, v in stored.items()}
        if not jobs:
            continue
        t0 = time.perf_counter()
        test_set = noise_conditions.noisy_test_set(grid.split["test"], cond, seed=grid.args.noise_seed)
        timing = {"set_s": time.perf_counter() - t0, "anchors_s": 0.0}
        anchors = None
        if any(fw == "radarode" for fw, _ in jobs):  # from the noisy input, or the radar under radar- noise
            t0 = time.perf_counter()
            anchors = frameworks_.single_cycle_anchors(test_set)
            timing["anchors_s"] = time.perf_counter() - t0
            if frameworks_.anchor_source(cond) == "radar":
                _radar_anchor_baselines(grid, [seed for fw, seed in jobs if fw == "radarode"], baselines)
        for fw, seed in jobs:
            _evaluate_one(grid, fw, seed, cond, test_set, anchors if fw == "radarode" else None, baselines, timing)
            written += 1
    return written


def _radar_anchor_baselines(grid, seeds, baselines) -> None:
    """The clean scores of the ``radarode`` networks of ``seeds`` with anchors from the clean radar
    phase, the baseline of their delta_m under the ``radar-`` conditions (the stored clean files
    place them from the clean input); keyed ``("radarode", seed, "radar")`` in ``baselines``."""
    from radarode_lite.studies import frameworks as frameworks_, noise_conditions, robustness

    missing = [seed for seed in seeds if ("radarode", seed, "radar") not in baselines]
    if not missing:
        return
    clean = noise_conditions.noisy_test_set(grid.split["test"], "clean", seed=grid.args.noise_seed)
    anchors = frameworks_.radar_anchors(clean)
    for seed in missing:
        recon = frameworks_.reconstruct_single_cycle(grid.models[("radarode", seed)], clean, anchors=anchors)
        baselines[("radarode", seed, "radar")] = robustness.ecg_metrics(recon, clean.reference, clean.r_peaks_s)


def _evaluate_one(grid, fw, seed, cond, test_set, anchors, baselines, timing) -> None:
    """Rebuild the ECG of ``test_set`` with one network, score it and store its results file."""
    from radarode_lite.studies import frameworks as frameworks_, results, robustness

    source = frameworks_.anchor_source(cond) if fw == "radarode" else None
    base_key = (fw, seed, "radar") if source == "radar" else (fw, seed)
    t0 = time.perf_counter()
    recon = frameworks_.reconstruct_ecg(fw, grid.models[(fw, seed)], test_set, anchors=anchors)
    scores = robustness.ecg_metrics(recon, test_set.reference, test_set.r_peaks_s, per_segment=True)
    per_segment = scores.pop("per_segment")
    if cond["family"] == "clean":
        baselines[(fw, seed)] = scores
    try:
        scores["delta_m_pct"] = robustness.delta_m_pct(baselines[base_key], scores)
    except ValueError:  # a NaN column (no matched peak), or a baseline of 0: undefined, stored as null
        scores["delta_m_pct"] = float("nan")
    scores["failed"] = robustness.is_failure(scores["pcc_pct"])
    hit = robustness.burst_metrics(recon, test_set)
    if hit is not None:
        try:
            hit["delta_m_pct"] = robustness.delta_m_pct(baselines[base_key], hit)
        except ValueError:
            hit["delta_m_pct"] = float("nan")
        scores["burst_segments"] = hit
    eval_s = time.perf_counter() - t0
    record = grid.trained[(fw, seed)]
    config = dict(grid.base_config, framework=fw, framework_label=frameworks_.FRAMEWORK_LABELS[fw],
                  condition=cond, method=record["method"], method_kwargs=record["method_kwargs"],
                  tasks=record["tasks"], training_protocol=record.get("protocol"), anchors=_ANCHORS.get(source),
                  evaluation="per 4-s segment, each from its own input")  # fmt: skip
    command = _common.command_prefix("run_noise") + " " + shlex.join(_run_args(grid.args, fw, seed, [cond["name"]],
                                                                               grid.epochs))  # fmt: skip
    set_s, anchors_s = timing["set_s"], timing["anchors_s"]
    wall = record["train_s"] + set_s + (anchors_s if fw == "radarode" else 0.0) + eval_s
    results.save_result(grid.path_of(fw, seed, cond), scores, config, seed, command, round(wall, 2),
                        git_commit_hash=grid.commit,
                        train_s=round(record["train_s"], 2), test_set_s=round(set_s, 2),
                        anchors_s=round(anchors_s, 2) if fw == "radarode" else None,
                        eval_s=round(eval_s, 2), train_loss=record["train_loss"],
                        parameters=record["parameters"], per_segment=per_segment)  # fmt: skip
    print(f"  {fw} seed {seed} {cond['name']}: PCC {scores['pcc_pct']:.1f} %, "
          f"delta_m {scores['delta_m_pct']:.1f} %", flush=True)  # fmt: skip


#: What the ``anchors`` entry of a ``radarode`` results file says (None for the other frameworks).
_ANCHORS = {
    "input": "signal processing on the (noisy) network input: timefreq.locate_input_anchors; delta_m against "
             "the clean file, anchored the same way",
    "radar": "signal processing on the (noisy) radar phase: timefreq.locate_anchors; delta_m against the clean "
             "test set anchored on the clean radar phase",
}  # fmt: skip


def _resolve_data(spec, preset, data_seed):
    """The data set folder named by ``--data`` (a book data set is generated on first use) and its name."""
    from radarode_lite import data

    if spec.startswith("book:"):
        size = spec.split(":", 1)[1]
        if size not in data.SIZES:
            raise ValueError(f"--data book:SIZE takes a size of {tuple(data.SIZES)}, got {spec!r}")
        return data.book_dataset(size, preset=preset, seed=data_seed), spec
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"--data {spec!r} is neither a folder nor book:SIZE ({', '.join(data.SIZES)})")
    return root, str(root)


def _protocol_record(epochs: int) -> dict:
    """The training protocol every framework of the grid shares (``frameworks.PROTOCOL``; ``mmecg``
    without time-stretch), as the results files and the stored networks record it."""
    from radarode_lite.studies import frameworks as frameworks_

    return {**frameworks_.PROTOCOL, "ega": {**frameworks_.PROTOCOL["ega"], "warmup_epoch": min(4, epochs // 4)},
            "stretch_mmecg": 0.0, "name": "benchmark"}  # fmt: skip


def _package_fingerprint() -> str:
    """Short hash of the package's source files as loaded now (they may hold changes not yet committed)."""
    import hashlib

    import radarode_lite

    digest = hashlib.sha256()
    for path in sorted(Path(radarode_lite.__file__).parent.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _run_args(args, framework, seed, conditions, epochs) -> list[str]:
    """The arguments of ``radarode-run-noise`` that make the files of one framework and seed under
    ``conditions`` with the settings of ``args`` (a stored command, a child of ``--workers``)."""
    if args.smoke:
        parts = ["--smoke"]
    else:
        # the settings of the protocol are always written, so that the command does not depend
        # on the defaults of the day
        parts = ["--only", framework, "--seeds", str(seed), "--conditions", *conditions, "--epochs", str(epochs),
                 "--data", args.data, "--lr", f"{args.lr:g}", "--ppi-sigma", f"{_ppi_sigma(args):g}"]  # fmt: skip
        if args.test_subjects != DEFAULT_TEST_SUBJECTS:
            parts += ["--test-subjects", str(args.test_subjects)]
        if args.preset != "lite":
            parts += ["--preset", args.preset]
        if args.deformable != "preset":
            parts += ["--deformable", args.deformable]
        if args.data_seed:
            parts += ["--data-seed", str(args.data_seed)]
        if args.noise_seed:
            parts += ["--noise-seed", str(args.noise_seed)]
    if args.train_noise != "clean":
        parts += ["--train-noise", args.train_noise]
    return parts


if __name__ == "__main__":
    sys.exit(main())
