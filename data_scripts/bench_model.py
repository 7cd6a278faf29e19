"""Benchmark the radarODE-MTL network on the CPU and print the figures as JSON.

For each preset ("lite", "paper"): trainable parameters (shared, per task, total) and the
median time of one forward + backward pass over a batch of 32 random spectrograms.

For the lite preset, the cost of the shape decoder's ODE branch: two networks with the same
seed, with and without the ODE branch, timed side by side (alternating, after warm-up;
median of the repeats) on

- a full training step: forward, sum of the three task losses, backward, SGD step;
- a shape-task training step: the shape decoder trained as a single task (chapter 6): the
  backbone and the shape decoder forward, shape loss, backward, SGD step on both;
- a shape-decoder training step: the shared features computed once, then the shape
  decoder's forward, shape loss, backward and SGD step on the decoder's parameters only.

The ratios (with / without) are the figures to compare with the 1.3x budget.

Every time is given twice: wall-clock seconds (``*_s``) and the process's CPU seconds
(``*_cpu_s``, summed over threads). On a machine shared with other jobs the wall-clock
figures grow while the CPU figures barely move; with ``--threads 1`` the CPU figures are the
work itself.

Usage::

    python data_scripts/bench_model.py                 # both presets, 2 threads
    python data_scripts/bench_model.py --skip-paper    # lite only (the paper preset takes minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only: torch loads inside the functions
    from radarode_lite.models import RadarODEMTL

BATCH = 32


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats for the lite preset")
    parser.add_argument("--paper-repeats", type=int, default=3, help="timed repeats for the paper preset")
    parser.add_argument("--skip-paper", action="store_true", help="do not time the paper preset")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.paper_repeats < 1:
        parser.error("--threads, --repeats and --paper-repeats must be positive")
    import torch  # after parsing: --help answers at once

    from radarode_lite.models import MODEL_PRESETS, RadarODEMTL

    torch.set_num_threads(args.threads)

    report = {
        "batch_size": BATCH,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "load_average_1min_before": round(os.getloadavg()[0], 2),
        "presets": {},
    }
    for preset in MODEL_PRESETS:
        model = RadarODEMTL(preset, seed=args.seed)
        entry = {"input_shape": list(model.preset.input_shape), "parameters": model.count_parameters()}
        if not (preset == "paper" and args.skip_paper):
            repeats = args.paper_repeats if preset == "paper" else args.repeats
            wall, cpu = time_forward_backward(model, repeats, warmup=1 if preset == "paper" else 3, seed=args.seed)
            entry["forward_backward_s"] = _summary(wall)
            entry["forward_backward_cpu_s"] = _summary(cpu)
        report["presets"][preset] = entry
    report["ode_branch"] = time_ode_branch(args.repeats, seed=args.seed)
    report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2))
    return report


def time_forward_backward(model: RadarODEMTL, repeats: int, warmup: int, seed: int):
    """Wall and CPU seconds of ``forward`` + ``backward`` of the summed task losses, per repeat."""
    from radarode_lite.losses import task_losses

    x, batch = _random_batch(model, seed)
    wall, cpu = [], []
    for i in range(warmup + repeats):
        model.zero_grad(set_to_none=True)
        w, c = _timed(lambda: sum(task_losses(model(x), batch).values()).backward())
        if i >= warmup:
            wall.append(w)
            cpu.append(c)
    return wall, cpu


def time_ode_branch(repeats: int, seed: int, warmup: int = 3) -> dict:
    """Training-step times of the lite network with and without the ODE branch, side by side."""
    import torch

    from radarode_lite.losses import shape_loss, task_losses
    from radarode_lite.models import RadarODEMTL

    models = {flag: RadarODEMTL("lite", use_ode=flag, seed=seed) for flag in (True, False)}
    x, batch = _random_batch(models[True], seed)
    full_opt = {flag: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9) for flag, m in models.items()}
    with torch.no_grad():
        features = {flag: m.encode(x) for flag, m in models.items()}
    decoder_opt = {
        flag: torch.optim.SGD(m.decoders["shape"].parameters(), lr=1e-3, momentum=0.9) for flag, m in models.items()
    }

    def full_step(flag):
        full_opt[flag].zero_grad(set_to_none=True)
        sum(task_losses(models[flag](x), batch).values()).backward()
        full_opt[flag].step()

    def shape_task_step(flag):
        full_opt[flag].zero_grad(set_to_none=True)
        model = models[flag]
        shape_loss(model.decoders["shape"](model.encode(x)), batch["shape"]).backward()
        full_opt[flag].step()

    def decoder_step(flag):
        decoder_opt[flag].zero_grad(set_to_none=True)
        shape_loss(models[flag].decoders["shape"](features[flag]), batch["shape"]).backward()
        decoder_opt[flag].step()

    result = {"preset": "lite", "batch_size": BATCH, "target_ratio": 1.3}
    steps = (("full_training_step", full_step), ("shape_task_training_step", shape_task_step),
             ("shape_decoder_step", decoder_step))  # fmt: skip
    for name, step in steps:
        wall = {True: [], False: []}
        cpu = {True: [], False: []}
        for i in range(warmup + repeats):
            for flag in ((True, False) if i % 2 == 0 else (False, True)):
                w, c = _timed(lambda: step(flag))
                if i >= warmup:
                    wall[flag].append(w)
                    cpu[flag].append(c)
        entry = {}
        for kind, times in (("s", wall), ("cpu_s", cpu)):
            with_ode, without = statistics.median(times[True]), statistics.median(times[False])
            entry[f"with_ode_{kind}"] = round(with_ode, 5)
            entry[f"without_ode_{kind}"] = round(without, 5)
            entry["ratio" if kind == "s" else "ratio_cpu"] = round(with_ode / without, 3)
        result[name] = entry
    return result


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _random_batch(model: RadarODEMTL, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(BATCH, *model.preset.input_shape, generator=g)
    batch = {
        "shape": torch.rand(BATCH, 200, generator=g),
        "anchor": torch.rand(BATCH, 800, generator=g),
        "ppi": torch.randint(100, 250, (BATCH,), generator=g),
    }
    return x, batch


def _summary(times: list[float]) -> dict:
    return {
        "median": round(statistics.median(times), 4),
        "min": round(min(times), 4),
        "max": round(max(times), 4),
        "repeats": len(times),
    }


if __name__ == "__main__":
    main()
