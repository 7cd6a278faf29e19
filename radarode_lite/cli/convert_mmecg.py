"""Convert MMECG ``.mat`` recordings into the book's segment layout (chapter 4).

    radarode-convert-mmecg path/to/MMECG --out data/mmecg
    radarode-convert-mmecg path/to/MMECG/12.mat --out data/mmecg --preset lite

In a clone of the book, ``python data_scripts/convert_mmecg.py`` is the same command.

The Python counterpart of the radarODE-MTL authors' ``MMECG_to_SST.m``: for every radar
channel, the synchrosqueezed wavelet transform (Morlet, 10 voices per octave), its magnitude
on the upper half of the frequency axis, resampled to 30 frames per second and normalised to
[0, 1] per channel (``radarode_lite.timefreq``). Two differences: the normalisation is done
per 4-s segment (as the network sees it), not per recording, and the ``paper`` preset keeps
the frequency axis at 71 bins. R peaks are detected from the ECG
(``radarode_lite.data.detect_r_peaks``) and the targets computed from them.

Input: one ``.mat`` file or a folder of them (MATLAB v5/v7 or v7.3), each a struct ``data``
with ``RCG`` (samples x 50), ``ECG``, ``id``, ``age``, ``gender`` and ``physistatus``, at
200 Hz. Output: ``OUT/obj{id}_{physistatus}_{n}_/`` per file, ``n`` the file's number (its
name, e.g. ``12.mat``; files with other names are numbered after the largest such number). Each
folder is written atomically; a file that fails (a damaged file, a full disk ...) is reported
and the others go on. ``OUT/dataset.json`` is written first marked unfinished and last marked
complete with the list of recordings, so an interrupted conversion is refused by the readers
of the data set; running the same command again finishes it: recordings already converted
from the same file are kept and reported as such, not as failures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


#: Spectrogram presets (``radarode_lite.timefreq.PRESETS``), written out so that ``--help`` is fast.
PRESETS = ("lite", "paper")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path, help="an MMECG .mat file or a folder of them")
    parser.add_argument("--out", type=Path, required=True, help="folder for the recording folders (created)")
    parser.add_argument("--preset", default="paper", choices=list(PRESETS),
                        help="spectrogram preset: paper (50 x 71 x 120, default) or lite (8 x 32 x 120)")  # fmt: skip
    parser.add_argument("--fs", type=float, default=200.0, help="sampling rate of the files in Hz (MMECG: 200)")
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between segment starts")
    parser.add_argument("--invert-ecg", action="store_true", help="the ECG lead is inverted: detect R peaks on -ECG")
    parser.add_argument("--overwrite", action="store_true", help="replace recording folders that exist already")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--quiet", dest="progress", action="store_false", help=argparse.SUPPRESS)  # the old flag
    return parser


def convert_file(path: Path, out: Path, number: int, preset="paper", fs=200.0, hop_s=1.0, invert_ecg=False,
                 overwrite=False) -> tuple[str, int, bool]:  # fmt: skip
    """Convert one MMECG file; returns (folder name, number of segments, whether it was converted before)."""
    import numpy as np

    from radarode_lite import data

    rec = data.load_mmecg_mat(path)
    status = rec["physistatus"]
    if status not in data.STATUSES:
        raise ValueError(f"{path}: physistatus must be one of {data.STATUSES}, got {status!r}")
    if not isinstance(rec["id"], int):
        raise ValueError(f"{path}: id must be an integer subject number, got {rec['id']!r}")
    name = data.recording_name(rec["id"], status, number)
    if (out / name).exists() and not overwrite:
        earlier = _converted_from(out / name)
        if earlier is not None and earlier[0] == path.name:  # an earlier run converted it: keep it
            return name, earlier[1], True
        raise FileExistsError(f"{out / name} exists already (from another file); pass --overwrite to replace it")
    ecg = rec["ECG"]
    peaks = data.detect_r_peaks(-ecg if invert_ecg else ecg, fs)
    segments = data.segment_recording(rec["RCG"], ecg, fs, preset, r_peaks_s=peaks, hop_s=hop_s)
    if len(segments) == 0:
        raise ValueError(f"{path}: no segment with a complete heartbeat was found")
    meta = {
        "subject": {"id": rec["id"], "age": rec["age"], "gender": rec["gender"], "status": status},
        "trial": number,
        "source": path.name,
        "seed": None,
        "duration_s": float(len(ecg) / fs),
        "n_r_peaks": int(np.size(peaks)),
    }
    data.write_segments(out, name, segments, meta, overwrite=overwrite)
    return name, len(segments), False


def _converted_from(folder: Path):
    """(source file name, number of segments) of a recording folder written before, or None."""
    try:
        info = json.loads((folder / "segments.json").read_text())
        return str(info["source"]), int(info["n_segments"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``Ctrl-C``, a full disk or a closed pipe end with one line, not a traceback.
    """
    from radarode_lite import _children

    return _children.cli(_main, argv)


