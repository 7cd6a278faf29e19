"""Train radarODE-MTL (or one of its tasks) once and store the model and its metrics (chapters 12-14).

    radarode-train --method ega --preset lite --data book:default --seed 0 \\
        --epochs 30 --device cpu --out results/runs/ega_seed0
    radarode-train --method ew --data path/to/segments --out results/runs/ew
    radarode-train --tasks shape --data book:small --out results/runs/shape_only
    radarode-train --data book:default --noise radar-snr:-3 --out results/runs/radar-snr-3
    radarode-train --smoke --out /tmp/smoke          # tiny check, a few seconds
    radarode-train --paper-optimizer --warmup-epochs 1 --data book:default --out runs/paper_opt
    torchrun --nproc_per_node 2 -m radarode_lite.cli.train --data book:default --out runs/two_procs

In a clone of the book, ``python data_scripts/train.py`` is the same command (``torchrun
--nproc_per_node 2 data_scripts/train.py ...`` too). There is no default ``--out``: a run
goes where it is told.

``--data`` is a folder written by ``radarode-generate-data`` or ``radarode-convert-mmecg``, or
``book:small`` / ``book:default``, the book's synthetic data sets, generated on first use into
the cache folder (``$RADARODE_DATA`` or ``~/.cache/radarode_lite``). The data set is split by
subject (``radarode_lite.data.subject_split``); the network is trained on the training
subjects with ``radarode_lite.train.train`` and any method of ``radarode_lite.mtl`` (one task:
``train_single_task``) and evaluated on the held-out subjects with ``radarode_lite.train.evaluate``.

``--noise`` (book data sets only) names a radar-phase condition of the robustness study,
applied to the radar channels of every recording (training and test subjects alike):

- ``clean``                   no noise (default);
- ``radar-snr:DB``            constant white noise at DB dB relative to each channel's cardiac
                              part (the SNRs of Table III: 6, 3, 0, -1, -2, -3 dB);
- ``radar-abrupt:DB:SECONDS[:FRACTION]``  one burst of SECONDS s at DB dB in FRACTION (default
                              0.2) of the segments (Table V: 0 dB mild, -9 dB extensive; 1-3 s).

The noisy copy is generated once into the cache folder, next to the clean one, and reused.
The study's main conditions, ``snr:DB`` and ``abrupt:...``, put noise on the network input of
held-out segments as the authors' code does: ``radarode-run-noise`` runs them, not ``--noise``.

Written into ``--out`` (atomically, each file appears complete or not at all):

- ``metrics.json``: the held-out metrics of ``evaluate``, the per-epoch losses and task
  weights, the configuration, the seed, the command line, the git commit, the wall time, the
  machine (platform, CPU count, torch version) and a UTC timestamp;
- ``model.pt``: ``{"state_dict", "config", "format"}``, loadable with
  ``torch.load(path, weights_only=True)`` into ``RadarODEMTL(config["preset"], use_ode=config["use_ode"],
  cycle_head=config.get("cycle_head", "flatten"), deformable=config.get("deformable"))``;
- ``checkpoint.pt``: the complete training state after the last finished epoch
  (``radarode_lite.train.train``'s checkpoint). If a run is interrupted, the same command
  continues it from there and ends exactly as an uninterrupted run would (``--no-resume``
  starts afresh).

``metrics.json`` is written last: a folder without it holds an unfinished run, which the same
command finishes (even when ``model.pt`` was already written). The checkpoint records the run's
identity (data set fingerprint, split seed, held-out subjects, noise, network preset and options,
method and its options, optimiser and schedule); resuming with any of them changed is refused,
naming the settings and flags that differ. Hidden leftovers of a killed run (``.*.tmp-<pid>``)
are removed at the start. ``wall_s`` counts this process and the training epochs of the
processes it resumed.

Several processes. Under ``torchrun --nproc_per_node N`` (gloo on CPU, nccl on GPU, one GPU
per process: ``--device cuda`` becomes ``cuda:LOCAL_RANK``) every process trains on its slice
of each batch and the gradients are reduced as ``radarode_lite.distributed`` explains, so the
steps are those of one process on the whole batch (exactly so with ``--norm group``; batch
normalisation keeps per-process statistics). Process 0 alone evaluates and writes the files.

The last line printed is a JSON summary.

At about 630 lines this module is longer than the others: it is one tool, its flag parsing,
its checks of a resumed run and its result files, each in functions of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from radarode_lite.cli import _common
from radarode_lite.conventions import TASKS

#: Version of the layout of ``model.pt`` and ``metrics.json``.
FORMAT = 1

#: Default fraction of segments that get a burst in an ``abrupt:...`` noise condition.
ABRUPT_FRACTION = 0.2  # radarode_lite.studies.noise_conditions.ABRUPT_FRACTION, whose parser reads the names

_REPO = _common.PACKAGE.parent  # the checkout, when run from a clone (its git commit is recorded)

#: Choices of the flags, written out so that ``--help`` answers without importing torch
#: (tests check them against ``radarode_lite.train`` and ``radarode_lite.timefreq``).
PRESETS = ("lite", "paper")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine")
CYCLE_HEADS = ("flatten", "autocorrelation")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder of the run (created); receives metrics.json and model.pt")
    parser.add_argument("--data", default=None,
                        help="data set folder, or book:small / book:default (generated on first use); "
                             "not needed with --smoke")  # fmt: skip
    parser.add_argument("--method", default=None,
                        help="multi-task method (radarode_lite.mtl.METHODS), e.g. ew, dwa, ega; "
                             "default ega for several tasks, ew (the only choice) for one")  # fmt: skip
    parser.add_argument("--method-option", action="append", default=[], metavar="KEY=VALUE",
                        help="hyper-parameter of the method, e.g. temperature=1.0 or "
                             "gradients=representation (repeatable; VALUE read as JSON if it parses)")  # fmt: skip
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS),
                        help="tasks to train: all three (radarODE-MTL) or one (single-task baseline)")  # fmt: skip
    parser.add_argument("--preset", default="lite", choices=list(PRESETS),
                        help="spectrogram and network size: lite (8 x 32 x 120, CPU) "
                             "or paper (50 x 71 x 120)")  # fmt: skip
    parser.add_argument("--no-ode", action="store_true", help="shape decoder without its ODE branch (ablation)")
    parser.add_argument("--cycle-head", default="flatten", choices=list(CYCLE_HEADS),
                        help="head of the cycle-length decoder: the paper's, or with autocorrelation features")
    parser.add_argument("--deformable", default="preset", choices=list(_common.DEFORMABLE_OPTIONS),
                        help="deformable convolutions in the backbone stages of the preset, or "
                             "plain convolutions everywhere (the right-sized network of chapter 12)")  # fmt: skip
    parser.add_argument("--noise", default="clean",
                        help="noise on the radar phase of the whole data set (book data sets only): clean, "
                             "radar-snr:DB or radar-abrupt:DB:SECONDS[:FRACTION]")  # fmt: skip
    parser.add_argument("--data-seed", type=int, default=0, help="seed of a book data set (>= 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the batch order (>= 0)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (>= 1)")
    parser.add_argument("--batch-size", type=int, default=32, help="segments per step")
    parser.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS), help="optimiser")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3 Adam, 5e-3 SGD)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty of the optimiser")
    parser.add_argument("--momentum", type=float, default=None, help="SGD momentum (default 0.937, the paper's)")
    parser.add_argument("--schedule", default="constant", choices=list(SCHEDULES),
                        help="learning-rate schedule after the warm-up")  # fmt: skip
    parser.add_argument("--warmup-epochs", type=int, default=0, help="epochs of linear learning-rate warm-up")
    parser.add_argument("--stretch", type=float, default=0.0,
                        help="time-stretch augmentation of the training batches: factors log-uniform in "
                             "[1/(1+S), 1+S], cycle lengths scaled with them (default 0: none)")  # fmt: skip
    parser.add_argument("--ppi-sigma", type=float, default=2.0,
                        help="width (classes, i.e. samples at 200 Hz) of the cycle-length soft target "
                             "(radarode_lite.losses.PPI_SIGMA; 0: one-hot)")  # fmt: skip
    parser.add_argument("--final-lr-ratio", type=float, default=0.01,
                        help="last learning rate of the cosine schedule, as a fraction of --lr")  # fmt: skip
    parser.add_argument("--paper-optimizer", action="store_true",
                        help="the paper's settings: SGD, lr 5e-3, momentum 0.937, weight decay 5e-4, "
                             "cosine to 1%% of lr (overrides --optimizer, --lr, --momentum, "
                             "--weight-decay, --schedule, --final-lr-ratio)")  # fmt: skip
    parser.add_argument("--norm", default="batch", choices=["batch", "group"],
                        help="normalisation layers of the network (group: identical steps under torchrun)")  # fmt: skip
    parser.add_argument("--no-resume", action="store_true",
                        help="start afresh even if --out holds the checkpoint of an unfinished run")  # fmt: skip
    parser.add_argument("--test-subjects", type=int, nargs="+", default=[1], metavar="N_OR_IDS",
                        help="one number: how many subjects to hold out (drawn with --split-seed); "
                             "several numbers, or --test-ids: the subject ids to hold out")  # fmt: skip
    parser.add_argument("--test-ids", action="store_true",
                        help="read --test-subjects as subject ids even when only one is given")  # fmt: skip
    parser.add_argument("--val-subjects", type=int, default=0, help="subjects held out for validation losses")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the subject split")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:0 ...")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1; the same losses for the same thread count)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run for CI: 2 subjects x 6 s of synthetic data in a temporary folder, "
                             "1 epoch (ignores --data, --noise and --epochs)")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar over the epochs")  # fmt: skip
    parser.add_argument("--progress", action="store_true", default=True, help=argparse.SUPPRESS)  # the old flag
    return parser


#: The flags that set each part of a run's identity (for the message that refuses a resume).
FLAGS = {"tasks": "--tasks", "method": "--method", "method_hparams": "--method/--method-option",
         "epochs": "--epochs", "batch_size": "--batch-size", "optimizer": "--optimizer/--paper-optimizer",
         "lr": "--lr", "momentum": "--momentum", "weight_decay": "--weight-decay", "seed": "--seed",
         "schedule": "--schedule", "warmup_epochs": "--warmup-epochs", "final_lr_ratio": "--final-lr-ratio",
         "n_train": "--data/--test-subjects", "world_size": "torchrun --nproc_per_node",
         "model": "--preset/--no-ode/--norm/--cycle-head/--deformable", "data_fingerprint": "--data/--data-seed", "data": "--data",
         "noise": "--noise", "data_seed": "--data-seed", "split_seed": "--split-seed",
         "train_subjects": "--test-subjects/--val-subjects/--split-seed", "val_subjects": "--val-subjects",
         "test_subjects": "--test-subjects/--test-ids"}  # fmt: skip


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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = run(args, argv)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {_files.disk_error(exc)}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def _one_line(exc) -> str:
    """The message of ``exc``; a checkpoint of other settings is said in terms of the flags."""
    from radarode_lite.train import SettingsMismatch

    if not isinstance(exc, SettingsMismatch):
        return str(exc)
    parts = []
    for key in exc.differences:
        saved, wanted = exc.saved.get(key), exc.wanted.get(key)
        if isinstance(saved, dict) and isinstance(wanted, dict):
            inner = [k for k in sorted(set(saved) | set(wanted)) if saved.get(k) != wanted.get(k) and k != "layout"]
            shown = ", ".join(f"{k} {saved.get(k)!r} -> {wanted.get(k)!r}" for k in inner) or "layout"
        else:
            shown = f"{saved!r} -> {wanted!r}"
        parts.append(f"{key} {shown} ({FLAGS.get(key, key)})")
    folder = str(Path(exc.path).parent)
    return (f"--out {folder!r} holds an unfinished run made with other settings: {'; '.join(parts)}; "
            f"pass --no-resume to start it afresh, or choose another --out")  # fmt: skip


def run(args, argv) -> dict:
    """Train and evaluate as ``args`` say; write ``metrics.json`` and ``model.pt``; return a summary."""
    began = time.perf_counter()
    out = Path(args.out)
    plan = check_arguments(args, out)
    _start_processes(plan, args, out)
    with _scratch(out, plan.rank) as scratch:
        trained = _train_and_evaluate(plan, args, out, scratch)
        if plan.rank != 0:  # process 0 evaluates and writes
            import torch

            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
            return {"rank": plan.rank, "method": trained.history.method, "epochs": plan.epochs}
    config = _config(plan, args, trained)
    wall_s = time.perf_counter() - began + plan.earlier_s
    _write_run(out, _record(args, argv, trained, config, wall_s, plan.earlier_s), trained.model, config)
    if plan.multi:
        import torch

        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    history, held_out = trained.history, trained.held_out
    final = {t: round(v[-1], 5) for t, v in history.train_loss.items()}
    return {"out": str(out), "method": history.method, "epochs": plan.epochs, "final_train_loss": final,
            "metrics": {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else None)
                        for k, v in held_out.items()},
            "wall_s": round(wall_s, 1), "seed": args.seed}  # fmt: skip


def check_arguments(args, out: Path) -> SimpleNamespace:
    """Refuse bad arguments before anything is trained; return the settings they mean.

    The settings: ``tasks``, ``method``, ``method_kwargs``, ``noise``, ``device``, ``test_spec``
    (a number of subjects or their ids), ``epochs`` and ``opt_settings`` (the optimiser's).
    """
    from radarode_lite import train
    from radarode_lite.mtl import get_method

    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, but {str(out)!r} is a file")
    if not args.overwrite and (out / "metrics.json").exists():  # written last: the run is finished
        raise FileExistsError(f"{str(out)!r} already holds a run; pass --overwrite to replace it")
    _check_counts(args)
    tasks = tuple(args.tasks)
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"--tasks must not repeat, got {list(tasks)}")
    method_kwargs = parse_method_options(args.method_option)
    method = args.method if args.method is not None else ("ega" if len(tasks) > 1 else "ew")
    get_method(method, len(tasks), **method_kwargs)  # fails early on a bad name or option
    if len(tasks) == 1 and (method.lower() != "ew" or method_kwargs):
        raise ValueError(f"a single task trains on its own loss alone: --method must be ew with --tasks {tasks[0]}, "
                         f"and --method-option is not used, got --method {method!r}")  # fmt: skip
    noise = parse_noise(args.noise)
    device = _device(args.device)
    if len(args.test_subjects) == 1 and not args.test_ids:
        test_spec = args.test_subjects[0]
        if test_spec < 1:
            raise ValueError(f"--test-subjects must hold out at least 1 subject, got {test_spec}")
    else:
        test_spec = sorted(set(args.test_subjects))
    epochs = 1 if args.smoke else args.epochs
    opt_settings = dict(optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                        schedule=args.schedule, final_lr_ratio=args.final_lr_ratio)  # fmt: skip
    if args.paper_optimizer:
        opt_settings.update(train.PAPER_OPTIMIZER)
    if not 0 <= args.warmup_epochs < epochs:
        raise ValueError(f"--warmup-epochs must be >= 0 and < the number of epochs ({epochs}), got {args.warmup_epochs}")
    return SimpleNamespace(tasks=tasks, method=method, method_kwargs=method_kwargs, noise=noise, device=device,
                           test_spec=test_spec, epochs=epochs, opt_settings=opt_settings)  # fmt: skip


def _check_counts(args) -> None:
    """Seeds and counts in their ranges (``--seed`` >= 0, ``--epochs`` >= 1 ...)."""
    for name in ("seed", "data_seed", "split_seed", "val_subjects"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if not 0 <= args.stretch < 1:
        raise ValueError(f"--stretch must be >= 0 and < 1, got {args.stretch}")
    if not 0 <= args.ppi_sigma < float("inf"):
        raise ValueError(f"--ppi-sigma must be a finite number >= 0, got {args.ppi_sigma}")
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")


def _device(name: str):
    """The torch device of ``--device``, refused when it does not exist here."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device must be a torch device such as cpu, cuda or cuda:0, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name} asked for, but CUDA is not available here")
    return device


