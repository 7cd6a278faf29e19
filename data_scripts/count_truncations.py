"""Count the training steps in which Aligned-MTL/EGA drops a direction of the gradient matrix.

    python data_scripts/count_truncations.py                       # the Table II EGA run
    python data_scripts/count_truncations.py --gradients params --epochs 4
    python data_scripts/count_truncations.py --train-with width    # reproduce the old artefact
    python data_scripts/count_truncations.py --out book/data/results/truncations/gram.json

Runs one training of the chapter-12 grid (``radarode-train`` with the Table II
settings: lite preset, ``book:default``, Adam, EGA ``paper`` variant, T = 1, warm-up epoch 3,
representation gradients unless ``--gradients params``) and, at every step, looks at the
gradient matrix ``G`` that :func:`radarode_lite.mtl.functional.balance_matrix` receives
under two rank rules:

- ``gram`` (the package's rule): keep eigenvalue k of G G^T when lambda_k > n_tasks *
  eps(dtype) * lambda_1, i.e. sigma_k > sqrt(n_tasks * eps) * sigma_1;
- ``width`` (the rule the package used before): keep sigma_k > max(n_tasks, n_params) *
  eps(dtype) * sigma_1, a cut that grows with the number of columns.

``--train-with`` chooses which rule the training itself uses (``width`` puts the old balance
matrix back for this run only). Prints, as JSON, the number of steps, how many of them each rule
truncates, the smallest ratio sigma_n / sigma_1 seen, and, per epoch, the mean coefficient of
each task in the update (the ``weights`` the trainer logs): under the old rule the shape task's
coefficient collapses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path


def width_rule_balance_matrix(G, rtol=None):
    """The former balance matrix: singular values above max(n, m) * eps * sigma_1, scale sigma_r."""
    import torch

    from radarode_lite.mtl import functional

    G = functional._gradient_matrix(G)
    cut = max(G.shape) * torch.finfo(G.dtype).eps if rtol is None else rtol
    U, S, _ = torch.linalg.svd(G.to(torch.float64), full_matrices=False)
    if float(S[0]) == 0.0:
        return torch.zeros(G.shape[0], G.shape[0], dtype=torch.float64)
    keep = S > cut * S[0]
    U, S = U[:, keep], S[keep]
    return S[-1] * (U / S) @ U.T


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (Table II grid: 12)")
    parser.add_argument("--gradients", default="representation", choices=["representation", "params"])
    parser.add_argument("--train-with", default="gram", choices=["gram", "width"],
                        help="rank rule used by the training itself")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="also store the summary as a results file (.json)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    import time

    began = time.perf_counter()

    import numpy as np
    import torch

    from radarode_lite.mtl import functional

    records = []
    original = functional.balance_matrix

    def recording_balance_matrix(G, rtol=None):
        G = functional._gradient_matrix(G)
        lam = np.clip(np.linalg.eigvalsh(functional._gram(G))[::-1], 0.0, None)
        n, eps = G.shape[0], torch.finfo(G.dtype).eps
        sigma = np.sqrt(lam)
        records.append({
            "gram_drops": int(np.sum(lam <= n * eps * lam[0])),
            "width_drops": int(np.sum(sigma <= max(G.shape) * eps * sigma[0])),
            "ratio": float(sigma[-1] / sigma[0]) if sigma[0] > 0 else 0.0,
            "width": int(G.shape[1]),
        })
        rule = original if args.train_with == "gram" else width_rule_balance_matrix
        return rule(G, rtol=rtol)

    functional.balance_matrix = recording_balance_matrix
    from radarode_lite.cli import train as train_script
    warmup = min(4, max(args.epochs // 4, 0))
    options = {"temperature": 1.0, "variant": "paper", "warmup_epoch": warmup, "gradients": args.gradients}
    with tempfile.TemporaryDirectory() as out:
        train_argv = ["--data", "book:default", "--preset", "lite", "--seed", str(args.seed),
                      "--epochs", str(args.epochs), "--threads", str(args.threads), "--method", "ega",
                      "--out", out, "--no-resume"]
        for key, value in options.items():
            train_argv += ["--method-option", f"{key}={json.dumps(value)}"]
        status = train_script.main(train_argv)
        if status != 0:
            return status
        metrics = json.loads((Path(out) / "metrics.json").read_text())
    summary = {
        "command": "python data_scripts/count_truncations.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "train_with": args.train_with,
        "gradients": args.gradients,
        "steps": len(records),
        "width_of_G": sorted({r["width"] for r in records}),
        "steps_truncated_by_gram_rule": sum(r["gram_drops"] > 0 for r in records),
        "steps_truncated_by_width_rule": sum(r["width_drops"] > 0 for r in records),
        "smallest_sigma_ratio": min(r["ratio"] for r in records),
        "median_sigma_ratio": statistics.median(r["ratio"] for r in records),
        "epoch_mean_task_coefficients": {task: [round(w, 4) for w in values]
                                         for task, values in metrics["history"]["weights"].items()},
        "test_metrics": metrics["metrics"],
    }
    print(json.dumps(summary, indent=1))
    if args.out is not None:
        from radarode_lite.studies import results

        command = summary.pop("command")
        metrics = {k: summary.pop(k) for k in list(summary) if k.startswith("steps") or k.endswith("ratio")}
        results.save_result(args.out, metrics, vars(args), args.seed, command, round(time.perf_counter() - began, 1),
                            **summary)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