def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from tqdm.auto import tqdm

    from radarode_lite import _files

    if not args.input.exists():
        print(f"error: input {str(args.input)!r} does not exist (expected an MMECG .mat file or a folder)", file=sys.stderr)
        return 2
    files = [args.input] if args.input.is_file() else sorted(args.input.glob("*.mat"), key=_file_order)
    if not files:
        print(f"error: no .mat files in {str(args.input)!r}", file=sys.stderr)
        return 2
    try:
        _files.check_writable(args.out)
        removed = _files.remove_leftovers(args.out)
        _write_marker(args.out, complete=False)
    except OSError as exc:
        print(f"error: {_files.disk_error(exc)}", file=sys.stderr)
        return 1
    if removed:
        print(f"removed leftovers of an interrupted conversion: {', '.join(removed)}", file=sys.stderr)
    began = time.perf_counter()
    converted, kept, failed, n_segments = [], [], [], 0
    numbers = _file_numbers(files)
    for path in tqdm(files, desc="recordings", unit="file", disable=not args.progress):
        number = numbers[path]
        try:
            name, n, before = convert_file(path, args.out, number, args.preset, args.fs, args.hop, args.invert_ecg,
                                           args.overwrite)  # fmt: skip
        except (ValueError, TypeError, KeyError, FileExistsError, FileNotFoundError) as exc:
            failed.append(str(path))
            print(f"error: {path}: {exc}", file=sys.stderr)
            continue
        except OSError as exc:  # a full or read-only disk: this file fails, the others are tried
            failed.append(str(path))
            print(f"error: {path}: {_files.disk_error(exc)}", file=sys.stderr)
            continue
        (kept if before else converted).append(name)
        n_segments += n
    try:
        _write_marker(args.out, complete=True, failed=failed)
    except OSError as exc:
        print(f"error: {_files.disk_error(exc)}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - began
    print(f"{len(converted)} recordings converted, {len(kept)} kept from an earlier run, {len(failed)} failed, "
          f"{n_segments} segments in {args.out}, {wall:.1f} s")  # fmt: skip
    print(json.dumps({"out": str(args.out), "converted": converted, "kept": kept, "failed": failed,
                      "n_segments": n_segments}))  # fmt: skip
    return 1 if failed else 0


def _write_marker(out: Path, complete: bool, failed=()) -> None:
    """``OUT/dataset.json``: unfinished while converting; at the end, complete with every recording folder."""
    from radarode_lite import _files, data

    names = sorted(p.name for p in out.iterdir() if p.is_dir() and (p / "segments.json").is_file()
                   and not p.name.startswith("."))  # fmt: skip
    info = {"generator": data.GENERATOR, "source": "mmecg", "complete": complete}
    if complete:
        info.update(recordings=names, failed=[str(f) for f in failed])
    text = json.dumps(info, indent=1, sort_keys=True) + "\n"
    _files.atomic_write(out / "dataset.json", lambda tmp: tmp.write_text(text))


def _file_numbers(files) -> dict:
    """A file's number: its name when that is a number (``12.mat``), else the next free ones in order."""
    used = [int(p.stem) for p in files if p.stem.isdigit()]
    following = max(used, default=0) + 1
    numbers = {}
    for path in files:
        if path.stem.isdigit():
            numbers[path] = int(path.stem)
        else:
            numbers[path], following = following, following + 1
    return numbers


def _file_order(path: Path):
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.stem)


if __name__ == "__main__":
    sys.exit(main())