def _start_processes(plan, args, out: Path) -> None:
    """Join the other processes under ``torchrun``, clear the leftovers of an interrupted run.

    Adds to ``plan``: ``multi`` (several processes), ``rank``, the ``device`` of this process,
    ``checkpoint_path`` and ``earlier_s`` (training seconds of the processes resumed).
    """
    import torch

    from radarode_lite import _files, distributed

    plan.multi = distributed.init_from_env(args.device)
    plan.rank = int(os.environ.get("RANK", "0")) if plan.multi else 0
    if plan.multi and plan.device.type == "cuda":
        plan.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(plan.device)
    plan.checkpoint_path = out / "checkpoint.pt"
    if plan.rank == 0:
        removed = _files.remove_leftovers(out)
        if removed:
            print(f"removed leftovers of an interrupted run in {str(out)!r}: {', '.join(removed)}", file=sys.stderr)
        if args.overwrite and plan.checkpoint_path.exists():
            plan.checkpoint_path.unlink()
    if plan.multi:
        torch.distributed.barrier()
    resumes = not (args.no_resume or args.overwrite)
    plan.earlier_s = _earlier_training_s(plan.checkpoint_path) if resumes else 0.0


def _train_and_evaluate(plan, args, out: Path, scratch: Path) -> SimpleNamespace:
    """Find (or generate) the data, split it, train the network; on process 0 evaluate it.

    Returns ``model``, ``history``, ``held_out`` (metrics; ``None`` off process 0), ``root``,
    ``data_name``, ``identity`` (of the run, for resuming), ``subjects``, ``n_train``,
    ``n_test`` and ``train_s``.
    """
    import torch

    from radarode_lite import _files, data, train
    from radarode_lite.data.augment import TimeStretch
    from radarode_lite.models import RadarODEMTL

    if args.smoke:
        root = scratch / "data"
        data.generate_dataset(root, n_subjects=2, statuses=("NB",), duration_s=6.0, preset=args.preset,
                              seed=args.data_seed, progress=False, save_mat=False)  # fmt: skip
        data_name, plan.noise = "smoke", {"name": "clean"}
    else:
        root, data_name = resolve_data(args.data, args.preset, args.data_seed, plan.noise)
    split = data.subject_split(root, test_subjects=plan.test_spec, val_subjects=args.val_subjects,
                               seed=args.split_seed, preset=args.preset, in_memory=True)  # fmt: skip
    if plan.rank == 0:
        _files.check_writable(out)  # before hours of training, not after
    if args.threads is not None:  # after generating data: its parallel SST may reset torch's threads
        torch.set_num_threads(args.threads)
    model = RadarODEMTL(args.preset, use_ode=not args.no_ode, seed=args.seed, norm=args.norm,
                        cycle_head=args.cycle_head,
                        deformable=_common.DEFORMABLE_OPTIONS[args.deformable]).to(plan.device)  # fmt: skip
    subjects = {k: (v.subjects if v is not None else []) for k, v in split.items()}
    identity = {"data": data_name, "data_fingerprint": data.dataset_fingerprint(root), "noise": plan.noise,
                "data_seed": args.data_seed, "split_seed": args.split_seed,
                **{f"{k}_subjects": v for k, v in subjects.items()}}  # fmt: skip
    train_began = time.perf_counter()
    common = dict(epochs=plan.epochs, batch_size=args.batch_size, seed=args.seed, val_set=split["val"],
                  progress=args.progress and plan.rank == 0, warmup_epochs=args.warmup_epochs,
                  checkpoint=plan.checkpoint_path, resume=not args.no_resume, identity=identity,
                  augment=TimeStretch(args.stretch) if args.stretch > 0 else None, ppi_sigma=args.ppi_sigma,
                  **plan.opt_settings)  # fmt: skip
    if len(plan.tasks) == 1:
        history = train.train_single_task(model, split["train"], plan.tasks[0], **common)
    else:
        history = train.train(model, split["train"], tasks=plan.tasks, method=plan.method,
                              method_kwargs=plan.method_kwargs or None, **common)  # fmt: skip
    train_s = time.perf_counter() - train_began
    held_out = train.evaluate(model, split["test"], tasks=plan.tasks) if plan.rank == 0 else None
    return SimpleNamespace(model=model, history=history, held_out=held_out, root=root, data_name=data_name,
                           identity=identity, subjects=subjects, n_train=len(split["train"]),
                           n_test=len(split["test"]), train_s=train_s)  # fmt: skip


