"""Tests of data_scripts/train.py: one training run from the command line, its files and metadata."""

from __future__ import annotations

import collections
import datetime
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from radarode_lite import train
from radarode_lite.models import RadarODEMTL

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("train_cli", ROOT / "radarode_lite" / "cli" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli = _script()


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One ``--smoke`` run (tiny synthetic data, 1 epoch), shared by the tests that read its files."""
    out = tmp_path_factory.mktemp("runs") / "smoke"
    argv = ["--smoke", "--out", str(out), "--seed", "3", "--threads", "1"]
    status = cli.main(argv)
    return status, out, argv


def test_smoke_run_writes_exactly_its_three_files(smoke_run):
    status, out, _ = smoke_run
    assert status == 0
    # no temporary leftovers
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json", "model.pt"]
    checkpoint = train.load_checkpoint(out / "checkpoint.pt")
    assert checkpoint["epochs_done"] == 1 and checkpoint["settings"]["method"] == "ega"


def test_metrics_json_holds_the_metrics_and_the_metadata(smoke_run):
    _, out, argv = smoke_run
    record = json.loads((out / "metrics.json").read_text())
    # Held-out metrics: every key of evaluate() for the three tasks.
    expected = {k for keys in train.METRIC_KEYS.values() for k in keys} | {"n_segments"}
    assert set(record["metrics"]) == expected
    assert record["metrics"]["n_segments"] == record["config"]["n_test_segments"] > 0
    assert 0.0 <= record["metrics"]["mdr_pct"] <= 100.0
    # Per-epoch losses of the one smoke epoch, per task, finite and positive.
    history = record["history"]
    assert history["tasks"] == ["shape", "anchor", "ppi"] and history["method"] == "ega"
    for task in history["tasks"]:
        assert len(history["train_loss"][task]) == 1 and history["train_loss"][task][0] > 0
    # Configuration: the subjects of the split are disjoint.
    config = record["config"]
    assert config["smoke"] is True and config["epochs"] == 1 and config["seed"] == 3 == record["seed"]
    assert config["test_subjects"] and not set(config["test_subjects"]) & set(config["train_subjects"])
    # Provenance.
    assert record["command"].endswith(" ".join(argv)) and "data_scripts/train.py" in record["command"]
    assert record["git_commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{40}", record["git_commit"])
    assert record["wall_s"] > 0 and record["train_s"] <= record["wall_s"]
    machine = record["machine"]
    assert machine["cpu_count"] == os.cpu_count() and machine["torch"] == torch.__version__
    assert isinstance(machine["platform"], str) and machine["platform"]
    utc = datetime.timezone.utc
    stamp = datetime.datetime.strptime(record["timestamp_utc"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=utc)
    assert abs((datetime.datetime.now(utc) - stamp).total_seconds()) < 3600


def test_model_pt_loads_safely_and_holds_trained_weights(smoke_run):
    _, out, _ = smoke_run
    checkpoint = torch.load(out / "model.pt", weights_only=True)  # plain tensors and built-in types only
    config = checkpoint["config"]
    model = RadarODEMTL(config["preset"], use_ode=config["use_ode"])
    model.load_state_dict(checkpoint["state_dict"])  # strict: every parameter present, shapes right
    initial = RadarODEMTL(config["preset"], use_ode=config["use_ode"], seed=config["seed"]).state_dict()
    changed = [k for k, v in checkpoint["state_dict"].items() if not torch.equal(v, initial[k])]
    assert any(k.startswith("backbone.") for k in changed)  # one epoch of training moved the weights
    assert json.loads((out / "metrics.json").read_text())["config"] == config


def test_plain_convolutions_are_recorded_and_the_model_loads_from_its_config(tmp_path):
    out = tmp_path / "plain"
    assert cli.main(["--smoke", "--out", str(out), "--deformable", "none", "--no-progress"]) == 0
    checkpoint = torch.load(out / "model.pt", weights_only=True)
    config = checkpoint["config"]
    assert config["deformable"] == [False] * 4 and config["preset"] == "lite"
    assert not any(".offset_conv." in k for k in checkpoint["state_dict"])  # no deformable stage was built
    model = RadarODEMTL(config["preset"], use_ode=config["use_ode"], cycle_head=config["cycle_head"],
                        deformable=config["deformable"])  # fmt: skip
    model.load_state_dict(checkpoint["state_dict"])  # strict
    # the lite preset's own network does not take these weights
    with pytest.raises(RuntimeError):
        RadarODEMTL(config["preset"], cycle_head=config["cycle_head"]).load_state_dict(checkpoint["state_dict"])


def test_an_existing_run_is_not_overwritten_without_the_flag(smoke_run, capsys):
    _, out, _ = smoke_run
    before = (out / "metrics.json").read_bytes()
    assert cli.main(["--smoke", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--data", "no/such/folder"], "--data"),
        ([], "--data is required"),
        (["--data", "book:huge"], "book:SIZE"),
        (["--smoke", "--tasks", "shape", "--method", "ega"], "--method must be ew"),
        (["--smoke", "--method", "nonsense"], "unknown MTL method"),
        (["--smoke", "--epochs", "0"], "--epochs"),
        (["--smoke", "--noise", "snr:loud"], "noise"),
        (["--data", "book:small", "--noise", "snr:-3"], "radarode-run-noise"),
        (["--smoke", "--method-option", "temperature"], "KEY=VALUE"),
    ],
)
def test_bad_arguments_fail_early_with_a_clear_message(tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    assert cli.main(["--out", str(out)] + extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing trained, nothing written


def test_noise_conditions_parse_to_generator_arguments():
    assert cli.parse_noise("clean") == {"name": "clean"}
    assert cli.parse_noise("radar-snr:-3") == {"name": "radar-snr:-3", "snr_db": -3.0}
    assert cli.parse_noise("radar-abrupt:-9:2") == {"name": "radar-abrupt:-9:2",
                                                    "abrupt": [cli.ABRUPT_FRACTION, -9.0, [2.0, 2.0]]}  # fmt: skip
    assert cli.parse_noise("radar-abrupt:0:1:0.5")["abrupt"] == [0.5, 0.0, [1.0, 1.0]]
    for bad in ("noisy", "snr", "snr:1:2", "abrupt:0", "abrupt:0:9", "abrupt:0:1:2", "snr:nan", "radar-clean",
                "radar-snr:1:2", "radar-abrupt:0:9"):  # fmt: skip
        with pytest.raises(ValueError, match="noise"):
            cli.parse_noise(bad)


@pytest.mark.parametrize("name", ["snr:-3", "abrupt:-9:2", "abrupt:0:1:0.5"])
def test_input_noise_names_point_to_the_noise_study_in_one_line(name):
    with pytest.raises(ValueError, match="radarode-run-noise") as caught:
        cli.parse_noise(name)
    message = str(caught.value)
    assert "\n" not in message and f"radar-{name}" in message and message.startswith("noise:")


def test_method_options_are_read_as_json_when_they_parse():
    options = cli.parse_method_options(["temperature=0.5", "gradients=representation", "warmup-epoch=2"])
    assert options == {"temperature": 0.5, "gradients": "representation", "warmup_epoch": 2}


# ---------------------------------------------------------------------------------------
# Interrupted runs, other settings on resume, full disks
# ---------------------------------------------------------------------------------------


@pytest.fixture
def unfinished(smoke_run, tmp_path):
    """A copy of the smoke run as a kill before its last write leaves it: no metrics.json."""
    _, out, argv = smoke_run
    copy = Path(shutil.copytree(out, tmp_path / "smoke"))
    (copy / "metrics.json").unlink()
    return copy, [a if a != str(out) else str(copy) for a in argv]


def test_a_run_killed_after_model_pt_is_finished_by_the_same_command(unfinished, capsys):
    out, argv = unfinished
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = out / f".checkpoint.pt.tmp-{int(dead.stdout)}"
    leftover.write_bytes(b"half a checkpoint")
    assert cli.main(argv) == 0  # no --overwrite needed
    assert leftover.name in capsys.readouterr().err and not leftover.exists()
    record = json.loads((out / "metrics.json").read_text())
    assert len(record["history"]["epoch_s"]) == 1  # resumed from the finished checkpoint: nothing retrained
    assert record["train_s"] >= record["history"]["epoch_s"][0]  # the epoch of the first process counts
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json", "model.pt"]


@pytest.mark.parametrize("extra, named", [
    (["--split-seed", "1"], "split_seed 0 -> 1 (--split-seed)"),
    (["--no-ode"], "use_ode True -> False (--preset/--no-ode/--norm/--cycle-head/--deformable)"),
    (["--deformable", "none"], "model layout (--preset/--no-ode/--norm/--cycle-head/--deformable)"),
    (["--norm", "group"], "norm 'batch' -> 'group'"),
    (["--data-seed", "1"], "(--data/--data-seed)"),
    (["--test-subjects", "2", "--test-ids"], "test_subjects [1] -> [2] (--test-subjects/--test-ids)"),
])  # fmt: skip
def test_resume_with_other_settings_is_refused_in_one_line_naming_the_flags(unfinished, capsys, extra, named):
    out, argv = unfinished
    assert cli.main(argv + extra) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and "--no-resume" in err and len(err.splitlines()) == 1
    assert not (out / "metrics.json").exists()


def test_a_bogus_device_is_one_line(tmp_path, capsys):
    assert cli.main(["--smoke", "--out", str(tmp_path / "run"), "--device", "bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--device" in err and "bogus" in err and len(err.splitlines()) == 1


def test_a_full_disk_is_one_line_before_the_checkpoint_is_written(tmp_path, capsys, monkeypatch):
    from radarode_lite import _files

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(_files.shutil, "disk_usage", lambda folder: usage(2**30, 2**30, 17 * 2**20))
    out = tmp_path / "run"
    assert cli.main(["--smoke", "--out", str(out), "--threads", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "not enough free space" in err and "checkpoint.pt" in err and len(err.splitlines()) == 1
    assert not list(out.glob("*.pt")) and not list(out.glob(".*"))


def test_a_failing_torch_write_is_one_line(tmp_path, capsys, monkeypatch):
    def full(obj, path, *args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")  # fmt: skip

    monkeypatch.setattr(torch, "save", full)
    out = tmp_path / "run"
    assert cli.main(["--smoke", "--out", str(out), "--threads", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "cannot write" in err and "disk full" in err and len(err.splitlines()) == 1
    assert "inline_container" not in err and not list(out.iterdir())


def test_kill_of_train_py_leaves_no_scratch_folder_and_no_temporary_file(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "data_scripts" / "train.py"), "--smoke", "--out", str(out), "--threads",
               "1", "--no-progress"]  # fmt: skip
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(".scratch-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(out.glob(".scratch-*")), "train.py never started its scratch folder"
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 128 + signal.SIGTERM
        assert "Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
    assert not list(out.glob(".*")) and not (out / "metrics.json").exists()  # the rerun: see the tests above
