"""Draw the README's overview figure: radar phase -> synchrosqueezed transform -> ECG and anchors.

    python data_scripts/make_overview_figure.py [--out book/figures/overview.png] [--seed 3]

One simulated subject (normal breathing), 8 s of its clearest radar channel: its phase, the magnitude of
its synchrosqueezed wavelet transform in the cardiac band with the anchors that
``timefreq.locate_anchors`` finds, and the ECG with its true R peaks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _clearest_channel(rec) -> int:
    """The channel whose located anchors match the true R peaks best (within 50 ms)."""
    from radarode_lite import timefreq

    scores = []
    for c in range(rec.rcg.shape[1]):
        found = timefreq.locate_anchors(rec.rcg[:, c], rec.fs)
        hits = sum(np.min(np.abs(found - r)) < 0.05 for r in rec.r_peaks) if found.size else 0
        scores.append(hits - 0.5 * max(found.size - hits, 0))
    return int(np.argmax(scores))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "figures" / "overview.png")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of signal shown")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from radarode_lite import _files, plotting, signals, timefreq

    plotting.use_style()
    rng = np.random.default_rng(args.seed)
    subject = signals.make_subject(1, "NB", rng=rng)
    rec = signals.simulate_recording(subject, duration_s=args.duration, n_channels=50, rng=rng)
    fs = rec.fs
    t = np.arange(rec.ecg.size) / fs
    channel = _clearest_channel(rec)
    phase = rec.rcg[:, channel]
    tx, freqs = timefreq.sst(phase - phase.mean(), fs)
    band = (freqs >= 5) & (freqs <= 60)
    anchors = timefreq.locate_anchors(phase, fs)

    fig, axes = plt.subplots(3, 1, figsize=(8.0, 5.6), sharex=True)
    axes[0].plot(t, phase, color=plotting.PALETTE[0])
    plotting.label_axes(axes[0], "", "phase (rad)", f"Radar phase of channel {channel} of 50 (77 GHz)")
    mesh = axes[1].pcolormesh(t, freqs[band], np.abs(tx[band]), shading="auto", cmap="magma")
    fig.colorbar(mesh, ax=axes.tolist(), shrink=0.3, anchor=(0.0, 0.5), label="|SST| (a.u.)")
    axes[1].vlines(anchors, 5, 60, colors="w", linestyles=":", linewidth=1)
    plotting.label_axes(axes[1], "", "frequency (Hz)", "|SST| and located anchors (dotted)")
    axes[2].plot(t, rec.ecg, color="k")
    axes[2].plot(rec.r_peaks, np.interp(rec.r_peaks, t, rec.ecg), "v", color=plotting.PALETTE[1], label="R peaks")
    plotting.label_axes(axes[2], "time (s)", "ECG (mV)", "Reference ECG")
    axes[2].legend(loc="upper right")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _files.atomic_write(args.out, lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
