"""Benchmark the spectrogram's time resampling: timefreq's own polyphase matrices against scipy (chapter 2).

    python data_scripts/bench_resample.py [--duration 60] [--channels 50] [--preset paper] [--repeats 5]

``timefreq.spectrogram`` resamples the |SST| rows it keeps from 200 Hz to 30 Hz. This script
takes those rows for a recording of ``--duration`` s and ``--channels`` channels (noise: the
cost does not depend on the values), resamples them batch by batch as the spectrogram does,
once with ``scipy.signal.resample_poly`` and once with the hand-written polyphase matrices
(``radarode_lite._polyphase``), and prints one JSON object with the
median wall time of each (``--repeats`` runs), their ratio, the largest difference relative to
the largest value, and the time of the whole ``spectrogram`` call for scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from scipy import signal as sps

from radarode_lite import _polyphase, timefreq


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="recording length, s")
    parser.add_argument("--channels", type=int, default=50, help="radar channels")
    parser.add_argument("--preset", default="paper", help="spectrogram preset")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (the median is printed)")
    args = parser.parse_args(argv)
    p = timefreq.get_preset(args.preset)
    fs, n = 200.0, int(args.duration * 200)
    grid = timefreq._spectrogram_grid(n, fs, p.f_min_hz, p.f_max_hz, p.n_freqs, p.frame_rate_hz)
    rows = grid["rows"].stop - grid["rows"].start
    batch = timefreq._CHANNEL_BATCH
    mags = np.abs(np.random.default_rng(0).standard_normal((p.n_channels, rows, n))).astype(np.float32)
    up, down = timefreq._frame_ratio(fs, p.frame_rate_hz)

    def with_scipy():
        return [sps.resample_poly(mags[s : s + batch], up, down, axis=-1) for s in range(0, len(mags), batch)]

    def with_matrices():
        return [_polyphase.resample(mags[s : s + batch], grid["resampler"]) for s in range(0, len(mags), batch)]

    x = np.random.default_rng(1).standard_normal((p.n_channels, n))
    results = {"scipy_s": _median_time(with_scipy, args.repeats), "matrices_s": _median_time(with_matrices, args.repeats),
               "spectrogram_s": _median_time(lambda: timefreq.spectrogram(x, fs, args.preset), args.repeats)}
    a, b = np.concatenate(with_scipy()), np.concatenate(with_matrices())
    print(json.dumps({
        "preset": args.preset, "duration_s": args.duration, "channels": p.n_channels, "rows": rows,
        **{k: round(v, 4) for k, v in results.items()},
        "scipy_over_matrices": round(results["scipy_s"] / results["matrices_s"], 2),
        "max_rel_difference": float(np.abs(a - b).max() / np.abs(a).max()),
    }))  # fmt: skip


def _median_time(function, repeats):
    function()  # warm-up: caches, numba compilation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
