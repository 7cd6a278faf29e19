"""Benchmark the cost of a multi-task training step under EW, Aligned-MTL and EGA; print JSON.

One training step (forward, the method's backward, SGD step) of the three-task network on a
batch of 32 random spectrograms, timed for

- ``ew``: one ordinary backward pass of the summed loss (the baseline);
- ``aligned_mtl`` and ``ega`` with per-task gradients w.r.t. the shared **parameters**
  (one batched reverse pass through the backbone, ``gradients="params"``, ``batched=True``);
- the same two with per-task gradients w.r.t. the shared **representation**
  (``gradients="representation"``: the per-task passes only traverse the decoders);
- ``ega`` with parameter gradients from a loop of three backward passes (``batched=False``,
  the methods' default on the CPU), for comparison with the batched pass.

All configurations run side by side in one process on copies of the same network (the order
rotating every repeat), after warm-up; the figures are medians over the repeats and the
ratios are to EW. Targets: EGA within 1.5x of EW with representation gradients and within
2.5x with parameter gradients.

The network is ``radarode_lite.models.RadarODEMTL(preset="lite")`` when that module is
available, otherwise a comparable three-task CNN defined here (input 8 x 32 x 120, a conv
backbone of about 0.24 M parameters, heads for the 200-sample shape, the 800-sample anchor
map and the 260 cycle-length classes); the JSON says which was used.

Usage::

    python data_scripts/bench_mtl.py                     # CPU, 2 threads
    python data_scripts/bench_mtl.py --device cuda --repeats 50
    python data_scripts/bench_mtl.py --model cnn         # force the stand-in CNN
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from radarode_lite.mtl import get_method

BATCH = 32
INPUT_SHAPE = (8, 32, 120)  # (C, F, T) of the lite preset
TARGETS = {"ega_representation": 1.5, "ega_params": 2.5}

#: name -> (method name, keyword arguments)
CONFIGS = {
    "ew": ("ew", {}),
    "aligned_mtl_params": ("aligned_mtl", {"gradients": "params", "batched": True}),
    "ega_params": ("ega", {"gradients": "params", "warmup_epoch": 0, "batched": True}),
    "aligned_mtl_representation": ("aligned_mtl", {"gradients": "representation"}),
    "ega_representation": ("ega", {"gradients": "representation", "warmup_epoch": 0}),
    "ega_params_loop": ("ega", {"gradients": "params", "warmup_epoch": 0, "batched": False}),
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("auto", "radarode", "cnn"), default="auto",
                        help="network: RadarODEMTL lite if importable (auto), or the stand-in CNN")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per configuration")
    parser.add_argument("--warmup", type=int, default=3, help="untimed repeats first")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error("--threads and --repeats must be positive, --warmup non-negative")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    network, model = build_network(args.model, args.seed)
    model = model.to(device)
    x, batch = random_batch(args.seed, device)
    runs = {}
    for name, (method_name, kwargs) in CONFIGS.items():
        net = copy.deepcopy(model)
        method = get_method(method_name, n_tasks=3, **kwargs)
        if method_name == "ega":  # past the warm-up, so that v_ecc is not uniform
            method.end_epoch([1.0, 1.0, 1.0])
            method.end_epoch([0.8, 0.4, 0.6])
        runs[name] = (net, method, torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9))

    times = {name: [] for name in runs}
    names = list(runs)
    for i in range(args.warmup + args.repeats):
        order = names[i % len(names):] + names[: i % len(names)]
        for name in order:
            net, method, opt = runs[name]
            elapsed = time_step(net, method, opt, x, batch, device)
            if i >= args.warmup:
                times[name].append(elapsed)

    medians = {name: statistics.median(t) for name, t in times.items()}
    report = {
        "network": network,
        "parameters": count_parameters(model),
        "batch_size": BATCH,
        "input_shape": list(INPUT_SHAPE),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "repeats": args.repeats,
        "step_s": {name: round(m, 5) for name, m in medians.items()},
        "step_s_min": {name: round(min(t), 5) for name, t in times.items()},
        "ratio_to_ew": {name: round(m / medians["ew"], 3) for name, m in medians.items()},
        "targets": TARGETS,
    }
    report["within_target"] = {k: report["ratio_to_ew"][k] <= v for k, v in TARGETS.items()}
    print(json.dumps(report, indent=2))
    return report


def time_step(net, method, opt, x, batch, device) -> float:
    """Seconds of one training step: forward, ``method.backward``, SGD step."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    features = net.encode(x)
    losses = task_loss_list(net.decode(features), batch)
    method.backward(losses, net.shared_parameters(), all_task_parameters(net), shared_representation=features)
    opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- networks


