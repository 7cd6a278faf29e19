"""Re-run stored results from their own recorded commands and compare them with what is stored.

    python data_scripts/check_stored.py FILE [FILE ...]
    python data_scripts/check_stored.py --sample 3 book/data/results/benchmark/calibration/lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24/table2
    python data_scripts/check_stored.py --list FOLDER          # the commands, nothing run
    python data_scripts/check_stored.py --workers 2 --report check.json FILE ...
    python data_scripts/check_stored.py --at-commit FILE       # the code of the file's own commit

Every results file of the training runs (``radarode-train``: Table II, the calibration study,
chapter 8's ablations) and of the noise grids (``radarode-run-noise``) records the command that
made it. This tool runs that command again on the code of this checkout, in a scratch folder
(its ``--out`` replaced, nothing under ``book/`` touched), one CPU thread as the grids run
them, and compares every metric with the stored one. A noise file other than the clean one
needs the clean file of the same framework and seed (its delta_m is measured against it): the
stored one is copied into the scratch folder first, so the re-run's delta_m sets the new
network against the stored baseline while its other metrics are the new network's alone.

Each file gets a verdict:

- ``identical``: every metric equal, bit for bit (expected on the machine that made it);
- ``another draw of its seeds``: a metric differs, but each lies where one more seed of the
  same row would fall, in the 99 % prediction interval of the row's stored seeds (the files
  beside it whose names differ only in ``_seed<N>``). A training run amplifies a difference
  in the last bit over its epochs, so on a CPU that rounds otherwise (the ``cpu`` and
  ``cpu_capability`` of a file's ``machine``) a re-run is a new draw, not a copy;
- ``outside its seeds``: a metric lies outside that interval (or a row has one seed, or a
  metric with no numbers differs): the stored file does not describe this code.

A file that differs was made by other code or on a machine that rounds otherwise;
``--at-commit`` tells which: it re-runs the code of the file's own commit, and if that does not
give the stored numbers either, the machine differs.

Prints one JSON object per file as it finishes and a summary. Exit status 1 if a file is
outside its seeds (with ``--exact``: if any is not identical), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The tools whose stored commands can be re-run.
TOOLS = ("train", "run_noise")
_SEED = re.compile(r"_seed\d+")
#: Probability of the prediction interval that one more seed's value falls in.
LEVEL = 0.99
CONSISTENT, INCONSISTENT = "another draw of its seeds", "outside its seeds"
#: What a report says of the machine that made a file and of the one that re-ran it.
CPU_KEYS = ("platform", "cpu", "cpu_capability")


def parse_command(command: str) -> tuple[str, list[str]]:
    """``(tool, arguments)`` of a stored command line, whichever of its three spellings it uses
    (``python data_scripts/<tool>.py``, ``radarode-<tool>``, ``python -m radarode_lite.cli.<tool>``)."""
    if not isinstance(command, str) or not command.strip():
        raise ValueError(f"command must be a non-empty string, got {command!r}")
    words = shlex.split(command)
    if len(words) >= 2 and words[0] == "python" and re.fullmatch(r"data_scripts/\w+\.py", words[1]):
        tool, rest = Path(words[1]).stem, words[2:]
    elif words[0].startswith("radarode-"):
        tool, rest = words[0][len("radarode-"):].replace("-", "_"), words[1:]
    elif len(words) >= 3 and words[:2] == ["python", "-m"] and words[2].startswith("radarode_lite.cli."):
        tool, rest = words[2].rsplit(".", 1)[1], words[3:]
    else:
        raise ValueError(f"not a command of the book's tools: {command!r}")
    if tool not in TOOLS:
        raise ValueError(f"only the commands of {', '.join(TOOLS)} can be re-run, got one of {tool!r}: {command!r}")
    return tool, rest


def _without(args: list[str], flag: str, many: bool = False) -> list[str]:
    """``args`` less ``flag VALUE`` and ``flag=VALUE`` (``many``: every value up to the next flag)."""
    kept, skipping = [], False
    for word in args:
        if skipping and not word.startswith("--"):
            skipping = many
        elif word == flag:
            skipping = True
        elif not word.startswith(flag + "="):
            kept.append(word)
            skipping = False
    return kept


def _value(args: list[str], flag: str) -> str | None:
    for i, word in enumerate(args):
        if word == flag and i + 1 < len(args):
            return args[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def rerun_plan(path: Path, record: dict, scratch: Path) -> dict:
    """What re-running the stored file ``path`` takes: the child's command, the file it writes,
    the stored files to copy beside it first."""
    tool, args = parse_command(record["command"])
    data = _value(args, "--data")
    if data is not None and not data.startswith("book:") and not (ROOT / data).exists():
        raise FileNotFoundError(f"the data set {data!r} of {path.name}'s command is not here; make it with its "
                                "'generate' command in the calibration study's calibration.json "
                                "(python data_scripts/run_calibration.py)")  # fmt: skip
    out = scratch / "out"
    args = _without(args, "--out") + ["--out", str(out), "--no-progress"]
    copies = []
    if tool == "train":
        made = out / "metrics.json"
    else:
        args = _without(args, "--save-models", many=True) + ["--save-models"]  # no networks kept
        made = out / path.name
        clean = path.with_name(re.sub(r"(_seed\d+_).*$", r"\1clean.json", path.name))
        if clean != path:
            if not clean.is_file():
                raise FileNotFoundError(f"{path.name} is measured against {clean.name}, which is not beside it")
            copies.append(clean)
    command = [sys.executable, "-m", f"radarode_lite.cli.{tool}", *args]
    return {"tool": tool, "command": command, "made": made, "copies": copies, "out": out}


def flatten(metrics: dict, prefix: str = "") -> dict:
    """The metrics with nested dicts flattened to dotted keys (``burst_segments.pcc_pct``)."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def seed_values(path: Path) -> dict[str, list[float]]:
    """For each numeric metric, its values over the stored seeds of ``path``'s row (``path``
    and the files beside it whose names differ only in ``_seed<N>``)."""
    values: dict[str, list[float]] = {}
    for other in sorted(path.parent.glob(_SEED.sub("_seed*", path.name))):
        if _SEED.sub("", other.name) != _SEED.sub("", path.name):
            continue
        for key, value in flatten(json.loads(other.read_text())["metrics"]).items():
            if _number(value):
                values.setdefault(key, []).append(float(value))
    return values


