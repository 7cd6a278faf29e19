"""Input checks shared by the package's modules (boundary validation, clear messages)."""

from __future__ import annotations

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
