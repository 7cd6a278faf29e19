"""Benchmark the vectorised ECG ODE against the plain step loop (chapter 3).

    python data_scripts/bench_ode.py [--batch 256] [--n-samples 200] [--repeats 20]

Times ``radarode_lite.ode.ecg_ode`` and ``ecg_ode_loop`` side by side in one run on the same
float32 batch (parameters scattered around the defaults, fixed seed): the forward pass alone,
and forward plus backward of a squared-error loss. Each figure is the median over
``--repeats`` runs after warm-up runs (``*_min_ms``: the fastest run, the figure least
disturbed by other processes on a shared machine); torch keeps its default number of threads unless
``--threads`` is given (on a busy machine, one thread gives steadier figures). Prints one
JSON object with the times in milliseconds and the loop/vectorised ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time


def time_ms(fn, repeats: int, warmup: int = 3) -> tuple[float, float]:
    """Median and minimum wall time of ``fn()`` in ms over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times), 1e3 * min(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256, help="beats per batch")
    parser.add_argument("--n-samples", type=int, default=200, help="samples per beat")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per figure (median)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own default)")
    args = parser.parse_args(argv)
    import torch  # after parsing: --help answers at once

    from radarode_lite import ode

    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    if args.batch < 1 or args.n_samples < 2 or args.repeats < 1:
        parser.error("need --batch >= 1, --n-samples >= 2 and --repeats >= 1")

    g = torch.Generator().manual_seed(0)
    deviation = torch.randn(args.batch, 15, generator=g)
    params = ode.relative_params(deviation, max_rel=0.3, max_shift=0.1)
    target = ode.ecg_ode(params, args.n_samples) + 0.01 * torch.randn(args.batch, args.n_samples, generator=g)

    def forward(fn):
        with torch.no_grad():
            return fn(params, args.n_samples)

    def forward_backward(fn):
        p = params.clone().requires_grad_(True)
        loss = ((fn(p, args.n_samples) - target) ** 2).mean()
        loss.backward()
        return p.grad

    result = {"batch": args.batch, "n_samples": args.n_samples, "dtype": "float32",
              "repeats": args.repeats, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine()}
    tasks = {"forward": forward, "forward_backward": forward_backward}
    for what, task in tasks.items():
        for name, fn in (("ecg_ode", ode.ecg_ode), ("ecg_ode_loop", ode.ecg_ode_loop)):
            median, fastest = time_ms(lambda: task(fn), args.repeats)
            result[f"{name}_{what}_ms"] = round(median, 3)
            result[f"{name}_{what}_min_ms"] = round(fastest, 3)
    for what in tasks:
        for stat in ("", "_min"):
            ratio = result[f"ecg_ode_loop_{what}{stat}_ms"] / result[f"ecg_ode_{what}{stat}_ms"]
            result[f"speedup_{what}{stat}"] = round(ratio, 1)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