def build_network(which: str, seed: int):
    """Return ``(description, model)``; the model has ``encode``, ``decode``,
    ``shared_parameters`` and ``task_parameters`` like ``RadarODEMTL``."""
    if which in ("auto", "radarode"):
        try:
            from radarode_lite.models import RadarODEMTL
        except ImportError:
            if which == "radarode":
                raise
        else:
            return "radarode_lite.models.RadarODEMTL(preset='lite')", RadarODEMTL("lite", seed=seed)
    torch.manual_seed(seed)
    return "stand-in three-task CNN (bench_mtl.ThreeTaskCNN)", ThreeTaskCNN()


class ThreeTaskCNN(nn.Module):
    """A conv backbone (about 0.24 M parameters) and three heads, shaped like radarODE-MTL lite."""

    def __init__(self):
        super().__init__()

        def block(cin, cout, pool):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(pool)]

        self.backbone = nn.Sequential(
            *block(8, 32, 2), *block(32, 64, 2), *block(64, 128, (2, 1)), *block(128, 128, (4, 1)),
        )  # (B, 8, 32, 120) -> (B, 128, 1, 30)
        self.decoders = nn.ModuleDict({
            "shape": nn.Sequential(nn.Conv1d(128, 8, 1), nn.ReLU(), nn.Flatten(), nn.Linear(240, 200)),
            "anchor": nn.Sequential(nn.Conv1d(128, 8, 1), nn.ReLU(), nn.Flatten(), nn.Linear(240, 800)),
            "ppi": nn.Sequential(nn.Conv1d(128, 8, 1), nn.ReLU(), nn.Flatten(), nn.Linear(240, 260)),
        })

    def encode(self, x):
        return self.backbone(x).squeeze(2)  # (B, 128, 30)

    def decode(self, features):
        return {task: head(features) for task, head in self.decoders.items()}

    def shared_parameters(self):
        return list(self.backbone.parameters())

    def task_parameters(self):
        return {task: list(head.parameters()) for task, head in self.decoders.items()}


def all_task_parameters(model) -> list[torch.Tensor]:
    return [p for params in model.task_parameters().values() for p in params]


def count_parameters(model) -> dict:
    shared = sum(p.numel() for p in model.shared_parameters())
    tasks = {task: sum(p.numel() for p in params) for task, params in model.task_parameters().items()}
    return {"shared": shared, **tasks, "total": shared + sum(tasks.values())}


def random_batch(seed: int, device):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(BATCH, *INPUT_SHAPE, generator=g)
    batch = {
        "shape": torch.rand(BATCH, 200, generator=g),
        "anchor": torch.rand(BATCH, 800, generator=g),
        "ppi": torch.randint(100, 250, (BATCH,), generator=g),
    }
    return x.to(device), {k: v.to(device) for k, v in batch.items()}


def task_loss_list(pred: dict, batch: dict) -> list[torch.Tensor]:
    """The three task losses, in the order shape, anchor, cycle length."""
    try:
        from radarode_lite.losses import task_losses
    except ImportError:
        return [F.mse_loss(pred["shape"], batch["shape"]), F.mse_loss(pred["anchor"], batch["anchor"]),
                F.cross_entropy(pred["ppi"], batch["ppi"])]
    return list(task_losses(pred, batch).values())


if __name__ == "__main__":
    main()
