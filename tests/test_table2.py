"""Tests of radarode_lite.studies.table2: summaries over seeds and the book's Table II (chapter 12)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from radarode_lite.studies import table2 as tables

REPO = Path(__file__).resolve().parents[1]
BASE = {"rmse_norm": 0.1, "pcc_pct": 80.0, "ppi_error_ms": 10.0, "timing_error_ms": 10.0, "mdr_pct": 5.0}


def run(config, seed, **metrics):
    return {"run": f"{config}_seed{seed}", "seed": seed, "metrics": dict(metrics)}


def singles(seed, shape=(0.1, 80.0), ppi=10.0, anchor=(10.0, 5.0)):
    """The three single-task runs of one seed (each holds only its own task's metrics)."""
    return [run("single_shape", seed, rmse_norm=shape[0], pcc_pct=shape[1]),
            run("single_ppi", seed, ppi_error_ms=ppi),
            run("single_anchor", seed, timing_error_ms=anchor[0], mdr_pct=anchor[1])]  # fmt: skip


def test_configuration_strips_the_seed_and_falls_back_to_the_path():
    assert tables.configuration({"run": "ega_paper_T0.5_seed12"}) == "ega_paper_T0.5"
    assert tables.configuration({"path": "table2/uw_seed3.json"}) == "uw"
    assert tables.configuration({"run": "no_seed_suffix"}) == "no_seed_suffix"
    with pytest.raises(ValueError, match="record must name its run"):
        tables.configuration({"seed": 0})
    with pytest.raises(TypeError, match="record"):
        tables.configuration(["ew_seed0"])


def test_summarise_runs_mean_and_sample_std_over_seeds():
    records = [run("ew", 0, x=1.0), run("ew", 2, x=3.0), run("ew", 1, x=5.0), run("uw", 0, x=2.0)]
    out = tables.summarise_runs(records, ["x"])
    assert list(out) == ["ew", "uw"]
    assert out["ew"]["seeds"] == [0, 1, 2]
    assert out["ew"]["values"]["x"] == [1.0, 5.0, 3.0]  # aligned with the sorted seeds
    assert out["ew"]["mean"]["x"] == pytest.approx(3.0)
    assert out["ew"]["std"]["x"] == pytest.approx(2.0)  # sqrt(((1-3)^2 + (5-3)^2 + 0) / 2)
    assert out["uw"]["n"]["x"] == 1 and math.isnan(out["uw"]["std"]["x"])


def test_summarise_runs_skips_missing_values_but_counts_them():
    records = [run("ew", 0, x=1.0), run("ew", 1, x=None), run("ew", 2)]
    out = tables.summarise_runs(records, ["x"])["ew"]
    assert out["n"]["x"] == 1 and out["mean"]["x"] == 1.0
    assert math.isnan(out["values"]["x"][1]) and math.isnan(out["values"]["x"][2])


def test_summarise_runs_rejects_duplicates_and_bad_input():
    with pytest.raises(ValueError, match="seed 0"):
        tables.summarise_runs([run("ew", 0, x=1.0), run("ew", 0, x=2.0)], ["x"])
    with pytest.raises(TypeError, match="records"):
        tables.summarise_runs({"run": "ew_seed0"}, ["x"])
    with pytest.raises(TypeError, match="keys"):
        tables.summarise_runs([run("ew", 0, x=1.0)], "x")
    with pytest.raises(ValueError, match="seed"):
        tables.summarise_runs([{"run": "ew_seed0", "seed": -1, "metrics": {}}], ["x"])
    with pytest.raises(ValueError, match="metrics"):
        tables.summarise_runs([{"run": "ew_seed0", "seed": 0}], ["x"])


def test_single_task_baseline_merges_the_three_runs_of_each_complete_seed():
    records = singles(0) + singles(1, ppi=20.0) + singles(2)[:2]  # seed 2 lacks its anchor run
    base = tables.single_task_baseline(records)
    assert sorted(base) == [0, 1]
    assert base[0] == BASE
    assert base[1]["ppi_error_ms"] == 20.0


def test_delta_m_table2_by_hand():
    new = {"rmse_norm": 0.05, "pcc_pct": 88.0, "ppi_error_ms": 10.0, "timing_error_ms": 12.0, "mdr_pct": 5.0}
    # shape: RMSE -50 % (better: +50), PCC +10 %  -> 30; ppi: 0; anchor: timing +20 % (worse: -20), MDR 0 -> -10
    assert tables.delta_m_table2(BASE, new) == pytest.approx((30.0 + 0.0 - 10.0) / 3)
    parts = tables.delta_m_per_task(BASE, new)
    assert parts == pytest.approx({"shape": 30.0, "ppi": 0.0, "anchor": -10.0})
    assert tables.delta_m_table2(BASE, BASE) == 0.0
    assert math.isnan(tables.delta_m_table2(BASE, {**new, "mdr_pct": None}))
    with pytest.raises(TypeError, match="base"):
        tables.delta_m_table2([1, 2], new)


def test_the_grouping_is_per_task_not_per_metric():
    # a change in the single PPI metric weighs as much as both shape metrics together
    worse_ppi = {**BASE, "ppi_error_ms": 13.0}
    worse_rmse = {**BASE, "rmse_norm": 0.13}
    assert tables.delta_m_table2(BASE, worse_ppi) == pytest.approx(-10.0)
    assert tables.delta_m_table2(BASE, worse_rmse) == pytest.approx(-5.0)
    assert set(tables.TABLE2_TASKS) == {"shape", "ppi", "anchor"}
    from radarode_lite import train

    assert {t: tuple(k) for t, k in train.METRIC_KEYS.items()} == tables.TABLE2_TASKS


def test_table2_delta_m_per_seed_then_mean():
    records = singles(0) + singles(1, ppi=20.0)
    records += [run("ew", 0, **{**BASE, "ppi_error_ms": 5.0}),   # ppi +50 % -> +50/3
                run("ew", 1, **{**BASE, "ppi_error_ms": 30.0}),  # against seed 1's 20 ms: -50 % -> -50/3
                run("ega_paper_T1", 0, **BASE),
                run("ega_paper_T1", 3, **BASE)]  # no baseline for seed 3  # fmt: skip
    rows = tables.table2(records)
    assert [r["config"] for r in rows] == ["single_task", "ew", "ega_paper_T1"]
    by = {r["config"]: r for r in rows}
    assert by["single_task"]["values"]["delta_m_pct"] == [0.0, 0.0]
    assert by["ew"]["values"]["delta_m_pct"] == pytest.approx([50 / 3, -50 / 3])
    assert by["ew"]["mean"]["delta_m_pct"] == pytest.approx(0.0)
    assert by["ew"]["values"]["delta_m_ppi_pct"] == pytest.approx([50.0, -50.0])
    assert by["ew"]["values"]["delta_m_shape_pct"] == [0.0, 0.0]
    assert by["ew"]["mean"]["ppi_error_ms"] == pytest.approx(17.5)
    ega = by["ega_paper_T1"]
    assert ega["seeds"] == [0, 3] and ega["n"]["delta_m_pct"] == 1 and ega["n"]["rmse_norm"] == 2
    assert ega["label"] == "EGA paper (T=1.0)" and ega["paper_label"] == "EGA (T=1.0)"
    assert by["ew"]["paper_label"] == "Equal Weight"


def test_table2_skips_configurations_without_runs_and_handles_no_baseline():
    rows = tables.table2([run("uw", 0, **BASE)])
    assert [r["config"] for r in rows] == ["uw"]
    assert math.isnan(rows[0]["mean"]["delta_m_pct"]) and rows[0]["n"]["delta_m_pct"] == 0
    assert tables.table2([]) == []


def test_labels():
    assert tables.label("single_task") == "Single-task baseline"
    assert tables.label("aligned_mtl") == "Aligned-MTL"
    assert tables.label("ega_official_T0.1") == "EGA official (T=0.1)"
    assert tables.paper_label("ega_official_T2") == "EGA (T=2.0)"
    assert tables.paper_label("something_else") is None


def test_paper_table2_has_every_row_the_book_reproduces():
    paper = tables.read_paper_table2(REPO / "book" / "data" / "paper" / "table2_optimisers.csv")
    assert paper["Single-task baseline"]["delta_m_pct"] == 0.0
    labels = {tables.paper_label(c) for c in tables.TABLE2_CONFIGS}
    assert labels == set(paper)
    assert max(paper, key=lambda m: paper[m]["delta_m_pct"]) == "EGA (T=1.0)"
    with pytest.raises(FileNotFoundError, match="Table II"):
        tables.read_paper_table2(REPO / "no_such_table.csv")


@pytest.mark.parametrize("text, message", [
    ("method,pcc_pct\nEW,91.0\nEGA,ninety\n", r"line 3, column 'pcc_pct': expected a number, got 'ninety'"),
    ("method,pcc_pct,mdr_pct\nEW,91.0\n", r"line 2, column 'mdr_pct': expected a number, got None"),
    ("method,pcc_pct\nEW,91.0\nEW,92.0\n", r"line 3: method 'EW' appears twice"),
])  # fmt: skip
def test_a_bad_paper_table_is_named_with_its_line_and_column(tmp_path, text, message):
    path = tmp_path / "table2.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        tables.read_paper_table2(path)
    assert str(path) in str(info.value)


def test_row_order_matches_the_grid_of_run_experiments(monkeypatch):
    spec = importlib.util.spec_from_file_location("_grid_for_test", REPO / "radarode_lite" / "cli" / "run_experiments.py")
    grid = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_grid_for_test", grid)  # its dataclasses look themselves up there
    spec.loader.exec_module(grid)
    names = [r.name for r in grid.table2_runs([0], epochs=12)]
    configs = [tables.configuration({"run": n}) for n in names]
    multi = [c for c in configs if c not in tables.SINGLE_TASK_RUNS.values()]
    assert multi == list(tables.TABLE2_CONFIGS[1:])
    assert set(configs) - set(multi) == set(tables.SINGLE_TASK_RUNS.values())


def test_format_mean_std_and_html_table():
    rows = tables.table2(singles(0) + singles(1) + [run("ew", 0, **BASE), run("ew", 1, **{**BASE, "mdr_pct": 7.0})])
    ew = rows[1]
    assert tables.format_mean_std(ew, "mdr_pct", 1) == "6.0 ± 1.4"  # mean 6, sample std sqrt(2)
    assert tables.format_mean_std(tables.table2([run("ew", 0, **BASE)])[0], "rmse_norm", 3) == "0.100"
    assert tables.format_mean_std(tables.table2([run("ew", 0, **BASE)])[0], "delta_m_pct") == "-"
    with pytest.raises(ValueError, match="column"):
        tables.format_mean_std(ew, "accuracy")
    text = tables.html_table(["a", "b<"], [["1", "2 & 3"]])
    assert text.count("<tr>") == 2 and "b&lt;" in text and "2 &amp; 3" in text
    with pytest.raises(ValueError, match="cells"):
        tables.html_table(["a", "b"], [["1"]])


def _five_seeds(ew_ppi, ega_ppi):
    records = [r for s in range(len(ew_ppi)) for r in singles(s)]
    records += [run("ew", s, **{**BASE, "ppi_error_ms": v}) for s, v in enumerate(ew_ppi)]
    records += [run("ega_paper_T1", s, **{**BASE, "ppi_error_ms": v}) for s, v in enumerate(ega_ppi)]
    return tables.table2(records)


def test_paired_difference_agrees_with_scipys_paired_t_test():
    from scipy import stats

    ew, ega = [12.0, 9.0, 11.0, 10.5, 13.0], [9.0, 8.5, 9.0, 9.9, 10.0]
    rows = _five_seeds(ew, ega)
    out = tables.paired_difference(rows, "ega_paper_T1", "ew", key="ppi_error_ms")
    d = [a - b for a, b in zip(ega, ew)]
    ci = stats.ttest_rel(ega, ew).confidence_interval(0.95)
    assert out["n"] == 5 and out["mean"] == pytest.approx(sum(d) / 5)
    assert (out["low"], out["high"]) == pytest.approx((ci.low, ci.high))
    assert out["resolved"] and bool(stats.ttest_rel(ega, ew).pvalue < 0.05)
    assert out["better"] == "ega_paper_T1"  # lower PPI error is better
    dm = tables.paired_difference(rows, "ega_paper_T1", "ew")  # delta_m: higher is better, same ordering
    assert dm["resolved"] and dm["better"] == "ega_paper_T1" and dm["mean"] > 0


def test_paired_difference_unresolved_and_degenerate_cases():
    rows = _five_seeds([10.0, 12.0, 9.0, 11.0, 10.0], [11.0, 10.0, 10.0, 10.5, 10.2])
    out = tables.paired_difference(rows, "ega_paper_T1", "ew", key="ppi_error_ms")
    assert not out["resolved"] and out["better"] is None and out["low"] < 0 < out["high"]
    one = tables.paired_difference(_five_seeds([10.0], [9.0]), "ega_paper_T1", "ew", key="ppi_error_ms")
    assert one["n"] == 1 and math.isnan(one["low"]) and not one["resolved"]
    same = tables.paired_difference(rows, "ew", "ew", key="ppi_error_ms")  # all differences 0: an empty interval
    assert same["mean"] == 0.0 and not same["resolved"]
    with pytest.raises(ValueError, match="level"):
        tables.paired_difference(rows, "ew", "ega_paper_T1", level=95)
    with pytest.raises(ValueError, match="must be a configuration"):
        tables.paired_difference(rows, "moco", "ew")
    pairs = tables.resolved_orderings(rows, key="ppi_error_ms")
    assert {(p["a"], p["b"]) for p in pairs} == {("ew", "single_task"), ("ega_paper_T1", "single_task"),
                                                  ("single_task", "ew"), ("ega_paper_T1", "ew")}  # fmt: skip


def test_complete_seeds_are_those_every_row_has():
    records = singles(0) + singles(1) + singles(2)
    records += [run("ew", s, **BASE) for s in (0, 1, 2)] + [run("uw", s, **BASE) for s in (0, 2, 5)]
    rows = tables.table2(records)
    assert tables.complete_seeds(rows, ["single_task", "ew", "uw"]) == [0, 2]
    assert tables.complete_seeds(rows, ["single_task", "ew"]) == [0, 1, 2]
    assert tables.complete_seeds(rows) == []  # the published rows are not all there
    with pytest.raises(ValueError, match="configs"):
        tables.complete_seeds(rows, [])


def test_ratio_to_paper_is_one_on_the_published_values():
    paper = tables.read_paper_table2()
    published = paper["Equal Weight"]
    values = {k: published[c] for k, c in tables.PAPER_COLUMNS.items()}
    rows = tables.table2(singles(0) + singles(1) + [run("ew", s, **values) for s in (0, 1)])
    ratios = tables.ratio_to_paper(next(r for r in rows if r["config"] == "ew"), paper)
    assert set(ratios) == set(tables.PAPER_COLUMNS)
    assert all(math.isclose(v, 1.0) for v in ratios.values())
    doubled = tables.table2(singles(0) + [run("ew", 0, **{k: 2 * v for k, v in values.items()})])
    assert math.isclose(tables.ratio_to_paper(doubled[1], paper)["mdr_pct"], 2.0)
    other = tables.table2(singles(0) + [run("mine", 0, **values)])[1]
    assert all(math.isnan(v) for v in tables.ratio_to_paper(other, paper).values())
