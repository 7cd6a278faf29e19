"""Input handling of :mod:`radarode_lite.metrics` (chapters 6-8 and 12): arrays, axes, peak times.

Every metric converts its inputs here (numpy arrays, Python sequences or torch tensors to
float64 numpy arrays, finite and non-empty) so that the same mistake gets the same message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from radarode_lite._checks import float_array, non_negative, number
from radarode_lite._checks import positive as _positive


def as_array(x, name):
    """Float64 numpy copy of ``x`` (array, sequence or torch tensor); finite and non-empty."""
    return float_array(x, name)


def paired(pred, true, pred_name, true_name):
    p = as_array(pred, pred_name)
    t = as_array(true, true_name)
    if p.shape != t.shape:
        raise ValueError(f"{pred_name} and {true_name} must have the same shape, got {p.shape} and {t.shape}")
    return p, t


def check_axis(axis, ndim, allow_none=True):
    if axis is None and allow_none:
        return
    if ndim == 0:
        raise ValueError(f"inputs are scalars; axis={axis!r} needs arrays with at least one dimension")
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        hint = " or None" if allow_none else ""
        raise ValueError(f"axis must be an integer in [-{ndim}, {ndim - 1}]{hint} for {ndim}-D inputs, got {axis!r}")


def positive_number(value, name, allow_zero=False):
    """A finite float > 0 (>= 0 with ``allow_zero``); any number, numpy scalar or 0-d array accepted."""
    return (non_negative if allow_zero else _positive)(number(value, name), name)


def times(x, name, allow_empty):
    """1-D float array of times; may be empty when ``allow_empty``."""
    return float_array(x, name, ndim=1, allow_empty=allow_empty)


def heart_rate(peak_times_s, name):
    t = times(peak_times_s, name, allow_empty=False)
    if t.size < 2:
        raise ValueError(f"{name} needs at least 2 peaks to define a heart rate, got {t.size}")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    return float(60.0 * (t.size - 1) / (t[-1] - t[0]))


def task_values(values, name):
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise TypeError(f"{name} must be a list of metric values, got {values!r}")
    return as_array(values, name)


def parabolic_offset(y, idx):
    """Sub-sample offset in [-0.5, 0.5] of the vertex through y[idx-1], y[idx], y[idx+1]."""
    inner = (idx > 0) & (idx < y.size - 1)
    offset = np.zeros(idx.size)
    k = idx[inner]
    left, mid, right = y[k - 1], y[k], y[k + 1]
    denom = left - 2.0 * mid + right
    safe = np.abs(denom) > 1e-12
    delta = np.where(safe, 0.5 * (left - right) / np.where(safe, denom, 1.0), 0.0)
    offset[inner] = np.clip(delta, -0.5, 0.5)
    return offset


def scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x


def segment_times(values, n, name, require_increasing):
    """One 1-D float array of times (s) per segment, possibly empty; ``n`` segments unless None."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a list of arrays of times in s, got {type(values).__name__}")
    if n is not None and len(values) != n:
        raise ValueError(f"{name} must hold one array per segment ({n}), got {len(values)}")
    out = []
    for v in values:
        a = times(v, name, allow_empty=True)
        if require_increasing and np.any(np.diff(a) <= 0):
            raise ValueError(f"{name}: each array of times must be strictly increasing")
        out.append(a)
    return out


def grouped_metrics(base, new, groups, higher_is_better, missing):
    """``(base, new, flags)`` as :func:`delta_m` takes them, task -> list in the order of ``groups``."""
    if missing not in ("raise", "nan"):
        raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}")
    for name, arg in (("base", base), ("new", new), ("groups", groups), ("higher_is_better", higher_is_better)):
        if not isinstance(arg, Mapping):
            raise TypeError(f"{name} must be a dict, got {type(arg).__name__}")
    out = []
    for name, source in (("base", base), ("new", new)):
        table = {}
        for task, keys in groups.items():
            if isinstance(keys, (str, bytes)) or not isinstance(keys, (Sequence, np.ndarray)):
                raise TypeError(f"groups[{task!r}] must be a sequence of metric names, got {keys!r}")
            where = source[task] if isinstance(source.get(task), Mapping) else source
            if missing == "raise" and any(k not in where for k in keys):
                raise ValueError(f"{name} lacks the metrics {[k for k in keys if k not in where]} of task {task!r}")
            table[task] = [metric_value(where.get(k), f"{name}[{k!r}]", missing) for k in keys]
        out.append(table)
    unknown = [k for keys in groups.values() for k in keys if k not in higher_is_better]
    if unknown:
        raise ValueError(f"higher_is_better lacks the metrics {unknown}")
    flags = {task: [higher_is_better[k] for k in keys] for task, keys in groups.items()}
    return out[0], out[1], flags


def metric_value(value, name, missing):
    if missing == "nan" and value is None:
        return float("nan")
    v = number(value, name)
    if missing == "raise" and not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def all_finite(values):
    return all(np.isfinite(v) for v in values)
