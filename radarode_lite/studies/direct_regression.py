"""Direct regression of the 4-s ECG, the MMECG-style framework of the robustness study (chapter 14).

A study module (:mod:`radarode_lite.studies`), one of the three frameworks of
:mod:`radarode_lite.studies.frameworks` (which re-exports its names): in the manner of MMECG
(Chen et al., IEEE TMC 2022), the book's shared backbone (:mod:`radarode_lite.models`) and a
decoder that regresses all 800 samples of the 4-s ECG window (:class:`DirectRegression`), trained
by :func:`train_direct` and run by :func:`predict_direct`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from radarode_lite import _checks
from radarode_lite.conventions import FS, WINDOW_S
from radarode_lite.models import Backbone, get_model_preset
from radarode_lite.studies.noise_conditions import ecg_reference

__all__ = ["WindowDecoder", "DirectRegression", "train_direct", "predict_direct"]


class WindowDecoder(nn.Module):
    """Decoder of the 800-sample ECG window from the shared features ``(B, D, T')`` (chapter 14).

    A convolution over the ``T'`` frames, four transposed convolutions (x2 each: ``T' -> 16 T'``),
    linear resampling to ``n_samples`` (the frames and the samples cover the same 4 s) and a
    final convolution to one channel: the layout of the anchor decoder
    (:class:`radarode_lite.models.AnchorDecoder`), here regressing the ECG itself.

    Parameters
    ----------
    feature_dim : D, int >= 1.
    width : channels of the convolutions, int >= 1.
    n_samples : output samples (800 = 4 s at 200 Hz), int >= 2.
    """

    def __init__(self, feature_dim: int, width: int = 16, n_samples: int = 800):
        super().__init__()
        _checks.positive_int(feature_dim, "feature_dim")
        _checks.positive_int(width, "width")
        if _checks.positive_int(n_samples, "n_samples") < 2:
            raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
        self.n_samples = int(n_samples)
        layers = [nn.Conv1d(feature_dim, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU()]
        for _ in range(4):
            layers += [nn.ConvTranspose1d(width, width, kernel_size=4, stride=2, padding=1), nn.BatchNorm1d(width),
                       nn.ReLU()]  # fmt: skip
        self.head = nn.Sequential(*layers)
        self.out = nn.Conv1d(width, 1, kernel_size=7, padding=3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.head(features), size=self.n_samples, mode="linear", align_corners=False)
        return self.out(up).squeeze(1)


class DirectRegression(nn.Module):
    """MMECG-style direct regression: the shared backbone and a decoder of the whole 4-s ECG (chapter 14).

    ``x (B, C, F, T)`` -> :class:`radarode_lite.models.Backbone` -> features ``(B, D, T')`` ->
    :class:`WindowDecoder` -> ``(B, 800)``, the ECG window on the scale of
    :func:`~radarode_lite.studies.noise_conditions.ecg_reference`.
    No single cycle, no anchors: every output sample is regressed directly from the radar
    spectrogram, noise included.

    Parameters
    ----------
    preset : ``"lite"``, ``"paper"`` or a :class:`radarode_lite.models.ModelPreset` (input
        shape and backbone size).
    width : channels of the decoder; default twice the preset's anchor-decoder width (32 for
        ``"lite"``): a whole waveform carries more detail than a heat map, and with the
        anchor decoder's 16 channels the lite network fits the training ECG markedly worse.
    seed : int or None; if given, the initial weights come from ``torch.manual_seed(seed)``
        without touching the global random state.
    deformable : None (the preset's deformable stages) or 4 bools, one per backbone stage, as
        for :class:`radarode_lite.models.RadarODEMTL`.
    """

    def __init__(self, preset="lite", width: int | None = None, seed: int | None = None, deformable=None):
        super().__init__()
        self.preset = get_model_preset(preset, deformable)
        if seed is not None:
            _checks.integer(seed, "seed")  # TypeError unless an int
        width = 2 * self.preset.anchor_width if width is None else width
        self.width = width
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(int(seed))
            self.backbone = Backbone(self.preset)
            self.decoder = WindowDecoder(self.backbone.feature_dim, width, int(round(WINDOW_S * FS)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Shared representation ``(B, D, T')`` of ``x (B, C, F, T)``."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        expected = self.preset.input_shape
        if not x.is_floating_point() or x.ndim != 4 or tuple(x.shape[1:]) != expected or x.shape[0] < 1:
            raise ValueError(f"x must be a float tensor of shape (B, {expected[0]}, {expected[1]}, {expected[2]}), "
                             f"got {x.dtype} {tuple(x.shape)}")  # fmt: skip
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))

    def shared_parameters(self) -> list[nn.Parameter]:
        """The backbone's parameters (the same backbone as radarODE-MTL's)."""
        return list(self.backbone.parameters())

    def count_parameters(self) -> dict[str, int]:
        """Trainable parameters of the backbone (``shared``), the decoder and in ``total``."""
        count = lambda ps: sum(p.numel() for p in ps if p.requires_grad)  # noqa: E731
        return {"shared": count(self.backbone.parameters()), "decoder": count(self.decoder.parameters()),
                "total": count(self.parameters())}  # fmt: skip


def train_direct(model, train_set, epochs=16, batch_size=32, lr=1e-3, seed=0, progress=False, schedule="constant",
                 final_lr_ratio=0.01, augment=None) -> dict:  # fmt: skip
    """Train a :class:`DirectRegression` to regress the reference ECG of each window (chapter 14).

    Mean squared error between the output and the reference 4-s ECG of the item's ``"ecg"``
    (:func:`~radarode_lite.studies.noise_conditions.ecg_reference`),
    minimised with Adam, one :func:`radarode_lite.train.run_epoch` per epoch (one task, equal
    weighting: the plain gradient of the MSE), the rate of each step set by
    :func:`radarode_lite.train.lr_factor` (``schedule``). Deterministic for a seed, like
    :func:`radarode_lite.train.train`: the batch order comes from a seeded ``torch.Generator``
    and any other draw from ``torch.manual_seed(seed)`` inside a forked random state.

    Parameters
    ----------
    model : :class:`DirectRegression`, trained in place.
    train_set : non-empty torch ``Dataset`` (or list) of items with ``"sst"`` (C, F, T) and
        ``"ecg"`` (800,) mV, e.g. a :class:`radarode_lite.data.SegmentDataset`.
    epochs, batch_size : int >= 1.
    lr : (peak) learning rate of Adam, > 0.
    seed : int >= 0.
    progress : show a tqdm bar over the epochs.
    schedule : ``"constant"`` or ``"cosine"`` (a half cosine to ``final_lr_ratio * lr`` at the last step).
    final_lr_ratio : in [0, 1].
    augment : None, or ``augment({"sst": x}, generator) -> {"sst": x}`` applied to the input of
        every training batch (e.g. :class:`~radarode_lite.studies.noise_conditions.TrainingNoise`),
        drawing from the batch-order generator; the target ECG is left as it is.

    Returns
    -------
    dict with ``"train_loss"`` (epoch-mean MSE per epoch, each batch weighted by its size; a lone
    last item trained with the one before it counts twice) and ``"epoch_s"`` (wall time per epoch, s).
    """
    from tqdm.auto import tqdm

    from radarode_lite.mtl.methods import get_method
    from radarode_lite.train import lr_factor, run_epoch

    if not isinstance(model, DirectRegression):
        raise TypeError(f"model must be a DirectRegression, got {type(model).__name__}")
    epochs, batch_size = _checks.integer(epochs, "epochs", low=1), _checks.integer(batch_size, "batch_size", low=1)
    seed = _checks.integer(seed, "seed", low=0)
    lr = _checks.positive(lr, "lr")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be None or a callable (batch, generator) -> batch, got {augment!r}")
    items = _items(train_set, "train_set")
    sst = torch.stack([torch.as_tensor(it["sst"], dtype=torch.float32) for it in items])
    target = torch.as_tensor(ecg_reference(np.stack([np.asarray(it["ecg"], dtype=np.float64) for it in items])),
                             dtype=torch.float32)  # fmt: skip
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    total = epochs * -(-len(items) // batch_size)  # ceil(n / batch_size) steps per epoch
    lr_factor(0, total, 0, schedule, final_lr_ratio)  # checks schedule and final_lr_ratio
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: lr_factor(min(s, total - 1), total, 0, schedule,
                                                                                 final_lr_ratio))  # fmt: skip
    device = next(model.parameters()).device
    method, shared = get_method("ew", n_tasks=1), list(model.parameters())

    def compute_losses(net, idx):
        x = sst[idx] if augment is None else augment({"sst": sst[idx]}, generator)["sst"]
        return [F.mse_loss(net(x.to(device)), target[idx].to(device))], None, idx.numel()

    history = {"train_loss": [], "epoch_s": []}
    was_training = model.training
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for _ in tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress):
            began = time.perf_counter()
            order = torch.randperm(len(items), generator=generator)
            result = run_epoch(model, _direct_batches(order, batch_size), compute_losses, method, optimiser, shared,
                               scheduler=scheduler)  # fmt: skip
            history["train_loss"].append(result["loss"][0])
            history["epoch_s"].append(time.perf_counter() - began)
    model.train(was_training)
    return history


def _direct_batches(order, batch_size) -> list[torch.Tensor]:
    """The mini-batches (item indices) of one epoch in the shuffled ``order``; a lone last item is
    folded in with the one before it (BatchNorm needs two samples), which then counts twice."""
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        if idx.numel() == 1 and len(order) > 1:
            idx = order[start - 1 : start + 1]
        batches.append(idx)
    return batches


def predict_direct(model, sst, batch_size=64) -> np.ndarray:
    """The 4-s ECG windows a :class:`DirectRegression` predicts for spectrograms ``sst (N, C, F, T)``.

    Runs in evaluation mode without gradients (the mode is restored). Returns ``(N, 800)``
    float64 on the scale of :func:`~radarode_lite.studies.noise_conditions.ecg_reference`.
    """
    if not isinstance(model, DirectRegression):
        raise TypeError(f"model must be a DirectRegression, got {type(model).__name__}")
    x = _sst_tensor(sst)
    batch_size = _checks.integer(batch_size, "batch_size", low=1)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out).double().numpy()


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _sst_tensor(sst) -> torch.Tensor:
    if isinstance(sst, torch.Tensor):
        x = sst.detach().float().cpu()
    else:
        try:
            x = torch.as_tensor(np.asarray(sst, dtype=np.float32))
        except (TypeError, ValueError):
            raise TypeError(f"sst must be an array (N, C, F, T), got {type(sst).__name__}") from None
    if x.ndim != 4 or x.shape[0] < 1:
        raise ValueError(f"sst must have shape (N, C, F, T) with N >= 1, got {tuple(x.shape)}")
    return x


def _items(dataset, name) -> list:
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError(f"{name} must be a torch Dataset or a list of segment items, got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"{name} is empty")
    items = [dataset[i] for i in range(len(dataset))]
    if not all(isinstance(it, Mapping) for it in items):
        raise TypeError(f"{name} must hold dict items (sst, ecg, ...)")
    return items
