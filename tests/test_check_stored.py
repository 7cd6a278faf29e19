"""Tests of data_scripts/check_stored.py: a stored result re-run from its own command, and the verdict."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("tool_check_stored", ROOT / "data_scripts" / "check_stored.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.mark.parametrize("command, expected", [
    ("python data_scripts/train.py --smoke --out runs/a", ("train", ["--smoke", "--out", "runs/a"])),
    ("radarode-run-noise --only mmecg --seeds 2", ("run_noise", ["--only", "mmecg", "--seeds", "2"])),
    ("python -m radarode_lite.cli.train --method-option 'variant=\"paper\"'",
     ("train", ["--method-option", 'variant="paper"'])),
])  # fmt: skip
def test_the_three_spellings_of_a_stored_command_parse(command, expected):
    assert tool.parse_command(command) == expected


@pytest.mark.parametrize("command, message", [
    ("python data_scripts/run_experiments.py --grid baselines", "only the commands of train, run_noise"),
    ("ls -l", "not a command of the book's tools"),
    ("", "non-empty string"),
])  # fmt: skip
def test_other_commands_are_refused_in_one_line(command, message):
    with pytest.raises(ValueError, match=message):
        tool.parse_command(command)


def _write(folder: Path, name: str, metrics: dict, command: str = "python data_scripts/train.py --smoke") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"command": command, "metrics": metrics}))
    return path


def test_the_seeds_of_a_row_are_the_files_beside_it_that_differ_only_in_the_seed(tmp_path):
    for seed, pcc in enumerate((80.0, 70.0, 75.0)):
        _write(tmp_path, f"ew_seed{seed}.json", {"pcc_pct": pcc, "mdr_pct": None, "failed": False,
                                                 "burst_segments": {"pcc_pct": pcc - 10}})  # fmt: skip
    _write(tmp_path, "ew_plus_seed0.json", {"pcc_pct": 10.0})
    _write(tmp_path, "ega_paper_T1_seed0.json", {"pcc_pct": 99.0})
    assert tool.seed_values(tmp_path / "ew_seed1.json") == {"pcc_pct": [80.0, 70.0, 75.0],
                                                            "burst_segments.pcc_pct": [70.0, 60.0, 65.0]}  # fmt: skip
    assert tool.seed_values(tmp_path / "ega_paper_T1_seed0.json") == {"pcc_pct": [99.0]}
    _write(tmp_path, "mmecg_seed0_snr_-3.json", {"pcc_pct": 50.0})
    _write(tmp_path, "mmecg_seed1_snr_-3.json", {"pcc_pct": 60.0})
    _write(tmp_path, "mmecg_seed1_snr_3.json", {"pcc_pct": 90.0})
    assert tool.seed_values(tmp_path / "mmecg_seed0_snr_-3.json") == {"pcc_pct": [50.0, 60.0]}


def test_the_prediction_interval_holds_one_more_seed_as_often_as_it_says():
    # Student-t prediction interval (n = 5): mean +- t(0.995, 4) sd sqrt(1 + 1/5), by hand
    low, high = tool.prediction_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (high - 3.0) == pytest.approx(3.0 - low) == pytest.approx(4.604094 * 1.5811388 * 1.0954451, rel=1e-6)
    assert tool.prediction_interval([7.0]) is None and tool.prediction_interval([]) is None
    rng = np.random.default_rng(0)
    draws = rng.normal(10.0, 2.0, size=(4000, 6))
    hits = [lo <= row[-1] <= hi for row in draws for lo, hi in [tool.prediction_interval(list(row[:-1]))]]
    assert abs(np.mean(hits) - 0.99) < 0.006


def test_the_verdict_is_identical_another_draw_or_outside():
    seeds = {"pcc_pct": [70.0, 80.0, 75.0, 72.0, 78.0], "mdr_pct": [1.0, 1.1, 1.2, 1.05, 1.15]}
    stored = {"pcc_pct": 75.0, "mdr_pct": 1.2, "n_segments": 272, "timing_error_ms": None}
    assert tool.compare(stored, dict(stored), seeds) == {"verdict": "identical", "differences": {}, "outside": []}
    moved = tool.compare(stored, {**stored, "pcc_pct": 84.0}, seeds)
    assert moved["verdict"] == tool.CONSISTENT == "another draw of its seeds" and moved["outside"] == []
    assert moved["differences"]["pcc_pct"]["interval"][0] < 70.0 and moved["differences"]["pcc_pct"]["within"]
    far = tool.compare(stored, {**stored, "mdr_pct": 2.5}, seeds)
    assert far["verdict"] == tool.INCONSISTENT and far["outside"] == ["mdr_pct"]
    # a metric with no seeds (n_segments), one that became None, one that went missing
    for now in ({**stored, "n_segments": 271}, {**stored, "pcc_pct": None}, {"pcc_pct": 75.0, "mdr_pct": 1.2}):
        assert tool.compare(stored, now, seeds)["verdict"] == tool.INCONSISTENT
    nested = tool.compare({"b": {"pcc_pct": 75.0, "segments": [1, 2]}}, {"b": {"pcc_pct": 75.0, "segments": [1, 3]}},
                          seeds)  # fmt: skip
    assert nested["outside"] == ["b.segments"]


def test_a_noise_file_is_rerun_beside_its_stored_clean_baseline(tmp_path):
    command = "python data_scripts/run_noise.py --only mmecg --seeds 1 --conditions snr:0 --out x --data book:calibrated"
    noisy = _write(tmp_path, "mmecg_seed1_snr_0.json", {"pcc_pct": 50.0}, command)
    with pytest.raises(FileNotFoundError, match="mmecg_seed1_clean.json, which is not beside it"):
        tool.rerun_plan(noisy, json.loads(noisy.read_text()), tmp_path / "scratch")
    clean = _write(tmp_path, "mmecg_seed1_clean.json", {"pcc_pct": 70.0}, command.replace("snr:0", "clean"))
    plan = tool.rerun_plan(noisy, json.loads(noisy.read_text()), tmp_path / "scratch")
    assert plan["copies"] == [clean] and plan["made"] == tmp_path / "scratch" / "out" / noisy.name
    args = plan["command"][3:]
    assert plan["command"][1:3] == ["-m", "radarode_lite.cli.run_noise"]
    assert args.count("--out") == 1 and args[args.index("--out") + 1] == str(tmp_path / "scratch" / "out")
    assert "x" not in args and args[-1] == "--save-models"  # no networks saved
    assert tool.rerun_plan(clean, json.loads(clean.read_text()), tmp_path / "s")["copies"] == []
    saving = _write(tmp_path, "mmecg_seed0_clean.json", {}, command + " --save-models 0 7 --threads=1")
    args = tool.rerun_plan(saving, json.loads(saving.read_text()), tmp_path / "s")["command"][3:]
    assert args[-1] == "--save-models" and args.count("--save-models") == 1
    assert "0" not in args and "7" not in args
    assert "--threads=1" in args


def test_a_missing_data_set_is_one_line_naming_it(tmp_path):
    path = _write(tmp_path, "ew_seed0.json", {}, "python data_scripts/train.py --data /nowhere/data --out runs/ew_seed0")
    with pytest.raises(FileNotFoundError, match="'/nowhere/data' of ew_seed0.json's command is not here"):
        tool.rerun_plan(path, json.loads(path.read_text()), tmp_path / "scratch")


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "data_scripts" / "check_stored.py"), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def stored_row(tmp_path_factory):
    """A row of two stored ``--smoke`` training runs, made as the grids store them."""
    folder = tmp_path_factory.mktemp("table2")
    for seed in (3, 4):
        out = folder / f".run{seed}"
        argv = ["--smoke", "--seed", str(seed), "--threads", "1"]
        done = subprocess.run([sys.executable, "-m", "radarode_lite.cli.train", *argv, "--no-progress", "--out",
                               str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        record = json.loads((out / "metrics.json").read_text())
        record["command"] = "python data_scripts/train.py " + " ".join(argv) + f" --out runs/ew_seed{seed}"
        (folder / f"ew_seed{seed}.json").write_text(json.dumps(record))
    return folder


def test_a_stored_run_rerun_on_the_same_machine_is_identical(stored_row, tmp_path):
    report = tmp_path / "checks" / "report.json"
    done = _run(stored_row / "ew_seed3.json", "--report", report)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["verdict"] == "identical" and lines[0]["differences"] == {}
    assert lines[-1] == {"files": 1, "identical": 1, "another draw of its seeds": 0, "outside its seeds": 0}
    # the report: the same, with the command, commit, machine and time that made it, and no leftover
    stored = json.loads(report.read_text())
    assert stored["files"] == lines[:1] and stored["summary"] == {k: v for k, v in lines[-1].items() if k != "files"}
    assert stored["command"].endswith(f"ew_seed3.json --report {report}") and stored["level"] == 0.99
    assert stored["machine"] == lines[0]["machine_now"] and stored["timestamp_utc"].endswith("Z")
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", stored["git_commit"])
    assert [p.name for p in report.parent.iterdir()] == ["report.json"]


def _row(stored_row, folder, pccs):
    """The stored seed-3 run of ``stored_row`` with its PCC set to ``pccs[0]``, and one copy of
    it per other value as seeds 10, 11, ... of the same row, in ``folder``."""
    record = json.loads((stored_row / "ew_seed3.json").read_text())
    folder.mkdir(exist_ok=True)
    for seed, pcc in zip([3, *range(10, 10 + len(pccs) - 1)], pccs):
        copy = json.loads(json.dumps(record))
        copy["metrics"]["pcc_pct"] = pcc
        (folder / f"ew_seed{seed}.json").write_text(json.dumps(copy))
    return record["metrics"]["pcc_pct"], folder / "ew_seed3.json"


def test_a_stored_file_that_the_code_does_not_make_fails(stored_row, tmp_path):
    true, _ = _row(stored_row, tmp_path / "probe", [0.0])
    far = true - 20.0  # the row's seeds all near a value the code does not give
    _, path = _row(stored_row, tmp_path / "row", [far, far + 0.1, far - 0.1, far + 0.2, far - 0.2])
    done = _run(path)
    assert done.returncode == 1
    report = json.loads(done.stdout.splitlines()[0])
    assert report["verdict"] == "outside its seeds" and report["outside"] == ["pcc_pct"]
    assert report["differences"]["pcc_pct"]["now"] == true
    assert set(report["machine_now"]) == {"platform", "cpu", "cpu_capability"}


def test_another_draw_passes_unless_exact_is_asked(stored_row, tmp_path):
    true, _ = _row(stored_row, tmp_path / "probe", [0.0])
    _, path = _row(stored_row, tmp_path / "row", [true + 1e-6, true - 1.0, true + 1.0, true - 0.5, true + 0.5])
    done = _run(path)
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[0])["verdict"] == "another draw of its seeds"
    done = _run(path, "--exact")
    assert done.returncode == 1 and '"another draw of its seeds": 1' in done.stdout


def test_list_prints_each_command_and_runs_nothing(stored_row):
    done = _run("--list", stored_row)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all("-m radarode_lite.cli.train --smoke --seed" in line for line in lines)
    assert all("--out '<scratch>/out' --no-progress" in line for line in lines)


@pytest.mark.parametrize("args, message", [
    (["/no/such/file.json"], "no results file or folder '/no/such/file.json'"),
    (["--sample", "0", "book"], "--sample must be >= 1"),
])  # fmt: skip
def test_bad_arguments_are_one_line(args, message):
    done = _run(*args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_at_commit_reruns_the_code_of_the_files_own_commit(stored_row, tmp_path):
    record = json.loads((stored_row / "ew_seed3.json").read_text())
    if record["git_commit"] == "unknown":
        pytest.skip("not run from a git clone")
    done = _run("--at-commit", stored_row / "ew_seed3.json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[0])
    assert report["code"] == "the stored commit" and report["stored_commit"] == record["git_commit"]
    assert report["verdict"] == "identical"
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "radarode-check-" not in worktrees  # the worktree is removed again
    record["git_commit"] = "0" * 40  # a commit this clone does not hold
    (tmp_path / "ew_seed3.json").write_text(json.dumps(record))
    done = _run("--at-commit", tmp_path / "ew_seed3.json")
    assert done.returncode == 2 and "no code of ew_seed3.json's commit '" + "0" * 40 + "'" in done.stderr
