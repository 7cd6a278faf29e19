"""The book's conventions, each defined once (``shared/DESIGN.md``, "Data conventions").

Every module that needs a rate, a length, a class count or a name imports it from here, so
that a change of convention is one edit. Plain numbers and tuples only: importing this module
imports nothing but :mod:`math`.
"""

from __future__ import annotations

import math

__all__ = [
    "FS", "FRAME_RATE_HZ", "WINDOW_S", "HOP_S", "SEGMENT_SAMPLES", "SHAPE_SAMPLES", "ANCHOR_SAMPLES",
    "PPI_CLASSES", "R_FRACTION", "ANCHOR_SIGMA_SAMPLES", "WAVES", "STATUSES", "VIBRATION_BAND_HZ",
    "CARDIAC_HIGHPASS_HZ", "ECG_MORPHOLOGY", "TASKS", "TASK_METRICS", "HIGHER_IS_BETTER",
]  # fmt: skip

#: Sampling rate (Hz) of radar and ECG, as in MMECG; every target is defined at this rate.
FS = 200.0
#: Spectrogram frames per second (the network input's time axis).
FRAME_RATE_HZ = 30.0
#: Length (s) of a segment: 800 ECG samples, 120 spectrogram frames.
WINDOW_S = 4.0
#: Default step (s) between the starts of consecutive segments.
HOP_S = 1.0
#: ECG samples in one segment (``WINDOW_S * FS``); also the length of the ``anchor`` target.
SEGMENT_SAMPLES = int(WINDOW_S * FS)
#: Samples of the single-cycle ``shape`` target (the ODE decoder's output length).
SHAPE_SAMPLES = 200
#: Samples of the ``anchor`` heat map: one per ECG sample of the segment.
ANCHOR_SAMPLES = SEGMENT_SAMPLES
#: Number of cycle-length classes: ``ppi`` lies in 0 .. PPI_CLASSES - 1 samples at 200 Hz.
PPI_CLASSES = 260
#: Fraction of a cardiac cycle before its R wave in the ``shape`` target (McSharry's model
#: from the radarODE solver's initial state reaches the R wave at sample 64 of 200).
R_FRACTION = 0.32
#: Standard deviation (samples at 200 Hz, i.e. 50 ms) of the Gaussian bumps of ``anchor``.
ANCHOR_SIGMA_SAMPLES = 10.0
#: The five waves of an ECG cycle, in order (McSharry's model has one Gaussian per wave).
WAVES = ("P", "Q", "R", "S", "T")
#: The wave parameters of McSharry et al. (2003), Table 1 (ECGSYN's code has theta_P = -70,
#: theta_T = 100 degrees instead), 15 floats ``[a_P, b_P, theta_P, a_Q, ..., theta_T]``:
#: amplitudes a, widths b (rad), angles theta (rad). The default beat of the ODE (chapter 3)
#: and of the synthetic subjects (chapters 1, 4).
ECG_MORPHOLOGY = (
    1.2, 0.25, -math.pi / 3,
    -5.0, 0.1, -math.pi / 12,
    30.0, 0.1, 0.0,
    -7.5, 0.1, math.pi / 12,
    0.75, 0.4, math.pi / 2,
)  # fmt: skip
#: The MMECG physiological statuses: normal breathing, irregular breathing, post-exercise, sleep.
STATUSES = ("NB", "IB", "PE", "SP")
#: Band (Hz) of the heart's mechanical vibration that the spectrogram localises (chapter 2).
VIBRATION_BAND_HZ = (20.0, 45.0)
#: Cut-off (Hz) of the high-pass (4th-order Butterworth, zero phase) that defines a channel's
#: cardiac part, the reference of the physical noise model's SNR (chapter 1).
CARDIAC_HIGHPASS_HZ = 5.0

#: The three tasks of radarODE-MTL, in the paper's order: ECG shape, R-peak anchors, cycle length.
TASKS = ("shape", "anchor", "ppi")
#: The metrics of each task, in the units of Table II (the shape RMSE is on the min-max
#: normalised beat, not in mV).
TASK_METRICS = {
    "shape": ("rmse_norm", "pcc_pct"),
    "anchor": ("timing_error_ms", "mdr_pct"),
    "ppi": ("ppi_error_ms",),
}
#: Whether a larger value of a metric is better.
HIGHER_IS_BETTER = {"rmse_norm": False, "pcc_pct": True, "timing_error_ms": False, "mdr_pct": False,
                    "ppi_error_ms": False}  # fmt: skip
