"""The trivial baselines (radarode_lite.studies.baselines) and the benchmark data set's generation argument."""

import json

import numpy as np
import pytest

from radarode_lite import data, evaluation, metrics
from radarode_lite.conventions import FS, WINDOW_S
from radarode_lite.studies import baselines


@pytest.fixture(scope="module")
def mat_root(tmp_path_factory):
    """3 subjects, 2 statuses, 8 s each, with the .mat files the signal-processing anchors read."""
    root = tmp_path_factory.mktemp("baselines") / "set"
    data.generate_dataset(root, n_subjects=3, statuses=("NB", "PE"), duration_s=8.0, progress=False)
    return root


def test_channel_snr_is_recorded_and_changes_the_input(tmp_path):
    kw = dict(n_subjects=1, statuses=("NB",), duration_s=5.0, progress=False, save_mat=False)
    data.generate_dataset(tmp_path / "a", **kw)
    data.generate_dataset(tmp_path / "b", channel_snr_db=(-15, 5), **kw)
    data.generate_dataset(tmp_path / "c", size="benchmark", **kw)
    read = lambda name: json.loads((tmp_path / name / "dataset.json").read_text())  # noqa: E731
    assert read("a")["channel_snr_db"] == [0.0, 20.0]
    assert read("b")["channel_snr_db"] == read("c")["channel_snr_db"] == [-15.0, 5.0]
    sst = {n: np.load(tmp_path / n / "obj1_NB_1_" / "sst_seg_0.npy") for n in "abc"}
    assert np.array_equal(sst["b"], sst["c"])  # the size's range is the explicit one
    assert not np.allclose(sst["a"], sst["b"], atol=1e-3)
    ecg = {n: np.load(tmp_path / n / "obj1_NB_1_" / "ecg_seg_0.npy") for n in "ab"}
    assert np.array_equal(ecg["a"], ecg["b"])  # only the radar noise changes
    with pytest.raises(ValueError, match="snr_db_range"):
        data.generate_dataset(tmp_path / "d", channel_snr_db=(3, -3), **kw)


def test_benchmark_size():
    assert data.SIZES["benchmark"] == {"n_subjects": 12, "duration_s": 20.0, "channel_snr_db": (-15.0, 5.0)}


def test_trivial_baselines_by_hand(mat_root):
    split = data.subject_split(mat_root, test_subjects=[2])
    out = baselines.trivial_baselines(split["train"], split["test"])
    train_t = evaluation.dataset_targets(split["train"])
    test_t = evaluation.dataset_targets(split["test"])
    beat = train_t["shape"].mean(axis=0)
    pcc = [np.corrcoef(beat, s)[0, 1] for s in test_t["shape"]]
    assert out["mean_beat"]["pcc_pct"] == pytest.approx(100 * np.mean(pcc), abs=1e-3)
    guess = np.median(train_t["ppi"])
    assert out["median_ppi"]["ppi_error_ms"] == pytest.approx(np.mean(np.abs(guess - test_t["ppi"])) * 1000 / FS)
    sp = out["signal_processing"]
    assert 0 <= sp["mdr_pct"] <= 100 and sp["timing_error_ms"] >= 0
    # clean channels at 0-20 dB: the radar's own anchors find most beats and beat the median guess
    assert sp["mdr_pct"] < 30
    assert sp["ppi_error_ms"] < out["median_ppi"]["ppi_error_ms"]
    # a fixed rate knows neither the rate nor the phase of a held-out person: far worse than the radar
    assert out["fixed_rate"]["mdr_pct"] > sp["mdr_pct"]
    assert {v["n_segments"] for v in out.values()} == {float(len(split["test"]))}


def test_fixed_rate_anchors_and_cycle_samples():
    anchors = baselines.fixed_rate_anchors(3, 160, 0.1)
    assert len(anchors) == 3 and np.allclose(anchors[0], np.arange(0.1, WINDOW_S, 0.8))
    assert np.array_equal(baselines.anchor_cycle_samples([np.array([0.1, 0.9, 1.7]), np.array([2.0])], 150),
                          [160, 150])  # fmt: skip
    perfect = metrics.pooled_anchor_scores(anchors, anchors, metrics.MATCH_TOLERANCE_S)
    assert perfect["mdr_pct"] == 0.0
    with pytest.raises(ValueError, match="cycle_samples"):
        baselines.fixed_rate_anchors(1, 0, 0.1)


def test_trivial_baselines_refuse_other_inputs(mat_root):
    split = data.subject_split(mat_root, test_subjects=[2])
    with pytest.raises(TypeError, match="test_set"):
        baselines.trivial_baselines(split["train"], [1, 2])


def test_the_baselines_grid_stores_one_result_with_its_provenance(mat_root, tmp_path, capsys):
    from radarode_lite.cli import run_experiments
    from radarode_lite.studies import results

    argv = ["--grid", "baselines", "--data", str(mat_root), "--test-subjects", "1", "--out", str(tmp_path)]
    assert run_experiments.main(argv) == 0
    record = results.load_result(tmp_path / "baselines" / "baselines_seed0.json")
    assert record["command"].endswith(" ".join(argv))
    split = data.subject_split(mat_root, test_subjects=1, seed=0)  # the grid's split rule
    assert record["config"]["test_subjects"] == list(split["test"].subjects)
    expected = baselines.trivial_baselines(split["train"], split["test"])
    for name, values in expected.items():
        for key, value in values.items():
            assert record["metrics"][f"{name}.{key}"] == pytest.approx(value)
    capsys.readouterr()
    assert run_experiments.main(argv) == 0  # stored: nothing to do
    assert '"ran": 0' in capsys.readouterr().out


def test_cycle_length_beats_average_the_nearest_training_lengths():
    shapes = np.arange(5, dtype=float)[:, None] * np.ones((5, 3))
    lengths = np.array([100, 150, 120, 151, 99])
    out = baselines.cycle_length_beats(shapes, lengths, [150, 100, 125], k=2)
    # 150: rows 1 (0) and 3 (1); 100: rows 0 (0) and 4 (1); 125: row 2 (5), then rows 0 and 1
    # tie at 25 and the earlier, row 0, is taken
    assert np.allclose(out[:, 0], [(1 + 3) / 2, (0 + 4) / 2, (2 + 0) / 2])
    everything = baselines.cycle_length_beats(shapes, lengths, [130], k=5)
    assert np.allclose(everything, shapes.mean(axis=0))  # k = all: the mean beat
    for bad in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="k must"):
            baselines.cycle_length_beats(shapes, lengths, [130], k=bad)
    with pytest.raises(ValueError, match="must match"):
        baselines.cycle_length_beats(shapes, lengths[:4], [130])


def test_cycle_length_beat_reference_is_scored_like_the_mean_beat(mat_root):
    split = data.subject_split(mat_root, test_subjects=[2])
    out = baselines.trivial_baselines(split["train"], split["test"], radar=False)
    train_t, test_t = (evaluation.dataset_targets(split[k]) for k in ("train", "test"))
    k = min(baselines.NEAREST_BEATS, len(train_t["ppi"]))
    pred = baselines.cycle_length_beats(train_t["shape"], train_t["ppi"], test_t["ppi"], k=k)
    pcc = [np.corrcoef(p, s)[0, 1] for p, s in zip(pred, test_t["shape"])]
    assert out["cycle_length_beat"]["pcc_pct"] == pytest.approx(100 * np.mean(pcc), abs=1e-3)
    assert "signal_processing" not in out
