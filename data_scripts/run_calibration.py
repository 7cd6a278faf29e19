"""Calibration study of the benchmark (chapter 12): which settings bring the single-task rows near the paper's?

    python data_scripts/run_calibration.py              # every candidate, two runs at a time
    python data_scripts/run_calibration.py --list       # the commands, nothing run
    python data_scripts/run_calibration.py --only lr3e-3_snr-18_2
    python data_scripts/run_calibration.py --only lr3e-3_snr-18_2 --table2   # every row of Table II

Each candidate changes a few settings of the benchmark protocol of Table II
(``radarode-run-experiments --grid table2``): the learning rate of Adam, the width of the
cycle-length soft target (``radarode-train --ppi-sigma``) and the data set: the SNR range of its
radar channels (``radarode-generate-data --channel-snr-db``), bursts of noise in a share of its
segments (``--abrupt``, body movements), the number of people in it (``--subjects``; four of
them are always the held-out ones) or the seconds per recording (``--duration``); one keeps the
calibrated benchmark and changes the network instead: plain convolutions in every backbone
stage (``radarode-train --deformable none``), the right-sized network. For each it
trains the three single-task networks and radarODE-MTL with equal weights on every seed
(``--grid table2 --only single ew``; every row with ``--table2``) and scores the trivial
baselines on the same held-out subjects (``--grid baselines``), into
``book/data/results/benchmark/calibration/<candidate>/``. A data set other than the
benchmark's is generated once, with its ``.mat`` files, into the cache folder
(``$RADARODE_DATA`` or ``~/.cache/radarode_lite``) as ``calibration_snr<low>_<high>[...]``;
``calibration.json`` beside the results records every candidate's settings and the commands
that made its data and its runs. The ``.mat`` files hold each recording before the bursts (the
generator adds them to the segments), so a candidate's signal-processing baseline reads its
radar without them. The study is resumable: the grids skip the runs already stored.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "book" / "data" / "results" / "benchmark" / "calibration"

#: The benchmark's radar channel SNR range (dB), ``radarode_lite.data.SIZES["benchmark"]``.
BENCHMARK_SNR = (-15, 5)
#: The benchmark's number of subjects, ``radarode_lite.data.SIZES["benchmark"]``.
SUBJECTS = 12
#: The benchmark's seconds per recording, ``radarode_lite.data.SIZES["benchmark"]``.
DURATION = 20.0
#: The grid's epochs (``radarode-run-experiments --grid table2``).
EPOCHS = 16


class Candidate(NamedTuple):
    """One variant of the protocol: Adam's rate (as written on the command line), the radar
    channels' SNR range in dB, the width of the cycle-length target (None: the default, 2
    classes), the bursts ``(fraction, snr_db, min_s, max_s)`` of ``--abrupt`` (None: none), the
    number of subjects (None: the benchmark's 12), of epochs (None: the grid's 16), the seconds
    per recording (None: the benchmark's 20; a shorter recording gives fewer, cheaper segments)
    and the backbone's convolutions (None: the lite preset's, deformable in stages 3 and 4;
    ``"none"``: plain ones everywhere)."""

    lr: str
    snr: tuple = BENCHMARK_SNR
    sigma: float | None = None
    bursts: tuple | None = None
    subjects: int | None = None
    epochs: int | None = None
    duration: float | None = None
    deformable: str | None = None


CANDIDATES = {
    "lr3e-3_snr-15_5": Candidate("3e-3"),
    "lr3e-3_snr-18_2": Candidate("3e-3", (-18, 2)),
    "lr3e-3_snr-21_-1": Candidate("3e-3", (-21, -1)),
    "lr3e-3_sigma8_snr-19.5_0.5": Candidate("3e-3", (-19.5, 0.5), 8),
    "lr3e-3_sigma8_bursts_snr-15_5": Candidate("3e-3", BENCHMARK_SNR, 8, (0.5, -9, 1, 2)),
    "lr3e-3_sigma8_snr-19.5_0.5_subjects20": Candidate("3e-3", (-19.5, 0.5), 8, subjects=20),
    "lr3e-3_sigma8_snr-19.5_0.5_subjects24": Candidate("3e-3", (-19.5, 0.5), 8, subjects=24),
    "lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24": Candidate("3e-3", (-19.5, 0.5), 8, subjects=20, epochs=24),
    "lr3e-3_sigma8_snr-19.5_0.5_subjects20_duration12_epochs24": Candidate(
        "3e-3", (-19.5, 0.5), 8, subjects=20, epochs=24, duration=12
    ),
    "lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24_plain": Candidate(
        "3e-3", (-19.5, 0.5), 8, subjects=20, epochs=24, deformable="none"
    ),
}
#: The runs of each candidate: the single-task rows and radarODE-MTL with equal weights.
ROWS = ("single", "ew")
SEEDS = (0, 1, 2, 3, 4)


def data_command(c: Candidate, cache: Path) -> tuple[str, list[str]]:
    """``(data argument of the grids, command that generates it or [])`` for a candidate."""
    if c.snr == BENCHMARK_SNR and c.bursts is None and c.subjects is None and c.duration is None:
        return "book:benchmark", []
    low, high = c.snr
    name = f"calibration_snr{low}_{high}" + ("" if c.bursts is None else "_abrupt" + "_".join(map(str, c.bursts)))
    name += "" if c.subjects is None else f"_subjects{c.subjects}"
    name += "" if c.duration is None else f"_duration{c.duration:g}"
    out = cache / name
    command = ["data_scripts/generate_data.py", "--out", str(out), "--size", "benchmark", "--seed", "0",
               "--channel-snr-db", str(low), str(high), "--no-progress"]  # fmt: skip
    if c.bursts is not None:
        command += ["--abrupt", *map(str, c.bursts)]
    if c.subjects is not None:
        command += ["--subjects", str(c.subjects)]
    if c.duration is not None:
        command += ["--duration", f"{c.duration:g}"]
    return str(out), command


def grid_commands(name: str, data: str, c: Candidate, workers: int, table2: bool = False) -> list[list[str]]:
    """The two ``run_experiments.py`` calls of a candidate: its :data:`ROWS` of Table II (every
    row when ``table2``) and the trivial baselines."""
    out = ["--out", str((RESULTS / name).relative_to(REPO)), "--data", data]
    extra = [] if c.sigma is None else [f"--train-arg=--ppi-sigma={c.sigma}"]
    extra += [] if c.epochs is None else ["--epochs", str(c.epochs)]
    extra += [] if c.deformable is None else [f"--train-arg=--deformable={c.deformable}"]
    rows = [] if table2 else ["--only", *ROWS]
    table = ["data_scripts/run_experiments.py", "--grid", "table2", *rows, "--seeds", *map(str, SEEDS),
             f"--train-arg=--lr={c.lr}", *extra, "--workers", str(workers), *out]  # fmt: skip
    return [table, ["data_scripts/run_experiments.py", "--grid", "baselines", *out]]


def ensure_data(c: Candidate, cache: Path, quiet: bool = False) -> str:
    """The data argument of candidate ``c``'s grids, its data set generated into ``cache`` first
    when it is not there (:func:`generated`); ``quiet``: the generator prints nothing."""
    data, command = data_command(c, cache)
    if command and not generated(Path(data), c):
        if not quiet:
            print("python " + " ".join(command), flush=True)
        subprocess.run([sys.executable, *command], cwd=REPO, check=True, stdout=subprocess.DEVNULL if quiet else None)
    return data


def generated(folder: Path, c: Candidate) -> bool:
    """Whether ``folder`` holds the complete data set of candidate ``c`` (with its ``.mat`` files).

    Raises ``FileExistsError`` when it holds another data set (or an incomplete one, or one
    without the ``.mat`` files that the signal-processing baseline reads): delete it to
    regenerate.
    """
    stamp = folder / "dataset.json"
    if not stamp.is_file():
        return False
    info = json.loads(stamp.read_text())
    bursts = None if c.bursts is None else [float(c.bursts[0]), float(c.bursts[1]), [float(v) for v in c.bursts[2:]]]
    wanted = {"complete": True, "channel_snr_db": [float(v) for v in c.snr], "seed": 0, "save_mat": True,
              "abrupt": bursts, "n_subjects": c.subjects or SUBJECTS,
              "duration_s": float(c.duration or DURATION)}  # fmt: skip
    found = {key: info.get(key) for key in wanted}
    if found == wanted:
        return True
    raise FileExistsError(f"{folder} holds another data set ({found}, expected {wanted}); "
                          "delete it to generate the calibration data there")  # fmt: skip


def record(c: Candidate, data: str, generate: list, grids: list) -> dict:
    """The entry of ``calibration.json`` for a candidate."""
    return {"channel_snr_db": list(c.snr), "lr": float(c.lr), "ppi_sigma": 2.0 if c.sigma is None else float(c.sigma),
            "bursts": None if c.bursts is None else dict(zip(("fraction", "snr_db", "min_s", "max_s"), c.bursts)),
            "subjects": c.subjects or SUBJECTS, "epochs": c.epochs or EPOCHS,
            "duration_s": float(c.duration or DURATION), "deformable": c.deformable or "preset",
            "data": data, "generate": " ".join(["python", *generate]) if generate else None,
            "grids": [" ".join(["python", *g]) for g in grids]}  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES),
                        help="candidates to run")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="runs side by side (one thread each)")
    parser.add_argument("--list", action="store_true", help="print the commands and stop")
    parser.add_argument("--table2", action="store_true",
                        help="train every row of Table II, not only the single-task and EW rows")  # fmt: skip
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    sys.path.insert(0, str(REPO))
    from radarode_lite import _files
    from radarode_lite.data.cache import default_cache_dir

    records = {}
    for name in args.only:
        c = CANDIDATES[name]
        data, generate = data_command(c, default_cache_dir())
        grids = grid_commands(name, data, c, args.workers, args.table2)
        records[name] = record(c, data, generate, grids)
        if args.list:
            for command in ([generate] if generate else []) + grids:
                print("python " + " ".join(command), flush=True)
            continue
        ensure_data(c, default_cache_dir())
        for command in grids:
            print("python " + " ".join(command), flush=True)
            subprocess.run([sys.executable, *command], cwd=REPO, check=True)
    if not args.list:
        path = RESULTS / "calibration.json"
        stored = json.loads(path.read_text()) if path.is_file() else {}
        stored.update(records)
        _files.atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
