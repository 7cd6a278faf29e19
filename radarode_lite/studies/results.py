"""Stored experiment results: one JSON file per run, with the metadata that made it (chapters 12-15).

A study module (:mod:`radarode_lite.studies`): the experiment scripts and the results chapters
12, 14 and 15 write and read these files; the pipeline does not import it.

Every number a results chapter shows comes from a file written by :func:`save_result` and read
back by :func:`load_result` or :func:`load_results`. A results file holds the run's numbers
*and* how to make them again:

- ``metrics``: the run's figures (held-out metrics, final losses ...), a JSON object;
- ``config``: every setting of the run (method, hyper-parameters, data, epochs ...);
- ``seed``: the seed of the run, an integer >= 0;
- ``command``: the command line that reproduces the run from the repository root;
- ``git_commit``: the commit of the code that ran (40 hexadecimal digits, or ``"unknown"``
  outside a git checkout);
- ``wall_s``: the wall time of the run in seconds;
- ``machine``: platform, CPU count, library versions;
- ``timestamp_utc``: when the run ended, ``YYYY-MM-DDTHH:MM:SSZ``.

A file without any of these is not a result: :func:`load_result` raises ``ValueError``
naming what is missing, so a chapter never shows a number whose origin is unknown.
Files are written atomically (a temporary file renamed into place), so an interrupted run
leaves either the complete file or none. On reading, a truncated file, a ``NaN`` or
``Infinity`` literal (the writer stores non-finite numbers as ``null``) and a key given twice
are refused with a ``ValueError`` naming the file: such a file was damaged or edited by hand.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
import shlex
import subprocess
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path

from radarode_lite import _files

__all__ = [
    "FORMAT",
    "REQUIRED_KEYS",
    "save_result",
    "load_result",
    "load_results",
    "result_problem",
    "git_commit",
    "machine_info",
    "json_safe",
    "utc_now",
    "wrap_command",
]

#: Version of the layout of a results file.
FORMAT = 1

#: Keys every results file must hold, with the type each must have.
REQUIRED_KEYS = {
    "format": Integral,
    "metrics": Mapping,
    "config": Mapping,
    "seed": Integral,
    "command": str,
    "git_commit": str,
    "wall_s": Real,
    "machine": Mapping,
    "timestamp_utc": str,
}

_COMMIT = re.compile(r"^([0-9a-f]{40}|unknown)$")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_REPO = Path(__file__).resolve().parents[2]


def git_commit(repo=None) -> str:
    """``git rev-parse HEAD`` of ``repo`` (default: the checkout holding this package), or ``"unknown"``."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo or _REPO, capture_output=True, text=True,
                              timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and _COMMIT.match(commit) else "unknown"


