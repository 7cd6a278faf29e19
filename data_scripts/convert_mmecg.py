"""Convert MMECG ``.mat`` recordings into the book's segment layout (chapter 4).

    python data_scripts/convert_mmecg.py path/to/MMECG --out data/mmecg
    python data_scripts/convert_mmecg.py path/to/MMECG/12.mat --out data/mmecg --preset lite

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
folder is written atomically; a file that fails is reported and the others go on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from radarode_lite import timefreq

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path, help="an MMECG .mat file or a folder of them")
    parser.add_argument("--out", type=Path, required=True, help="folder for the recording folders (created)")
    parser.add_argument("--preset", default="paper", choices=sorted(timefreq.PRESETS),
                        help="spectrogram preset: paper (50 x 71 x 120, default) or lite (8 x 32 x 120)")  # fmt: skip
    parser.add_argument("--fs", type=float, default=200.0, help="sampling rate of the files in Hz (MMECG: 200)")
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between segment starts")
    parser.add_argument("--invert-ecg", action="store_true", help="the ECG lead is inverted: detect R peaks on -ECG")
    parser.add_argument("--overwrite", action="store_true", help="replace recording folders that exist already")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def convert_file(path: Path, out: Path, number: int, preset="paper", fs=200.0, hop_s=1.0, invert_ecg=False,
                 overwrite=False) -> tuple[str, int]:  # fmt: skip
    """Convert one MMECG file; returns (folder name, number of segments)."""
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
        raise FileExistsError(f"{out / name} exists already; pass --overwrite to replace it")
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
    return name, len(segments)


def main(argv=None) -> int:
    from tqdm.auto import tqdm

    args = build_parser().parse_args(argv)
    if not args.input.exists():
        print(f"error: input {str(args.input)!r} does not exist (expected an MMECG .mat file or a folder)", file=sys.stderr)
        return 2
    files = [args.input] if args.input.is_file() else sorted(args.input.glob("*.mat"), key=_file_order)
    if not files:
        print(f"error: no .mat files in {str(args.input)!r}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    converted, failed, n_segments = [], [], 0
    numbers = _file_numbers(files)
    for path in tqdm(files, desc="recordings", unit="file", disable=args.quiet):
        number = numbers[path]
        try:
            name, n = convert_file(path, args.out, number, args.preset, args.fs, args.hop, args.invert_ecg, args.overwrite)
        except (ValueError, TypeError, KeyError, FileExistsError, FileNotFoundError) as exc:
            failed.append(str(path))
            print(f"error: {path}: {exc}", file=sys.stderr)
            continue
        converted.append(name)
        n_segments += n
    wall = time.perf_counter() - began
    print(f"{len(converted)} recordings converted, {len(failed)} failed, {n_segments} segments in {args.out}, {wall:.1f} s")
    print(json.dumps({"out": str(args.out), "converted": converted, "failed": failed, "n_segments": n_segments}))
    return 1 if failed else 0


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
