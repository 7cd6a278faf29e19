"""Tests of the noise study (radarode_lite.studies: noise_conditions, frameworks, robustness) and
data_scripts/run_noise.py (chapter 14: Tables III and V)."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from radarode_lite import data, noise
from radarode_lite.studies import frameworks as FW
from radarode_lite.studies import noise_conditions as NC
from radarode_lite.studies import results
from radarode_lite.studies import robustness as R

REPO = Path(__file__).resolve().parents[1]
FS = data.FS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two subjects x 6 s of normal breathing with their .mat files: 3 segments each."""
    root = tmp_path_factory.mktemp("noise") / "data"
    data.generate_dataset(root, n_subjects=2, statuses=("NB",), duration_s=6.0, preset="lite", seed=3,
                          progress=False, save_mat=True)  # fmt: skip
    split = data.subject_split(root, test_subjects=[1], seed=0, preset="lite")
    return split


def _cardiac(x):
    return noise.cardiac_part(x, FS)


# --------------------------------------------------------------------------- conditions


def test_parse_condition_canonical_names_and_defaults():
    assert NC.parse_condition("clean")["family"] == "clean"
    c = NC.parse_condition(" SNR:-3.0 ")
    assert (c["name"], c["family"], c["snr_db"]) == ("snr:-3", "constant", -3.0)
    a = NC.parse_condition("abrupt:-9:2")
    assert a["fraction"] == NC.ABRUPT_FRACTION and a["duration_s"] == 2.0 and a["name"] == "abrupt:-9:2:0.2"
    assert NC.parse_condition(a) == a  # a parsed condition parses to itself
    assert NC.condition_tag("abrupt:-9:3:1") == "abrupt_-9_3_1"
    assert len(set(NC.GRID_CONDITIONS)) == 13 and NC.GRID_CONDITIONS[0] == "clean"


@pytest.mark.parametrize("bad, error", [("loud", ValueError), ("snr:x", ValueError), ("snr:nan", ValueError),
                                         ("abrupt:-9:5", ValueError), ("abrupt:-9:1:1.5", ValueError),
                                         ("abrupt:-9:0", ValueError), (3, TypeError), ({"snr_db": 3}, ValueError)])
def test_parse_condition_rejects_bad_names(bad, error):
    with pytest.raises(error):
        NC.parse_condition(bad)


# --------------------------------------------------------------------------- noisy test sets


def test_clean_test_set_reproduces_the_stored_inputs(tiny):
    test = tiny["test"]
    ts = NC.noisy_test_set(test, "clean")
    stored = np.stack([test[i]["sst"].numpy() for i in range(len(test))])
    assert ts.sst.shape == stored.shape and np.array_equal(ts.sst, stored)
    assert np.allclose(ts.ecg, np.stack([test[i]["ecg"].numpy() for i in range(len(test))]), atol=1e-6)
    assert ts.reference.min() == 0.0 and ts.reference.max() == 1.0 and ts.radar.shape == (len(test), 8, 800)


def test_constant_noise_has_its_nominal_snr_and_lower_snr_is_worse(tiny):
    test = tiny["test"]
    clean = NC.noisy_test_set(test, "clean")
    rcg = data.load_mmecg_mat(Path(test.root) / test.records[0]["mat"])["RCG"]
    p_card = np.var(_cardiac(np.asarray(rcg, dtype=float).T[::7][:8]), axis=-1)  # the lite channels 0, 7, ..., 49
    measured = []
    for snr in (6, 0, -3, -9):
        added = NC.noisy_test_set(test, f"snr:{snr}").radar - clean.radar
        snr_est = 10 * np.log10(p_card / np.var(added[0], axis=-1))  # per channel, over one 4-s window
        assert np.all(np.abs(snr_est - snr) < 1.0), (snr, snr_est)
        measured.append(float(np.mean(snr_est)))
    assert all(a > b for a, b in zip(measured, measured[1:]))
    # the network input moves further from the clean one as the noise grows
    distances = [np.abs(NC.noisy_test_set(test, f"snr:{s}").sst - clean.sst).mean() for s in (6, -9)]
    assert distances[1] > distances[0] > 0