def _config(plan, args, trained) -> dict:
    """The configuration of the run, as ``metrics.json`` and ``model.pt`` record it."""
    import torch

    opt, subjects, model = plan.opt_settings, trained.subjects, trained.model
    return {
        "method": trained.history.method,
        "method_kwargs": plan.method_kwargs,
        "tasks": list(plan.tasks),
        "preset": model.preset.name,
        "use_ode": model.use_ode,
        "cycle_head": model.cycle_head,
        "deformable": list(model.preset.deformable),
        "data": trained.data_name,
        "data_root": None if args.smoke else str(trained.root),
        "data_fingerprint": trained.identity["data_fingerprint"],
        "data_seed": args.data_seed,
        "noise": plan.noise,
        "seed": args.seed,
        "epochs": plan.epochs,
        "batch_size": args.batch_size,
        "optimizer": opt["optimizer"],
        "lr": opt["lr"],
        "momentum": opt["momentum"],
        "weight_decay": opt["weight_decay"],
        "schedule": opt["schedule"],
        "final_lr_ratio": opt["final_lr_ratio"],
        "warmup_epochs": args.warmup_epochs,
        "stretch": args.stretch,
        "ppi_sigma": args.ppi_sigma,
        "norm": args.norm,
        "world_size": torch.distributed.get_world_size() if plan.multi else 1,
        "split_seed": args.split_seed,
        "train_subjects": subjects["train"],
        "val_subjects": subjects["val"],
        "test_subjects": subjects["test"],
        "n_train_segments": trained.n_train,
        "n_test_segments": trained.n_test,
        "device": str(plan.device),
        "smoke": bool(args.smoke),
    }


