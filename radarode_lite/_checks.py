"""Input checks shared by the package's modules (boundary validation, clear messages)."""

from __future__ import annotations

from numbers import Real

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
