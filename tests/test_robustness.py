"""Tests of the noise study (radarode_lite.studies: noise_conditions, frameworks, robustness) and
data_scripts/run_noise.py (chapter 14: Tables III and V)."""

import importlib.util
import json
import math
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from radarode_lite import data, losses, noise
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
    assert NC.parse_condition("clean")["family"] == "clean" and NC.parse_condition("clean")["model"] is None
    c = NC.parse_condition(" SNR:-3.0 ")
    assert (c["name"], c["family"], c["model"], c["snr_db"]) == ("snr:-3", "constant", "input", -3.0)
    a = NC.parse_condition("abrupt:-9:2")
    assert a["fraction"] == NC.ABRUPT_FRACTION == 0.2 and a["duration_s"] == 2.0 and a["name"] == "abrupt:-9:2:0.2"
    assert NC.parse_condition(a) == a  # a parsed condition parses to itself
    r = NC.parse_condition("Radar-Abrupt:-9:3:1")
    assert (r["name"], r["family"], r["model"], r["fraction"]) == ("radar-abrupt:-9:3:1", "abrupt", "radar", 1.0)
    assert NC.parse_condition("radar-snr:6")["model"] == "radar"
    assert NC.condition_tag("abrupt:-9:3:1") == "abrupt_-9_3_1"
    assert NC.condition_tag("radar-abrupt:-9:3:1") == "radar-abrupt_-9_3_1"
    assert len(set(NC.GRID_CONDITIONS)) == 13 and NC.GRID_CONDITIONS[0] == "clean"
    grid = [NC.parse_condition(g) for g in NC.GRID_CONDITIONS[1:]]
    assert all(g["model"] == "input" for g in grid)  # the grid adds noise as the authors' code does
    assert [g["fraction"] for g in grid if g["family"] == "abrupt"] == [0.2] * 6
    radar = [NC.parse_condition(g) for g in NC.RADAR_CONDITIONS]
    assert len(radar) == 12 and all(g["model"] == "radar" and g["name"] == n for g, n in zip(radar, NC.RADAR_CONDITIONS))
    # the radar-phase conditions draw the noise the conditions of the same numbers drew before
    assert NC.noise_stream_name("radar-abrupt:-9:3:1") == "abrupt:-9:3:1" and NC.noise_stream_name("snr:-3") != "snr:-3"


@pytest.mark.parametrize("bad, error", [("loud", ValueError), ("snr:x", ValueError), ("snr:nan", ValueError),
                                         ("abrupt:-9:5", ValueError), ("abrupt:-9:1:1.5", ValueError),
                                         ("abrupt:-9:0", ValueError), (3, TypeError), ({"snr_db": 3}, ValueError),
                                         ("radar-clean", ValueError), ("radar-snr", ValueError),
                                         ("radar-abrupt:-9:5", ValueError), ("radar:snr:3", ValueError)])
def test_parse_condition_rejects_bad_names(bad, error):
    with pytest.raises(error) as caught:
        NC.parse_condition(bad)
    assert "condition" in str(caught.value) and "\n" not in str(caught.value)


# --------------------------------------------------------------------------- noisy test sets: input noise


def _stored_sst(dataset):
    return [np.load(Path(dataset.records[j]["path"]) / f"sst_seg_{k}.npy") for j, k in dataset.index]


def _stream(dataset, i, cond, seed, *tail):
    """The documented random stream of item i of dataset (tail: () for the segment, None for the burst choice)."""
    j, k = dataset.index[i]
    rec = dataset.records[j]
    h = zlib.crc32(("input:" + NC.parse_condition(cond)["name"]).encode())
    entropy = [seed, h, int(rec.get("trial", j))] + ([] if tail == (None,) else [k])
    return np.random.default_rng(np.random.SeedSequence(entropy))


def test_input_noise_is_add_input_noise_on_each_stored_input(tiny, monkeypatch):
    test = tiny["test"]
    clean = NC.noisy_test_set(test, "clean")
    monkeypatch.setattr(NC.timefreq, "spectrogram", _no_spectrogram)  # input noise computes no SST
    ts = NC.noisy_test_set(test, "snr:-3", seed=7)
    stored = _stored_sst(test)
    for i, x in enumerate(stored):
        want = noise.add_input_noise(x, -3.0, rng=_stream(test, i, "snr:-3", 7)).astype(np.float32)
        assert np.array_equal(ts.sst[i], want)
    # the SNR is measured on the input, per channel: the noise is drawn, not rescaled, so its power over
    # F x T = 3840 pixels scatters by about sqrt(2 / 3840), 0.1 dB, around -3 dB
    added = ts.sst.astype(float) - np.stack(stored).astype(float)
    snr = 10 * np.log10(np.mean(np.stack(stored).astype(float) ** 2, axis=(2, 3)) / np.mean(added**2, axis=(2, 3)))
    assert np.all(np.abs(snr + 3.0) < 0.4) and abs(snr.mean() + 3.0) < 0.1, snr
    # the truth and the radar phase are the clean ones; no segment has a burst
    assert np.array_equal(ts.ecg, clean.ecg) and np.array_equal(ts.radar, clean.radar)
    assert ts.burst_segments.size == 0 and ts.bursts == [None] * len(test)


