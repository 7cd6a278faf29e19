"""Input checks shared by the package's modules (boundary validation, clear messages)."""

from __future__ import annotations

from numbers import Real

import numpy as np


def finite_array(x, name, allow_empty=False) -> np.ndarray:
    """``x`` as a float64 array; TypeError if not numeric, ValueError if empty or not finite."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr


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
