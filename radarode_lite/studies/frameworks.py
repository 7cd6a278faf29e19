"""The three radar-to-ECG frameworks of the robustness study: models, training, 4-s reconstruction (chapter 14).

A study module (:mod:`radarode_lite.studies`): it imports the pipeline (models, training,
prediction, reconstruction) and is not imported by it. Zhang et al. (IEEE TIM 2025, Section V)
compare three ways of turning a 4-s radar segment into the 4-s ECG of the same time span; this
module builds them on the book's network (:mod:`radarode_lite.models`):

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

Every framework is trained on clean data (:func:`train_framework`) and tested on the noisy
copies of :func:`radarode_lite.studies.noise_conditions.noisy_test_set`; the scores are in
:mod:`radarode_lite.studies.robustness`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from radarode_lite import _checks, _files, metrics, reconstruct, timefreq
from radarode_lite.conventions import FS, WINDOW_S
from radarode_lite.models import Backbone, RadarODEMTL, get_model_preset
from radarode_lite.studies.noise_conditions import _anchor_list, _check_test_set, ecg_reference

__all__ = [
    "FRAMEWORKS",
    "FRAMEWORK_LABELS",
    "CYCLE_RANGE_S",
    "FALLBACK_CYCLE_S",
    "WindowDecoder",
    "DirectRegression",
    "train_direct",
    "predict_direct",
    "in_memory",
    "train_framework",
    "build_model",
    "save_model",
    "load_model",
    "radar_anchors",
    "predict_outputs",
    "reconstruct_direct",
    "reconstruct_single_cycle",
    "reconstruct_mtl",
    "reconstruct_ecg",
]

#: The three frameworks of Tables III and V, in the paper's order.
FRAMEWORKS = ("mmecg", "radarode", "radarode_mtl")
#: Names of the frameworks in the paper's tables.
FRAMEWORK_LABELS = {"mmecg": "MMECG", "radarode": "radarODE", "radarode_mtl": "radarODE-MTL"}

#: Cycle lengths (s) used for stitching are clipped to this range (200 to 46 bpm).
CYCLE_RANGE_S = (0.3, 1.3)
#: Cycle length (s) of the single-cycle framework when a segment has fewer than two anchors.
FALLBACK_CYCLE_S = 0.8


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


def train_direct(model, train_set, epochs=12, batch_size=32, lr=1e-3, seed=0, progress=False) -> dict:
    """Train a :class:`DirectRegression` to regress :func:`ecg_reference` of each window (chapter 14).

    Mean squared error between the output and the reference 4-s ECG of the item's ``"ecg"``,
    minimised with Adam, one :func:`radarode_lite.train.run_epoch` per epoch (one task, equal
    weighting: the plain gradient of the MSE). Deterministic for a seed, like
    :func:`radarode_lite.train.train`: the batch order comes from a seeded ``torch.Generator``
    and any other draw from ``torch.manual_seed(seed)`` inside a forked random state.

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
    dict with ``"train_loss"`` (epoch-mean MSE per epoch, each batch weighted by its size; a lone
    last item trained with the one before it counts twice) and ``"epoch_s"`` (wall time per epoch, s).
    """
    from tqdm.auto import tqdm

    from radarode_lite.mtl.methods import get_method
    from radarode_lite.train import run_epoch

    if not isinstance(model, DirectRegression):
        raise TypeError(f"model must be a DirectRegression, got {type(model).__name__}")
    epochs, batch_size = _checks.integer(epochs, "epochs", low=1), _checks.integer(batch_size, "batch_size", low=1)
    seed = _checks.integer(seed, "seed", low=0)
    lr = _checks.positive(lr, "lr")
    items = _items(train_set, "train_set")
    sst = torch.stack([torch.as_tensor(it["sst"], dtype=torch.float32) for it in items])
    target = torch.as_tensor(ecg_reference(np.stack([np.asarray(it["ecg"], dtype=np.float64) for it in items])),
                             dtype=torch.float32)  # fmt: skip
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    device = next(model.parameters()).device
    method, shared = get_method("ew", n_tasks=1), list(model.parameters())

    def compute_losses(net, idx):
        return [F.mse_loss(net(sst[idx].to(device)), target[idx].to(device))], None, idx.numel()

    history = {"train_loss": [], "epoch_s": []}
    was_training = model.training
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for _ in tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress):
            began = time.perf_counter()
            order = torch.randperm(len(items), generator=generator)
            result = run_epoch(model, _direct_batches(order, batch_size), compute_losses, method, optimiser, shared)
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
    float64 on the scale of :func:`ecg_reference`.
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
    epochs, batch_size = _checks.integer(epochs, "epochs", low=1), _checks.integer(batch_size, "batch_size", low=1)
    seed = _checks.integer(seed, "seed", low=0)
    lr = 1e-3 if lr is None else _checks.positive(lr, "lr")
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
# Reconstructing the 4-s ECG
# ---------------------------------------------------------------------------------------


def radar_anchors(test_set, **kwargs) -> list[np.ndarray]:
    """Anchors found by signal processing in each segment's noisy radar signal (chapter 14).

    :func:`radarode_lite.timefreq.locate_anchors` on the ``(C, 800)`` radar window of every
    segment: the band energy of the SST around the anchor vibration, averaged over channels,
    and its maxima; no learning. This is how the single-cycle framework places its beats.

    Parameters
    ----------
    test_set : :class:`~radarode_lite.studies.noise_conditions.TestSet`.
    **kwargs : passed to :func:`radarode_lite.timefreq.locate_anchors`.

    Returns
    -------
    list of N arrays of anchor times in s from each segment's start.
    """
    _check_test_set(test_set)
    return [timefreq.locate_anchors(window, test_set.fs, **kwargs) for window in test_set.radar]


def predict_outputs(model, test_set, tasks=("shape", "anchor", "ppi"), batch_size=64) -> dict:
    """The outputs of a :class:`radarode_lite.models.RadarODEMTL` on the inputs of a test set.

    :func:`radarode_lite.train.predict` on ``test_set.sst`` (a
    :class:`~radarode_lite.studies.noise_conditions.TestSet`): ``"shape"`` (N, 200), ``"anchor"``
    (N, 800), ``"ppi"`` (N,) samples and ``"ppi_logits"`` for the requested ``tasks``.
    """
    from radarode_lite import train as training

    _check_model(model)
    _check_test_set(test_set)
    return training.predict(model, _sst_items(test_set.sst), batch_size=batch_size, tasks=tasks)


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
    test_set : :class:`~radarode_lite.studies.noise_conditions.TestSet`.
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
# Helpers
# ---------------------------------------------------------------------------------------


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


def _check_model(model) -> None:
    if not isinstance(model, RadarODEMTL):
        raise TypeError(f"model must be a RadarODEMTL, got {type(model).__name__}")


def _framework(framework) -> str:
    if not isinstance(framework, str):
        raise TypeError(f"framework must be one of {FRAMEWORKS}, got {type(framework).__name__}")
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    return framework
