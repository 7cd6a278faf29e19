"""Time-stretch augmentation: the same segment at another heart rate (chapters 8 and 12).

With a handful of training subjects, each recording has one mean heart rate, and every
subject carries its own look (vibration pattern, morphology, channel gains). A cycle-length
decoder can then fit the training set by recognising *who* and *which recording* a segment
comes from, rather than by reading the beat period off the input, and it fails on a subject it
has never seen. Stretching the time axis of a segment by a factor :math:`s` and its cycle
length with it shows every subject at many rates, so that the period is the only thing that
predicts the label.

:func:`time_stretch` stretches a batch about the centre of its window: the spectrogram's frame
axis and the anchor heat map are resampled (linear interpolation) so that the content at
time :math:`t` from the centre moves to :math:`s\\,t`, cropped when :math:`s > 1` and padded
with the edge values when :math:`s < 1`; ``ppi`` becomes :math:`\\mathrm{round}(s\\cdot
\\mathrm{ppi})`; the ``shape`` target (one cycle resampled to 200 samples) does not change. It
is augmentation, not physics: breathing and the vibration bursts are stretched too.
:func:`draw_stretch` draws the factors, log-uniform in :math:`[1/(1+a), 1+a]`.
"""

from __future__ import annotations

import math

import torch

from radarode_lite import _checks
from radarode_lite.conventions import PPI_CLASSES

__all__ = ["draw_stretch", "time_stretch", "TimeStretch"]


def draw_stretch(n, max_stretch, generator) -> torch.Tensor:
    """``n`` stretch factors, log-uniform in ``[1 / (1 + max_stretch), 1 + max_stretch]`` (float32, shape (n,))."""
    n = _checks.non_negative_int(n, "n")
    top = math.log1p(_checks.non_negative(max_stretch, "max_stretch"))
    u = torch.rand(n, generator=_checks.torch_generator(generator))
    return torch.exp((2.0 * u - 1.0) * top)


def time_stretch(batch, factors) -> dict:
    """``batch`` with each segment's time axis stretched by its factor about the window centre.

    Parameters
    ----------
    batch : dict with ``sst`` (B, C, F, T) and any of ``anchor`` (B, N), ``ppi`` (B,) class
        indices; other entries are passed on unchanged.
    factors : (B,) positive stretch factors (1 leaves a segment as it is).

    Returns
    -------
    A new dict: ``sst`` and ``anchor`` resampled, ``ppi`` scaled, rounded and kept in
    ``0 .. PPI_CLASSES - 1``.
    """
    sst = batch["sst"]
    if not torch.is_tensor(sst) or sst.ndim != 4:
        raise ValueError(f"batch['sst'] must be a (B, C, F, T) tensor, got {getattr(sst, 'shape', type(sst))}")
    factors = torch.as_tensor(factors, dtype=sst.dtype, device=sst.device).reshape(-1)
    if factors.numel() != sst.shape[0] or not bool(torch.all(torch.isfinite(factors) & (factors > 0))):
        raise ValueError(f"factors must be {sst.shape[0]} positive finite numbers, one per segment")
    out = dict(batch)
    out["sst"] = _resample_time(sst, factors)
    if "anchor" in batch:
        out["anchor"] = _resample_time(batch["anchor"][:, None, None, :], factors)[:, 0, 0, :]
    if "ppi" in batch:
        scaled = torch.round(batch["ppi"].to(factors.dtype) * factors)
        out["ppi"] = scaled.clamp(0, PPI_CLASSES - 1).to(batch["ppi"].dtype)
    return out


class TimeStretch:
    """The augmentation :func:`radarode_lite.train.train` takes: ``TimeStretch(0.3)(batch, generator)``.

    Draws one factor per segment from ``generator`` (:func:`draw_stretch`) and applies
    :func:`time_stretch`. ``max_stretch = 0`` leaves batches unchanged and draws nothing.
    """

    def __init__(self, max_stretch: float = 0.3):
        self.max_stretch = _checks.non_negative(max_stretch, "max_stretch")

    def __call__(self, batch: dict, generator: torch.Generator) -> dict:
        if self.max_stretch == 0:
            return batch
        return time_stretch(batch, draw_stretch(batch["sst"].shape[0], self.max_stretch, generator))

    def __repr__(self) -> str:
        return f"TimeStretch(max_stretch={self.max_stretch:g})"


def _resample_time(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """``x`` (B, C, H, T) with output frame ``t`` read at ``c + (t - c) / s`` (c the centre), edges held."""
    n_frames = x.shape[-1]
    centre = (n_frames - 1) / 2.0
    t = torch.arange(n_frames, dtype=x.dtype, device=x.device)
    source = (centre + (t[None, :] - centre) / factors[:, None]).clamp(0, n_frames - 1)  # (B, T)
    left = source.floor().long().clamp(max=n_frames - 2) if n_frames > 1 else source.long()
    weight = (source - left.to(x.dtype)) if n_frames > 1 else torch.zeros_like(source)
    index = left[:, None, None, :].expand(*x.shape[:-1], n_frames)
    lo = torch.gather(x, -1, index)
    hi = torch.gather(x, -1, (index + 1).clamp(max=n_frames - 1))
    w = weight[:, None, None, :]
    return lo + w * (hi - lo)
