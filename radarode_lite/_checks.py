"""Input checks shared by the package's modules (boundary validation, clear messages).

The one home of the package's validators: a module that checks an argument calls one of these
rather than writing its own, so that the same mistake gets the same one-line message everywhere.
Each returns the value in its canonical type, or raises ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, wrong value) naming the argument and what was expected.
The torch-specific checks (:func:`torch_generator`, :func:`gradient_matrix`, :func:`task_vector`)
import torch when called, so importing this module imports numpy only.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np


def finite_array(x, name, allow_empty=False) -> np.ndarray:
    """``x`` as a float64 array; TypeError if not numeric, ValueError if empty or not finite."""
    no_text(x, name)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr


def float_array(x, name, ndim=None, allow_empty=False) -> np.ndarray:
    """``x`` (array, sequence or torch tensor) as a float64 numpy array, finite; ``ndim`` dimensions if given.

    TypeError if not numbers; ValueError if of the wrong dimension, empty (unless
    ``allow_empty``) or holding NaN or infinite values. Torch tensors are detached and moved
    to the CPU without importing torch.
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    no_text(x, name)
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return a


def no_text(x, name) -> None:
    """TypeError if ``x`` is text or an array of text (numpy would read ``"200"`` as 200.0)."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got the text {x!r}")
    kind = getattr(x, "dtype", None)
    kind = getattr(kind, "kind", None)
    if kind in ("U", "S") or (isinstance(x, (list, tuple)) and any(isinstance(v, (str, bytes)) for v in _flat(x))):
        raise TypeError(f"{name} must be numbers, got text")


def number(value, name) -> float:
    """``value`` as a float: any real number, numpy scalar or 0-d array; text, bools and None refused."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None


def _flat(x, depth=0):
    for v in x:
        if isinstance(v, (list, tuple)) and depth < 3:
            yield from _flat(v, depth + 1)
        else:
            yield v


def real_number(value, name) -> float:
    """``value`` as a finite float; TypeError if not a real number (bools refused), ValueError if not finite."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def positive(value, name) -> float:
    """``value`` as a finite float > 0, else a ValueError/TypeError naming ``name``."""
    value = real_number(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def non_negative(value, name) -> float:
    """``value`` as a finite float >= 0, else a ValueError/TypeError naming ``name``."""
    value = real_number(value, name)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def fraction(value, name, low_open=False, high_open=False) -> float:
    """``value`` as a float in [0, 1] (ends excluded where asked), else a ValueError/TypeError."""
    value = real_number(value, name)
    if value < 0 or value > 1 or (low_open and value == 0) or (high_open and value == 1):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lo}0, 1{hi}, got {value}")
    return value


def integer(value, name, low=None, high=None) -> int:
    """``value`` as an int in ``[low, high]`` (either end optional); bools refused."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        where = f">= {low}" if high is None else f"<= {high}" if low is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {where}, got {value}")
    return value


def positive_int(value, name) -> int:
    """``value`` as an int >= 1 (bools refused), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def non_negative_int(value, name) -> int:
    """``value`` as an int >= 0 (bools refused), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def boolean(value, name) -> bool:
    """``value`` if it is a bool (numpy bools accepted), else a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def choice(value, name, options):
    """``value`` if it is one of ``options``, else a ValueError listing them."""
    if isinstance(value, (list, dict, set)) or value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return value


def rng(value, name="rng") -> np.random.Generator:
    """A numpy ``Generator`` from ``None``, a non-negative int seed or a ``Generator``."""
    if value is None or (isinstance(value, Integral) and not isinstance(value, bool)):
        if value is not None and value < 0:
            raise ValueError(f"{name} seed must be non-negative, got {value}")
        return np.random.default_rng(value)
    if isinstance(value, np.random.Generator):
        return value
    raise TypeError(f"{name} must be None, an int seed or a numpy Generator, got {type(value).__name__}")


def torch_generator(value, name="generator", allow_none=True):
    """``value`` if it is a ``torch.Generator`` (or None where allowed), else a TypeError."""
    import torch

    if (value is None and allow_none) or isinstance(value, torch.Generator):
        return value
    expected = "a torch.Generator or None" if allow_none else "a torch.Generator"
    raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def gradient_matrix(G, name="G"):
    """A task-gradient matrix as a detached finite real 2-D torch tensor with at least one row
    and one column (a numpy array is converted; integer tensors become float64)."""
    import torch

    if isinstance(G, np.ndarray):
        G = torch.from_numpy(G)
    if not isinstance(G, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (n_tasks, n_params), got {type(G).__name__}")
    if G.dim() != 2:
        raise ValueError(f"{name} must be 2-D (n_tasks, n_params), got shape {tuple(G.shape)}")
    if G.shape[0] == 0 or G.shape[1] == 0:
        raise ValueError(f"{name} must have at least one task and one parameter, got shape {tuple(G.shape)}")
    if G.is_complex() or G.dtype == torch.bool:
        raise TypeError(f"{name} must be real-valued, got dtype {G.dtype}")
    if not G.is_floating_point():
        G = G.to(torch.float64)
    if not bool(torch.isfinite(G).all()):
        raise ValueError(f"{name} contains NaN or inf; every task gradient must be finite")
    return G.detach()


def task_vector(x, name, length=None):
    """``x`` (numbers, scalar tensors or a tensor) as a finite non-empty 1-D float64 torch tensor,
    of ``length`` entries (one per task) when given."""
    import torch

    try:
        if isinstance(x, (list, tuple)):  # e.g. a list of scalar loss tensors
            x = [float(e.detach()) if isinstance(e, torch.Tensor) else e for e in x]
        t = torch.as_tensor(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a sequence of numbers, got {type(x).__name__}") from exc
    if t.dim() != 1 or t.shape[0] == 0:
        raise ValueError(f"{name} must be 1-D and non-empty, got shape {tuple(t.shape)}")
    if length is not None and t.shape[0] != length:
        raise ValueError(f"{name} must have length {length} (one entry per task), got {t.shape[0]}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    return t
