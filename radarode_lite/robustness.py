r"""Noise robustness of three radar-to-ECG frameworks: Tables III and V of radarODE-MTL (chapter 14).

Zhang et al. (IEEE TIM 2025, Section V) compare three ways of turning a 4-s radar segment into
the 4-s ECG of the same time span, under two families of noise added to the radar signal:

- **constant noise**: white Gaussian noise over the whole recording at a given SNR (Table III:
  6, 3, 0, -1, -2, -3 dB): a radar pointed off the chest, a long distance, thermal noise;
- **abrupt noise**: one burst of white noise of 1, 2 or 3 s in a segment (Table V: 0 dB for a
  mild, -9 dB for an extensive body movement).

The three frameworks, as this module builds them on the book's network (:mod:`radarode_lite.models`):

- ``"mmecg"``, **direct regression** in the manner of MMECG (Chen et al., IEEE TMC 2022): the
  shared backbone plus a decoder that regresses all 800 samples of the 4-s ECG window
  (:class:`DirectRegression`, trained by :func:`train_direct`);
- ``"radarode"``, **single cycle** in the manner of radarODE (Zhang et al., 2024): the shape
  decoder with its ODE branch trained alone (one task); its beat is placed at the anchors found
  by signal processing on the radar segment (:func:`radarode_lite.timefreq.locate_anchors`)
  and stretched to the median interval between those anchors (:func:`reconstruct_single_cycle`);
- ``"radarode_mtl"``, **radarODE-MTL**: the three decoders trained together with EGA; the beat
  is stretched to the predicted cycle length and placed at the anchors of the predicted heat
  map, as chapter 13 does (:func:`reconstruct_mtl`).

Every framework is trained on clean data and tested on noisy copies of held-out recordings
(:func:`noisy_test_set`). Scores (:func:`ecg_metrics`) follow the paper's columns: RMSE and
PCC of the 4-s ECG, the R-peak error (ms) and the missed-detection rate (MDR, %), and
:math:`\Delta_m` of each framework against its own noise-free baseline (:func:`delta_m_pct`,
the four columns weighted equally). A framework *fails* under a condition when its PCC is
below 60 % (:func:`is_failure`), the paper's empirical criterion.
"""

from __future__ import annotations

import csv
import math
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from radarode_lite import _files, data, metrics, reconstruct, signals, timefreq
from radarode_lite._checks import finite_array as _finite
from radarode_lite._checks import positive as _positive
from radarode_lite._checks import real_number as _real
from radarode_lite.bookdata import book_file
from radarode_lite.models import Backbone, RadarODEMTL, get_model_preset

__all__ = [
    "FRAMEWORKS",
    "FRAMEWORK_LABELS",
    "CONSTANT_CONDITIONS",
    "ABRUPT_CONDITIONS",
    "GRID_CONDITIONS",
    "ABRUPT_FRACTION",
    "METRIC_COLUMNS",
    "HIGHER_IS_BETTER",
    "FAIL_PCC_PCT",
    "CYCLE_RANGE_S",
    "FALLBACK_CYCLE_S",
    "parse_condition",
    "condition_tag",
    "ecg_reference",
    "WindowDecoder",
    "DirectRegression",
    "train_direct",
    "predict_direct",
    "in_memory",
    "train_framework",
    "build_model",
    "save_model",
    "load_model",
    "TestSet",
    "noisy_test_set",
    "radar_anchors",
    "predict_outputs",
    "anchor_scores",
    "reconstruct_direct",
    "reconstruct_single_cycle",
    "reconstruct_mtl",
    "reconstruct_ecg",
    "ecg_metrics",
    "delta_m_pct",
    "is_failure",
    "aggregate",
    "read_paper_tables",
]

#: The three frameworks of Tables III and V, in the paper's order.
FRAMEWORKS = ("mmecg", "radarode", "radarode_mtl")
#: Names of the frameworks in the paper's tables.
FRAMEWORK_LABELS = {"mmecg": "MMECG", "radarode": "radarODE", "radarode_mtl": "radarODE-MTL"}

#: Constant-noise conditions of Table III (SNR in dB).
CONSTANT_CONDITIONS = ("snr:6", "snr:3", "snr:0", "snr:-1", "snr:-2", "snr:-3")
#: Abrupt-noise conditions of Table V: ``abrupt:SNR_DB:SECONDS:FRACTION``, mild (0 dB) and
#: extensive (-9 dB) bursts of 1, 2 and 3 s, in every test segment (fraction 1).
ABRUPT_CONDITIONS = ("abrupt:0:1:1", "abrupt:0:2:1", "abrupt:0:3:1",
                     "abrupt:-9:1:1", "abrupt:-9:2:1", "abrupt:-9:3:1")  # fmt: skip
#: The whole grid of chapter 14: the noise-free baseline first.
GRID_CONDITIONS = ("clean",) + CONSTANT_CONDITIONS + ABRUPT_CONDITIONS

#: Default fraction of segments that get a burst when a condition name gives none (the same
#: default as ``data_scripts/train.py --noise abrupt:DB:SECONDS``).
ABRUPT_FRACTION = 0.2

#: The four columns of Tables III and V, in their order.
METRIC_COLUMNS = ("rmse", "pcc_pct", "peak_error_ms", "mdr_pct")
#: Whether a higher value of each column is better.
HIGHER_IS_BETTER = {"rmse": False, "pcc_pct": True, "peak_error_ms": False, "mdr_pct": False}
#: The paper's failure criterion: an ECG recovery with a PCC below 60 % has failed.
FAIL_PCC_PCT = 60.0
#: Cycle lengths (s) used for stitching are clipped to this range (200 to 46 bpm).
CYCLE_RANGE_S = (0.3, 1.3)
#: Cycle length (s) of the single-cycle framework when a segment has fewer than two anchors.
FALLBACK_CYCLE_S = 0.8

_MIN_BURST_GAP_S = 4.0  # bursts of windows transformed together lie at least this far apart
_PAPER_SNR = {"baseline": "clean", "6 dB": "snr:6", "3 dB": "snr:3", "0 dB": "snr:0", "-1 dB": "snr:-1",
              "-2 dB": "snr:-2", "-3 dB": "snr:-3"}  # fmt: skip
