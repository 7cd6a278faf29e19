"""Tests of radarode_lite.data: MMECG .mat files, targets, segments on disk, datasets, CLIs."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io as sio
import torch

from radarode_lite import data, signals, timefreq

ROOT = Path(__file__).resolve().parents[1]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "radarode_lite" / "cli" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recording(duration_s=8.0, status="NB", seed=0, subject_id=1):
    subject = signals.make_subject(subject_id, status, rng=seed)
    return signals.simulate_recording(subject, duration_s, rng=seed)


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def recording():
    return _recording(8.0, "PE", seed=3)


@pytest.fixture(scope="module")
def segments(recording):
    return data.segment_recording(recording.rcg, recording.ecg, preset="lite", r_peaks_s=recording.r_peaks)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "set"
    summary = data.generate_dataset(root, n_subjects=3, statuses=("NB", "SP"), duration_s=6.0, seed=5, progress=False)
    return root, summary


# ---------------------------------------------------------------------------------------
# MMECG .mat files
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["5", "7.3"])
def test_mat_round_trip_preserves_every_field(tmp_path, fmt):
    rng = np.random.default_rng(1)
    rcg, ecg = rng.standard_normal((300, 50)), rng.standard_normal(300)
    path = data.save_mmecg_mat(tmp_path / "7.mat", rcg, ecg, 12, 37, "F", "IB", format=fmt)
    out = data.load_mmecg_mat(path)
    assert out["RCG"].dtype == np.float64 and out["RCG"].shape == (300, 50)
    np.testing.assert_array_equal(out["RCG"], rcg)
    np.testing.assert_array_equal(out["ECG"], ecg)
    assert (out["id"], out["age"], out["gender"], out["physistatus"]) == (12, 37, "F", "IB")
    assert isinstance(out["id"], int) and isinstance(out["gender"], str)


def test_mat_formats_are_what_they_claim(tmp_path):
    rng = np.random.default_rng(2)
    rcg, ecg = rng.standard_normal((50, 4)), rng.standard_normal(50)
    v5 = data.save_mmecg_mat(tmp_path / "a.mat", rcg, ecg, 1, 30, "M", "NB", format="5")
    v73 = data.save_mmecg_mat(tmp_path / "b.mat", rcg, ecg, 1, 30, "M", "NB", format="7.3")
    raw = sio.loadmat(v5)["data"]  # a MATLAB struct for scipy, RCG samples x channels
    assert raw["RCG"][0, 0].shape == (50, 4) and raw["ECG"][0, 0].shape == (50, 1)
    with pytest.raises(NotImplementedError):
        sio.loadmat(v73)
    assert h5py.is_hdf5(v73)
    with h5py.File(v73, "r") as f:  # MATLAB stores column-major: channels x samples in HDF5
        assert f["data"].attrs["MATLAB_class"] == b"struct"
        assert f["data/RCG"].shape == (4, 50)
        assert f["data/gender"].attrs["MATLAB_class"] == b"char"


@pytest.mark.parametrize("fmt", ["5", "7.3"])
def test_mat_files_are_reproducible_byte_for_byte(tmp_path, fmt):
    rng = np.random.default_rng(3)
    rcg, ecg = rng.standard_normal((40, 3)), rng.standard_normal(40)
    a = data.save_mmecg_mat(tmp_path / "a.mat", rcg, ecg, 2, 50, "M", "SP", format=fmt).read_bytes()
    b = data.save_mmecg_mat(tmp_path / "b.mat", rcg, ecg, 2, 50, "M", "SP", format=fmt).read_bytes()
    assert a == b


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.mat"):
        data.load_mmecg_mat(tmp_path / "nowhere.mat")
    sio.savemat(tmp_path / "nodata.mat", {"other": np.ones(3)})
    with pytest.raises(ValueError, match="data"):
        data.load_mmecg_mat(tmp_path / "nodata.mat")
    sio.savemat(tmp_path / "norcg.mat", {"data": {"ECG": np.ones((5, 1)), "id": 1.0}})
    with pytest.raises(ValueError, match="RCG"):
        data.load_mmecg_mat(tmp_path / "norcg.mat")
    sio.savemat(tmp_path / "noecg.mat", {"data": {"RCG": np.ones((5, 2))}})
    with pytest.raises(ValueError, match="ECG"):
        data.load_mmecg_mat(tmp_path / "noecg.mat")
    sio.savemat(tmp_path / "mismatch.mat", {"data": {"RCG": np.ones((5, 2)), "ECG": np.ones((4, 1))}})
    with pytest.raises(ValueError, match="samples"):
        data.load_mmecg_mat(tmp_path / "mismatch.mat")
    path = data.save_mmecg_mat(tmp_path / "h5.mat", np.ones((5, 2)), np.ones(5), 1, 20, "M", "NB", format="7.3")
    with h5py.File(path, "r+") as f:
        del f["data/ECG"]
    with pytest.raises(ValueError, match="ECG"):
        data.load_mmecg_mat(path)
    (tmp_path / "text.mat").write_text("not a mat file at all")
    with pytest.raises(ValueError, match="text.mat"):
        data.load_mmecg_mat(tmp_path / "text.mat")


def test_save_errors_and_atomicity(tmp_path, monkeypatch):
    rcg, ecg = np.ones((10, 2)), np.arange(10.0)
    with pytest.raises(ValueError, match="physistatus"):
        data.save_mmecg_mat(tmp_path / "x.mat", rcg, ecg, 1, 20, "M", "XX")
    with pytest.raises(ValueError, match="format"):
        data.save_mmecg_mat(tmp_path / "x.mat", rcg, ecg, 1, 20, "M", "NB", format="4")
    with pytest.raises(ValueError, match="same number of samples"):
        data.save_mmecg_mat(tmp_path / "x.mat", rcg, ecg[:9], 1, 20, "M", "NB")
    bad = rcg.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="rcg"):
        data.save_mmecg_mat(tmp_path / "x.mat", bad, ecg, 1, 20, "M", "NB")
    path = data.save_mmecg_mat(tmp_path / "keep.mat", rcg, ecg, 1, 20, "M", "NB")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sio, "savemat", broken)
    with pytest.raises(OSError):
        data.save_mmecg_mat(path, 2 * rcg, ecg, 1, 20, "M", "NB")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mat"]


# ---------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------


def test_r_fraction_matches_the_ode_beat():
    from radarode_lite import ode

    beat = ode.ecg_ode(ode.DEFAULT_PARAMS.double(), n_samples=data.SHAPE_SAMPLES)
    assert int(beat.argmax()) == round(data.R_FRACTION * data.SHAPE_SAMPLES)


def test_anchor_heatmap_has_unit_peaks_at_the_r_peaks():
    from scipy.signal import find_peaks

    rng = np.random.default_rng(4)
    start = 3.0
    peaks = start + np.cumsum(rng.uniform(0.4, 1.1, 10)) - 0.3  # some before, some after the window
    heat = data.anchor_heatmap(peaks, start, 800, 200.0)
    inside = np.round((peaks - start) * 200).astype(int)
    inside = inside[(inside >= 0) & (inside < 800)]
    assert heat.shape == (800,) and heat.dtype == np.float32
    np.testing.assert_allclose(heat[inside], 1.0)
    assert heat.max() <= 1.0 and heat.min() >= 0.0
    found, _ = find_peaks(np.concatenate([[0.0], heat, [0.0]]), height=0.5)
    np.testing.assert_array_equal(found - 1, inside)
    # sigma: one sigma away from a peak, the map is exp(-1/2)
    m = inside[len(inside) // 2]
    assert heat[m + 10] == pytest.approx(np.exp(-0.5), rel=1e-5)


def test_shape_target_is_one_normalised_cycle_with_r_at_r_fraction(recording):
    peaks = recording.r_peaks
    k = len(peaks) // 2
    shape = data.shape_target(recording.ecg, peaks[k], peaks[k + 1])
    assert shape.shape == (200,) and shape.dtype == np.float32
    assert shape.min() == 0.0 and shape.max() == 1.0
    assert abs(int(shape.argmax()) - round(data.R_FRACTION * 200)) <= 2
    # the cycle's start and end follow from R and RR
    c0, c1 = data.cycle_bounds(peaks[k], peaks[k + 1])
    rr = peaks[k + 1] - peaks[k]
    assert c1 - c0 == pytest.approx(rr)
    assert peaks[k] - c0 == pytest.approx(data.R_FRACTION * rr)


def test_shape_target_of_a_known_pulse_train():
    fs, rr = 200.0, 0.8
    t = np.arange(int(6 * fs)) / fs
    r = np.arange(0.5, 6.0, rr)
    ecg = sum(np.exp(-((t - rk) ** 2) / (2 * 0.01**2)) for rk in r)
    shape = data.shape_target(ecg, r[2], r[3], fs)
    assert int(shape.argmax()) == 64  # R exactly at r_fraction * 200
    assert data.ppi_target(r[2], r[3], fs) == 160


def test_ppi_equals_rr_in_samples_and_is_clipped():
    rng = np.random.default_rng(5)
    for rr_samples in rng.integers(60, 259, 20):
        r = 1.0 + rng.integers(0, 400) / 200.0
        assert data.ppi_target(r, r + rr_samples / 200.0) == rr_samples
    assert data.ppi_target(0.0, 2.0) == data.PPI_CLASSES - 1
    with pytest.raises(ValueError, match="after"):
        data.ppi_target(1.0, 0.5)


def test_window_targets_pick_the_beat_nearest_the_centre():
    fs = 200.0
    r = np.array([0.3, 1.1, 1.95, 2.6, 3.5, 4.3, 5.2, 6.0])
    t = np.arange(int(7 * fs)) / fs
    ecg = sum(np.exp(-((t - rk) ** 2) / (2 * 0.01**2)) for rk in r)
    tg = data.window_targets(ecg, r, 1.0, fs)  # centre at 3.0 s: beat at 2.6 s, next at 3.5 s
    assert r[tg["beat"]] == 2.6
    assert tg["ppi"] == 180
    np.testing.assert_allclose(tg["r_peaks_s"], r[(r >= 1.0) & (r < 5.0)] - 1.0)
    assert tg["ecg"].shape == (800,) and tg["anchor"].shape == (800,)
    assert data.window_targets(ecg, np.array([0.2]), 0.0, fs) is None  # no next beat: no target


def test_detect_r_peaks_finds_the_simulated_beats():
    for status, seed in [("NB", 0), ("PE", 1), ("SP", 2)]:
        s = signals.make_subject(1, status, rng=seed)
        e = signals.synthetic_ecg(20.0, 200.0, s.heart_rate_bpm, s.hrv_std_s, s.resp_rate_hz, s.rsa_s, s.morphology, rng=seed)
        noisy = e.ecg + 0.03 * np.random.default_rng(seed).standard_normal(len(e.ecg))
        found = data.detect_r_peaks(noisy, 200.0)
        truth = e.r_peaks
        found = found[(found > 0.1) & (found < 19.9)]
        truth = truth[(truth > 0.1) & (truth < 19.9)]
        assert len(found) == len(truth)
        assert np.max(np.abs(found - truth)) <= 0.0101  # two samples


# ---------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------


def test_segment_recording_shapes_and_targets(recording, segments):
    segs = segments
    spec = timefreq.get_preset("lite")
    n_expected = int((8.0 - 4.0) / 1.0) + 1
    assert len(segs) == n_expected and segs.skipped_s == []
    assert segs.sst.shape == (n_expected, spec.n_channels, spec.n_freqs, 120) and segs.sst.dtype == np.float32
    per_channel = segs.sst.reshape(n_expected, spec.n_channels, -1)
    np.testing.assert_allclose(per_channel.min(-1), 0.0, atol=1e-6)
    np.testing.assert_allclose(per_channel.max(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(segs.start_s, np.arange(n_expected) * 1.0)
    for j in range(n_expected):
        # ECG window is the recording's, R peaks of the window are marked, ppi is the cycle length
        np.testing.assert_allclose(segs.ecg[j], recording.ecg[j * 200 : j * 200 + 800], rtol=1e-6)
        marked = np.round(segs.r_peaks_s[j] * 200).astype(int)
        np.testing.assert_allclose(segs.anchor[j][marked], 1.0)
        c0, c1 = segs.cycle_s[j]
        assert segs.ppi[j] == round((c1 - c0) * 200)
        assert 0.0 <= c0 and c1 <= 4.0


def test_segment_recording_rejects_bad_inputs(recording):
    rcg, ecg = recording.rcg, recording.ecg
    with pytest.raises(ValueError, match="fs"):
        data.segment_recording(rcg, ecg, fs=250.0)
    bad = rcg.copy()
    bad[10, 2] = np.nan
    with pytest.raises(ValueError, match="rcg"):
        data.segment_recording(bad, ecg)
    with pytest.raises(ValueError, match="ecg"):
        data.segment_recording(rcg, np.zeros(0))
    with pytest.raises(ValueError, match="same number of samples"):
        data.segment_recording(rcg, ecg[:-5])
    with pytest.raises(ValueError, match="shorter than one window"):
        data.segment_recording(rcg[:700], ecg[:700])
    with pytest.raises(ValueError, match="abrupt"):
        data.segment_recording(rcg, ecg, abrupt=(1.5, 0.0, (1.0, 2.0)))


def test_abrupt_noise_changes_only_the_chosen_segments(recording, segments):
    clean = segments
    noisy = data.segment_recording(recording.rcg, recording.ecg, r_peaks_s=recording.r_peaks,
                                   abrupt=(0.4, -9.0, (1.0, 3.0)), rng=0)  # fmt: skip
    chosen = [j for j, b in enumerate(noisy.abrupt) if b is not None]
    assert len(chosen) == round(0.4 * len(clean))
    for j in range(len(clean)):
        if j in chosen:
            b = noisy.abrupt[j]
            assert 1.0 <= b["duration_s"] <= 3.0 and 0.0 <= b["start_s"] <= 4.0 - b["duration_s"]
            assert not np.array_equal(noisy.sst[j], clean.sst[j])
        else:
            np.testing.assert_array_equal(noisy.sst[j], clean.sst[j])
    np.testing.assert_array_equal(noisy.shape, clean.shape)  # targets are untouched


def test_write_segments_layout(tmp_path, segments):
    segs = segments
    folder = data.write_segments(tmp_path, "obj4_PE_9_", segs, {"subject": {"id": 4}, "seed": 3})
    assert folder == tmp_path / "obj4_PE_9_"
    names = {p.name for p in folder.iterdir()}
    expected = {f"{kind}_seg_{i}.npy" for kind in ("sst", "ecg", "anchor", "shape") for i in range(len(segs))}
    assert names == expected | {"segments.json"}
    info = json.loads((folder / "segments.json").read_text())
    assert info["ppi"] == segs.ppi.tolist() and info["preset"] == "lite" and info["seed"] == 3
    assert info["n_segments"] == len(segs) and info["subject"] == {"id": 4} and info["fs"] == 200.0
    assert np.load(folder / "sst_seg_2.npy").shape == segs.sst.shape[1:]
    np.testing.assert_array_equal(np.load(folder / "shape_seg_1.npy"), segs.shape[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obj4_PE_9_"]  # no temporary left
    with pytest.raises(ValueError, match="name"):
        data.write_segments(tmp_path, "recording_1", segs)


def test_write_segments_is_atomic_on_failure(tmp_path, segments, monkeypatch):
    segs = segments
    old = data.write_segments(tmp_path, "obj1_NB_1_", segs, {"version": "old"})
    before = _files(old)
    real_save, calls = np.save, []

    def failing_save(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        data.write_segments(tmp_path, "obj2_NB_2_", segs)
    calls.clear()
    with pytest.raises(OSError, match="disk full"):
        data.write_segments(tmp_path, "obj1_NB_1_", segs, {"version": "new"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obj1_NB_1_"]  # no half-written folder
    assert _files(old) == before  # the earlier folder is intact


# ---------------------------------------------------------------------------------------
# Data set, torch dataset, splits
# ---------------------------------------------------------------------------------------


def test_generate_dataset_layout(tiny_set):
    root, summary = tiny_set
    assert summary["n_recordings"] == 6 and len(summary["recordings"]) == 6
    assert summary["recordings"][0] == "obj1_NB_1_" and summary["recordings"][1] == "obj1_SP_2_"
    recs = data.list_recordings(root)
    assert [r["name"] for r in recs] == summary["recordings"]
    assert sum(r["n_segments"] for r in recs) == summary["n_segments"] == 6 * 3
    assert sorted(p.name for p in (root / "mat").iterdir()) == sorted(f"{k}.mat" for k in range(1, 7))
    mat = data.load_mmecg_mat(root / "mat" / "2.mat")
    assert mat["RCG"].shape == (1200, 50) and mat["id"] == 1 and mat["physistatus"] == "SP"
    # a subject keeps its identity across statuses; the status sets the heart rate
    by_name = {r["name"]: r for r in recs}
    nb, sp = by_name["obj1_NB_1_"]["subject"], by_name["obj1_SP_2_"]["subject"]
    assert (nb["age"], nb["gender"]) == (sp["age"], sp["gender"]) == (mat["age"], mat["gender"])
    lo, hi = signals.STATUS_RANGES["SP"]["hr"]
    assert lo <= sp["heart_rate_bpm"] <= hi
    lo, hi = signals.STATUS_RANGES["NB"]["hr"]
    assert lo <= nb["heart_rate_bpm"] <= hi


def test_generate_dataset_is_deterministic(tmp_path):
    kwargs = dict(n_subjects=1, statuses=("PE",), duration_s=5.0, seed=11, progress=False, snr_db=3.0,
                  abrupt=(0.5, 0.0, (1.0, 2.0)))  # fmt: skip
    data.generate_dataset(tmp_path / "a", **kwargs)
    data.generate_dataset(tmp_path / "b", **kwargs)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) > 5
    assert all(a[k] == b[k] for k in a)
    info = json.loads(a["obj1_PE_1_/segments.json"])
    assert info["seed"] == 11 and info["snr_db"] == 3.0 and sum(x is not None for x in info["abrupt"]) == 1


def test_generate_dataset_refuses_a_non_empty_root(tiny_set):
    root, _ = tiny_set
    with pytest.raises(FileExistsError, match="not empty"):
        data.generate_dataset(root, n_subjects=1, statuses=("NB",), duration_s=5.0, progress=False)
    with pytest.raises(ValueError, match="statuses"):
        data.generate_dataset(root / "x", statuses=("XX",), progress=False)


def test_segment_dataset_items(tiny_set):
    root, summary = tiny_set
    ds = data.SegmentDataset(root)
    spec = timefreq.get_preset("lite")
    assert len(ds) == summary["n_segments"]
    item = ds[4]
    assert item["sst"].shape == (spec.n_channels, spec.n_freqs, 120) and item["sst"].dtype == torch.float32
    assert item["shape"].shape == (200,) and item["shape"].dtype == torch.float32
    assert item["anchor"].shape == (800,) and item["anchor"].dtype == torch.float32
    assert item["ecg"].shape == (800,) and item["ecg"].dtype == torch.float32
    assert item["ppi"].dtype == torch.int64 and item["ppi"].ndim == 0 and 0 <= int(item["ppi"]) < 260
    assert item["recording"] == "obj1_SP_2_" and item["segment"] == 1 and item["subject"] == 1
    assert list(item) == ["sst", "shape", "ppi", "anchor", "ecg", "subject", "status", "recording", "segment"]
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["sst"].shape == (4, spec.n_channels, spec.n_freqs, 120) and batch["ppi"].shape == (4,)
    only = data.SegmentDataset(root, subjects=[2])
    assert only.subjects == [2] and len(only) == 6
    doubled = data.SegmentDataset(root, recordings=["obj3_NB_5_"], transform=lambda it: {**it, "ppi": it["ppi"] * 2})
    assert int(doubled[0]["ppi"]) == 2 * int(data.SegmentDataset(root, recordings=["obj3_NB_5_"])[0]["ppi"])
    with pytest.raises(FileNotFoundError, match="missing"):
        data.SegmentDataset(root / "missing")
    with pytest.raises(ValueError, match="preset"):
        data.SegmentDataset(root, preset="paper")
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_segment_dataset_in_memory_reads_each_file_once_and_gives_the_same_items(tiny_set, tmp_path, monkeypatch):
    import shutil

    root, _ = tiny_set
    copy = tmp_path / "set"
    shutil.copytree(root, copy)
    on_disk = data.SegmentDataset(copy, subjects=[2])
    kept = data.subject_split(copy, test_subjects=[3], val_subjects=[1], in_memory=True)["train"]
    reads = {"disk": [], "kept": []}
    real_load = np.load
    for _ in range(2):  # two epochs
        for i in range(len(kept)):
            items = {}
            for name, ds in (("disk", on_disk), ("kept", kept)):
                monkeypatch.setattr(np, "load", lambda path, *a, _n=name, **k: reads[_n].append(str(path))
                                    or real_load(path, *a, **k))  # fmt: skip
                items[name] = ds[i]
            a, b = items["disk"], items["kept"]
            assert a.keys() == b.keys()
            assert all(torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k] for k in a)
    monkeypatch.setattr(np, "load", real_load)
    # on disk: the 4 files of an item at every read; kept: each file once
    assert len(reads["disk"]) == 2 * 4 * len(kept) and sorted(reads["kept"]) == sorted(set(reads["disk"]))
    first = on_disk[0]["sst"]
    (copy / kept.recordings[0] / "sst_seg_0.npy").unlink()  # the arrays read are kept; a fresh data set
    assert torch.equal(kept[0]["sst"], first)  # finds the file gone
    with pytest.raises(FileNotFoundError, match="missing"):
        data.SegmentDataset(copy, subjects=[2])[0]
    with pytest.raises(TypeError, match="in_memory"):
        data.SegmentDataset(copy, in_memory="yes")


def test_subject_split_is_disjoint(tiny_set):
    root, _ = tiny_set
    splits = data.subject_split(root, test_subjects=[3], val_subjects=[1])
    assert splits["test"].subjects == [3] and splits["val"].subjects == [1] and splits["train"].subjects == [2]
    counted = data.subject_split(root, test_subjects=1, val_subjects=1, seed=4)
    sets = [set(counted[k].subjects) for k in ("train", "val", "test")]
    assert set.union(*sets) == {1, 2, 3} and sum(len(s) for s in sets) == 3
    assert {counted["test"][i]["subject"] for i in range(len(counted["test"]))} == sets[2]
    with pytest.raises(ValueError, match="two splits"):
        data.subject_split(root, test_subjects=[1], val_subjects=[1])
    with pytest.raises(ValueError, match="not in the data set"):
        data.subject_split(root, test_subjects=[9])
    with pytest.raises(FileNotFoundError):
        data.subject_split(root / "nope", test_subjects=1)


# ---------------------------------------------------------------------------------------
# Command-line scripts
# ---------------------------------------------------------------------------------------


def test_generate_data_cli(tmp_path, capsys):
    cli = _script("generate_data")
    code = cli.main(["--out", str(tmp_path / "g"), "--subjects", "1", "--statuses", "SP", "--duration", "5",
                     "--seed", "2", "--no-mat", "--quiet"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n_recordings"] == 1 and summary["n_segments"] == 2
    assert (tmp_path / "g" / "obj1_SP_1_" / "segments.json").is_file() and not (tmp_path / "g" / "mat").exists()
    assert cli.main(["--out", str(tmp_path / "g"), "--quiet"]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err


def test_convert_mmecg_cli(tmp_path, capsys):
    cli = _script("convert_mmecg")
    rec = _recording(7.0, "IB", seed=6, subject_id=8)
    folder = tmp_path / "mmecg"
    data.save_mmecg_mat(folder / "12.mat", rec.rcg, rec.ecg, 8, 44, "M", "IB", format="7.3")
    data.save_mmecg_mat(folder / "extra.mat", rec.rcg[:1000], rec.ecg[:1000], 9, 30, "F", "NB")
    code = cli.main([str(folder), "--out", str(tmp_path / "seg"), "--preset", "lite", "--quiet"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["converted"] == ["obj8_IB_12_", "obj9_NB_13_"] and out["failed"] == []
    info = json.loads((tmp_path / "seg" / "obj8_IB_12_" / "segments.json").read_text())
    assert info["n_segments"] == 4 and info["subject"]["age"] == 44 and info["source"] == "12.mat"
    # targets from detected R peaks agree with the simulator's beats
    for j, start in enumerate(info["start_s"]):
        found = np.asarray(info["r_peaks_s"][j]) + start
        truth = rec.r_peaks[(rec.r_peaks >= start) & (rec.r_peaks < start + 4.0)]
        assert all(np.min(np.abs(found - t)) <= 0.0101 for t in truth)
        interior = found[(found > 0.1) & (found < 6.9)]
        assert all(np.min(np.abs(rec.r_peaks - t)) <= 0.0101 for t in interior)
    assert cli.main([str(tmp_path / "absent"), "--out", str(tmp_path / "seg"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    # a rerun keeps what an earlier run converted from the same file, and refuses to mix in another file
    assert cli.main([str(folder / "12.mat"), "--out", str(tmp_path / "seg"), "--preset", "lite", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["kept"] == ["obj8_IB_12_"]
    info["source"] = "other.mat"
    (tmp_path / "seg" / "obj8_IB_12_" / "segments.json").write_text(json.dumps(info))
    assert cli.main([str(folder / "12.mat"), "--out", str(tmp_path / "seg"), "--preset", "lite", "--quiet"]) == 1
    assert "exists already" in capsys.readouterr().err


def test_add_radar_noise_has_the_requested_snr_against_the_cardiac_part(recording):
    from scipy import signal as sps

    sos = sps.butter(4, data.CARDIAC_HIGHPASS_HZ, btype="high", fs=200.0, output="sos")
    cardiac = sps.sosfiltfilt(sos, recording.rcg, axis=0)
    for snr_db in (6.0, -3.0):
        noisy = data.add_radar_noise(recording.rcg, snr_db, rng=1)
        noise = noisy - recording.rcg
        measured = 10 * np.log10(np.var(cardiac, axis=0) / np.var(noise, axis=0))
        np.testing.assert_allclose(measured, snr_db, atol=0.01)
    with pytest.raises(ValueError, match="rcg"):
        data.add_radar_noise(recording.ecg, 0.0)


# ---------------------------------------------------------------------------------------
# Interrupted generation, damaged files, failed conversions
# ---------------------------------------------------------------------------------------

SMALL = dict(n_subjects=3, statuses=("NB", "SP"), duration_s=5.0, seed=4, progress=False)


def _dead_pid() -> int:
    import subprocess
    import sys

    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)  # fmt: skip


def test_an_interrupted_generation_is_refused_then_finished_by_the_same_call(tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    data.generate_dataset(whole, **SMALL)
    root, calls, write = tmp_path / "cut", [], data.write_segments

    def killed_at_the_fourth(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return write(*args, **kwargs)

    monkeypatch.setattr(data, "write_segments", killed_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        data.generate_dataset(root, **SMALL)
    monkeypatch.setattr(data, "write_segments", write)
    assert json.loads((root / "dataset.json").read_text())["complete"] is False
    for read in (data.SegmentDataset, lambda r: data.subject_split(r, test_subjects=1), data.list_recordings):
        with pytest.raises(ValueError, match="incomplete: its generation was interrupted"):
            read(root)
    (root / f".obj3_SP_6_tmp-{_dead_pid()}").mkdir()  # the leftover of a kill inside write_segments
    summary = data.generate_dataset(root, **SMALL)  # no overwrite needed
    assert summary["n_recordings"] == 6 and _files(root) == _files(whole)
    assert len(data.SegmentDataset(root)) == summary["n_segments"]


def test_a_data_set_missing_a_listed_recording_or_a_file_is_refused_naming_it(tmp_path):
    root = tmp_path / "set"
    data.generate_dataset(root, **SMALL, save_mat=False)
    fingerprint = data.dataset_fingerprint(root)
    assert data.dataset_fingerprint(root) == fingerprint
    (root / "obj2_NB_3_" / "sst_seg_1.npy").unlink()
    with pytest.raises(ValueError, match=r"obj2_NB_3_.*sst_seg_1\.npy' is missing"):
        data.SegmentDataset(root)
    shutil.rmtree(root / "obj2_NB_3_")
    with pytest.raises(ValueError, match="lists recordings that are missing .obj2_NB_3_"):
        data.SegmentDataset(root)


def test_damaged_segment_files_are_named(tmp_path):
    root = tmp_path / "set"
    data.generate_dataset(root, **SMALL, save_mat=False)
    fingerprint = data.dataset_fingerprint(root)
    npy = root / "obj1_NB_1_" / "ecg_seg_0.npy"
    npy.write_bytes(npy.read_bytes()[:100])
    dataset = data.SegmentDataset(root)
    with pytest.raises(ValueError, match=r"segment file .*obj1_NB_1_/ecg_seg_0\.npy' is damaged"):
        dataset[0]
    info = root / "obj1_SP_2_" / "segments.json"
    text = info.read_text()
    info.write_text(text.replace('"ppi": [', '"ppi": [1, ', 1))
    assert data.dataset_fingerprint(root) != fingerprint  # another data set
    info.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"obj1_SP_2_/segments\.json' is damaged"):
        data.SegmentDataset(root)


def test_convert_goes_on_past_a_failed_write_and_reports_it(tmp_path, capsys, monkeypatch):
    import errno

    cli = _script("convert_mmecg")
    folder = tmp_path / "mmecg"
    for number, subject in ((3, 1), (4, 2)):
        rec = _recording(6.0, "NB", seed=number, subject_id=subject)
        data.save_mmecg_mat(folder / f"{number}.mat", rec.rcg, rec.ecg, subject, 40, "F", "NB")
    write = data.write_segments

    def full_for_three(root, name, *args, **kwargs):
        if name == "obj1_NB_3_":
            raise OSError(errno.ENOSPC, "No space left on device", str(root / name))
        return write(root, name, *args, **kwargs)

    monkeypatch.setattr(data, "write_segments", full_for_three)
    out = tmp_path / "seg"
    assert cli.main([str(folder), "--out", str(out), "--preset", "lite", "--quiet"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["converted"] == ["obj2_NB_4_"] and summary["failed"] == [str(folder / "3.mat")]
    assert "3.mat: cannot write" in captured.err and "(the disk is full)" in captured.err
    assert "Traceback" not in captured.err
    assert data.SegmentDataset(out).recordings == ["obj2_NB_4_"]  # complete, with what was converted
    monkeypatch.setattr(data, "write_segments", write)
    assert cli.main([str(folder), "--out", str(out), "--preset", "lite", "--quiet"]) == 0  # the rerun finishes
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["converted"] == ["obj1_NB_3_"] and summary["kept"] == ["obj2_NB_4_"] and summary["failed"] == []
