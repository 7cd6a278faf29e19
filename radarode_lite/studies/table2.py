r"""Table II of the book from stored runs: mean and spread over seeds, :math:`\Delta_m` (chapter 12).

A study module (:mod:`radarode_lite.studies`): it reads results files and imports the pipeline's
conventions and metrics; the pipeline does not import it.

The experiment grids (``data_scripts/run_experiments.py``) store one results file per run,
named ``<configuration>_seed<k>.json`` (:mod:`radarode_lite.studies.results`). This module turns a list
of such records into tables:

- :func:`configuration`: the configuration a run belongs to (its name without the seed);
- :func:`summarise_runs`: per configuration, the values of some metrics over the seeds, their
  mean and their sample standard deviation;
- :func:`single_task_baseline`: per seed, the metrics of the three single-task runs put
  together, the reference of :math:`\Delta_m`;
- :func:`delta_m_table2`: :math:`\Delta_m` of one run against a baseline with the per-task
  grouping of Table II of Zhang et al. (IEEE TIM 2025): shape (RMSE, PCC), cycle length (PPI
  error), anchor (timing error, MDR); see :func:`radarode_lite.metrics.delta_m_from_metrics`;
- :func:`delta_m_per_task`: the three per-task terms whose mean is :math:`\Delta_m`;
- :func:`table2`: the rows of Table II from the runs found, :math:`\Delta_m` computed per seed
  against that seed's baseline, then averaged;
- :func:`paired_difference` and :func:`resolved_orderings`: seed-paired differences with
  Student-t intervals; :func:`complete_seeds`: the seeds that every row has;
- :func:`ratio_to_paper`: our mean over seeds divided by the published value, column by column;
- :func:`format_mean_std` and :func:`html_table`: cells and tables to show;
- :func:`read_paper_table2`: the published Table II (``book/data/paper/table2_optimisers.csv``).

Everything works with any subset of a grid: configurations without runs are left out, and
every summary says how many values it averages.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from radarode_lite import _checks, conventions, metrics
from radarode_lite.bookdata import book_file

__all__ = [
    "TABLE2_TASKS",
    "TABLE2_COLUMNS",
    "HIGHER_IS_BETTER",
    "BASELINE",
    "SINGLE_TASK_RUNS",
    "TABLE2_METHODS",
    "EGA_TEMPERATURES",
    "EGA_VARIANTS",
    "TABLE2_CONFIGS",
    "configuration",
    "label",
    "paper_label",
    "summarise_runs",
    "single_task_baseline",
    "delta_m_per_task",
    "delta_m_table2",
    "table2",
    "paired_difference",
    "resolved_orderings",
    "complete_seeds",
    "PAPER_COLUMNS",
    "ratio_to_paper",
    "format_mean_std",
    "html_table",
    "read_paper_table2",
]

#: Metrics of each task in Table II (:data:`radarode_lite.conventions.TASK_METRICS`, the keys of
#: :func:`radarode_lite.train.evaluate`) in the table's task order; the grouping of :math:`\Delta_m`.
TABLE2_TASKS = {task: conventions.TASK_METRICS[task] for task in ("shape", "ppi", "anchor")}

#: The metric columns of Table II, in the paper's order.
TABLE2_COLUMNS = tuple(k for keys in TABLE2_TASKS.values() for k in keys)

#: Whether a larger value of a column is better: the pipeline's metrics
#: (:data:`radarode_lite.conventions.HIGHER_IS_BETTER`) and the :math:`\Delta_m` columns.
HIGHER_IS_BETTER = {**conventions.HIGHER_IS_BETTER, "delta_m_pct": True,
                    **{f"delta_m_{task}_pct": True for task in TABLE2_TASKS}}  # fmt: skip

#: Configuration name of the single-task baseline row.
BASELINE = "single_task"

#: Configuration of the single-task run of each task.
SINGLE_TASK_RUNS = {"shape": "single_shape", "anchor": "single_anchor", "ppi": "single_ppi"}

#: Multi-task methods of Table II other than EGA (registry names, the paper's order) and their labels.
TABLE2_METHODS = {"ew": "Equal Weight", "uw": "UW", "gls": "GLS", "dwa": "DWA", "stch": "STCH",
                  "graddrop": "GradDrop", "gradvac": "GradVac", "cagrad": "CAGrad", "imtl": "IMTL",
                  "moco": "MoCo", "aligned_mtl": "Aligned-MTL"}  # fmt: skip

#: EGA's temperatures in Table II and the two forms of its alignment (chapter 11).
EGA_TEMPERATURES = (0.1, 0.5, 1.0, 1.5, 2.0)
EGA_VARIANTS = ("paper", "official")

#: Row order of :func:`table2`, the rows of the published table: the baseline, the methods, EGA
#: (its paper form) at each temperature. Runs of other configurations (the official form of
#: EGA's alignment, chapter 11) come after them.
TABLE2_CONFIGS = (BASELINE,) + tuple(TABLE2_METHODS) + tuple(f"ega_paper_T{t:g}" for t in EGA_TEMPERATURES)

_SEED_SUFFIX = re.compile(r"^(?P<config>.+)_seed(?P<seed>\d+)$")
_EGA = re.compile(r"^ega_(?P<variant>paper|official)_T(?P<t>\d+(\.\d+)?)$")


def configuration(record) -> str:
    """The configuration of a run: its name (``record["run"]``, else the file stem of
    ``record["path"]``) without the trailing ``_seed<k>``.

    >>> configuration({"run": "ega_paper_T0.5_seed2"})
    'ega_paper_T0.5'
    """
    if not isinstance(record, Mapping):
        raise TypeError(f"record must be a results record (a dict), got {type(record).__name__}")
    name = record.get("run")
    if name is None and record.get("path") is not None:
        name = Path(str(record["path"])).stem
    if not isinstance(name, str) or not name:
        raise ValueError("record must name its run: a 'run' entry or a 'path' entry like 'ew_seed0.json'")
    match = _SEED_SUFFIX.match(name)
    return match["config"] if match else name


def label(config: str) -> str:
    """Readable name of a configuration: ``"ega_paper_T1"`` -> ``"EGA paper (T=1.0)"``."""
    if config == BASELINE:
        return "Single-task baseline"
    if config in TABLE2_METHODS:
        return TABLE2_METHODS[config]
    match = _EGA.match(config)
    if match:
        return f"EGA {match['variant']} (T={float(match['t']):.1f})"
    return config


def paper_label(config: str):
    """The row of the published Table II that a configuration reproduces, or None.

    Both variants of EGA map to the paper's EGA row of the same temperature.
    """
    if config == BASELINE or config in TABLE2_METHODS:
        return label(config)
    match = _EGA.match(config)
    if match:
        return f"EGA (T={float(match['t']):.1f})"
    return None


def summarise_runs(records, keys) -> dict:
    """Per configuration, the values of ``keys`` over its seeds, their mean and standard deviation.

    Parameters
    ----------
    records : sequence of results records (dicts with ``"run"`` or ``"path"``, ``"seed"`` and
        ``"metrics"``), e.g. from :func:`radarode_lite.studies.results.load_results`.
    keys : sequence of metric names looked up in ``record["metrics"]``; a missing or
        ``None`` value counts as NaN.

    Returns
    -------
    dict configuration -> ``{"seeds": [...], "values": {key: [...]}, "mean": {key: float},
    "std": {key: float}, "n": {key: int}}``, configurations in order of first appearance,
    seeds sorted, ``values`` aligned with ``seeds``. ``mean`` and ``std`` (sample standard
    deviation, ``ddof=1``) are taken over the finite values only; ``n`` counts them; the mean
    is NaN without finite values and the standard deviation with fewer than two.

    Raises ``ValueError`` when two records have the same configuration and seed.
    """
    records = _records(records)
    keys = _keys(keys)
    grouped: dict = {}
    for record in records:
        seed = _seed(record)
        runs = grouped.setdefault(configuration(record), {})
        if seed in runs:
            raise ValueError(f"two records of configuration {configuration(record)!r} have seed {seed}")
        runs[seed] = _metrics(record)
    out = {}
    for config, runs in grouped.items():
        seeds = sorted(runs)
        values = {k: [_number(runs[s].get(k)) for s in seeds] for k in keys}
        out[config] = {"seeds": seeds, "values": values, "mean": {}, "std": {}, "n": {}}
        for k in keys:
            finite = np.array([v for v in values[k] if math.isfinite(v)])
            out[config]["n"][k] = int(finite.size)
            out[config]["mean"][k] = float(finite.mean()) if finite.size else math.nan
            out[config]["std"][k] = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return out


def single_task_baseline(records) -> dict:
    """Per seed, the metrics of the three single-task runs together (the reference of :math:`\\Delta_m`).

    Returns ``{seed: {metric: value}}`` with the metrics of :data:`TABLE2_TASKS`, each taken
    from the run that trained that task alone (``single_shape``, ``single_anchor``,
    ``single_ppi``), for the seeds that have all three runs.
    """
    records = _records(records)
    found: dict = {}
    for record in records:
        config = configuration(record)
        for task, name in SINGLE_TASK_RUNS.items():
            if config == name:
                found.setdefault(_seed(record), {})[task] = _metrics(record)
    out = {}
    for seed in sorted(found):
        if set(found[seed]) == set(TABLE2_TASKS):
            out[seed] = {k: _number(found[seed][t].get(k)) for t, ks in TABLE2_TASKS.items() for k in ks}
    return out


def delta_m_per_task(base, new) -> dict:
    r"""Each task's share of :func:`delta_m_table2`: ``{task: percent}``, the mean signed relative change of its metrics.

    :func:`delta_m_table2` is the mean of these three numbers
    (:func:`radarode_lite.metrics.delta_m_from_metrics` with ``per_task=True``). A metric whose
    baseline is close to zero (an MDR of 1 %, say) can make its task's share very large: the
    relative change divides by the baseline. NaN for a task with a missing or non-finite value.
    """
    shares = metrics.delta_m_from_metrics(base, new, TABLE2_TASKS, HIGHER_IS_BETTER, per_task=True, missing="nan")
    return {task: shares[task] for task in TABLE2_TASKS}


def delta_m_table2(base, new) -> float:
    r""":math:`\Delta_m` (percent) of metrics ``new`` over ``base`` with Table II's per-task grouping.

    :func:`radarode_lite.metrics.delta_m_from_metrics` with the groups :data:`TABLE2_TASKS`: the
    mean over the three tasks of the mean signed relative change of each task's metrics, shape
    (RMSE, PCC), cycle length (PPI error), anchor (timing error, MDR). NaN if a value is
    missing (or ``None``) or not finite.

    Parameters
    ----------
    base, new : mappings holding the five metrics of :data:`TABLE2_COLUMNS`.
    """
    return metrics.delta_m_from_metrics(base, new, TABLE2_TASKS, HIGHER_IS_BETTER, missing="nan")


def table2(records) -> list:
    r"""The rows of the book's Table II from the runs in ``records``.

    One row per configuration with at least one run, in the order of :data:`TABLE2_CONFIGS`
    (other configurations after them, sorted; the single-task runs themselves only through the
    baseline row). Each row is a dict with ``config``, ``label``, ``paper_label`` and the
    entries of :func:`summarise_runs` (``seeds``, ``values``, ``mean``, ``std``, ``n``) for the
    columns :data:`TABLE2_COLUMNS`, ``"delta_m_pct"`` and the per-task shares
    ``"delta_m_shape_pct"``, ``"delta_m_ppi_pct"``, ``"delta_m_anchor_pct"``
    (:func:`delta_m_per_task`; their mean is ``"delta_m_pct"``). :math:`\Delta_m` is computed per
    run against the baseline of the same seed (:func:`single_task_baseline`) and NaN for a
    seed without a complete baseline; the baseline row has :math:`\Delta_m = 0` for each of
    its seeds.
    """
    records = _records(records)
    baseline = single_task_baseline(records)
    parts = tuple(f"delta_m_{t}_pct" for t in TABLE2_TASKS)
    rows_in = [{"run": f"{BASELINE}_seed{s}", "seed": s, "metrics": {**m, "delta_m_pct": 0.0, **dict.fromkeys(parts, 0.0)}}
               for s, m in baseline.items()]  # fmt: skip
    for record in records:
        if configuration(record) in SINGLE_TASK_RUNS.values():
            continue
        if configuration(record) == BASELINE:
            raise ValueError(f"a run may not be named {BASELINE!r}: that name is the baseline row's")
        seed, values = _seed(record), dict(_metrics(record))
        if seed in baseline:
            values["delta_m_pct"] = delta_m_table2(baseline[seed], values)
            for task, share in delta_m_per_task(baseline[seed], values).items():
                values[f"delta_m_{task}_pct"] = share
        else:
            values.update(dict.fromkeys(("delta_m_pct",) + parts, math.nan))
        rows_in.append({"run": configuration(record), "seed": seed, "metrics": values})
    summary = summarise_runs(rows_in, TABLE2_COLUMNS + ("delta_m_pct",) + parts)
    order = [c for c in TABLE2_CONFIGS if c in summary] + sorted(c for c in summary if c not in TABLE2_CONFIGS)
    return [{"config": c, "label": label(c), "paper_label": paper_label(c), **summary[c]} for c in order]


def paired_difference(rows, a: str, b: str, key: str = "delta_m_pct", level: float = 0.95) -> dict:
    r"""The seed-paired difference ``a - b`` in column ``key`` with its Student-t interval (chapter 12).

    Runs of the same seed share the initial weights, the batch order and the augmentation
    draws, so the difference is taken seed by seed; its mean :math:`\bar d` over the ``n``
    seeds both configurations have and the interval :math:`\bar d \pm t_{n-1} s_d / \sqrt n`
    at confidence ``level``. The ordering is *resolved* when the interval excludes 0; the
    better configuration then follows the direction of :data:`HIGHER_IS_BETTER`.

    Returns
    -------
    dict with ``a``, ``b``, ``key``, ``n`` (paired seeds), ``mean`` and ``low``, ``high`` (NaN
    with fewer than 2 seeds), ``resolved`` (bool) and ``better`` (``a``, ``b`` or None).
    """
    from scipy import stats

    table = _as_table(rows)
    for name, config in (("a", a), ("b", b)):
        if config not in table:
            raise ValueError(f"{name} must be a configuration of rows, got {config!r}; rows hold {sorted(table)}")
    if key not in HIGHER_IS_BETTER:
        raise ValueError(f"key must be one of {sorted(HIGHER_IS_BETTER)}, got {key!r}")
    if any(key not in table[c]["mean"] for c in (a, b)):
        raise ValueError(f"rows have no column {key!r}")
    if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    va = dict(zip(table[a]["seeds"], table[a]["values"].get(key, [])))
    vb = dict(zip(table[b]["seeds"], table[b]["values"].get(key, [])))
    d = np.array([va[s] - vb[s] for s in sorted(va) if s in vb and math.isfinite(va[s]) and math.isfinite(vb[s])])
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    low = high = math.nan
    if n >= 2:
        half = float(stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
        low, high = mean - half, mean + half
    resolved = bool(n >= 2 and (low > 0 or high < 0))
    better = None
    if resolved:
        a_higher = mean > 0
        better = a if a_higher == HIGHER_IS_BETTER[key] else b
    return {"a": a, "b": b, "key": key, "n": n, "mean": mean, "low": low, "high": high, "resolved": resolved,
            "better": better}  # fmt: skip


def resolved_orderings(rows, key: str = "delta_m_pct", against=None, level: float = 0.95) -> list:
    """:func:`paired_difference` of every configuration of ``rows`` against each of ``against``
    (default: the single-task baseline and EW), skipping a configuration against itself."""
    table = _as_table(rows)
    against = [c for c in (against or (BASELINE, "ew")) if c in table]
    return [paired_difference(table, a, b, key, level) for b in against for a in table if a != b]


def complete_seeds(rows, configs=None, key: str = "delta_m_pct") -> list:
    """The seeds for which every configuration of ``configs`` has a finite value of ``key``.

    ``rows`` from :func:`table2`; ``configs`` defaults to the rows of the published table
    (:data:`TABLE2_CONFIGS`). A configuration without any run leaves no seed complete. Sorted.
    """
    table = _as_table(rows)
    configs = TABLE2_CONFIGS if configs is None else tuple(configs)
    if not configs:
        raise ValueError("configs must name at least one configuration")
    seeds = None
    for config in configs:
        if config not in table:
            return []
        row = table[config]
        have = {s for s, v in zip(row["seeds"], row["values"].get(key, [])) if math.isfinite(v)}
        seeds = have if seeds is None else seeds & have
    return sorted(seeds)


#: The column of the published Table II (:func:`read_paper_table2`) that each of our metrics
#: sits beside; the paper's RMSE is in mV, ours (``rmse_norm``) on the min-max normalised beat.
PAPER_COLUMNS = {"rmse_norm": "rmse_mv", "pcc_pct": "pcc_pct", "ppi_error_ms": "ppi_error_ms",
                 "timing_error_ms": "timing_error_ms", "mdr_pct": "mdr_pct"}  # fmt: skip


def ratio_to_paper(row, paper) -> dict:
    """Our mean over seeds divided by the paper's value, ``{metric: ratio}``, for the metrics of
    :data:`PAPER_COLUMNS` (chapter 12).

    ``row`` is a row of :func:`table2`, ``paper`` the result of :func:`read_paper_table2`. A
    ratio of 1 is the published value; NaN where the row has no published row
    (``row["paper_label"]``), no finite mean or the paper's value is 0. The RMSE ratio compares
    different units (normalised beat against mV) and is given for completeness only.
    """
    if not isinstance(row, Mapping) or "mean" not in row or "paper_label" not in row:
        raise TypeError("row must be a row of table2()")
    if not isinstance(paper, Mapping):
        raise TypeError(f"paper must be the mapping of read_paper_table2(), got {type(paper).__name__}")
    published = paper.get(row["paper_label"])
    out = {}
    for key, column in PAPER_COLUMNS.items():
        ours = row["mean"].get(key, math.nan)
        theirs = math.nan if published is None else float(published.get(column, math.nan))
        ok = math.isfinite(ours) and math.isfinite(theirs) and theirs != 0
        out[key] = ours / theirs if ok else math.nan
    return out


def format_mean_std(row, key: str, digits: int = 2) -> str:
    """A cell of a table: ``"mean ± std"`` of ``row``'s column ``key``, the mean alone for one
    value, ``"-"`` for none; ``digits`` decimals."""
    if not isinstance(row, Mapping) or "mean" not in row or "n" not in row:
        raise TypeError("row must be a row of table2() or a value of summarise_runs()")
    if key not in row["mean"]:
        raise ValueError(f"row has no column {key!r}; it has {sorted(row['mean'])}")
    digits = _checks.non_negative_int(digits, "digits")
    n, mean, std = row["n"][key], row["mean"][key], row["std"][key]
    if n == 0:
        return "-"
    return f"{mean:.{digits}f}" if n == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def html_table(header, body) -> str:
    """An HTML table (for ``IPython.display.HTML``) of the strings in ``header`` and the rows of ``body``."""
    import html

    header = [str(h) for h in header]
    body = [[str(c) for c in row] for row in body]
    if any(len(row) != len(header) for row in body):
        raise ValueError(f"every row of body must have {len(header)} cells, like header")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def read_paper_table2(path=None) -> dict:
    """The published Table II: ``{method label: {column: value}}`` from its CSV transcription.

    Columns as in the file: ``rmse_mv``, ``pcc_pct``, ``ppi_error_ms``, ``timing_error_ms``,
    ``mdr_pct``, ``delta_m_pct`` (floats); rows in the paper's order. ``path`` None reads the
    book's ``paper/table2_optimisers.csv`` wherever it is (:func:`radarode_lite.bookdata.book_file`).
    """
    path = book_file("paper/table2_optimisers.csv") if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Table II file at {str(path)!r}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "method" not in reader.fieldnames:
            raise ValueError(f"{str(path)!r} must be a CSV file with a 'method' column")
        table = {}
        for line, row in enumerate(reader, start=2):
            if row["method"] in table:
                raise ValueError(f"{str(path)!r} line {line}: method {row['method']!r} appears twice")
            table[row["method"]] = {k: _cell(v, path, line, k) for k, v in row.items() if k != "method"}
        return table


def _cell(value, path, line, column) -> float:
    """One number of a CSV table; ValueError naming the file, line and column if it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{str(path)!r} line {line}, column {column!r}: expected a number, got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _records(records) -> list:
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of results records, got {type(records).__name__}")
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"records[{i}] must be a results record (a dict), got {type(record).__name__}")
    return list(records)


def _seed(record) -> int:
    seed = record.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"record {configuration(record)!r} must hold an integer 'seed' >= 0, got {seed!r}")
    return int(seed)


def _metrics(record) -> Mapping:
    if not isinstance(record.get("metrics"), Mapping):
        raise ValueError(f"record {configuration(record)!r} must hold a 'metrics' mapping")
    return record["metrics"]


def _keys(keys) -> tuple:
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys:
        raise TypeError(f"keys must be a non-empty list of metric names, got {keys!r}")
    if not all(isinstance(k, str) for k in keys):
        raise TypeError(f"keys must hold strings, got {list(keys)!r}")
    return tuple(keys)


def _number(value) -> float:
    """A metric value as a float (``None``, as stored for NaN, becomes NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"metric values must be numbers, got {value!r}")
    return float(value)


def _as_table(rows) -> dict:
    if isinstance(rows, Mapping):
        return dict(rows)
    if isinstance(rows, Sequence) and all(isinstance(r, Mapping) and "config" in r for r in rows):
        return {r["config"]: r for r in rows}
    raise TypeError("rows must be the list returned by table2() or the dict returned by summarise_runs()")