_PAPER_MOVEMENT = {"mild (0 dB)": 0, "extensive (-9 dB)": -9}


# ---------------------------------------------------------------------------------------
# Noise conditions
# ---------------------------------------------------------------------------------------


def parse_condition(condition) -> dict:
    """A noise condition by name, checked and written out (chapter 14).

    Names (the syntax of ``data_scripts/train.py --noise``):

    - ``"clean"``: no added noise (the baseline);
    - ``"snr:DB"``: constant white noise at ``DB`` dB relative to each radar channel's cardiac
      part (:func:`radarode_lite.data.add_radar_noise`);
    - ``"abrupt:DB:SECONDS[:FRACTION]"``: one burst of ``SECONDS`` s (0 < SECONDS <= 4) at
      ``DB`` dB in a ``FRACTION`` of the test segments (default :data:`ABRUPT_FRACTION`;
      the grid uses 1, every segment).

    Parameters
    ----------
    condition : str, or a dict returned by this function (its ``"name"`` is parsed again).

    Returns
    -------
    dict with ``name`` (canonical: numbers written with ``%g``), ``family`` (``"clean"``,
    ``"constant"`` or ``"abrupt"``), ``snr_db`` (dB or None), ``duration_s`` (s or None) and
    ``fraction`` (or None).
    """
    if isinstance(condition, Mapping):
        if "name" not in condition:
            raise ValueError(f"a condition dict must hold a 'name', got {dict(condition)!r}")
        condition = condition["name"]
    if not isinstance(condition, str):
        raise TypeError(f"condition must be a string such as 'snr:-3', got {type(condition).__name__}")
    parts = condition.strip().lower().split(":")
    try:
        numbers = [float(p) for p in parts[1:]]
    except ValueError:
        numbers = None
    ok = numbers is not None and all(math.isfinite(v) for v in numbers)
    if parts == ["clean"]:
        return {"name": "clean", "family": "clean", "snr_db": None, "duration_s": None, "fraction": None}
    if parts[0] == "snr" and ok and len(numbers) == 1:
        return {"name": f"snr:{numbers[0]:g}", "family": "constant", "snr_db": numbers[0], "duration_s": None,
                "fraction": None}  # fmt: skip
    if parts[0] == "abrupt" and ok and len(numbers) in (2, 3):
        snr_db, seconds = numbers[:2]
        fraction = numbers[2] if len(numbers) == 3 else ABRUPT_FRACTION
        if not 0.0 < seconds <= data.WINDOW_S:
            raise ValueError(f"condition {condition!r}: the burst must last more than 0 and at most "
                             f"{data.WINDOW_S:g} s, got {seconds:g}")  # fmt: skip
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"condition {condition!r}: the fraction of segments must lie in [0, 1], got {fraction:g}")
        return {"name": f"abrupt:{snr_db:g}:{seconds:g}:{fraction:g}", "family": "abrupt", "snr_db": snr_db,
                "duration_s": seconds, "fraction": fraction}  # fmt: skip
    raise ValueError(f"condition must be 'clean', 'snr:DB' or 'abrupt:DB:SECONDS[:FRACTION]', got {condition!r}")


def condition_tag(condition) -> str:
    """File-name form of a condition: ``"snr:-3"`` -> ``"snr_-3"``, ``"abrupt:-9:3:1"`` -> ``"abrupt_-9_3_1"``."""
    return parse_condition(condition)["name"].replace(":", "_")


# ---------------------------------------------------------------------------------------
# The reference 4-s ECG
# ---------------------------------------------------------------------------------------


def ecg_reference(ecg, fs=data.FS):
    """The 4-s ECG every framework is scored against: baseline removed, min-max normalised (chapter 14).

    The reconstructions of the single-cycle frameworks are built from beats on the min-max
    normalised scale of the ``shape`` targets, [0, 1], without baseline wander; the direct
    regression is trained on this very reference. So that all three are compared on one
    scale: the baseline, estimated by two median filters of 0.2 s and 0.6 s in a row (the
    usual ECG baseline estimate, de Chazal et al., IEEE TBME 2004), is subtracted, and each
    window is mapped to [0, 1] by its minimum and maximum. RMSE is then in these normalised
    units, not mV.

    Parameters
    ----------
    ecg : (W,) or (N, W) ECG windows, mV, finite, each not constant; W >= 2.
    fs : Hz, > 0.

    Returns
    -------
    float64 array of the shape of ``ecg``, each row in [0, 1].
    """
    x = _finite(ecg, "ecg")
    if x.ndim not in (1, 2) or x.shape[-1] < 2:
        raise ValueError(f"ecg must have shape (W,) or (N, W) with W >= 2 samples, got {x.shape}")
    fs = _positive(fs, "fs")
    rows = np.atleast_2d(x)
    short = max(1, int(round(0.2 * fs)) | 1)
    long = max(1, int(round(0.6 * fs)) | 1)
    baseline = ndimage.median_filter(ndimage.median_filter(rows, size=(1, short), mode="nearest"),
                                     size=(1, long), mode="nearest")  # fmt: skip
    y = rows - baseline
    low, high = y.min(axis=1, keepdims=True), y.max(axis=1, keepdims=True)
    if np.any(high - low <= 0):
        raise ValueError("ecg has a window without variation; it cannot be normalised")
    out = (y - low) / (high - low)
    return out[0] if x.ndim == 1 else out