def _record(args, argv, trained, config: dict, wall_s: float, earlier_s: float) -> dict:
    """The content of ``metrics.json``: metrics, history, configuration and provenance."""
    from radarode_lite.studies import results

    return {
        "format": FORMAT,
        "metrics": results.json_safe(trained.held_out),
        "history": results.json_safe(trained.history.to_dict()),
        "config": config,
        "seed": args.seed,
        "command": _common.command_prefix("train") + " " + shlex.join(argv),
        "git_commit": git_commit(),
        "wall_s": round(wall_s, 2),
        "train_s": round(trained.train_s + earlier_s, 2),
        "machine": machine_info(),
        "timestamp_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "parameters": trained.model.count_parameters(),
    }


def _write_run(out: Path, record: dict, model, config: dict) -> None:
    """Write ``model.pt``, then ``metrics.json`` (last: its presence says the run is done)."""
    import torch

    from radarode_lite import _files

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    checkpoint = {"format": FORMAT, "config": config, "state_dict": state}
    size = sum(v.numel() * v.element_size() for v in state.values())
    _files.atomic_write(out / "model.pt", lambda path: torch.save(checkpoint, path), size_hint=size)
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    _files.atomic_write(out / "metrics.json", lambda path: Path(path).write_text(text))


# ---------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------