def test_abrupt_noise_is_one_burst_inside_each_segment(tiny):
    test = tiny["test"]
    clean = NC.noisy_test_set(test, "clean")
    noisy = NC.noisy_test_set(test, "abrupt:-9:2:1")
    assert all(b is not None for b in noisy.bursts)
    for k, burst in enumerate(noisy.bursts):
        changed = np.flatnonzero(np.any(noisy.radar[k] != clean.radar[k], axis=0))
        assert changed.size == int(round(2.0 * FS))  # exactly the burst's samples
        assert abs(changed[0] / FS - burst["start_s"]) <= 1 / FS and 0 <= burst["start_s"] <= 2.0
    # the same noise, whatever segments are asked for (each segment has its own stream)
    one = NC.noisy_test_set(test, "abrupt:-9:2:1", segments=[2])
    assert np.array_equal(one.radar[0], noisy.radar[2]) and one.bursts[0] == noisy.bursts[2]
    # a lower SNR and a longer burst both add more noise energy
    energy = {c: np.sum((NC.noisy_test_set(test, c).radar - clean.radar) ** 2)
              for c in ("abrupt:0:1:1", "abrupt:-9:1:1", "abrupt:-9:3:1")}  # fmt: skip
    assert energy["abrupt:0:1:1"] < energy["abrupt:-9:1:1"] < energy["abrupt:-9:3:1"]
    half = NC.noisy_test_set(test, "abrupt:-9:2:0.5")  # round(0.5 * 3) = 2 of 3 segments
    assert sum(b is not None for b in half.bursts) == 2


def test_noise_is_deterministic_for_a_seed(tiny):
    a = NC.noisy_test_set(tiny["test"], "snr:0", seed=4)
    b = NC.noisy_test_set(tiny["test"], "snr:0", seed=4)
    c = NC.noisy_test_set(tiny["test"], "snr:0", seed=5)
    assert np.array_equal(a.sst, b.sst) and not np.array_equal(a.radar, c.radar)


# --------------------------------------------------------------------------- models


def test_direct_regression_shapes_and_training(one_thread, tiny):
    model = FW.DirectRegression("lite", seed=0)
    x = torch.rand(3, 8, 32, 120)
    assert model(x).shape == (3, 800) and model.encode(x).shape == (3, 64, 30)
    counts = model.count_parameters()
    assert counts["total"] == counts["shared"] + counts["decoder"] > 0
    items = FW.in_memory(tiny["train"]) * 2  # 6 segments
    first = FW.train_direct(model, items, epochs=1, batch_size=3, lr=3e-3, seed=1)
    more = FW.train_direct(model, items, epochs=6, batch_size=3, lr=3e-3, seed=1)
    assert more["train_loss"][-1] < 0.5 * first["train_loss"][0]  # it learns the reference ECG
    again = FW.DirectRegression("lite", seed=0)
    assert FW.train_direct(again, items, epochs=1, batch_size=3, lr=3e-3, seed=1)["train_loss"] == first["train_loss"]
    out = FW.predict_direct(model, np.stack([it["sst"].numpy() for it in items]))
    assert out.shape == (6, 800) and np.all(np.isfinite(out))


def test_models_round_trip_through_a_file(one_thread, tmp_path):
    x = torch.rand(2, 8, 32, 120)
    for fw in FW.FRAMEWORKS:
        model = FW.build_model(fw, seed=2).eval()
        path = FW.save_model(tmp_path / f"{fw}.pt", fw, model, {"seed": 2})
        loaded, config = FW.load_model(path)
        with torch.no_grad():
            a, b = model(x), loaded(x)
        a, b = (a, b) if fw == "mmecg" else (a["shape"], b["shape"])
        assert config == {"seed": 2} and torch.equal(a, b)
    with pytest.raises(ValueError, match="does not match"):
        FW.save_model(tmp_path / "x.pt", "mmecg", FW.build_model("radarode"))
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes((tmp_path / "mmecg.pt").read_bytes()[:2000])
    with pytest.raises(ValueError, match=r"damaged\.pt' is not a readable model file"):
        FW.load_model(damaged)
    damaged.write_bytes(b"\x80\x02not a pickle at all")
    with pytest.raises(ValueError, match="not a readable model file"):
        FW.load_model(damaged)
    state = torch.load(tmp_path / "mmecg.pt", weights_only=True)
    state["framework"] = "radarode"  # weights of another network
    torch.save(state, damaged)
    with pytest.raises(ValueError, match="do not fit its network"):
        FW.load_model(damaged)


