"""Benchmark the data engine: radar recording -> network-input segments, against real time (chapters 2, 4).

    python data_scripts/bench_data.py [--duration 60] [--channels 50] [--preset paper] [--repeats 1]
                                      [--ssq-parallel {0,1}]

Simulates one MMECG-like recording (``--duration`` s, ``--channels`` radar channels at 200 Hz)
and turns it into 4-s segments of the preset's spectrogram input, as
``radarode_lite.data.segment_recording`` does: the |SST| spectrogram of the whole recording
(``timefreq.spectrogram``), sliced into 120-frame windows every 1 s and min-max normalised per
window and channel. After a warm-up (numba compiles ssqueezepy's kernels on first use), it
times the three stages separately (simulation, SST, slicing) and the complete
``segment_recording`` call (which also computes the targets), each the median of
``--repeats`` runs, and prints one JSON object:

- ``realtime_factor``: recording duration / time of ``segment_recording`` (how many times
  faster than real time the engine turns radar into segments; the simulation excluded);
- ``realtime_factor_sst_slicing``: duration / (SST + slicing);
- ``*_s`` wall times and ``*_cpu_s`` process CPU times (all threads). On a shared machine
  the wall times grow with the load (``load_average`` is printed); CPU times much less.
- ``ssq_parallel``: ssqueezepy's ``SSQ_PARALLEL`` during the run (``--ssq-parallel`` sets it;
  unset means ssqueezepy's default, parallel). Parallel kernels shorten the wall time when
  cores are free and cost more CPU time.

Target: ``realtime_factor`` >= 20 for the ``paper`` preset, 60 s x 50 channels, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

#: Spectrogram presets (``radarode_lite.timefreq.PRESETS``), written out so that ``--help`` is fast.
PRESETS = ("lite", "paper")


def timed(fn, repeats):
    """Result of ``fn()``, median wall time (s) and median CPU time (s) over ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return out, statistics.median(walls), statistics.median(cpus)


def slice_windows(S, duration_s, preset, hop_s=1.0):
    """(n_windows, C, F, T) windows of a whole-recording spectrogram, normalised per window and channel.

    ``hop_s``: seconds between window starts (``radarode_lite.data.HOP_S``).
    """
    import numpy as np

    from radarode_lite import timefreq

    n_frames = preset.n_frames
    starts = np.arange(0, duration_s - preset.window_s + 1e-9, hop_s)
    out = np.empty((starts.size,) + S.shape[:2] + (n_frames,), dtype=np.float32)
    for j, s0 in enumerate(starts):
        f0 = int(round(s0 * preset.frame_rate_hz))
        out[j] = timefreq.normalise_per_channel(S[:, :, f0 : f0 + n_frames])
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="recording length in s (>= 4)")
    parser.add_argument("--channels", type=int, default=50, help="radar channels (>= the preset's)")
    parser.add_argument("--preset", default="paper", choices=list(PRESETS), help="spectrogram preset")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per stage (median)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated subject and recording")
    parser.add_argument("--ssq-parallel", choices=["0", "1"], default=None,
                        help="set SSQ_PARALLEL (ssqueezepy's threads); default: the environment's")  # fmt: skip
    args = parser.parse_args(argv)
    if args.ssq_parallel is not None:
        os.environ["SSQ_PARALLEL"] = args.ssq_parallel
    import numpy as np  # after parsing: --help answers at once

    from radarode_lite import data, signals, timefreq
    preset = timefreq.get_preset(args.preset)
    if args.duration < preset.window_s or args.repeats < 1 or args.channels < preset.n_channels:
        parser.error(f"need --duration >= {preset.window_s}, --repeats >= 1, --channels >= {preset.n_channels}")
    fs = signals.FS

    subject = signals.make_subject(1, "NB", rng=args.seed)
    # warm-up: numba compilation and first-call overheads, on a short recording
    warm = signals.simulate_recording(subject, 6.0, n_channels=args.channels, rng=args.seed)
    data.segment_recording(warm.rcg, warm.ecg, fs, preset, r_peaks_s=warm.r_peaks)

    rec, t_sim, c_sim = timed(
        lambda: signals.simulate_recording(subject, args.duration, n_channels=args.channels, rng=args.seed),
        args.repeats,
    )
    x = np.ascontiguousarray(rec.rcg.T)
    S, t_sst, c_sst = timed(lambda: timefreq.spectrogram(x, fs, preset), args.repeats)
    windows, t_slice, c_slice = timed(lambda: slice_windows(S, args.duration, preset), args.repeats)
    segs, t_engine, c_engine = timed(
        lambda: data.segment_recording(rec.rcg, rec.ecg, fs, preset, r_peaks_s=rec.r_peaks), args.repeats
    )
    result = {
        "duration_s": args.duration,
        "channels": args.channels,
        "preset": preset.name,
        "segment_shape": list(windows.shape[1:]),
        "n_windows": int(windows.shape[0]),
        "n_segments_with_targets": len(segs),
        "realtime_factor": round(args.duration / t_engine, 2),
        "realtime_factor_sst_slicing": round(args.duration / (t_sst + t_slice), 2),
        "realtime_factor_cpu": round(args.duration / c_engine, 2),
        "simulation_s": round(t_sim, 3),
        "sst_s": round(t_sst, 3),
        "slicing_s": round(t_slice, 3),
        "segment_recording_s": round(t_engine, 3),
        "simulation_cpu_s": round(c_sim, 3),
        "sst_cpu_s": round(c_sst, 3),
        "slicing_cpu_s": round(c_slice, 3),
        "segment_recording_cpu_s": round(c_engine, 3),
        "repeats": args.repeats,
        "ssq_parallel": os.environ.get("SSQ_PARALLEL", "unset (parallel)"),
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
