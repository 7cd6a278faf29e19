"""Checkpoints of :func:`radarode_lite.train.train`: write, read, check and restore (chapters 6-8, 12).

A checkpoint is one ``torch.save`` file holding the complete state of a run after an epoch:
the network, the optimiser, the multi-task method (epoch, loss buffers, random generators,
moving averages), the random state of the loop, the batch-order generator and the history so
far, with the run's ``settings`` (its identity). :func:`save_checkpoint` writes it atomically
(:func:`radarode_lite._files.atomic_write`, free space checked first); :func:`load_checkpoint`
reads it back without running code (``weights_only``) and checks its entries;
:func:`restore_checkpoint` compares the identity with the call's, refusing another one with
:class:`SettingsMismatch`, and puts the state back into the run's objects.

The learning rate is not stored: it is a function of the step number alone
(:func:`radarode_lite.train.lr_factor`), so the schedule is rebuilt from ``epochs_done``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from radarode_lite import _files

__all__ = [
    "CHECKPOINT_FORMAT",
    "SettingsMismatch",
    "load_checkpoint",
    "save_checkpoint",
    "restore_checkpoint",
    "model_identity",
    "check_identity",
    "plain",
]

#: Version of the layout of :func:`radarode_lite.train.train`'s checkpoint files.
CHECKPOINT_FORMAT = 1

#: Entries of a checkpoint and their types (checked by :func:`load_checkpoint`).
_CHECKPOINT_KEYS = {"format": int, "settings": dict, "epochs_done": int, "model": dict, "optimizer": dict,
                    "method": dict, "rng": torch.Tensor, "order": torch.Tensor, "history": dict}  # fmt: skip


class SettingsMismatch(ValueError):
    """A checkpoint made with other settings than the call's; ``differences`` lists their names."""

    def __init__(self, path, saved: dict, wanted: dict, differences: list):
        self.path, self.saved, self.wanted, self.differences = str(path), saved, wanted, differences
        detail = ", ".join(f"{k}: {_short(saved.get(k))} -> {_short(wanted.get(k))}" for k in differences)
        super().__init__(f"checkpoint {self.path!r} was made with other settings ({detail}); "
                         f"pass resume=False to start afresh")  # fmt: skip


def _short(value, limit=60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plain(value):
    """Hyper-parameters as JSON-like plain values (for comparing checkpoints)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def model_identity(model) -> dict:
    """What makes a checkpoint's weights fit ``model``: preset, options and a hash of the parameter shapes."""
    layout = hashlib.sha256()
    for name, value in model.state_dict().items():
        layout.update(f"{name}:{tuple(value.shape)};".encode())
    preset = getattr(model, "preset", None)
    return {"preset": getattr(preset, "name", None), "use_ode": getattr(model, "use_ode", None),
            "norm": getattr(model, "norm", None), "layout": layout.hexdigest()[:16]}  # fmt: skip


def check_identity(identity, settings) -> dict:
    """The caller's extra identity entries as plain values; they must not redefine a built-in setting."""
    if identity is None:
        return {}
    if not isinstance(identity, dict):
        raise TypeError(f"identity must be a dict or None, got {type(identity).__name__}")
    clash = sorted(set(map(str, identity)) & set(settings))
    if clash:
        raise ValueError(f"identity must not redefine the built-in settings {clash}")
    return plain(identity)


def save_checkpoint(path, settings, epochs_done, model, opt, mtl, order, history) -> None:
    """Write the run's state after ``epochs_done`` epochs to ``path``, atomically."""
    path = Path(path)
    state = {
        "format": CHECKPOINT_FORMAT,
        "settings": settings,
        "epochs_done": int(epochs_done),
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "method": mtl.state_dict(),
        "rng": torch.get_rng_state(),
        "order": order.get_state(),
        "history": history.to_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _files.atomic_write(path, lambda tmp: torch.save(state, tmp), size_hint=_tensor_bytes(state))


def _tensor_bytes(value) -> int:
    """Bytes of the tensors in a nested state (an estimate of its file size)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 64


def load_checkpoint(path) -> dict:
    """Read a checkpoint file written by :func:`radarode_lite.train.train` (``weights_only`` loading: no code runs).

    Raises ``FileNotFoundError`` if there is no file, ``ValueError`` naming the file if it is
    not a readable checkpoint, lacks an entry, has one of the wrong type, or a negative
    ``epochs_done``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{str(path)!r} is not a readable checkpoint: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a checkpoint of format {CHECKPOINT_FORMAT}")
    for key, kind in _CHECKPOINT_KEYS.items():
        if key not in state:
            raise ValueError(f"checkpoint {str(path)!r} lacks its entry {key!r}; delete it or start afresh")
        if isinstance(state[key], bool) or not isinstance(state[key], kind):
            raise ValueError(f"checkpoint {str(path)!r}: {key!r} must be {kind.__name__}, "
                             f"got {type(state[key]).__name__}")  # fmt: skip
    if state["epochs_done"] < 0:
        raise ValueError(f"checkpoint {str(path)!r}: epochs_done must be >= 0, got {state['epochs_done']}")
    return state


def restore_checkpoint(path, settings, model, opt, mtl, order, history) -> int:
    """Load ``path`` into the run's objects; return the number of epochs it had done.

    Refuses a checkpoint of other ``settings`` (:class:`SettingsMismatch`) and one whose
    content does not fit the run (``ValueError`` naming the file).
    """
    path = Path(path)
    state = load_checkpoint(path)
    saved = state["settings"]
    diff = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
    if diff:
        raise SettingsMismatch(path, saved, settings, diff)
    done = state["epochs_done"]
    if done > settings["epochs"]:
        raise ValueError(f"checkpoint {str(path)!r}: epochs_done is {done} but the run has {settings['epochs']} "
                         f"epochs; the file was edited or damaged, delete it to start afresh")  # fmt: skip
    _check_saved_history(path, state["history"], done, settings["tasks"])
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        mtl.load_state_dict(state["method"])
        torch.set_rng_state(state["rng"])
        order.set_state(state["order"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {str(path)!r} does not fit this run: {first}") from None
    for group in opt.state.values():  # optimiser moments onto the model's device
        for k, v in group.items():
            if isinstance(v, torch.Tensor) and k != "step":
                group[k] = v.to(device)
    saved_history = state["history"]
    for key in ("train_loss", "val_loss", "weights"):
        getattr(history, key).update({t: list(v) for t, v in saved_history[key].items()})
    history.lr[:] = list(saved_history.get("lr", []))
    history.epoch_s[:] = list(saved_history["epoch_s"])
    return int(done)


def _check_saved_history(path, saved, done, tasks) -> None:
    """Every per-epoch list of a checkpoint's history must hold ``done`` entries."""
    lists = {"epoch_s": saved.get("epoch_s"), "lr": saved.get("lr", [None] * done)}
    for key in ("train_loss", "weights"):
        table = saved.get(key)
        for t in tasks:
            lists[f"{key}[{t}]"] = table.get(t) if isinstance(table, dict) else None
    for name, values in lists.items():
        if not isinstance(values, list) or len(values) != done:
            found = f"{len(values)} entries" if isinstance(values, list) else type(values).__name__
            raise ValueError(f"checkpoint {str(path)!r}: history {name} must hold {done} entries (epochs_done), "
                             f"found {found}; the file was edited or damaged")  # fmt: skip
