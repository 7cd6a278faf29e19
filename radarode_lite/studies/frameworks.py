"""The three radar-to-ECG frameworks of the robustness study: models, training, 4-s reconstruction (chapter 14).

A study module (:mod:`radarode_lite.studies`): it imports the pipeline (models, training,
prediction, reconstruction) and is not imported by it. Zhang et al. (IEEE TIM 2025, Section V)
compare three ways of turning a 4-s radar segment into the 4-s ECG of the same time span; this
module builds them on the book's network (:mod:`radarode_lite.models`):

- ``"mmecg"``, **direct regression** in the manner of MMECG (Chen et al., IEEE TMC 2022): the
  shared backbone plus a decoder that regresses all 800 samples of the 4-s ECG window
  (:mod:`radarode_lite.studies.direct_regression`, whose names this module re-exports);
- ``"radarode"``, **single cycle** in the manner of radarODE (Zhang et al., 2024): the shape
  decoder with its ODE branch trained alone (one task); its beat is placed at anchors found by
  signal processing and stretched to the median interval between them
  (:func:`reconstruct_single_cycle`). The anchors come from what the noise reaches
  (:func:`single_cycle_anchors`): the noisy network input under input noise and when clean
  (:func:`input_anchors`), the noisy radar phase under the ``radar-`` conditions
  (:func:`radar_anchors`);
- ``"radarode_mtl"``, **radarODE-MTL**: the three decoders trained together with EGA; the beat
  is stretched to the predicted cycle length and placed at the anchors of the predicted heat
  map, as chapter 13 does (:func:`reconstruct_mtl`).

Every framework is trained on clean data with the benchmark protocol of chapter 12
(:func:`train_framework`, :data:`PROTOCOL`) and tested on the noisy copies of
:func:`radarode_lite.studies.noise_conditions.noisy_test_set`; the scores are in
:mod:`radarode_lite.studies.robustness`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from radarode_lite import _checks, _files, metrics, reconstruct, timefreq
from radarode_lite.data.augment import TimeStretch
from radarode_lite.models import RadarODEMTL
from radarode_lite.studies.direct_regression import (DirectRegression, _items, _sst_tensor, predict_direct,
                                                     train_direct)  # fmt: skip
from radarode_lite.studies.noise_conditions import TrainingNoise, _anchor_list, _check_test_set, parse_condition

__all__ = [
    "FRAMEWORKS",
    "FRAMEWORK_LABELS",
    "PROTOCOL",
    "CYCLE_RANGE_S",
    "FALLBACK_CYCLE_S",
    "in_memory",
    "train_framework",
    "build_model",
    "save_model",
    "load_model",
    "radar_anchors",
    "input_anchors",
    "anchor_source",
    "single_cycle_anchors",
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

#: The benchmark protocol of chapter 12 (``radarode_lite.cli.run_experiments``) as the frameworks
#: are trained with it (:func:`train_framework`): Adam with a cosine schedule down to 1 % of the
#: rate, time-stretch augmentation of +-30 % (not for ``mmecg``: see :func:`train_framework`),
#: the autocorrelation head of the cycle-length decoder, EGA (T = 1, the paper's form) on the
#: shared parameters' gradients with its warm-up epoch ``min(4, epochs // 4)``.
PROTOCOL = {"schedule": "cosine", "final_lr_ratio": 0.01, "stretch": 0.3, "cycle_head": "autocorrelation",
            "ega": {"temperature": 1.0, "variant": "paper", "gradients": "params"}}  # fmt: skip

#: Cycle lengths (s) used for stitching are clipped to this range (200 to 46 bpm).
CYCLE_RANGE_S = (0.3, 1.3)
#: Cycle length (s) of the single-cycle framework when a segment has fewer than two anchors.
FALLBACK_CYCLE_S = 0.8


# ---------------------------------------------------------------------------------------
# Training the three frameworks
# ---------------------------------------------------------------------------------------


def in_memory(dataset) -> list[dict]:
    """The tensors of every item of ``dataset`` (``sst``, ``shape``, ``ppi``, ``anchor``, ``ecg``) in a list.

    Training reads each segment once per epoch; holding the small lite data set in memory
    saves reading the files again. The list is a valid data set for
    :func:`radarode_lite.train.train` and :func:`~radarode_lite.studies.direct_regression.train_direct`.
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