def test_reconstructions_have_one_row_per_segment(one_thread, tiny):
    ts = NC.noisy_test_set(tiny["test"], "clean")
    for fw in FW.FRAMEWORKS:
        out = FW.reconstruct_ecg(fw, FW.build_model(fw, seed=0), ts)
        assert out.shape == (len(ts), 800) and np.all(np.isfinite(out))
    pred = FW.predict_outputs(FW.build_model("radarode_mtl", seed=0), ts)
    assert pred["shape"].shape == (len(ts), 200) and pred["anchor"].shape == (len(ts), 800)
    # the single-cycle beats sit on the anchors they are given; no anchor, no beat
    anchors = [np.array([0.5, 1.3, 2.1, 2.9, 3.7])] + [np.zeros(0)] * (len(ts) - 1)
    out = FW.reconstruct_single_cycle(FW.build_model("radarode", seed=0), ts, anchors=anchors)
    assert np.all(out[1:] == 0.0)
    with pytest.raises(ValueError, match="one array per segment"):
        FW.reconstruct_single_cycle(FW.build_model("radarode"), ts, anchors=anchors[:1])


# --------------------------------------------------------------------------- scores


def _spiky(r_peaks_s, n=800):
    t = np.arange(n) / FS
    return sum(np.exp(-0.5 * ((t - r) / 0.012) ** 2) for r in r_peaks_s) + 0.05 * np.sin(2 * np.pi * t)


def test_ecg_metrics_of_perfect_shifted_and_flat_reconstructions():
    peaks = [np.array([0.4, 1.2, 2.0, 2.8, 3.6]), np.array([0.3, 1.1, 1.95, 2.75, 3.5])]
    ref = NC.ecg_reference(np.stack([_spiky(p) for p in peaks]))
    perfect = R.ecg_metrics(ref, ref, peaks)
    assert perfect["rmse"] == 0 and math.isclose(perfect["pcc_pct"], 100.0)
    assert perfect["mdr_pct"] == 0 and perfect["peak_error_ms"] < 5.0 and perfect["n_beats"] == 10
    late = np.roll(ref, 8, axis=1)  # 40 ms late: every peak found, 40 ms off
    shifted = R.ecg_metrics(late, ref, peaks)
    assert 35.0 < shifted["peak_error_ms"] < 45.0 and shifted["pcc_pct"] < perfect["pcc_pct"]
    flat = R.ecg_metrics(np.zeros_like(ref), ref, peaks, per_segment=True)
    assert flat["pcc_pct"] == 0 and flat["mdr_pct"] == 100 and flat["n_flat"] == 2
    assert math.isnan(flat["peak_error_ms"]) and flat["per_segment"]["pcc_pct"] == [0.0, 0.0]


def test_anchor_scores_count_misses_and_time_errors():
    true = [np.array([0.5, 1.3, 2.1]), np.array([0.4, 1.2])]
    assert R.anchor_scores(true, true) == {"timing_error_ms": 0.0, "mdr_pct": 0.0}
    late = R.anchor_scores([t + 0.01 for t in true], true)
    assert math.isclose(late["timing_error_ms"], 10.0) and late["mdr_pct"] == 0.0
    missing = R.anchor_scores([np.array([0.5, 2.3]), np.zeros(0)], true)  # 2.3 is 0.2 s off: no partner
    assert missing["mdr_pct"] == 80.0 and missing["timing_error_ms"] == 0.0
    with pytest.raises(ValueError, match="one array per segment"):
        R.anchor_scores(true[:1], true)


def test_delta_m_of_the_baseline_is_zero_and_matches_the_paper():
    base = {"rmse": 0.1, "pcc_pct": 85.0, "peak_error_ms": 8.0, "mdr_pct": 4.0}
    assert R.delta_m_pct(base, base) == 0.0
    assert R.delta_m_pct(base, dict(base, pcc_pct=80.0)) < 0 < R.delta_m_pct(base, dict(base, mdr_pct=3.0))
    # equal weights of the four columns reproduce the published delta_m to the rounding of the columns
    paper = R.read_paper_tables(REPO / "book" / "data" / "paper")
    checked = 0
    for (fw, cond), row in paper.items():
        if not math.isnan(row["pcc_pct"]):
            assert abs(R.delta_m_pct(paper[(fw, "clean")], row) - row["delta_m_pct"]) < 0.6, (fw, cond)
            checked += 1
    assert checked == 38 and math.isnan(paper[("radarode", "snr:-3")]["rmse"])


def test_the_failure_rule():
    assert R.is_failure(59.9) and not R.is_failure(60.0) and not R.is_failure(84.96)
    assert R.is_failure({"pcc_pct": 12.0}) and not R.is_failure(50.0, threshold=40.0)
    assert R.is_failure(0.85)  # a fraction, 0.85 %, is a failure: the rule reads percent
    for bad in (150.0, float("nan"), True, "60"):
        with pytest.raises(ValueError):
            R.is_failure(bad)