def parse_method_options(options) -> dict:
    """``KEY=VALUE`` strings to keyword arguments: ``["temperature=1.0", "gradients=representation"]``
    -> ``{"temperature": 1.0, "gradients": "representation"}``."""
    out = {}
    for option in options:
        key, sep, value = option.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise ValueError(f"--method-option must look like KEY=VALUE, got {option!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def parse_noise(name) -> dict:
    """A radar-phase noise condition by name (see the module docstring) as a dict for ``generate_dataset``.

    ``clean`` -> ``{"name": "clean"}``; ``radar-snr:-3`` -> ``{"name": "radar-snr:-3", "snr_db": -3.0}``;
    ``radar-abrupt:-9:2`` -> ``{"name": ..., "abrupt": [0.2, -9.0, [2.0, 2.0]]}``. The input-noise
    names (``snr:DB``, ``abrupt:...``) raise ``ValueError`` pointing to ``radarode-run-noise``.
    """
    from radarode_lite.studies import noise_conditions  # the one parser of the condition names (chapter 14)

    if not isinstance(name, str):
        raise TypeError(f"noise must be a string, got {type(name).__name__}")
    try:
        condition = noise_conditions.parse_condition(name)
    except ValueError as exc:
        raise ValueError(f"noise: {exc}") from None
    if condition["family"] == "clean":
        return {"name": "clean"}
    if condition["model"] == "input":
        raise ValueError(f"noise: {name!r} is noise on the network input of held-out segments, for radarode-run-noise "
                         f"--conditions; --noise puts noise on the radar phase: radar-{name.strip()}")  # fmt: skip
    if condition["family"] == "constant":
        return {"name": name, "snr_db": condition["snr_db"]}
    seconds = condition["duration_s"]
    return {"name": name, "abrupt": [condition["fraction"], condition["snr_db"], [seconds, seconds]]}


def resolve_data(spec, preset, data_seed, noise) -> tuple[Path, str]:
    """Folder of the data named by ``--data`` (generating a book data set if needed) and its name."""
    from radarode_lite import data

    if spec is None:
        raise ValueError("--data is required (a data set folder, book:small or book:default) unless --smoke")
    if spec.startswith("book:"):
        size = spec.split(":", 1)[1]
        if size not in data.SIZES:
            raise ValueError(f"--data book:SIZE takes a size of {tuple(data.SIZES)}, got {spec!r}")
        if noise["name"] == "clean":
            return data.book_dataset(size, preset=preset, seed=data_seed), spec
        return noisy_book_dataset(size, preset, data_seed, noise), spec
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"--data {spec!r} is neither a folder nor book:small / book:default")
    if noise["name"] != "clean":
        raise ValueError("--noise applies to the book data sets only; "
                         "add noise to a folder with radarode-generate-data --snr-db/--abrupt")
    return root, str(root)