def train_framework(framework, train_set, epochs=16, seed=0, preset="lite", batch_size=32, lr=None,
                    progress=False, protocol=None, noise="clean", ppi_sigma=None) -> tuple[nn.Module, dict]:  # fmt: skip
    """Build and train one framework with the benchmark protocol, on clean or noisy inputs; return the model and a record.

    The benchmark protocol of chapter 12 (:data:`PROTOCOL`; ``protocol`` overrides its entries),
    Adam with a cosine rate schedule in every framework:

    - ``"mmecg"``: :class:`~radarode_lite.studies.direct_regression.DirectRegression` with
      :func:`~radarode_lite.studies.direct_regression.train_direct`, **without** time-stretch:
      :func:`radarode_lite.data.augment.time_stretch` stretches the input, the anchor heat map
      and the cycle length, but passes the 4-s ``ecg`` on unchanged, so a stretched input would
      be trained against the ECG of the unstretched window (and the ECG waveform itself, its
      QRS widths included, is not meant to be stretched);
    - ``"radarode"``: :class:`radarode_lite.models.RadarODEMTL` (ODE branch on, the
      ``cycle_head`` of the protocol) trained on the shape task alone,
      :func:`radarode_lite.train.train_single_task`, with time-stretch (the one-cycle ``shape``
      target does not change with it);
    - ``"radarode_mtl"``: the same network trained on the three tasks with EGA
      (:func:`radarode_lite.train.train`, ``method="ega"``, temperature 1, the paper's form,
      the gradients of the shared parameters as the authors' ``main.py`` takes them, warm-up
      epoch ``min(4, epochs // 4)``), with time-stretch.

    Parameters
    ----------
    framework : one of :data:`FRAMEWORKS`.
    train_set : torch ``Dataset`` or list of segment items (see :func:`in_memory`).
    epochs, batch_size : int >= 1.
    seed : int >= 0: initial weights, batch order and stretch factors.
    preset : network size, ``"lite"`` or ``"paper"`` (must match the spectrograms).
    lr : Adam's peak learning rate; None for 1e-3.
    progress : show a progress bar.
    protocol : None, or a dict of :data:`PROTOCOL` entries to change (``schedule``,
        ``final_lr_ratio``, ``stretch``, ``cycle_head``), e.g. ``{"stretch": 0.0}``, and
        optionally ``deformable``: 4 bools, the backbone stages with deformable convolutions
        (absent: the preset's; ``(False,) * 4``: the right-sized network of chapter 12).
    noise : ``"clean"``, or an input-noise condition (``"snr:0"``, ``"abrupt:-9:3"``) drawn on
        every training batch as the authors' dataset class draws it
        (:class:`~radarode_lite.studies.noise_conditions.TrainingNoise`, after the time-stretch).
    ppi_sigma : None (the loss's default width) or the width in classes of ``"radarode_mtl"``'s
        cycle-length soft target (``radarode_lite.train.train``); the other two have no such task.

    Returns
    -------
    (model, record): ``record`` holds ``framework``, ``method``, ``method_kwargs``, ``tasks``,
    ``train_noise`` (the condition's name),
    ``protocol`` (what this framework was trained with: ``schedule``, ``final_lr_ratio``,
    ``stretch``, ``cycle_head``), ``train_loss`` (per task, per epoch), ``train_s`` (s) and ``parameters``.
    """
    from radarode_lite import train as training

    framework = _framework(framework)
    epochs, batch_size = _checks.integer(epochs, "epochs", low=1), _checks.integer(batch_size, "batch_size", low=1)
    seed = _checks.integer(seed, "seed", low=0)
    lr = 1e-3 if lr is None else _checks.positive(lr, "lr")
    used = _protocol(framework, protocol)
    schedule = {"schedule": used["schedule"], "final_lr_ratio": used["final_lr_ratio"]}
    noise_name = _training_noise(noise)
    stretch = TimeStretch(used["stretch"]) if used["stretch"] > 0 else None
    augment = stretch if noise_name == "clean" else TrainingNoise(noise_name, before=stretch)
    began = time.perf_counter()
    model = build_model(framework, preset, seed=seed, cycle_head=used["cycle_head"] or "flatten",  # mmecg: None
                        deformable=used.get("deformable"))  # fmt: skip
    if framework == "mmecg":
        history = train_direct(model, train_set, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                               progress=progress, augment=augment, **schedule)  # fmt: skip
        record = {"method": "mse", "method_kwargs": {}, "tasks": ["ecg"], "train_loss": {"ecg": history["train_loss"]}}
    else:
        common = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress, **schedule,
                      augment=augment)  # fmt: skip
        if framework == "radarode":
            history, kwargs = training.train_single_task(model, train_set, "shape", **common), {}
        else:
            kwargs = {**PROTOCOL["ega"], "warmup_epoch": min(4, epochs // 4)}
            history = training.train(model, train_set, tasks=("shape", "anchor", "ppi"), method="ega",
                                     method_kwargs=kwargs, ppi_sigma=ppi_sigma, **common)  # fmt: skip
        record = {"method": history.method, "method_kwargs": kwargs, "tasks": list(history.tasks),
                  "train_loss": history.train_loss}  # fmt: skip
    record.update(framework=framework, protocol=used, train_noise=noise_name, train_s=time.perf_counter() - began,
                  parameters=model.count_parameters())  # fmt: skip
    return model, record


def build_model(framework, preset="lite", seed=None, cycle_head="autocorrelation", deformable=None) -> nn.Module:
    """A fresh, untrained network of one framework: a
    :class:`~radarode_lite.studies.direct_regression.DirectRegression` for ``"mmecg"``,
    :class:`radarode_lite.models.RadarODEMTL` with its ODE branch and the cycle-length head
    ``cycle_head`` (``"autocorrelation"``, the benchmark protocol's, or ``"flatten"``, the paper's
    and that of the networks stored before it) for the other two; ``cycle_head`` is ignored for ``"mmecg"``.
    ``deformable``: None (the preset's deformable backbone stages) or 4 bools, one per stage
    (``(False,) * 4``: plain convolutions everywhere, the right-sized network of chapter 12)."""
    framework = _framework(framework)
    if framework == "mmecg":
        return DirectRegression(preset, seed=seed, deformable=deformable)
    return RadarODEMTL(preset, use_ode=True, seed=seed, cycle_head=cycle_head, deformable=deformable)


def save_model(path, framework, model, config=None) -> Path:
    """Store a trained framework's weights: ``{"format", "framework", "preset", "cycle_head", "config", "state_dict"}``.

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
                  "width": getattr(model, "width", None), "cycle_head": getattr(model, "cycle_head", None),
                  "deformable": list(model.preset.deformable), "state_dict": state}  # fmt: skip
    size = sum(v.numel() * v.element_size() for v in state.values())
    return _files.atomic_write(path, lambda tmp: torch.save(checkpoint, tmp), size_hint=size)


def load_model(path) -> tuple[nn.Module, dict]:
    """A framework's network from a file of :func:`save_model`, in evaluation mode, and the file's ``config``.

    The network is rebuilt with the file's ``cycle_head``; files written before it was stored
    hold the paper's ``"flatten"`` head.
    """
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
            model = DirectRegression(checkpoint["preset"], width=checkpoint.get("width"),
                                     deformable=checkpoint.get("deformable"))  # fmt: skip
        else:
            model = build_model(checkpoint["framework"], checkpoint["preset"],
                                cycle_head=checkpoint.get("cycle_head") or "flatten",
                                deformable=checkpoint.get("deformable"))  # fmt: skip
        model.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{str(path)!r} holds weights that do not fit its network: {first}") from None
    model.eval()
    return model, dict(checkpoint.get("config", {}))


# ---------------------------------------------------------------------------------------
# Reconstructing the 4-s ECG
# ---------------------------------------------------------------------------------------


def single_cycle_anchors(test_set) -> list[np.ndarray]:
    """The anchors of the single-cycle framework (``"radarode"``) under the test set's condition (chapter 14).

    Signal processing must see the noise the networks see, or the framework that leans on it
    would look immune to noise it never met. :func:`anchor_source` says where the noise is:

    - input noise (``snr:``, ``abrupt:``, the authors' way) lives on the network input alone,
      ``test_set.radar`` stays clean, so the anchors are read off the noisy input,
      :func:`input_anchors`; the clean baseline uses the same, so that its delta_m measures
      the noise, not a change of method;
    - radar-phase noise (``radar-snr:``, ``radar-abrupt:``) is in ``test_set.radar``: the anchors
      come from the radar phase at 200 Hz, :func:`radar_anchors`, as radarODE finds them (its
      clean baseline is then :func:`radar_anchors` of the clean test set).

    The other two frameworks take no signal-processing anchors: ``mmecg`` regresses the ECG,
    ``radarode_mtl`` reads its anchors off its own predicted heat map.
    """
    _check_test_set(test_set)
    return radar_anchors(test_set) if anchor_source(test_set.condition) == "radar" else input_anchors(test_set)


def anchor_source(condition) -> str:
    """Where the single-cycle framework finds its anchors under ``condition``: ``"radar"`` for the
    ``radar-`` conditions, ``"input"`` for the input-noise ones and ``"clean"`` (see
    :func:`single_cycle_anchors`)."""
    return "radar" if parse_condition(condition)["model"] == "radar" else "input"


def input_anchors(test_set, **kwargs) -> list[np.ndarray]:
    """Anchors found by signal processing in each segment's network input, noise included (chapter 14).

    :func:`radarode_lite.timefreq.locate_input_anchors` on the ``(C, F, T)`` input of every
    segment: the mean over channels of its bins in the vibration band (20-45 Hz), smoothed,
    and its maxima at least 0.3 s apart, refined to a fraction of a frame (30 Hz); no learning.
    On a clean input it finds the R peaks within a few ms; noise on the input moves and misses
    them as it blurs the picture the networks read.

    Parameters
    ----------
    test_set : :class:`~radarode_lite.studies.noise_conditions.TestSet`.
    **kwargs : passed to :func:`radarode_lite.timefreq.locate_input_anchors`.

    Returns
    -------
    list of N arrays of anchor times in s from each segment's start.
    """
    _check_test_set(test_set)
    return [timefreq.locate_input_anchors(window, **kwargs) for window in test_set.sst]


def radar_anchors(test_set, **kwargs) -> list[np.ndarray]:
    """Anchors found by signal processing in each segment's radar signal (chapter 14).

    :func:`radarode_lite.timefreq.locate_anchors` on the ``(C, 800)`` radar window of every
    segment: the band energy of the SST around the anchor vibration, averaged over channels,
    and its maxima; no learning. This is how the single-cycle framework places its beats under
    the ``radar-`` conditions; under input noise the radar is clean and
    :func:`input_anchors` takes its place (:func:`single_cycle_anchors`).

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
    """(a) The 4-s ECG regressed directly by a direct-regression network: ``(N, 800)``.

    ``model``: a :class:`~radarode_lite.studies.direct_regression.DirectRegression`.
    """
    _check_test_set(test_set)
    return predict_direct(model, test_set.sst, batch_size)


def reconstruct_single_cycle(model, test_set, anchors=None, batch_size=64) -> np.ndarray:
    """(b) radarODE-style 4-s ECG: the predicted beat placed at anchors from signal processing.

    The network's shape decoder gives one normalised beat per segment
    (:func:`radarode_lite.train.predict`); the anchors come from signal processing on what the
    noise reaches (:func:`single_cycle_anchors`) and the cycle length is their median interval (clipped to
    :data:`CYCLE_RANGE_S`; :data:`FALLBACK_CYCLE_S` with fewer than two anchors). The beat is
    stretched to that length and placed with its R wave on every anchor
    (:func:`radarode_lite.reconstruct.stitch_beats`). A segment without any anchor gets a
    flat line (0): nothing is recovered.

    Parameters
    ----------
    model : :class:`radarode_lite.models.RadarODEMTL` (its shape decoder is used).
    test_set : :class:`~radarode_lite.studies.noise_conditions.TestSet`.
    anchors : None (computed with :func:`single_cycle_anchors`) or a list of N arrays of anchor times, s.
    batch_size : int >= 1.

    Returns
    -------
    (N, 800) float64.
    """
    _check_model(model)
    _check_test_set(test_set)
    anchors = single_cycle_anchors(test_set) if anchors is None else _anchor_list(anchors, len(test_set))
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


def _check_model(model) -> None:
    if not isinstance(model, RadarODEMTL):
        raise TypeError(f"model must be a RadarODEMTL, got {type(model).__name__}")


def _protocol(framework, protocol) -> dict:
    """What ``framework`` is trained with: :data:`PROTOCOL`'s entries changed by ``protocol``, checked;
    ``mmecg`` without time-stretch and without a cycle-length head (``stretch`` 0, ``cycle_head`` None).
    ``protocol`` may also name the backbone's ``deformable`` stages (4 bools; absent: the preset's)."""
    from radarode_lite.models import CYCLE_HEADS, deformable_stages
    from radarode_lite.train import SCHEDULES

    keys = ("schedule", "final_lr_ratio", "stretch", "cycle_head", "deformable")
    if protocol is not None and not isinstance(protocol, Mapping):
        raise TypeError(f"protocol must be None or a dict of {keys}, got {type(protocol).__name__}")
    unknown = sorted(set(protocol or {}) - set(keys))
    if unknown:
        raise ValueError(f"protocol takes the entries {keys}, got {unknown}")
    used = {**{k: PROTOCOL[k] for k in keys if k in PROTOCOL}, **dict(protocol or {})}
    if used.get("deformable") is not None:
        used["deformable"] = deformable_stages(used["deformable"], "protocol['deformable']")
    _checks.choice(used["schedule"], "protocol['schedule']", SCHEDULES)
    _checks.choice(used["cycle_head"], "protocol['cycle_head']", CYCLE_HEADS)
    for key in ("final_lr_ratio", "stretch"):
        used[key] = float(_checks.non_negative(used[key], f"protocol[{key!r}]"))
        if used[key] > 1 or (key == "stretch" and used[key] == 1):
            raise ValueError(f"protocol[{key!r}] must be in [0, 1{']' if key == 'final_lr_ratio' else ')'}, "
                             f"got {used[key]}")  # fmt: skip
    if framework == "mmecg":
        used.update(stretch=0.0, cycle_head=None)
    return used


def _training_noise(noise) -> str:
    """The name of the training-noise condition ``noise``: ``"clean"`` or an input-noise condition."""
    if not isinstance(noise, str):
        raise TypeError(f"noise must be 'clean' or an input-noise condition name, got {type(noise).__name__}")
    name = parse_condition(noise)["name"]
    if name != "clean":
        TrainingNoise(name)  # refuses the radar- conditions
    return name


def _framework(framework) -> str:
    if not isinstance(framework, str):
        raise TypeError(f"framework must be one of {FRAMEWORKS}, got {type(framework).__name__}")
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    return framework