def machine_info() -> dict:
    """Platform, CPU, Python, CPU count, torch threads and library versions of this machine.

    ``cpu`` is the processor's model name and ``cpu_capability`` the vector instruction set
    torch's CPU kernels use on it (``"AVX2"``, ``"AVX512"``, ...). Machines that differ in them
    may round differently, and a training run amplifies the last bit over its epochs: repeated
    on another machine, a run lands elsewhere among the values of its seeds (chapter 12), while
    on the same machine it repeats bit for bit.
    """
    import numpy as np
    import torch

    from radarode_lite import __version__

    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "radarode_lite": __version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`), or ``"unknown"``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip() or "unknown"
    except OSError:
        pass
    return platform.processor() or "unknown"


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def save_result(path, metrics, config, seed, command, wall_s, git_commit_hash=None, machine=None,
                timestamp_utc=None, **extra) -> Path:  # fmt: skip
    """Write one run's results file at ``path`` (atomically) and return the path.

    Parameters
    ----------
    path : file path ending in ``.json``; its folder is created.
    metrics, config : JSON-serialisable mappings (NaN and infinities are stored as ``null``).
    seed : int >= 0.
    command : the command line that reproduces the run.
    wall_s : wall time of the run, s (>= 0).
    git_commit_hash : commit of the code; default: :func:`git_commit` of this checkout.
    machine : default: :func:`machine_info`.
    timestamp_utc : default: :func:`utc_now`.
    **extra : further JSON-serialisable entries (e.g. ``history``).
    """
    path = Path(path)
    if path.suffix != ".json":
        raise ValueError(f"path must end in .json, got {str(path)!r}")
    record = {
        "format": FORMAT,
        "metrics": json_safe(dict(_mapping(metrics, "metrics"))),
        "config": json_safe(dict(_mapping(config, "config"))),
        "seed": seed,
        "command": command,
        "git_commit": git_commit() if git_commit_hash is None else git_commit_hash,
        "wall_s": wall_s,
        "machine": machine_info() if machine is None else dict(_mapping(machine, "machine")),
        "timestamp_utc": utc_now() if timestamp_utc is None else timestamp_utc,
    }
    for key, value in extra.items():
        if key in record:
            raise ValueError(f"extra entry {key!r} would overwrite a required key")
        record[key] = json_safe(value)
    _validate(record, str(path))
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    return _files.atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def wrap_command(command, width=80, indent="    ") -> str:
    """A stored ``command`` broken between its words into lines that end in `` \\``, as a shell reads it back.

    The words are those of ``shlex.split``, each quoted again with ``shlex.quote``, so a quoted
    argument is never broken; every line but the first starts with ``indent``, and a line is
    only longer than ``width`` characters when one word alone is.
    """
    if not isinstance(command, str) or not command.strip():
        raise TypeError(f"command must be a non-empty string, got {command!r}")
    if isinstance(width, bool) or not isinstance(width, Integral) or width < 20:
        raise ValueError(f"width must be an integer >= 20, got {width!r}")
    if not isinstance(indent, str):
        raise TypeError(f"indent must be a string, got {type(indent).__name__}")
    lines, line = [], ""
    for word in map(shlex.quote, shlex.split(command)):
        if line.strip() and len(line) + 1 + len(word) + 2 > width:
            lines.append(line + " \\")
            line = indent + word
        else:
            line = f"{line} {word}" if line.strip() else line + word
    return "\n".join(lines + [line])


def load_result(path) -> dict:
    """Read one results file; raise ``ValueError`` if its metadata are missing or malformed.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not
    JSON, lacks a key of :data:`REQUIRED_KEYS`, or has one of the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {str(path)!r}")
    try:
        record = json.loads(path.read_text(), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError as exc:
        raise ValueError(f"results file {str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(record, dict):
        raise ValueError(f"results file {str(path)!r} must hold a JSON object, got {type(record).__name__}")
    _validate(record, str(path))
    return record


def result_problem(path) -> str | None:
    """None if ``path`` holds a valid results file, else why not (``"missing"`` or the refusal).

    The experiment grids count a run as done only when this is None, so a truncated or
    hand-damaged file is run again rather than skipped.
    """
    try:
        load_result(path)
    except FileNotFoundError:
        return "missing"
    except (ValueError, OSError) as exc:
        return str(exc)
    return None


def load_results(folder, pattern="*.json") -> list[dict]:
    """Every results file under ``folder`` (recursively, matching ``pattern``), sorted by path.

    Each record gets a ``"path"`` entry (relative to ``folder``). One malformed file fails the
    whole load with its path in the message; nothing is silently skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no results folder at {str(folder)!r}")
    records = []
    for path in sorted(folder.rglob(pattern)):
        if path.name.startswith("."):
            continue
        record = load_result(path)
        record["path"] = str(path.relative_to(folder))
        records.append(record)
    return records


def _validate(record: dict, where: str) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f"results file {where!r} lacks its metadata: missing {', '.join(missing)}")
    for key, kind in REQUIRED_KEYS.items():
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"results file {where!r}: {key!r} must be {kind.__name__}, got {type(value).__name__}")
    if record["format"] != FORMAT:
        raise ValueError(f"results file {where!r} has format {record['format']}, this code reads {FORMAT}")
    if record["seed"] < 0:
        raise ValueError(f"results file {where!r}: seed must be >= 0, got {record['seed']}")
    if not record["command"].strip():
        raise ValueError(f"results file {where!r}: command is empty")
    if not _COMMIT.match(record["git_commit"]):
        raise ValueError(f"results file {where!r}: git_commit must be 40 hex digits or 'unknown', "
                         f"got {record['git_commit']!r}")  # fmt: skip
    if not (math.isfinite(record["wall_s"]) and record["wall_s"] >= 0):
        raise ValueError(f"results file {where!r}: wall_s must be a finite number >= 0, got {record['wall_s']!r}")
    if not _STAMP.match(record["timestamp_utc"]):
        raise ValueError(f"results file {where!r}: timestamp_utc must look like 2025-01-31T12:00:00Z, "
                         f"got {record['timestamp_utc']!r}")  # fmt: skip


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"key {twice[0]!r} appears twice (hand-edited or damaged file)")
    return dict(pairs)


def _no_constant(name):
    raise ValueError(f"{name} is not a number this writer stores (non-finite values are written as null)")


def _mapping(value, name):
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    return value


def json_safe(value):
    """NaN and infinities -> None, numpy scalars and arrays -> Python numbers and lists, recursively."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
        if isinstance(value, list):
            return json_safe(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