def test_aggregate_means_and_half_ranges():
    def rec(fw, seed, pcc):
        return {"config": {"framework": fw, "condition": {"name": "snr:-3"}}, "seed": seed,
                "metrics": {"rmse": 0.1, "pcc_pct": pcc, "peak_error_ms": None, "mdr_pct": 5.0, "delta_m_pct": -1.0}}
    table = R.aggregate([rec("mmecg", 0, 80.0), rec("mmecg", 1, 70.0), rec("radarode", 0, 90.0)])
    entry = table[("mmecg", "snr:-3")]
    assert entry["seeds"] == [0, 1] and entry["pcc_pct"]["mean"] == 75.0 and entry["pcc_pct"]["spread"] == 5.0
    assert math.isnan(entry["peak_error_ms"]["mean"]) and table[("radarode", "snr:-3")]["pcc_pct"]["spread"] == 0.0


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_raise(tiny):
    with pytest.raises(TypeError, match="SegmentDataset"):
        NC.noisy_test_set([1, 2], "clean")
    with pytest.raises(ValueError, match="out of range"):
        NC.noisy_test_set(tiny["test"], "clean", segments=[99])
    with pytest.raises(ValueError, match="without variation"):
        NC.ecg_reference(np.ones((2, 800)))
    with pytest.raises(ValueError, match="shape"):
        FW.DirectRegression("lite")(torch.rand(2, 8, 32, 100))
    with pytest.raises(ValueError, match="framework"):
        FW.train_framework("mmecg2", FW.in_memory(tiny["train"]))
    with pytest.raises(TypeError, match="DirectRegression"):
        FW.train_direct(FW.build_model("radarode"), FW.in_memory(tiny["train"]))
    with pytest.raises(ValueError, match="epochs"):
        FW.train_direct(FW.DirectRegression(), FW.in_memory(tiny["train"]), epochs=0)
    with pytest.raises(ValueError, match="lacks the metrics"):
        R.delta_m_pct({"rmse": 1.0}, {"rmse": 1.0})
    with pytest.raises(ValueError, match="one shape"):
        R.ecg_metrics(np.zeros((2, 800)), np.zeros((2, 700)), [np.zeros(0)] * 2)
    with pytest.raises(TypeError, match="TestSet"):
        FW.reconstruct_ecg("mmecg", FW.DirectRegression(), np.zeros((1, 8, 32, 120)))
    with pytest.raises(TypeError, match="list of results"):
        R.aggregate({"a": 1})
    with pytest.raises(FileNotFoundError):
        R.read_paper_tables(REPO / "no_such_folder")


# --------------------------------------------------------------------------- the grid script


def test_smoke_grid_runs_and_its_files_are_results(tmp_path, monkeypatch, capsys):
    script = REPO / "data_scripts" / "run_noise.py"
    done = subprocess.run([sys.executable, str(script), "--smoke", "--results", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["written"] == 6 and Path(summary["folder"]) == tmp_path / "noise"
    records = results.load_results(tmp_path / "noise")
    assert len(records) == 6
    assert {(r["config"]["framework"], r["config"]["condition"]["name"]) for r in records} == {
        (fw, c) for fw in FW.FRAMEWORKS for c in ("clean", "abrupt:-9:1:1")}
    for r in records:
        assert set(R.METRIC_COLUMNS) <= set(r["metrics"])
        assert r["command"].startswith("python data_scripts/run_noise.py")
        assert r["config"]["train_noise"] == "clean" and r["config"]["test_subjects"] == [1]
        if r["config"]["condition"]["name"] == "clean" and r["metrics"]["delta_m_pct"] is not None:
            assert r["metrics"]["delta_m_pct"] == 0.0
    stored_models = sorted(p.name for p in (tmp_path / "noise" / "models").iterdir())
    assert stored_models == sorted(f"{fw}_seed0.pt" for fw in FW.FRAMEWORKS)
    # resumable: the stored runs are listed as done; bad arguments give exit status 2 (in-process, no new interpreter)
    runner = _run_noise_module()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "SSQ_PARALLEL"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))  # main() sets them; monkeypatch restores them
    assert runner.main(["--smoke", "--results", str(tmp_path), "--list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("done ", "todo "))]
    assert len(listed) == 6 and all(line.startswith("done ") for line in listed)
    assert runner.main(["--only", "nope", "--results", str(tmp_path)]) == 2
    assert "--only" in capsys.readouterr().err
    assert runner.main(["--epochs", "0", "--results", str(tmp_path)]) == 2


def _run_noise_module():
    spec = importlib.util.spec_from_file_location("run_noise", REPO / "radarode_lite" / "cli" / "run_noise.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