def test_input_noise_is_the_same_for_every_call_and_any_choice_of_segments(tiny, monkeypatch):
    monkeypatch.setattr(NC.timefreq, "spectrogram", _no_spectrogram)
    test = tiny["test"]
    a, b = NC.noisy_test_set(test, "snr:0", seed=4), NC.noisy_test_set(test, "snr:0", seed=4)
    assert np.array_equal(a.sst, b.sst) and not np.array_equal(a.sst, NC.noisy_test_set(test, "snr:0", seed=5).sst)
    assert np.array_equal(NC.noisy_test_set(test, "snr:0", seed=4, segments=[2, 0]).sst, a.sst[[2, 0]])
    assert not np.array_equal(a.sst, NC.noisy_test_set(test, "snr:1", seed=4).sst)  # each condition its own noise
    c = NC.noisy_test_set(test, "abrupt:-9:2:1", seed=4)
    d = NC.noisy_test_set(test, {"name": "abrupt:-9:2:1"}, seed=4, segments=[1])
    assert np.array_equal(d.sst[0], c.sst[1]) and d.bursts[0] == c.bursts[1]


def test_input_bursts_lie_where_reported_in_the_authors_share_of_segments(tiny, monkeypatch):
    monkeypatch.setattr(NC.timefreq, "spectrogram", _no_spectrogram)
    test, fr = tiny["test"], 30.0
    stored = _stored_sst(test)
    for fraction in (0.2, 0.5, 1.0):
        ts = NC.noisy_test_set(test, f"abrupt:-9:2:{fraction}", seed=1)
        n = len(test.records[0]["start_s"])  # one recording: the share is int(fraction * n) of its segments
        pick = _stream(test, 0, f"abrupt:-9:2:{fraction}", 1, None)
        assert ts.burst_segments.tolist() == noise.input_burst_segments(n, fraction, rng=pick).tolist()
        assert ts.burst_segments.size == int(fraction * n)
        for i in range(len(test)):
            b = ts.bursts[i]
            changed = np.flatnonzero(np.any(ts.sst[i] != stored[i], axis=(0, 1)))
            if b is None:
                assert changed.size == 0
                continue
            assert b["n_frames"] == int(2.0 * fr) and b["duration_s"] == 2.0 and b["snr_db"] == -9.0
            assert changed.tolist() == list(range(b["start_frame"], b["start_frame"] + b["n_frames"]))
            assert b["start_s"] == b["start_frame"] / fr
            rng = _stream(test, i, f"abrupt:-9:2:{fraction}", 1)
            want, start, length = noise.add_input_burst(stored[i], 2.0, -9.0, rng=rng)
            assert (start, length) == (b["start_frame"], b["n_frames"]) and np.array_equal(ts.sst[i], want.astype(np.float32))


def test_the_share_of_burst_segments_is_int_of_a_fifth_per_recording(tmp_path, monkeypatch):
    longer = tmp_path / "longer"
    data.generate_dataset(longer, n_subjects=1, statuses=("NB", "PE"), duration_s=14.0, preset="lite", seed=2,
                          progress=False, save_mat=True)  # fmt: skip
    dataset = data.SegmentDataset(longer, preset="lite")
    monkeypatch.setattr(NC.timefreq, "spectrogram", _no_spectrogram)
    ts = NC.noisy_test_set(dataset, "abrupt:0:1", seed=0)
    per_recording = {}
    for i in ts.burst_segments:
        per_recording[dataset.index[i][0]] = per_recording.get(dataset.index[i][0], 0) + 1
    assert per_recording == {j: int(0.2 * len(rec["start_s"])) for j, rec in enumerate(dataset.records)}
    assert len(per_recording) == 2 and all(v >= 1 for v in per_recording.values())
    assert all(ts.bursts[i]["n_frames"] == 30 for i in ts.burst_segments)


def _no_spectrogram(*args, **kwargs):
    raise AssertionError("a noisy test set under input noise computed a spectrogram")


# --------------------------------------------------------------------------- noisy test sets: radar phase