def prediction_interval(values: list[float], level: float = LEVEL) -> tuple[float, float] | None:
    """Where one more seed's value falls with probability ``level``, from ``values`` (the
    Student-t prediction interval, mean +- t * sd * sqrt(1 + 1/n)); None for fewer than 2 values."""
    from scipy import stats

    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def compare(stored: dict, now: dict, seeds: dict) -> dict:
    """Metric by metric where they differ: the stored value, the new one and the prediction
    interval of one more seed from the row's stored ``seeds`` (:func:`seed_values`); and the verdict."""
    stored, now = flatten(stored), flatten(now)
    rows, outside = {}, []
    for key in sorted(set(stored) | set(now)):
        old, new = stored.get(key), now.get(key)
        if old == new:
            continue
        row = {"stored": old, "now": new}
        interval = prediction_interval(seeds.get(key, []))
        if _number(new) and interval is not None:
            row["interval"] = [interval[0], interval[1]]
            row["within"] = interval[0] <= new <= interval[1]
        else:
            row["within"] = False
        outside += [] if row["within"] else [key]
        rows[key] = row
    verdict = "identical" if not rows else (INCONSISTENT if outside else CONSISTENT)
    return {"verdict": verdict, "differences": rows, "outside": outside}


def check_file(path: Path, keep: bool = False, at_commit: bool = False) -> dict:
    """Re-run one stored file and compare it; returns the report of :func:`compare` with the command.

    ``at_commit``: run the code of the file's own ``git_commit`` (a git worktree of it in the
    scratch folder) instead of this checkout's. A file that its own commit does not remake on
    this machine was made on a machine that rounds otherwise, whatever the code does now.
    """
    record = json.loads(path.read_text())
    scratch = Path(tempfile.mkdtemp(prefix="radarode-check-"))
    code = scratch / "code" if at_commit else ROOT
    try:
        plan = rerun_plan(path, record, scratch)
        plan["out"].mkdir(parents=True)
        for source in plan["copies"]:
            shutil.copy2(source, plan["out"] / source.name)
        env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        if at_commit:
            added = subprocess.run(["git", "worktree", "add", "--detach", str(code), str(record.get("git_commit"))],
                                   cwd=ROOT, capture_output=True, text=True)  # fmt: skip
            if added.returncode != 0:
                raise RuntimeError(f"no code of {path.name}'s commit {record.get('git_commit')!r} in this clone: "
                                   f"{added.stderr.strip()[-300:]}")  # fmt: skip
            env["PYTHONPATH"] = str(code)
        began = time.perf_counter()
        done = subprocess.run(plan["command"], cwd=code, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not plan["made"].is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"re-running {path.name} failed (exit {done.returncode}): {last}")
        now = json.loads(plan["made"].read_text())
    finally:
        if at_commit:
            subprocess.run(["git", "worktree", "remove", "--force", str(code)], cwd=ROOT, capture_output=True)
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    report = compare(record["metrics"], now["metrics"], seed_values(path))
    machine = record.get("machine") or {}
    return {"file": _shown(path), "command": record["command"], "stored_commit": record.get("git_commit"),
            "code": "the stored commit" if at_commit else "this checkout",
            "stored_machine": {k: machine.get(k) for k in CPU_KEYS},
            "machine_now": dict(_machine_now()), **report,
            "wall_s": round(time.perf_counter() - began, 1), **({"scratch": str(scratch)} if keep else {})}


