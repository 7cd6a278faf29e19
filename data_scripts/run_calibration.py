"""Calibration study of the benchmark (chapter 12): which settings bring the single-task rows near the paper's?

    python data_scripts/run_calibration.py              # every candidate, two runs at a time
    python data_scripts/run_calibration.py --list       # the commands, nothing run
    python data_scripts/run_calibration.py --only lr3e-3_snr-18_2

Each candidate changes one or two settings of the benchmark protocol of Table II
(``radarode-run-experiments --grid table2``): the learning rate of Adam and the SNR range of
the radar channels of the data set (``radarode-generate-data --channel-snr-db``). For each
it trains the three single-task networks and radarODE-MTL with equal weights on every seed
(``--grid table2 --only single ew``) and scores the trivial baselines on the same held-out
subjects (``--grid baselines``), into ``book/data/results/benchmark/calibration/<candidate>/``.
A data set other than the benchmark's is generated once into the cache folder
(``$RADARODE_DATA`` or ``~/.cache/radarode_lite``) as ``calibration_snr<low>_<high>``;
``calibration.json`` beside the results records every candidate's settings and the commands
that made its data and its runs. The study is resumable: the grids skip the runs already stored.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "book" / "data" / "results" / "benchmark" / "calibration"

#: name: (radar channel SNR range in dB or None for the benchmark's -15 to 5 dB, Adam's rate,
#: width of the cycle-length soft target or None for the default, 2 classes).
CANDIDATES = {
    "lr3e-3_snr-15_5": (None, "3e-3", None),
    "lr3e-3_snr-18_2": ((-18, 2), "3e-3", None),
    "lr3e-3_snr-21_-1": ((-21, -1), "3e-3", None),
    "lr3e-3_sigma8_snr-19.5_0.5": ((-19.5, 0.5), "3e-3", 8),
}
#: The runs of each candidate: the single-task rows and radarODE-MTL with equal weights.
ROWS = ("single", "ew")
SEEDS = (0, 1, 2, 3, 4)


def data_command(snr, cache: Path) -> tuple[str, list[str]]:
    """``(data argument of the grids, command that generates it or [])`` for an SNR range."""
    if snr is None:
        return "book:benchmark", []
    low, high = snr
    out = cache / f"calibration_snr{low}_{high}"
    command = ["data_scripts/generate_data.py", "--out", str(out), "--size", "benchmark", "--seed", "0",
               "--channel-snr-db", str(low), str(high), "--no-progress"]  # fmt: skip
    return str(out), command


def grid_commands(
    name: str, data: str, lr: str, sigma, workers: int
) -> list[list[str]]:
    """The two ``run_experiments.py`` calls of a candidate."""
    out = ["--out", str((RESULTS / name).relative_to(REPO)), "--data", data]
    table = ["data_scripts/run_experiments.py", "--grid", "table2", "--only", *ROWS,
             "--seeds", *map(str, SEEDS), f"--train-arg=--lr={lr}",
             *([f"--train-arg=--ppi-sigma={sigma}"] if sigma is not None else []), "--workers", str(workers), *out]  # fmt: skip
    return [table, ["data_scripts/run_experiments.py", "--grid", "baselines", *out]]


def generated(folder: Path, snr) -> bool:
    """Whether ``folder`` holds a complete data set generated with the SNR range ``snr``.

    Raises ``FileExistsError`` when it holds another data set (or an incomplete one written by
    other arguments, or one without the ``.mat`` files that the signal-processing baseline
    reads): delete it to regenerate.
    """
    stamp = folder / "dataset.json"
    if not stamp.is_file():
        return False
    info = json.loads(stamp.read_text())
    if (
        info.get("complete")
        and info.get("channel_snr_db") == [float(v) for v in snr]
        and info.get("seed") == 0
        and info.get("save_mat")
    ):
        return True
    raise FileExistsError(
        f"{folder} holds another data set (channel_snr_db {info.get('channel_snr_db')}, "
        f"seed {info.get('seed')}, .mat files {info.get('save_mat')}); delete it to generate the calibration data there"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES),
                        help="candidates to run")  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=2, help="runs side by side (one thread each)"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the commands and stop"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    sys.path.insert(0, str(REPO))
    from radarode_lite.data.cache import default_cache_dir

    record = {}
    for name in args.only:
        snr, lr, sigma = CANDIDATES[name]
        data, generate = data_command(snr, default_cache_dir())
        grids = grid_commands(name, data, lr, sigma, args.workers)
        record[name] = {"channel_snr_db": list(snr) if snr else [-15, 5], "lr": float(lr), "ppi_sigma": 2.0 if sigma is None else float(sigma),
                        "data": data, "generate": " ".join(["python", *generate]) if generate else None,
                        "grids": [" ".join(["python", *g]) for g in grids]}  # fmt: skip
        for command in ([generate] if generate else []) + grids:
            print("python " + " ".join(command), flush=True)
            if args.list or (command is generate and generated(Path(data), snr)):
                continue  # listed only, or the data set is already there
            subprocess.run([sys.executable, *command], cwd=REPO, check=True)
    if not args.list:
        path = RESULTS / "calibration.json"
        stored = json.loads(path.read_text()) if path.is_file() else {}
        stored.update(record)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