def test_clean_test_set_reproduces_the_stored_inputs(tiny):
    test = tiny["test"]
    ts = NC.noisy_test_set(test, "clean")
    stored = np.stack([test[i]["sst"].numpy() for i in range(len(test))])
    assert ts.sst.shape == stored.shape and np.array_equal(ts.sst, stored)
    assert np.allclose(ts.ecg, np.stack([test[i]["ecg"].numpy() for i in range(len(test))]), atol=1e-6)
    assert ts.reference.min() == 0.0 and ts.reference.max() == 1.0 and ts.radar.shape == (len(test), 8, 800)


def test_radar_conditions_give_what_the_conditions_gave_before_their_renaming(tiny):
    """Reference numbers computed before the input-noise conditions existed, under the old names."""
    reference = json.loads((REPO / "tests" / "data" / "noise_radar_reference.json").read_text())
    clean = NC.noisy_test_set(tiny["test"], "clean", seed=0)
    for cond in ("radar-snr:-3", "radar-abrupt:-9:2:1", "radar-abrupt:0:1:0.5"):
        ts, want = NC.noisy_test_set(tiny["test"], cond, seed=0), reference[cond]
        added = ts.radar - clean.radar
        assert ts.bursts == want["bursts"]
        assert np.allclose(ts.sst.astype(float).sum(axis=(2, 3)), want["sst_sum"], rtol=1e-6, atol=1e-4)
        assert np.allclose(added.sum(axis=2), want["radar_noise_sum"], rtol=1e-6, atol=1e-7)
        assert np.allclose((added**2).sum(axis=2), want["radar_noise_energy"], rtol=1e-6, atol=1e-7)


def test_constant_noise_has_its_nominal_snr_and_lower_snr_is_worse(tiny):
    test = tiny["test"]
    clean = NC.noisy_test_set(test, "clean")
    rcg = data.load_mmecg_mat(Path(test.root) / test.records[0]["mat"])["RCG"]
    p_card = np.var(_cardiac(np.asarray(rcg, dtype=float).T[::7][:8]), axis=-1)  # the lite channels 0, 7, ..., 49
    measured = []
    for snr in (6, 0, -3, -9):
        added = NC.noisy_test_set(test, f"radar-snr:{snr}").radar - clean.radar
        snr_est = 10 * np.log10(p_card / np.var(added[0], axis=-1))  # per channel, over one 4-s window
        assert np.all(np.abs(snr_est - snr) < 1.0), (snr, snr_est)
        measured.append(float(np.mean(snr_est)))
    assert all(a > b for a, b in zip(measured, measured[1:]))
    # the network input moves further from the clean one as the noise grows
    distances = [np.abs(NC.noisy_test_set(test, f"radar-snr:{s}").sst - clean.sst).mean() for s in (6, -9)]
    assert distances[1] > distances[0] > 0


def test_abrupt_noise_is_one_burst_inside_each_segment(tiny):
    test = tiny["test"]
    clean = NC.noisy_test_set(test, "clean")
    noisy = NC.noisy_test_set(test, "radar-abrupt:-9:2:1")
    assert all(b is not None for b in noisy.bursts) and noisy.burst_segments.tolist() == [0, 1, 2]
    for k, burst in enumerate(noisy.bursts):
        changed = np.flatnonzero(np.any(noisy.radar[k] != clean.radar[k], axis=0))
        assert changed.size == int(round(2.0 * FS))  # exactly the burst's samples
        assert abs(changed[0] / FS - burst["start_s"]) <= 1 / FS and 0 <= burst["start_s"] <= 2.0
    # the same noise, whatever segments are asked for (each segment has its own stream)
    one = NC.noisy_test_set(test, "radar-abrupt:-9:2:1", segments=[2])
    assert np.array_equal(one.radar[0], noisy.radar[2]) and one.bursts[0] == noisy.bursts[2]
    # a lower SNR and a longer burst both add more noise energy
    energy = {c: np.sum((NC.noisy_test_set(test, c).radar - clean.radar) ** 2)
              for c in ("radar-abrupt:0:1:1", "radar-abrupt:-9:1:1", "radar-abrupt:-9:3:1")}  # fmt: skip
    assert energy["radar-abrupt:0:1:1"] < energy["radar-abrupt:-9:1:1"] < energy["radar-abrupt:-9:3:1"]
    half = NC.noisy_test_set(test, "radar-abrupt:-9:2:0.5")  # round(0.5 * 3) = 2 of 3 segments
    assert sum(b is not None for b in half.bursts) == 2