def _shown(path: Path) -> str:
    """``path`` relative to the checkout when it lies inside it (a report reads the same on any clone)."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


@functools.cache
def _machine_now() -> dict:
    """The CPU of this machine as a results file records it (:data:`CPU_KEYS` of ``results.machine_info``)."""
    from radarode_lite.studies import results

    machine = results.machine_info()
    return {k: machine[k] for k in CPU_KEYS}


def stored_files(paths: list[str]) -> list[Path]:
    """The results files named; a folder gives those of its ``*.json`` files whose command can be re-run."""
    files = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in sorted(path.glob("*.json")) if not p.name.startswith(".") and _rerunnable(p)]
        else:
            raise FileNotFoundError(f"no results file or folder {name!r}")
    if not files:
        raise FileNotFoundError(f"no results file of {', '.join(TOOLS)} in {', '.join(paths)}")
    return files


def _rerunnable(path: Path) -> bool:
    """Whether ``path`` is a results file whose command :func:`parse_command` takes."""
    try:
        record = json.loads(path.read_text())
        parse_command(record["command"])
    except (ValueError, KeyError, TypeError):
        return False
    return "metrics" in record


def write_report(path: Path, argv: list[str], reports: list[dict], counts: dict) -> None:
    """The reports as one JSON file, with the command, commit, machine and time that made them,
    written whole or not at all."""
    from radarode_lite import _files
    from radarode_lite.studies import results

    record = {"format": 1, "command": "python data_scripts/check_stored.py " + shlex.join(argv),
              "git_commit": results.git_commit(ROOT), "machine": dict(_machine_now()),
              "timestamp_utc": results.utc_now(), "level": LEVEL, "summary": counts, "files": reports}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    _files.atomic_write(path, lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="results files or folders of them")
    parser.add_argument("--sample", type=int, default=None, metavar="N", help="re-run N files drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample's draw (default 0)")
    parser.add_argument("--exact", action="store_true", help="fail unless every file is identical")
    parser.add_argument("--workers", type=int, default=1, help="files re-run side by side (default 1)")
    parser.add_argument("--report", default=None, metavar="FILE",
                        help="also write the reports to FILE (JSON, with this command, commit and machine)")
    parser.add_argument("--at-commit", action="store_true",
                        help="run each file's own git commit (a worktree of it) instead of this checkout's code")
    parser.add_argument("--list", action="store_true", help="print the commands that would run, and stop")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders (their paths are printed)")
    args = parser.parse_args(argv)
    try:
        if args.sample is not None and args.sample < 1:
            raise ValueError(f"--sample must be >= 1, got {args.sample}")
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        files = stored_files(args.paths)
        if args.sample is not None and args.sample < len(files):
            files = sorted(random.Random(args.seed).sample(files, args.sample))
        if args.list:
            for path in files:
                plan = rerun_plan(path, json.loads(path.read_text()), Path("<scratch>"))
                print(f"{path}: {shlex.join(plan['command'][1:])}")
            return 0
        _machine_now()  # once, before the workers
        reports = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = [pool.submit(check_file, path, args.keep, args.at_commit) for path in files]
            for future in concurrent.futures.as_completed(futures):
                reports.append(future.result())
                print(json.dumps(reports[-1]), flush=True)
    except (ValueError, FileNotFoundError, RuntimeError, KeyError, json.JSONDecodeError) as exc:
        print(f"check_stored.py: {exc}", file=sys.stderr)
        return 2
    reports.sort(key=lambda r: r["file"])
    counts = {v: sum(r["verdict"] == v for r in reports) for v in ("identical", CONSISTENT, INCONSISTENT)}
    print(json.dumps({"files": len(reports), **counts}))
    if args.report is not None:
        write_report(Path(args.report), argv, reports, counts)
    bad = counts[INCONSISTENT] + (counts[CONSISTENT] if args.exact else 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
