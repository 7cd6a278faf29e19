"""Generate the synthetic MMECG-like data set in the segment layout (chapter 4).

    radarode-generate-data --out data/lite --preset lite --seed 0
    radarode-generate-data --out data/small --size small
    radarode-generate-data --out data/noisy --snr-db 0 --abrupt 0.2 -9 1 3

In a clone of the book, ``python data_scripts/generate_data.py`` is the same command.

Subjects 1..N are each recorded in every physiological status (NB, IB, PE, SP); every
recording is segmented into 4-s windows with their spectrogram input and the three targets,
one folder per recording, ``obj{subject}_{status}_{trial}_/`` (see ``radarode_lite.data``).
The MMECG ``.mat`` file of each recording goes to ``OUT/mat/`` unless ``--no-mat``.
The same arguments always give the same files. A summary is printed at the end, the last
line as JSON. ``OUT/dataset.json`` is written last; if the generation is interrupted, the same
command run again finishes it (no ``--overwrite`` needed), keeping the recordings already written.
"""

from __future__ import annotations

import argparse
import json
import sys

from radarode_lite.conventions import STATUSES

#: Choices of the flags, written out so that ``--help`` answers without importing torch
#: (tests check them against ``radarode_lite.data`` and ``radarode_lite.timefreq``).
PRESETS = ("lite", "paper")
SIZES = ("benchmark", "calibrated", "default", "small")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder of the data set (created; must be empty unless --overwrite)")
    parser.add_argument("--preset", default="lite", choices=list(PRESETS),
                        help="spectrogram preset: lite (8 x 32 x 120) or paper (50 x 71 x 120)")  # fmt: skip
    parser.add_argument("--size", default="default", choices=list(SIZES),
                        help="small: 2 subjects x 12 s; default: 6 subjects x 30 s; benchmark: 12 subjects x 20 s "
                             "with radar channels at -15 to 5 dB; calibrated: 20 subjects x 20 s at -19.5 to 0.5 dB "
                             "(4 statuses each)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
    parser.add_argument("--subjects", type=int, default=None, help="number of subjects (overrides --size)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per recording (overrides --size)")
    parser.add_argument("--statuses", nargs="+", default=list(STATUSES), choices=list(STATUSES),
                        help="physiological statuses to record")  # fmt: skip
    parser.add_argument("--trials", type=int, default=1, help="recordings per subject and status")
    parser.add_argument("--snr-db", type=float, default=None,
                        help="constant noise on every radar channel, SNR in dB relative to its cardiac part")  # fmt: skip
    parser.add_argument(
        "--abrupt", nargs=4, type=float, default=None, metavar=("FRACTION", "SNR_DB", "MIN_S", "MAX_S"),
        help="abrupt noise: a burst of MIN_S-MAX_S s at SNR_DB (relative to the cardiac part) "
        "in FRACTION of the segments",
    )
    parser.add_argument("--channel-snr-db", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="range of the radar channels' own SNR in dB (default: the size's)")  # fmt: skip
    parser.add_argument("--mat-format", default="5", choices=["5", "7.3"], help="MATLAB format of the .mat files")
    parser.add_argument("--no-mat", action="store_true", help="do not write the MMECG .mat files")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier data set in --out")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--quiet", dest="progress", action="store_false", help=argparse.SUPPRESS)  # the old flag
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``Ctrl-C``, a full disk or a closed pipe end with one line, not a traceback.
    """
    from radarode_lite import _children

    return _children.cli(_main, argv)


def _main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from radarode_lite import _files, data

    abrupt = None if args.abrupt is None else (args.abrupt[0], args.abrupt[1], (args.abrupt[2], args.abrupt[3]))
    try:
        summary = data.generate_dataset(
            args.out,
            n_subjects=args.subjects,
            statuses=tuple(args.statuses),
            trials=args.trials,
            duration_s=args.duration,
            size=args.size,
            preset=args.preset,
            seed=args.seed,
            snr_db=args.snr_db,
            abrupt=abrupt,
            channel_snr_db=args.channel_snr_db,
            save_mat=not args.no_mat,
            mat_format=args.mat_format,
            progress=args.progress,
            overwrite=args.overwrite,
        )
    except (ValueError, TypeError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full or read-only disk, no permission
        print(f"error: {_files.disk_error(exc)}", file=sys.stderr)
        return 1
    print(
        f"{summary['n_recordings']} recordings ({summary['duration_s']:.0f} s of signal), "
        f"{summary['n_segments']} segments in {summary['root']}, {summary['wall_s']:.1f} s"
    )
    short = {k: summary[k] for k in ("root", "n_recordings", "n_segments", "duration_s")}
    short["wall_s"] = round(summary["wall_s"], 2)
    print(json.dumps(short))
    return 0


if __name__ == "__main__":
    sys.exit(main())