def test_noise_is_deterministic_for_a_seed(tiny):
    a = NC.noisy_test_set(tiny["test"], "radar-snr:0", seed=4)
    b = NC.noisy_test_set(tiny["test"], "radar-snr:0", seed=4)
    c = NC.noisy_test_set(tiny["test"], "radar-snr:0", seed=5)
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
        a, b = (a, b) if fw == "mmecg" else (a["ppi"], b["ppi"])  # the cycle-length head as well
        assert config == {"seed": 2} and torch.equal(a, b)
        if fw != "mmecg":  # the benchmark protocol's head, rebuilt from the file
            assert model.cycle_head == loaded.cycle_head == "autocorrelation"
    # a file of the earlier protocol, written before the head was stored, holds the paper's head
    old = FW.build_model("radarode_mtl", seed=2, cycle_head="flatten").eval()
    state = torch.load(FW.save_model(tmp_path / "old.pt", "radarode_mtl", old), weights_only=True)
    del state["cycle_head"]
    torch.save(state, tmp_path / "old.pt")
    loaded, _ = FW.load_model(tmp_path / "old.pt")
    with torch.no_grad():
        assert loaded.cycle_head == "flatten" and torch.equal(loaded(x)["ppi"], old(x)["ppi"])
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


def test_plain_convolution_networks_train_and_round_trip_through_a_file(one_thread, tiny, tmp_path):
    """``protocol={"deformable": (False,) * 4}``: every framework's backbone without deformable
    stages, recorded in the run's protocol and rebuilt so from its file."""
    from radarode_lite.models import DeformConv2d

    items = FW.in_memory(tiny["train"])[:6]
    x = torch.rand(2, 8, 32, 120)
    for fw in FW.FRAMEWORKS:
        model, record = FW.train_framework(fw, items, epochs=1, seed=0, batch_size=3,
                                           protocol={"deformable": [False] * 4})  # fmt: skip
        assert record["protocol"]["deformable"] == (False,) * 4
        assert not any(isinstance(m, DeformConv2d) for m in model.modules())
        assert any(isinstance(m, DeformConv2d) for m in FW.build_model(fw, seed=0).modules())  # the preset's
        loaded, _ = FW.load_model(FW.save_model(tmp_path / f"{fw}.pt", fw, model.eval()))
        assert loaded.preset.deformable == (False,) * 4
        with torch.no_grad():
            a, b = model(x), loaded(x)
        a, b = (a, b) if fw == "mmecg" else (a["shape"], b["shape"])
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"protocol\['deformable'\] must be 4 bools"):
        FW.train_framework("radarode", items, epochs=1, protocol={"deformable": "none"})


def test_frameworks_train_with_the_benchmark_protocol(one_thread, tiny):
    items = FW.in_memory(tiny["train"])
    records = {}
    for fw in FW.FRAMEWORKS:
        model, records[fw] = FW.train_framework(fw, items, epochs=2, seed=0, batch_size=3)
        assert records[fw]["framework"] == fw and len(next(iter(records[fw]["train_loss"].values()))) == 2
        assert getattr(model, "cycle_head", "autocorrelation") == "autocorrelation"
    protocol = {k: FW.PROTOCOL[k] for k in ("schedule", "final_lr_ratio", "stretch", "cycle_head")}
    assert records["radarode"]["protocol"] == records["radarode_mtl"]["protocol"] == protocol
    # the stretch leaves the 4-s ECG target as it is: direct regression is not stretched
    assert records["mmecg"]["protocol"] == {**protocol, "stretch": 0.0, "cycle_head": None}
    # EGA on the shared parameters' gradients (the authors' main.py), T = 1, paper form, warm-up min(4, epochs // 4)
    assert records["radarode_mtl"]["method_kwargs"] == {"temperature": 1.0, "variant": "paper", "gradients": "params",
                                                        "warmup_epoch": 0}  # fmt: skip
    assert records["radarode"]["tasks"] == ["shape"] and records["radarode"]["method"] == "ew"
    # the protocol is what trains: without the stretch and the schedule, other losses
    _, plain = FW.train_framework("radarode", items, epochs=2, seed=0, batch_size=3,
                                  protocol={"stretch": 0.0, "schedule": "constant"})  # fmt: skip
    assert plain["train_loss"] != records["radarode"]["train_loss"] and plain["protocol"]["stretch"] == 0.0
    with pytest.raises(ValueError, match="protocol"):
        FW.train_framework("radarode", items, epochs=1, protocol={"stretch": 1.0})
    with pytest.raises(ValueError, match="protocol"):
        FW.train_framework("radarode", items, epochs=1, protocol={"warmup": 1})