# ---------------------------------------------------------------------------------------
# (a) Direct regression
# ---------------------------------------------------------------------------------------


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
        for name, value, low in (("feature_dim", feature_dim, 1), ("width", width, 1), ("n_samples", n_samples, 2)):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
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
    :class:`WindowDecoder` -> ``(B, 800)``, the ECG window on the scale of :func:`ecg_reference`.
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
    """

    def __init__(self, preset="lite", width: int | None = None, seed: int | None = None):
        super().__init__()
        self.preset = get_model_preset(preset)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        width = 2 * self.preset.anchor_width if width is None else width
        self.width = width
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(int(seed))
            self.backbone = Backbone(self.preset)
            self.decoder = WindowDecoder(self.backbone.feature_dim, width, int(round(data.WINDOW_S * data.FS)))

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


def train_direct(model, train_set, epochs=12, batch_size=32, lr=1e-3, seed=0, progress=False) -> dict:
    """Train a :class:`DirectRegression` to regress :func:`ecg_reference` of each window (chapter 14).

    Mean squared error between the output and the reference 4-s ECG of the item's ``"ecg"``,
    minimised with Adam. Deterministic for a seed, like :func:`radarode_lite.train.train`: the
    batch order comes from a seeded ``torch.Generator`` and any other draw from
    ``torch.manual_seed(seed)`` inside a forked random state.

    Parameters
    ----------
    model : :class:`DirectRegression`, trained in place.
    train_set : non-empty torch ``Dataset`` (or list) of items with ``"sst"`` (C, F, T) and
        ``"ecg"`` (800,) mV, e.g. a :class:`radarode_lite.data.SegmentDataset`.
    epochs, batch_size : int >= 1.
    lr : learning rate of Adam, > 0.
    seed : int >= 0.
    progress : show a tqdm bar over the epochs.

    Returns
    -------
    dict with ``"train_loss"`` (epoch-mean MSE per epoch) and ``"epoch_s"`` (wall time per epoch, s).
    """
    if not isinstance(model, DirectRegression):
        raise TypeError(f"model must be a DirectRegression, got {type(model).__name__}")
    epochs, batch_size = _int_at_least(epochs, "epochs", 1), _int_at_least(batch_size, "batch_size", 1)
    seed = _int_at_least(seed, "seed", 0)
    lr = _positive(lr, "lr")
    items = _items(train_set, "train_set")
    sst = torch.stack([torch.as_tensor(it["sst"], dtype=torch.float32) for it in items])
    target = torch.as_tensor(ecg_reference(np.stack([np.asarray(it["ecg"], dtype=np.float64) for it in items])),
                             dtype=torch.float32)  # fmt: skip
    device = next(model.parameters()).device
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"train_loss": [], "epoch_s": []}
    from tqdm.auto import tqdm

    was_training = model.training
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress):
            began = time.perf_counter()
            order = torch.randperm(len(items), generator=generator)
            total = 0.0
            for start in range(0, len(items), batch_size):
                idx = order[start : start + batch_size]
                if idx.numel() == 1 and len(items) > 1:  # BatchNorm needs two samples; fold a lone one in
                    idx = order[start - 1 : start + 1]
                out = model(sst[idx].to(device))
                loss = F.mse_loss(out, target[idx].to(device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += loss.item() * idx.numel()
            history["train_loss"].append(total / len(items))
            history["epoch_s"].append(time.perf_counter() - began)
    model.train(was_training)
    return history


def predict_direct(model, sst, batch_size=64) -> np.ndarray:
    """The 4-s ECG windows a :class:`DirectRegression` predicts for spectrograms ``sst (N, C, F, T)``.

    Runs in evaluation mode without gradients (the mode is restored). Returns ``(N, 800)``
    float64 on the scale of :func:`ecg_reference`.
    """
    if not isinstance(model, DirectRegression):
        raise TypeError(f"model must be a DirectRegression, got {type(model).__name__}")
    x = _sst_tensor(sst)
    batch_size = _int_at_least(batch_size, "batch_size", 1)
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
# Training the three frameworks
# ---------------------------------------------------------------------------------------


def in_memory(dataset) -> list[dict]:
    """The tensors of every item of ``dataset`` (``sst``, ``shape``, ``ppi``, ``anchor``, ``ecg``) in a list.

    Training reads each segment once per epoch; holding the small lite data set in memory
    saves reading the files again. The list is a valid data set for
    :func:`radarode_lite.train.train` and :func:`train_direct`.
    """
    items = _items(dataset, "dataset")
    keys = ("sst", "shape", "ppi", "anchor", "ecg")
    out = []
    for it in items:
        missing = [k for k in keys if k not in it]
        if missing:
            raise ValueError(f"dataset items must hold {keys}, an item lacks {missing}")
        out.append({k: torch.as_tensor(it[k]) for k in keys})
    return out


def train_framework(framework, train_set, epochs=12, seed=0, preset="lite", batch_size=32, lr=None,
                    progress=False) -> tuple[nn.Module, dict]:  # fmt: skip
    """Build and train one framework on clean segments; return the model and a record of the training.

    - ``"mmecg"``: :class:`DirectRegression` with :func:`train_direct`;
    - ``"radarode"``: :class:`radarode_lite.models.RadarODEMTL` (ODE branch on) trained on the
      shape task alone, :func:`radarode_lite.train.train_single_task`;
    - ``"radarode_mtl"``: the same network trained on the three tasks with EGA
      (:func:`radarode_lite.train.train`, ``method="ega"``, the gradient taken with respect to
      the shared representation, warm-up epoch ``min(4, epochs // 4)``, temperature 1).

    Parameters
    ----------
    framework : one of :data:`FRAMEWORKS`.
    train_set : torch ``Dataset`` or list of segment items (see :func:`in_memory`).
    epochs, batch_size : int >= 1.
    seed : int >= 0: initial weights and batch order.
    preset : network size, ``"lite"`` or ``"paper"`` (must match the spectrograms).
    lr : Adam's learning rate; None for 1e-3.
    progress : show a progress bar.

    Returns
    -------
    (model, record): ``record`` holds ``framework``, ``method``, ``method_kwargs``, ``tasks``,
    ``train_loss`` (per task, per epoch), ``train_s`` (s) and ``parameters``.
    """
    from radarode_lite import train as training

    framework = _framework(framework)
    epochs, batch_size = _int_at_least(epochs, "epochs", 1), _int_at_least(batch_size, "batch_size", 1)
    seed = _int_at_least(seed, "seed", 0)
    lr = 1e-3 if lr is None else _positive(lr, "lr")
    began = time.perf_counter()
    model = build_model(framework, preset, seed=seed)
    if framework == "mmecg":
        history = train_direct(model, train_set, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                               progress=progress)  # fmt: skip
        record = {"method": "mse", "method_kwargs": {}, "tasks": ["ecg"], "train_loss": {"ecg": history["train_loss"]}}
    else:
        if framework == "radarode":
            history = training.train_single_task(model, train_set, "shape", epochs=epochs, batch_size=batch_size,
                                                 lr=lr, seed=seed, progress=progress)  # fmt: skip
            kwargs = {}
        else:
            kwargs = {"gradients": "representation", "warmup_epoch": min(4, epochs // 4), "temperature": 1.0}
            history = training.train(model, train_set, tasks=("shape", "anchor", "ppi"), method="ega",
                                     method_kwargs=kwargs, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                     progress=progress)  # fmt: skip
        record = {"method": history.method, "method_kwargs": kwargs, "tasks": list(history.tasks),
                  "train_loss": history.train_loss}  # fmt: skip
    record.update(framework=framework, train_s=time.perf_counter() - began, parameters=model.count_parameters())
    return model, record


def build_model(framework, preset="lite", seed=None) -> nn.Module:
    """A fresh, untrained network of one framework: :class:`DirectRegression` for ``"mmecg"``,
    :class:`radarode_lite.models.RadarODEMTL` with its ODE branch for the other two."""
    framework = _framework(framework)
    if framework == "mmecg":
        return DirectRegression(preset, seed=seed)
    return RadarODEMTL(preset, use_ode=True, seed=seed)


def save_model(path, framework, model, config=None) -> Path:
    """Store a trained framework's weights as ``{"format", "framework", "preset", "config", "state_dict"}``.

    Loadable with :func:`load_model` (``torch.load(..., weights_only=True)`` underneath);
    ``config`` is a JSON-like dict of how the model was trained. Written atomically.
    """
    framework = _framework(framework)
    if not isinstance(model, (DirectRegression, RadarODEMTL)):
        raise TypeError(f"model must be a DirectRegression or a RadarODEMTL, got {type(model).__name__}")
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict or None, got {type(config).__name__}")
    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"path must end in .pt, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if (framework == "mmecg") != isinstance(model, DirectRegression):
        raise ValueError(f"framework {framework!r} does not match a model of type {type(model).__name__}")
    checkpoint = {"format": 1, "framework": framework, "preset": model.preset.name, "config": dict(config or {}),
                  "width": getattr(model, "width", None), "state_dict": state}  # fmt: skip
    size = sum(v.numel() * v.element_size() for v in state.values())
    return _files.atomic_write(path, lambda tmp: torch.save(checkpoint, tmp), size_hint=size)


def load_model(path) -> tuple[nn.Module, dict]:
    """A framework's network from a file of :func:`save_model`, in evaluation mode, and the file's ``config``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: pickle, zip and torch errors alike
        raise ValueError(f"{str(path)!r} is not a readable model file ({type(exc).__name__}); save it again") from None
    if not isinstance(checkpoint, dict) or not {"framework", "preset", "state_dict"} <= set(checkpoint):
        raise ValueError(f"{str(path)!r} is not a model file of save_model")
    try:
        if checkpoint["framework"] == "mmecg":
            model = DirectRegression(checkpoint["preset"], width=checkpoint.get("width"))
        else:
            model = build_model(checkpoint["framework"], checkpoint["preset"])
        model.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{str(path)!r} holds weights that do not fit its network: {first}") from None
    model.eval()
    return model, dict(checkpoint.get("config", {}))


# ---------------------------------------------------------------------------------------
# Noisy test sets
# ---------------------------------------------------------------------------------------


@dataclass
class TestSet:
    """Noisy copies of held-out segments: what every framework sees, and the truth (chapter 14).

    ``N`` segments of ``W = 800`` samples (4 s at 200 Hz); ``C, F, T`` the preset's input shape.

    Attributes
    ----------
    condition : dict of :func:`parse_condition`.
    sst : (N, C, F, T) float32, network inputs of the noisy radar signal.
    radar : (N, C, W) float64, the noisy radar phase (rad) of the preset's channels in each
        segment, for signal processing (:func:`radar_anchors`).
    ecg : (N, W) float64, the true ECG of each segment, mV.
    reference : (N, W) float64, :func:`ecg_reference` of ``ecg``.
    r_peaks_s : N arrays, true R peaks in each segment, s from its start.
    recordings : N recording names; start_s : (N,) segment starts in s in their recordings.
    bursts : N entries, None or ``{"start_s", "duration_s", "snr_db"}`` (start from the
        segment start) of the segment's burst of abrupt noise.
    fs : Hz.
    """

    __test__ = False  # not a pytest test class

    condition: dict
    sst: np.ndarray
    radar: np.ndarray
    ecg: np.ndarray
    reference: np.ndarray
    r_peaks_s: list
    recordings: list
    start_s: np.ndarray
    bursts: list = field(default_factory=list)
    fs: float = data.FS

    def __len__(self) -> int:
        return int(self.sst.shape[0])


def noisy_test_set(dataset, condition, seed=0, segments=None) -> TestSet:
    """Noisy copies of the segments of ``dataset`` under a noise condition (chapter 14).

    The clean radar channels of each recording are read from its MMECG ``.mat`` file
    (:func:`radarode_lite.data.load_mmecg_mat`), the preset's channels kept
    (:func:`radarode_lite.timefreq.select_channels`), the noise added, and every segment's
    input computed exactly as the data set's own (:func:`radarode_lite.timefreq.spectrogram`
    of the whole recording, the segment's 120 frames sliced and normalised per channel): with
    ``"clean"`` the inputs equal the stored ones.

    - ``snr:DB``: :func:`radarode_lite.data.add_radar_noise` on the whole recording (noise
      power relative to each channel's cardiac part).
    - ``abrupt:DB:SECONDS:FRACTION``: a ``FRACTION`` of each recording's segments, drawn at
      random, each get one burst of ``SECONDS`` s at a uniformly random place inside the
      segment, at ``DB`` dB relative to the channel's cardiac power over the recording
      (:func:`radarode_lite.signals.add_abrupt_noise`), as
      :func:`radarode_lite.data.segment_recording` defines abrupt noise. A segment sees its
      own burst only. To spare spectrograms, segments whose starts lie at least 8 s apart
      share one transform of the recording with all their bursts: the others are then at
      least 4 s outside the segment. (Against a transform with the segment's burst alone, the
      inputs differ by about 6e-4 on average, at most a few hundredths, on their [0, 1] scale.)

    The noise of each recording (and each segment's burst) comes from its own random stream,
    ``numpy.random.SeedSequence([seed, crc32(condition name), trial, segment])``: the same
    for every framework and every training seed, and independent of ``segments``.

    Parameters
    ----------
    dataset : :class:`radarode_lite.data.SegmentDataset` whose recordings have their ``.mat``
        files (data sets of :func:`radarode_lite.data.generate_dataset` with ``save_mat=True``,
        e.g. :func:`radarode_lite.train.book_dataset`).
    condition : a name or dict accepted by :func:`parse_condition`.
    seed : int >= 0, seed of the noise.
    segments : None (all) or indices of items of ``dataset`` to keep, in that order.

    Returns
    -------
    :class:`TestSet`.
    """
    if not isinstance(dataset, data.SegmentDataset):
        raise TypeError(f"dataset must be a radarode_lite.data.SegmentDataset, got {type(dataset).__name__}")
    cond = parse_condition(condition)
    seed = _int_at_least(seed, "seed", 0)
    if segments is None:
        chosen = list(range(len(dataset)))
    else:
        if isinstance(segments, (str, bytes)) or not isinstance(segments, (Sequence, np.ndarray)):
            raise TypeError(f"segments must be None or a sequence of item indices, got {type(segments).__name__}")
        chosen = [_int_at_least(i, "segments", 0) for i in segments]
        if not chosen:
            raise ValueError("segments must select at least one item")
        bad = [i for i in chosen if i >= len(dataset)]
        if bad:
            raise ValueError(f"segments {bad} are out of range for a data set of {len(dataset)} items")
    spec = timefreq.get_preset(dataset.preset)
    fs = data.FS
    n_win = int(round(spec.window_s * fs))
    crc = zlib.crc32(cond["name"].encode())
    wanted: dict[int, list[int]] = {}
    for i in chosen:
        j, k = dataset.index[i]
        wanted.setdefault(j, []).append(k)
    found: dict[tuple, dict] = {}
    for j, windows in wanted.items():
        rec = dataset.records[j]
        if not rec.get("mat"):
            raise ValueError(f"recording {rec['name']!r} has no .mat file; generate the data set with save_mat=True")
        mat = data.load_mmecg_mat(Path(dataset.root) / rec["mat"])
        x = timefreq.select_channels(np.ascontiguousarray(np.asarray(mat["RCG"], dtype=np.float64).T), spec.n_channels)
        ecg = np.asarray(mat["ECG"], dtype=np.float64).ravel()
        starts = np.asarray(rec["start_s"], dtype=float)
        trial = int(rec.get("trial", j))
        if cond["family"] == "constant":
            rng = np.random.default_rng(np.random.SeedSequence([seed, crc, trial]))
            x = data.add_radar_noise(x.T, cond["snr_db"], fs, rng=rng).T
        bursts = _draw_bursts(cond, starts, spec.window_s, seed, crc, trial) if cond["family"] == "abrupt" else {}
        plain = [k for k in sorted(set(windows)) if k not in bursts]
        hit = [k for k in sorted(set(windows)) if k in bursts]
        groups = ([plain] if plain else []) + _spaced_groups(hit, starts, spec.window_s)
        cardiac = None
        for group in groups:
            noisy = x
            if group[0] in bursts:
                if cardiac is None:
                    cardiac = _cardiac_part(x, fs)
                noisy = x.copy()
                for k in group:
                    if k in bursts:
                        b = bursts[k]
                        burst = signals.add_abrupt_noise(cardiac, fs, b["duration_s"], b["snr_db"], rng=b["rng"],
                                                         start_s=starts[k] + b["start_s"], axis=-1)  # fmt: skip
                        noisy += burst - cardiac  # the burst alone
            full = timefreq.spectrogram(noisy, fs, spec)
            for k in group:
                i0 = int(round(starts[k] * fs))
                f0 = int(round(starts[k] * spec.frame_rate_hz))
                if i0 + n_win > noisy.shape[1] or f0 + spec.n_frames > full.shape[-1]:
                    raise ValueError(f"segment {k} of {rec['name']!r} reaches past the end of its recording")
                found[(j, k)] = {
                    "sst": timefreq.normalise_per_channel(full[:, :, f0 : f0 + spec.n_frames]),
                    "radar": noisy[:, i0 : i0 + n_win].copy(),
                    "ecg": ecg[i0 : i0 + n_win].copy(),
                    "r_peaks_s": np.asarray(rec["r_peaks_s"][k], dtype=float),
                    "recording": rec["name"],
                    "start_s": float(starts[k]),
                    "burst": None if k not in bursts else {key: bursts[k][key] for key in ("start_s", "duration_s",
                                                                                              "snr_db")},
                }  # fmt: skip
    parts = [found[dataset.index[i]] for i in chosen]
    ecg = np.stack([p["ecg"] for p in parts])
    return TestSet(
        condition=cond,
        sst=np.stack([p["sst"] for p in parts]).astype(np.float32),
        radar=np.stack([p["radar"] for p in parts]),
        ecg=ecg,
        reference=ecg_reference(ecg, fs),
        r_peaks_s=[p["r_peaks_s"] for p in parts],
        recordings=[p["recording"] for p in parts],
        start_s=np.asarray([p["start_s"] for p in parts]),
        bursts=[p["burst"] for p in parts],
        fs=fs,
    )


def radar_anchors(test_set, **kwargs) -> list[np.ndarray]:
    """Anchors found by signal processing in each segment's noisy radar signal (chapter 14).

    :func:`radarode_lite.timefreq.locate_anchors` on the ``(C, 800)`` radar window of every
    segment: the band energy of the SST around the anchor vibration, averaged over channels,
    and its maxima; no learning. This is how the single-cycle framework places its beats.

    Parameters
    ----------
    test_set : :class:`TestSet`.
    **kwargs : passed to :func:`radarode_lite.timefreq.locate_anchors`.

    Returns
    -------
    list of N arrays of anchor times in s from each segment's start.
    """
    _check_test_set(test_set)
    return [timefreq.locate_anchors(window, test_set.fs, **kwargs) for window in test_set.radar]


# ---------------------------------------------------------------------------------------
# Reconstructing the 4-s ECG
# ---------------------------------------------------------------------------------------


def predict_outputs(model, test_set, tasks=("shape", "anchor", "ppi"), batch_size=64) -> dict:
    """The outputs of a :class:`radarode_lite.models.RadarODEMTL` on the inputs of a :class:`TestSet`.

    :func:`radarode_lite.train.predict` on ``test_set.sst``: ``"shape"`` (N, 200), ``"anchor"``
    (N, 800), ``"ppi"`` (N,) samples and ``"ppi_logits"`` for the requested ``tasks``.
    """
    from radarode_lite import train as training

    _check_model(model)
    _check_test_set(test_set)
    return training.predict(model, _sst_items(test_set.sst), batch_size=batch_size, tasks=tasks)


def anchor_scores(anchors, r_peaks_s, tolerance_s=metrics.MATCH_TOLERANCE_S) -> dict:
    """Timing error (ms) and missed-detection rate (%) of per-segment anchors against the true R peaks.

    In every segment the anchors are matched one-to-one with the true R peaks within
    ``tolerance_s`` (:func:`radarode_lite.metrics.match_peaks`); ``timing_error_ms`` is the mean
    absolute time difference over all matched pairs of all segments (NaN if none) and ``mdr_pct``
    the percentage of true R peaks left without a partner.

    Parameters
    ----------
    anchors, r_peaks_s : lists of N arrays of times in s from each segment's start.
    tolerance_s : s, > 0.
    """
    if isinstance(r_peaks_s, (str, bytes)) or not isinstance(r_peaks_s, Sequence):
        raise TypeError(f"r_peaks_s must be a list of arrays of times in s, got {type(r_peaks_s).__name__}")
    true = _anchor_list(r_peaks_s, len(r_peaks_s), "r_peaks_s")
    found = _anchor_list(anchors, len(true), "anchors")
    tolerance_s = _positive(tolerance_s, "tolerance_s")
    errors, n_true, n_matched = [], 0, 0
    for f, r in zip(found, true):
        if r.size:
            ip, it = metrics.match_peaks(f, r, tolerance_s)
            errors.extend(np.abs(f[ip] - r[it]).tolist())
            n_true, n_matched = n_true + r.size, n_matched + it.size
    return {"timing_error_ms": 1000.0 * float(np.mean(errors)) if errors else float("nan"),
            "mdr_pct": 100.0 * (1.0 - n_matched / n_true) if n_true else float("nan")}  # fmt: skip


def reconstruct_direct(model, test_set, batch_size=64) -> np.ndarray:
    """(a) The 4-s ECG regressed directly by a :class:`DirectRegression`: ``(N, 800)``."""
    _check_test_set(test_set)
    return predict_direct(model, test_set.sst, batch_size)


def reconstruct_single_cycle(model, test_set, anchors=None, batch_size=64) -> np.ndarray:
    """(b) radarODE-style 4-s ECG: the predicted beat placed at anchors from signal processing.

    The network's shape decoder gives one normalised beat per segment
    (:func:`radarode_lite.train.predict`); the anchors come from the radar signal
    (:func:`radar_anchors`) and the cycle length is their median interval (clipped to
    :data:`CYCLE_RANGE_S`; :data:`FALLBACK_CYCLE_S` with fewer than two anchors). The beat is
    stretched to that length and placed with its R wave on every anchor
    (:func:`radarode_lite.reconstruct.stitch_beats`). A segment without any anchor gets a
    flat line (0): nothing is recovered.

    Parameters
    ----------
    model : :class:`radarode_lite.models.RadarODEMTL` (its shape decoder is used).
    test_set : :class:`TestSet`.
    anchors : None (computed with :func:`radar_anchors`) or a list of N arrays of anchor times, s.
    batch_size : int >= 1.

    Returns
    -------
    (N, 800) float64.
    """
    _check_model(model)
    _check_test_set(test_set)
    anchors = radar_anchors(test_set) if anchors is None else _anchor_list(anchors, len(test_set))
    shapes = predict_outputs(model, test_set, tasks=("shape",), batch_size=batch_size)["shape"]
    n_win, fs = test_set.reference.shape[1], test_set.fs
    out = np.zeros((len(test_set), n_win))
    for i, (shape, a) in enumerate(zip(shapes, anchors)):
        if a.size == 0:
            continue
        cycle_s = float(np.median(np.diff(a))) if a.size >= 2 else FALLBACK_CYCLE_S
        length = float(np.clip(cycle_s, *CYCLE_RANGE_S)) * fs
        out[i] = reconstruct.stitch_beats(np.repeat(shape[None], a.size, axis=0), a, np.full(a.size, length),
                                          n_samples=n_win, fs=fs)  # fmt: skip
    return out


def reconstruct_mtl(model, test_set, batch_size=64) -> np.ndarray:
    """(c) radarODE-MTL 4-s ECG: beat, anchors and cycle length all predicted, stitched as in chapter 13.

    For every segment the three outputs of :func:`radarode_lite.train.predict` (the beat, the
    heat map and the most probable cycle length, clipped to :data:`CYCLE_RANGE_S`) go through
    :func:`radarode_lite.reconstruct.reconstruct_from_windows` for that one window: anchors
    read off the heat map, the beat stretched and placed on each. A heat map without any
    anchor gives a flat line (0).

    Returns
    -------
    (N, 800) float64.
    """
    pred = predict_outputs(model, test_set, batch_size=batch_size)
    n_win, fs = test_set.reference.shape[1], test_set.fs
    lengths = np.clip(pred["ppi"].astype(float), CYCLE_RANGE_S[0] * fs, CYCLE_RANGE_S[1] * fs)
    out = np.zeros((len(test_set), n_win))
    for i in range(len(test_set)):
        window = {"shape": pred["shape"][i : i + 1], "anchor": pred["anchor"][i : i + 1], "ppi": lengths[i : i + 1]}
        if metrics.detect_anchors(pred["anchor"][i], fs=fs).size == 0:
            continue
        out[i], _ = reconstruct.reconstruct_from_windows(window, [0.0], n_win / fs, fs=fs)
    return out


def reconstruct_ecg(framework, model, test_set, anchors=None, batch_size=64) -> np.ndarray:
    """The 4-s ECG of every segment of ``test_set`` by one of :data:`FRAMEWORKS`: ``(N, 800)``.

    Dispatches to :func:`reconstruct_direct` (``"mmecg"``), :func:`reconstruct_single_cycle`
    (``"radarode"``, which takes ``anchors``) or :func:`reconstruct_mtl` (``"radarode_mtl"``).
    """
    framework = _framework(framework)
    if framework == "mmecg":
        return reconstruct_direct(model, test_set, batch_size)
    if framework == "radarode":
        return reconstruct_single_cycle(model, test_set, anchors, batch_size)
    return reconstruct_mtl(model, test_set, batch_size)


# ---------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------


def ecg_metrics(recon, reference, r_peaks_s, fs=data.FS, per_segment=False) -> dict:
    """The columns of Tables III and V for reconstructed 4-s ECGs (chapter 14).

    - ``rmse``: RMSE against ``reference`` (:func:`ecg_reference` units), mean over segments;
    - ``pcc_pct``: Pearson correlation in %, mean over segments (a flat reconstruction scores 0);
    - ``peak_error_ms``: R peaks are detected in each reconstruction like in a real ECG
      (:func:`radarode_lite.data.detect_r_peaks`) and matched one-to-one with the true ones
      within 150 ms (:func:`radarode_lite.metrics.match_peaks`); the mean absolute time
      error of all matched pairs, ms (NaN if none matched);
    - ``mdr_pct``: the percentage of true R peaks left without a partner;
    - ``n_segments``, ``n_beats`` (true R peaks) and ``n_flat`` (flat reconstructions).

    Parameters
    ----------
    recon, reference : (N, W) arrays, finite, W >= 200 (1 s at 200 Hz).
    r_peaks_s : N arrays of true R-peak times, s from each segment's start.
    fs : Hz.
    per_segment : also return ``"per_segment"``: per-segment ``rmse`` and ``pcc_pct`` lists.

    Returns
    -------
    dict of floats (and the per-segment lists).
    """
    recon = _finite(recon, "recon")
    reference = _finite(reference, "reference")
    if recon.ndim != 2 or recon.shape != reference.shape:
        raise ValueError(f"recon and reference must be 2-D arrays (N, W) of one shape, got {recon.shape} and "
                         f"{reference.shape}")  # fmt: skip
    fs = _positive(fs, "fs")
    peaks = _anchor_list(r_peaks_s, recon.shape[0], name="r_peaks_s")
    rmse = np.atleast_1d(metrics.rmse(recon, reference, axis=-1))
    pcc = 100.0 * np.atleast_1d(metrics.pcc(recon, reference, axis=-1))
    flat = np.ptp(recon, axis=1) <= 1e-12
    found = [np.zeros(0) if f else data.detect_r_peaks(row, fs) for row, f in zip(recon, flat)]
    peaks_found = anchor_scores(found, peaks)
    out = {
        "rmse": float(np.mean(rmse)),
        "pcc_pct": float(np.mean(pcc)),
        "peak_error_ms": peaks_found["timing_error_ms"],
        "mdr_pct": peaks_found["mdr_pct"],
        "n_segments": int(recon.shape[0]),
        "n_beats": int(sum(p.size for p in peaks)),
        "n_flat": int(flat.sum()),
    }
    if per_segment:
        out["per_segment"] = {"rmse": rmse.tolist(), "pcc_pct": pcc.tolist()}
    return out


def delta_m_pct(base, new) -> float:
    r"""Relative change :math:`\Delta_m` (%) of ``new`` against ``base`` over the four columns (chapter 14).

    :func:`radarode_lite.metrics.delta_m` with RMSE, PCC, peak error and MDR weighted equally
    (each its own task, which is the same as the two tasks of two metrics each that Tables III
    and V use): positive is better, 0 for the baseline itself. Lower is better for RMSE, peak
    error and MDR.

    Parameters
    ----------
    base, new : mappings holding :data:`METRIC_COLUMNS` as finite numbers (base non-zero).

    Returns
    -------
    float, %.
    """
    for name, arg in (("base", base), ("new", new)):
        if not isinstance(arg, Mapping):
            raise TypeError(f"{name} must be a mapping of the columns {METRIC_COLUMNS}, got {type(arg).__name__}")
        missing = [c for c in METRIC_COLUMNS if c not in arg]
        if missing:
            raise ValueError(f"{name} lacks the columns {missing}")
        for c in METRIC_COLUMNS:
            value = arg[c]
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
                raise ValueError(f"{name}[{c!r}] must be a finite number, got {value!r}")
    return metrics.delta_m({c: [float(base[c])] for c in METRIC_COLUMNS}, {c: [float(new[c])] for c in METRIC_COLUMNS},
                           {c: [HIGHER_IS_BETTER[c]] for c in METRIC_COLUMNS})  # fmt: skip


def is_failure(pcc_pct, threshold=FAIL_PCC_PCT) -> bool:
    """The paper's failure rule: an ECG recovery fails when its PCC (%) is below ``threshold`` (60 %).

    Parameters
    ----------
    pcc_pct : PCC in percent (a number in [-100, 100]), or a mapping holding ``"pcc_pct"``.
    threshold : %, default :data:`FAIL_PCC_PCT`.
    """
    if isinstance(pcc_pct, Mapping):
        if "pcc_pct" not in pcc_pct:
            raise ValueError("a mapping passed as pcc_pct must hold 'pcc_pct'")
        pcc_pct = pcc_pct["pcc_pct"]
    if isinstance(pcc_pct, bool) or not isinstance(pcc_pct, Real) or not math.isfinite(pcc_pct):
        raise ValueError(f"pcc_pct must be a finite number in percent, got {pcc_pct!r}")
    if not -100.0 - 1e-9 <= pcc_pct <= 100.0 + 1e-9:
        raise ValueError(f"pcc_pct must lie in [-100, 100] (percent, not a fraction), got {pcc_pct}")
    return bool(pcc_pct < _real(threshold, "threshold"))


def aggregate(records, columns=METRIC_COLUMNS + ("delta_m_pct",)) -> dict:
    """Mean and spread over seeds of stored results, per (framework, condition) (chapter 14).

    Parameters
    ----------
    records : results records (e.g. from :func:`radarode_lite.results.load_results`) whose
        ``config`` holds ``framework`` and ``condition`` (a dict with ``name``) and whose
        ``metrics`` hold ``columns``.
    columns : metric names to summarise.

    Returns
    -------
    ``{(framework, condition name): {column: {"mean", "spread", "values"}, "seeds": [...]}}``;
    ``spread`` is half the range (max - min) / 2 over the seeds, 0 for one seed; missing
    values (None, stored for NaN) are left out.
    """
    if isinstance(records, Mapping) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of results records, got {type(records).__name__}")
    groups: dict[tuple, list] = {}
    for rec in records:
        try:
            key = (rec["config"]["framework"], parse_condition(rec["config"]["condition"])["name"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a record lacks config['framework'] or config['condition']: {exc}") from None
        groups.setdefault(key, []).append(rec)
    out = {}
    for key, recs in groups.items():
        entry = {"seeds": sorted(int(r["seed"]) for r in recs)}
        for c in columns:
            values = [float(r["metrics"][c]) for r in recs if r["metrics"].get(c) is not None]
            if values:
                entry[c] = {"mean": float(np.mean(values)), "spread": float(np.ptp(values) / 2), "values": values}
            else:
                entry[c] = {"mean": float("nan"), "spread": float("nan"), "values": []}
        out[key] = entry
    return out


def read_paper_tables(folder=None) -> dict:
    """Tables III and V of the paper from ``folder`` (None: the book's ``paper`` folder, found by
    :func:`radarode_lite.bookdata.book_file`), keyed like :func:`aggregate`.

    Returns ``{(framework, condition name): {"rmse", "pcc_pct", "peak_error_ms", "mdr_pct",
    "delta_m_pct"}}`` (NaN for the run the paper reports as failed, radarODE at -3 dB); the
    conditions are named as in :data:`GRID_CONDITIONS` (the paper's RMSE is in mV).
    """
    folder = book_file("paper") if folder is None else Path(folder)
    files = {"table3_constant_noise.csv": "snr", "table5_abrupt_noise.csv": "movement"}
    for name in files:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"no {name} in {str(folder)!r}")
    labels = {v: k for k, v in FRAMEWORK_LABELS.items()}
    out = {}
    for name, kind in files.items():
        with open(folder / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if kind == "snr":
                    condition = _PAPER_SNR[row["snr"]]
                elif row["duration"] == "baseline":
                    condition = "clean"
                else:
                    seconds = int(row["duration"].split()[0])
                    condition = f"abrupt:{_PAPER_MOVEMENT[row['movement']]}:{seconds}:1"
                values = {c: float(row[c]) if row[c] else float("nan")
                          for c in ("rmse_mv", "pcc_pct", "peak_error_ms", "mdr_pct", "delta_m_pct")}  # fmt: skip
                values["rmse"] = values.pop("rmse_mv")
                out[(labels[row["framework"]], condition)] = values
    return out


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _draw_bursts(cond, starts, window_s, seed, crc, trial) -> dict:
    """Which segments of a recording get a burst, and where: ``{segment: {start_s, duration_s, snr_db, rng}}``."""
    n = len(starts)
    pick = np.random.default_rng(np.random.SeedSequence([seed, crc, trial]))
    count = int(round(cond["fraction"] * n))
    chosen = range(n) if count == n else np.sort(pick.choice(n, size=count, replace=False))
    out = {}
    for k in chosen:
        rng = np.random.default_rng(np.random.SeedSequence([seed, crc, trial, int(k)]))
        offset = float(rng.uniform(0.0, window_s - cond["duration_s"]))
        out[int(k)] = {"start_s": offset, "duration_s": cond["duration_s"], "snr_db": cond["snr_db"], "rng": rng}
    return out


def _spaced_groups(windows, starts, window_s) -> list[list[int]]:
    """Segments with bursts that can share one transform: starts at least ``window_s + 4 s`` apart."""
    groups: list[list[int]] = []
    for k in windows:
        for g in groups:
            if starts[k] - starts[g[-1]] >= window_s + _MIN_BURST_GAP_S - 1e-9:
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


def _cardiac_part(x, fs):
    """Radar channels ``(C, N)`` high-passed at ``data.CARDIAC_HIGHPASS_HZ`` (the reference of every SNR)."""
    from scipy import signal as sps

    sos = sps.butter(4, data.CARDIAC_HIGHPASS_HZ, btype="high", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=-1)


def _sst_items(sst) -> list[dict]:
    x = _sst_tensor(sst)
    return [{"sst": s} for s in x]


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


def _check_test_set(test_set) -> None:
    if not isinstance(test_set, TestSet):
        raise TypeError(f"test_set must be a TestSet (from noisy_test_set), got {type(test_set).__name__}")


def _check_model(model) -> None:
    if not isinstance(model, RadarODEMTL):
        raise TypeError(f"model must be a RadarODEMTL, got {type(model).__name__}")


def _anchor_list(values, n, name="anchors") -> list[np.ndarray]:
    if isinstance(values, (str, bytes, np.ndarray)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of {n} arrays of times in s, got {type(values).__name__}")
    if len(values) != n:
        raise ValueError(f"{name} must hold one array per segment ({n}), got {len(values)}")
    out = []
    for v in values:
        a = _finite(v, name, allow_empty=True).ravel()
        if np.any(np.diff(a) <= 0):
            raise ValueError(f"{name}: each array of times must be strictly increasing")
        out.append(a)
    return out


def _framework(framework) -> str:
    if not isinstance(framework, str):
        raise TypeError(f"framework must be one of {FRAMEWORKS}, got {type(framework).__name__}")
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    return framework


def _int_at_least(value, name, low) -> int:
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        raise TypeError(f"{name} must be an int >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)