def noisy_book_dataset(size, preset, data_seed, noise) -> Path:
    """A book data set with a noise condition, generated once into the cache folder and reused.

    Same subjects and signals as ``book:SIZE`` (the generator draws the noise from its own
    random streams), plus the noise of ``noise``. The copy is generated into a hidden folder
    and renamed into place when complete; a stamp records the arguments and the generator's
    code fingerprint, and a copy with another stamp is regenerated.
    """
    from radarode_lite import _files, data, timefreq

    preset = timefreq.get_preset(preset).name
    tag = noise["name"].replace(":", "_")
    final = data.default_cache_dir() / f"{preset}_{size}_seed{data_seed}_{tag}"
    stamp = {"size": size, "preset": preset, "seed": data_seed, "noise": noise,
             "fingerprint": data.generator_fingerprint()}  # fmt: skip
    if _read_json(final / "noise_stamp.json") == stamp:
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    _files.remove_leftovers(final.parent)  # copies of processes killed while generating
    abrupt = noise.get("abrupt")

    def fill(tmp: Path) -> None:
        tmp.rmdir()  # generate_dataset writes into a folder that does not exist yet
        data.generate_dataset(tmp, size=size, preset=preset, seed=data_seed, snr_db=noise.get("snr_db"),
                              abrupt=None if abrupt is None else (abrupt[0], abrupt[1], tuple(abrupt[2])),
                              save_mat=False, progress=False)  # fmt: skip
        (tmp / "noise_stamp.json").write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")

    return _files.atomic_folder(final, fill, done=lambda folder: _read_json(folder / "noise_stamp.json") == stamp)


def git_commit() -> str:
    """``git rev-parse HEAD`` of the repository, or ``"unknown"`` (:func:`radarode_lite.studies.results.git_commit`)."""
    from radarode_lite.studies import results

    return results.git_commit(_REPO)


def machine_info() -> dict:
    """Platform, Python, CPU count and library versions (:func:`radarode_lite.studies.results.machine_info`)."""
    from radarode_lite.studies import results

    return results.machine_info()


@contextlib.contextmanager
def _scratch(out: Path, rank: int):
    """A hidden scratch folder in ``out`` (``.scratch.tmp-<pid>``), removed on every way out."""
    import shutil

    folder = out / f".scratch-{rank}.tmp-{os.getpid()}"
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _earlier_training_s(checkpoint_path: Path) -> float:
    """Seconds of training of the epochs in a checkpoint (done by earlier processes); 0 without one."""
    from radarode_lite import train

    try:
        return float(sum(train.load_checkpoint(checkpoint_path)["history"]["epoch_s"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return 0.0  # no checkpoint, or one that train() will refuse with its own message


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