def test_direct_regression_follows_its_schedule(one_thread, tiny):
    items = FW.in_memory(tiny["train"])
    runs = {s: FW.train_direct(FW.DirectRegression("lite", seed=0), items, epochs=3, batch_size=3, seed=1, schedule=s)
            for s in ("constant", "cosine")}  # fmt: skip
    # one step per epoch: the losses before steps 0 and 1 agree (step 0 at the full rate in both), not after step 1
    # (rate 1 or 0.505)
    constant, cosine = runs["constant"]["train_loss"], runs["cosine"]["train_loss"]
    assert constant[:2] == cosine[:2] and constant[2] != cosine[2]
    with pytest.raises(ValueError, match="schedule"):
        FW.train_direct(FW.DirectRegression("lite"), items, epochs=1, schedule="linear")


def _batch(n=64, seed=0):
    """A batch of normalised float32 inputs at the lite network's real size (B, 8, 32, 120)."""
    x = torch.rand((n, 8, 32, 120), generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
    return {"sst": x, "shape": torch.zeros(n, 200)}


def test_training_noise_has_the_conditions_snr_on_every_channel():
    batch = _batch()
    out = NC.TrainingNoise("snr:-3")(batch, torch.Generator().manual_seed(0))
    x, y = batch["sst"].double(), out["sst"].double()
    assert out["sst"].dtype == torch.float32 and out["shape"] is batch["shape"]  # other entries pass through
    power = (x**2).mean(dim=(-2, -1))
    added = ((y - x) ** 2).mean(dim=(-2, -1))
    snr = 10 * torch.log10(power / added)
    # 3840 draws per channel: each SNR scatters by about 0.1 dB, their mean by 0.005 dB
    assert abs(float(snr.mean()) - (-3.0)) < 0.02 and float((snr + 3).abs().max()) < 0.5
    assert torch.equal(batch["sst"], x.float())  # the batch itself is not changed


def test_training_noise_bursts_hit_the_conditions_share_of_reads():
    gen = torch.Generator().manual_seed(1)
    aug = NC.TrainingNoise("abrupt:-9:2:0.2")
    hit, n = 0, 0
    for k in range(20):
        batch = _batch(seed=k)
        changed = (aug(batch, gen)["sst"] != batch["sst"]).any(dim=(1, 2))  # (B, T): frames with noise
        for row in changed:
            if row.any():
                frames = torch.nonzero(row).flatten()
                assert frames.numel() == 60 and int(frames[-1] - frames[0]) == 59  # 2 s at 30 frames/s, one burst
                hit += 1
        n += batch["sst"].shape[0]
    assert abs(hit / n - 0.2) < 0.04  # 1280 reads, binomial sd 0.011


def test_training_noise_is_drawn_from_the_generator():
    aug = NC.TrainingNoise("snr:0")
    a = aug(_batch(), torch.Generator().manual_seed(5))["sst"]
    b = aug(_batch(), torch.Generator().manual_seed(5))["sst"]
    c = aug(_batch(), torch.Generator().manual_seed(6))["sst"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    stretched = NC.TrainingNoise("snr:0", before=FW.TimeStretch(0.3))
    assert "TimeStretch" in repr(stretched) and "snr:0" in repr(stretched)
    assert stretched(_batch(), torch.Generator().manual_seed(5))["sst"].shape == a.shape
    with pytest.raises(ValueError, match="input-noise condition"):
        NC.TrainingNoise("radar-snr:0")
    with pytest.raises(ValueError, match="input-noise condition"):
        NC.TrainingNoise("clean")
    with pytest.raises(TypeError, match="before"):
        NC.TrainingNoise("snr:0", before=3)


def test_frameworks_train_under_input_noise(one_thread, tiny):
    items = FW.in_memory(tiny["train"])
    for fw in ("mmecg", "radarode"):
        _, clean = FW.train_framework(fw, items, epochs=1, seed=0, batch_size=3)
        _, noisy = FW.train_framework(fw, items, epochs=1, seed=0, batch_size=3, noise="snr:-3")
        assert clean["train_noise"] == "clean" and noisy["train_noise"] == "snr:-3"
        assert noisy["train_loss"] != clean["train_loss"]  # the noise reaches the network
    with pytest.raises(ValueError, match="input-noise condition"):
        FW.train_framework("radarode", items, epochs=1, noise="radar-snr:0")
    with pytest.raises(TypeError, match="noise"):
        FW.train_framework("radarode", items, epochs=1, noise=None)
    with pytest.raises(TypeError, match="augment"):
        FW.train_direct(FW.DirectRegression("lite"), items, epochs=1, augment="snr:0")


def _matched_errors(anchors, r_peaks, tol_s=0.1):
    """Absolute errors (s) of the true R peaks matched within ``tol_s``, and the number missed."""
    errors, missed = [], 0
    for a, r in zip(anchors, r_peaks):
        d = np.abs(np.asarray(a)[:, None] - r[None, :]).min(axis=0) if len(a) else np.full(r.size, np.inf)
        errors += d[d < tol_s].tolist()
        missed += int(np.sum(d >= tol_s))
    return np.asarray(errors), missed


def test_single_cycle_anchors_come_from_where_the_noise_is(tiny):
    test = tiny["test"]
    clean = NC.noisy_test_set(test, "clean")
    found = FW.input_anchors(clean)
    errors, missed = _matched_errors(found, clean.r_peaks_s)
    # on clean stored inputs, within a fraction of a 33-ms frame of the true R peaks, none missed, none extra
    assert missed == 0 and np.median(errors) < 0.01 and np.max(errors) < 0.03
    assert sum(len(a) for a in found) == sum(r.size for r in clean.r_peaks_s)
    # input noise leaves the radar clean: the radar anchors would not see it, the input anchors do
    noisy = NC.noisy_test_set(test, "snr:-3", seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(FW.radar_anchors(noisy), FW.radar_anchors(clean)))
    noisy_errors, _ = _matched_errors(FW.input_anchors(noisy), noisy.r_peaks_s)
    assert np.median(noisy_errors) > 1.5 * np.median(errors)
    # which anchors the single-cycle framework takes, by condition
    assert [FW.anchor_source(c) for c in ("clean", "snr:0", "abrupt:-9:1", "radar-snr:0")] == ["input"] * 3 + ["radar"]
    for ts, pick in ((clean, FW.input_anchors), (noisy, FW.input_anchors),
                     (NC.noisy_test_set(test, "radar-snr:0"), FW.radar_anchors)):  # fmt: skip
        assert all(np.array_equal(a, b) for a, b in zip(FW.single_cycle_anchors(ts), pick(ts)))


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


def test_burst_metrics_score_the_burst_segments_alone(tiny):
    ts = NC.noisy_test_set(tiny["test"], "abrupt:-9:2:0.5", seed=1)
    recon = ts.reference.copy()
    hit = ts.burst_segments
    recon[hit] = np.roll(recon[hit], 40, axis=1)  # 0.2 s late where there is a burst, perfect elsewhere
    scores = R.burst_metrics(recon, ts)
    assert scores["segments"] == hit.tolist() and scores["n_segments"] == hit.size == 1
    everything = R.ecg_metrics(recon, ts.reference, ts.r_peaks_s)
    assert scores["pcc_pct"] < everything["pcc_pct"] < 100.0 and scores["rmse"] > everything["rmse"]
    assert R.burst_metrics(recon, NC.noisy_test_set(tiny["test"], "snr:0")) is None
    with pytest.raises(ValueError, match="recon"):
        R.burst_metrics(recon[:1], ts)


def test_the_paper_tables_are_keyed_by_the_grid():
    paper = R.read_paper_tables(REPO / "book" / "data" / "paper")
    assert {c for _, c in paper} == set(NC.GRID_CONDITIONS)


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
        assert r["config"]["train_noise"] == "clean" and len(r["config"]["test_subjects"]) == 1
        assert r["config"]["epochs"] == 2 and r["config"]["protocol"]["cycle_head"] == "autocorrelation"
        assert r["config"]["training_protocol"]["stretch"] == (0.0 if r["config"]["framework"] == "mmecg" else 0.3)
        assert (r["config"]["anchors"] is None) == (r["config"]["framework"] != "radarode")
        assert r["config"]["anchors"] is None or "network input" in r["config"]["anchors"]
        if r["config"]["condition"]["name"] == "clean" and r["metrics"]["delta_m_pct"] is not None:
            assert r["metrics"]["delta_m_pct"] == 0.0
        if r["config"]["condition"]["family"] == "abrupt":  # a burst in every segment of the smoke set
            hit = r["metrics"]["burst_segments"]
            assert hit["segments"] == list(range(r["config"]["n_test_segments"])) and hit["rmse"] == r["metrics"]["rmse"]
        else:
            assert "burst_segments" not in r["metrics"]
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


def test_radar_conditions_anchor_the_single_cycle_framework_on_the_radar(tiny, tmp_path, monkeypatch, capsys):
    runner = _run_noise_module()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "SSQ_PARALLEL"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    argv = ["--data", str(tiny["test"].root), "--test-subjects", "1", "--epochs", "1", "--only", "radarode",
            "--seeds", "0", "--conditions", "radar-snr:0", "snr:0", "--out", str(tmp_path), "--no-progress"]
    assert runner.main(argv) == 0, capsys.readouterr().err
    stored = {r["config"]["condition"]["name"]: r for r in results.load_results(tmp_path)}
    assert set(stored) == {"clean", "snr:0", "radar-snr:0"}
    assert "radar phase" in stored["radar-snr:0"]["config"]["anchors"]
    assert all("network input" in stored[c]["config"]["anchors"] for c in ("clean", "snr:0"))
    assert "--test-subjects 1" in stored["snr:0"]["command"] and stored["snr:0"]["config"]["split_seed"] == 0


def test_matched_grid_trains_one_network_per_condition(tiny, tmp_path, monkeypatch, capsys):
    runner = _run_noise_module()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "SSQ_PARALLEL"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    argv = ["--data", str(tiny["test"].root), "--test-subjects", "1", "--epochs", "1", "--only", "radarode",
            "--seeds", "0", "--conditions", "snr:0", "--out", str(tmp_path), "--no-progress", "--train-noise", "matched"]
    assert runner.main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "clean inputs" in out and "snr:0 inputs" in out  # two trainings
    stored = {r["config"]["condition"]["name"]: r for r in results.load_results(tmp_path)}
    assert {c: r["config"]["train_noise"] for c, r in stored.items()} == {"clean": "clean", "snr:0": "snr:0"}
    assert "--train-noise matched" in stored["snr:0"]["command"] and not (tmp_path / "models").exists()
    # delta_m against the clean network's baseline, also when that file is read back
    try:
        expected = R.delta_m_pct(stored["clean"]["metrics"], stored["snr:0"]["metrics"])
    except ValueError:  # a baseline column of 0 on this tiny set: stored as null
        expected = None
    first = stored["snr:0"]["metrics"]
    assert first["delta_m_pct"] == (None if expected is None else pytest.approx(expected))
    (tmp_path / "radarode_seed0_snr_0.json").unlink()
    assert runner.main(argv) == 0
    again = results.load_result(tmp_path / "radarode_seed0_snr_0.json")["metrics"]
    # same seed, same noise: the same run, with the baseline read back from its file
    assert {k: again[k] for k in R.METRIC_COLUMNS + ("delta_m_pct",)} == {
        k: first[k] for k in R.METRIC_COLUMNS + ("delta_m_pct",)}
    assert "clean inputs" not in capsys.readouterr().out  # the stored clean file was not trained again
    assert runner.main(argv[:-1] + ["matched", "--conditions", "radar-snr:0"]) == 2
    assert "input-noise" in capsys.readouterr().err


def test_noise_grid_takes_the_rate_and_target_width_and_refuses_to_mix_settings(tiny, tmp_path, monkeypatch, capsys):
    runner = _run_noise_module()
    # the defaults are the calibrated benchmark's (chapter 12); files older than --ppi-sigma: the loss's width
    assert runner._LOSS_SIGMA == losses.PPI_SIGMA
    assert (runner.DEFAULT_DATA, runner.DEFAULT_EPOCHS, runner.DEFAULT_LR, runner.DEFAULT_PPI_SIGMA) == (
        "book:calibrated", 24, 3e-3, 8.0)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "SSQ_PARALLEL"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    argv = ["--data", str(tiny["test"].root), "--test-subjects", "1", "--epochs", "1", "--only", "radarode_mtl",
            "--seeds", "0", "--conditions", "clean", "--out", str(tmp_path), "--no-progress", "--save-models"]
    assert runner.main(argv + ["--lr", "1e-3", "--ppi-sigma", "2"]) == 0, capsys.readouterr().err
    stored = results.load_result(tmp_path / "radarode_mtl_seed0_clean.json")
    assert stored["config"]["lr"] == 1e-3 and stored["config"]["ppi_sigma"] == 2.0
    # the command names every setting, defaults too, so that it does not depend on the defaults of the day
    assert f"--data {tiny['test'].root} --lr 0.001 --ppi-sigma 2" in stored["command"]
    capsys.readouterr()
    # resuming with the defaults would mix two protocols in one folder: refused, the file kept
    for other in ([], ["--lr", "1e-3"], ["--ppi-sigma", "2", "--epochs", "2"]):
        assert runner.main(argv + other) == 2
        err = capsys.readouterr().err
        assert "other settings" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert results.load_result(tmp_path / "radarode_mtl_seed0_clean.json") == stored
    assert runner.main(argv + ["--lr", "1e-3", "--ppi-sigma", "2"]) == 0  # the same settings: nothing to do
    for bad in (["--lr", "0"], ["--ppi-sigma", "-1"]):
        assert runner.main(argv + bad) == 2
        assert bad[0] in capsys.readouterr().err


def test_noise_grid_on_plain_convolutions_records_them_and_refuses_to_mix_networks(tiny, tmp_path, monkeypatch,
                                                                                   capsys):  # fmt: skip
    runner = _run_noise_module()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "SSQ_PARALLEL"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    argv = ["--data", str(tiny["test"].root), "--test-subjects", "1", "--epochs", "1", "--only", "mmecg",
            "--seeds", "0", "--conditions", "clean", "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    assert runner.main(argv + ["--deformable", "none"]) == 0, capsys.readouterr().err
    stored = results.load_result(tmp_path / "mmecg_seed0_clean.json")
    assert stored["config"]["deformable"] == "none" and "--deformable none" in stored["command"]
    model, config = FW.load_model(tmp_path / "models" / "mmecg_seed0.pt")
    assert model.preset.deformable == (False,) * 4 and config["deformable"] == "none"
    capsys.readouterr()
    assert runner.main(argv) == 2  # the preset's network into the same folder: refused
    err = capsys.readouterr().err
    assert "deformable none (asked preset)" in err and len(err.strip().splitlines()) == 1
    # files and networks stored before the option hold the preset's network: a resume takes them as they are
    older = tmp_path / "older"
    assert runner.main(argv[:-3] + ["--out", str(older), "--no-progress"]) == 0
    for path in (older / "mmecg_seed0_clean.json",):
        record = results.load_result(path)
        assert record["config"].pop("deformable") == "preset"
        path.write_text(json.dumps(record))
    assert runner.main(argv[:-3] + ["--out", str(older), "--no-progress", "--list"]) == 0
    assert "done  mmecg_seed0_clean.json" in capsys.readouterr().out
    # by default the plain network's results go to its own candidate's folder, never the calibrated one's
    for extra, parent in (([], runner.BENCHMARK_FOLDER), (["--deformable", "none"], runner.BENCHMARK_FOLDER + "_plain")):
        for train_noise, leaf in (("clean", "noise"), ("matched", "noise_matched")):
            folder = runner.results_folder(runner.build_parser().parse_args(extra + ["--train-noise", train_noise]))
            assert folder.as_posix().endswith(f"{parent}/{leaf}")


def test_noise_grid_side_by_side_writes_the_same_files_as_one_process(tiny, tmp_path, monkeypatch, capsys):
    runner = _run_noise_module()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "SSQ_PARALLEL"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    argv = ["--data", str(tiny["test"].root), "--test-subjects", "1", "--epochs", "1", "--only", "radarode_mtl",
            "mmecg", "--seeds", "0", "--conditions", "snr:0", "--no-progress", "--train-noise", "matched"]  # fmt: skip
    assert runner.main(argv + ["--out", str(tmp_path / "one")]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert runner.main(argv + ["--out", str(tmp_path / "two"), "--workers", "2"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    # matched training: the clean baselines in children of their own before the noisy networks
    done = [line.split()[1:5:3] for line in out.splitlines() if line.startswith("  done ")]
    assert sorted(done[:2]) == [["mmecg", "clean"], ["radarode_mtl", "clean"]] and len(done) == 4
    assert json.loads(out.strip().splitlines()[-1])["written"] == 4
    names = sorted(p.name for p in (tmp_path / "one").glob("*.json"))
    assert len(names) == 4 and names == sorted(p.name for p in (tmp_path / "two").glob("*.json"))
    for name in names:  # one seed, one thread, the same code: the same scores, the same command to remake them
        one, two = (results.load_result(tmp_path / f / name) for f in ("one", "two"))
        assert (one["metrics"], one["per_segment"], one["command"]) == (two["metrics"], two["per_segment"],
                                                                      two["command"])  # fmt: skip
        assert "--workers" not in two["command"]
    for bad, word in ((["--workers", "0"], "--workers"), (["--workers", "2", "--overwrite"], "--overwrite")):
        assert runner.main(argv + ["--out", str(tmp_path / "two")] + bad) == 2
        err = capsys.readouterr().err
        assert word in err and len(err.strip().splitlines()) == 1


def test_framework_trains_its_cycle_length_with_the_target_width_asked_for(one_thread, tiny):
    items = FW.in_memory(tiny["train"])
    losses_by_width = {}
    for sigma in (None, 2.0, 8.0):
        _, record = FW.train_framework("radarode_mtl", items, epochs=1, seed=0, ppi_sigma=sigma)
        losses_by_width[sigma] = record["train_loss"]["ppi"][-1]
    assert losses_by_width[None] == losses_by_width[2.0]  # the default width is 2 classes
    assert losses_by_width[8.0] != losses_by_width[2.0]


def _run_noise_module():
    spec = importlib.util.spec_from_file_location("run_noise", REPO / "radarode_lite" / "cli" / "run_noise.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
