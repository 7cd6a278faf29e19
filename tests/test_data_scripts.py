"""The command-line tools of data_scripts/: one flag vocabulary, and a --help that answers at once."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = sorted(p.name for p in (ROOT / "data_scripts").glob("*.py"))

#: Tools whose module imports torch before parsing (their --help is still checked to answer).
IMPORTS_TORCH_FIRST = {"bench_mtl.py"}

_PROBE = """
import runpy, sys
sys.argv = [sys.argv[1], "--help"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code
print("torch" in sys.modules, code, file=sys.stderr)
"""


def _source(name):
    """The file of a tool: ``radarode_lite/cli/<name>.py`` for the user-facing tools, else ``data_scripts/``."""
    tool = ROOT / "radarode_lite" / "cli" / f"{name}.py"
    return tool if tool.is_file() else ROOT / "data_scripts" / f"{name}.py"


def _script(name):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", _source(name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass of the tool looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_answers_help_without_importing_torch(tool):
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PROBE, str(ROOT / "data_scripts" / tool)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    wall = time.perf_counter() - began
    torch_loaded, code = done.stderr.strip().splitlines()[-1].split()
    assert code in ("0", "None") and "usage:" in done.stdout, done.stderr[-1000:]
    if tool not in IMPORTS_TORCH_FIRST:
        assert torch_loaded == "False", f"{tool} --help imports torch"
        assert wall < 10  # well under a second on an idle machine; generous for a busy one


def test_written_out_choices_are_the_packages():
    from radarode_lite import data, models, timefreq, train
    from radarode_lite.studies import digits

    presets = tuple(sorted(timefreq.PRESETS))
    cli = _script("train")
    assert (cli.TASKS, cli.PRESETS, cli.OPTIMIZERS, cli.SCHEDULES) == (train.TASKS, presets, train.OPTIMIZERS,
                                                                       train.SCHEDULES)  # fmt: skip
    assert cli.CYCLE_HEADS == models.CYCLE_HEADS
    from radarode_lite import losses

    assert cli.build_parser().get_default("ppi_sigma") == losses.PPI_SIGMA
    gen = _script("generate_data")
    assert (gen.PRESETS, gen.SIZES, gen.STATUSES) == (presets, tuple(sorted(data.SIZES)), data.STATUSES)
    assert _script("convert_mmecg").PRESETS == _script("bench_data").PRESETS == presets
    assert set(_script("run_digits").SINGLE_RUNS.values()) == set(digits.TASKS)


@pytest.mark.parametrize("tool, old, new, dest, value", [
    ("run_experiments", ["--force"], ["--overwrite"], "overwrite", True),
    ("run_experiments", ["--results", "x"], ["--out", "x"], "results", "x"),
    ("run_noise", ["--force"], ["--overwrite"], "overwrite", True),
    ("run_noise", ["--progress"], [], "progress", True),
    ("generate_data", ["--out", "x", "--quiet"], ["--out", "x", "--no-progress"], "progress", False),
    ("train", ["--out", "x", "--progress"], ["--out", "x"], "progress", True),
])  # fmt: skip
def test_old_flags_still_parse_to_the_new_ones_and_are_hidden(tool, old, new, dest, value):
    parser = _script(tool).build_parser()
    assert getattr(parser.parse_args(old), dest) == getattr(parser.parse_args(new), dest) == value
    options = parser.format_help().split("options:", 1)[1]  # the description may name the flags of others
    assert old[0] not in options.replace("--no-progress", "") or old[0] == "--out"


def test_progress_is_on_by_default_and_threads_default_to_one():
    for tool, argv in (("train", ["--out", "x"]), ("generate_data", ["--out", "x"]), ("run_noise", [])):
        args = _script(tool).build_parser().parse_args(argv)
        assert args.progress is True, tool
    assert _script("train").build_parser().parse_args(["--out", "x"]).threads == 1
    assert _script("run_noise").build_parser().parse_args([]).threads == 1
    assert _script("convert_mmecg").build_parser().parse_args(["in", "--out", "x"]).progress is True


def test_compare_notebook_outputs_finds_changed_text_and_forgives_wall_times(tmp_path):
    tool = _script("compare_notebook_outputs")

    def notebook(*texts):
        return {"cells": [{"cell_type": "markdown", "source": "x"}]
                + [{"cell_type": "code", "outputs": [{"output_type": "stream", "text": t}]} for t in texts]}  # fmt: skip

    old = tool.cell_texts(notebook("a = 1\n\n", "3 epochs in 1.3 s\n"))
    assert old == ["a = 1", "3 epochs in 1.3 s"]
    assert tool.cell_texts(notebook("a = ", "1\n")) == ["a = ", "1"]
    assert tool._TIMING.sub("T", "3 epochs in 1.3 s, ratio 33x") == tool._TIMING.sub("T", "3 epochs in 2 s, ratio 39x")
    assert tool._TIMING.sub("T", "PCC 96.3 %") != tool._TIMING.sub("T", "PCC 96.4 %")
    chapter = ROOT / "book" / "ch01_radar_signal_model.ipynb"
    assert tool.main(["HEAD", str(chapter)]) in (0, 1)  # runs against the repository's own history
    with pytest.raises(FileNotFoundError, match="not in revision"):
        tool.compare(chapter, "no-such-revision")


def test_calibration_study_lists_its_commands_and_generates_only_the_new_data_sets(tmp_path):
    tool = _script("run_calibration")
    done = subprocess.run([sys.executable, str(ROOT / "data_scripts" / "run_calibration.py"), "--list"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-1000:]
    lines = done.stdout.splitlines()
    generate = [line for line in lines if "generate_data.py" in line]
    default = (tool.BENCHMARK_SNR, None, None, None)
    changed = [c for c in tool.CANDIDATES.values() if (c.snr, c.bursts, c.subjects, c.duration) != default]
    assert len(generate) == len(changed) and changed
    for c, line in zip(changed, generate):
        assert f"--channel-snr-db {c.snr[0]} {c.snr[1]}" in line and "--size benchmark" in line
        assert ("--abrupt " + " ".join(map(str, c.bursts)) in line) if c.bursts else "--abrupt" not in line
        assert (f"--subjects {c.subjects}" in line) if c.subjects else "--subjects" not in line
        assert (f"--duration {c.duration:g}" in line) if c.duration else "--duration" not in line
        assert "--no-mat" not in line  # the signal-processing baseline reads the .mat files
    # one folder for each data set; candidates that differ only in training share theirs
    designs = {(c.snr, c.bursts, c.subjects, c.duration) for c in changed}
    assert len({line.split("--out ")[1].split()[0] for line in generate}) == len(designs) < len(generate)
    grids = [line for line in lines if "--grid table2" in line]
    assert len(grids) == len(tool.CANDIDATES)
    for (name, c), line in zip(tool.CANDIDATES.items(), grids):
        assert f"--only {' '.join(tool.ROWS)}" in line and f"--train-arg=--lr={c.lr}" in line
        assert ("--ppi-sigma" in line) == (c.sigma is not None)
        assert (f"--epochs {c.epochs}" in line) if c.epochs else "--epochs" not in line
        assert f"--out book/data/results/benchmark/calibration/{name}" in line
        assert ("--train-arg=--deformable=none" in line) == (c.deformable == "none")
    assert sum("--grid baselines" in line for line in lines) == len(tool.CANDIDATES)


def test_the_right_sized_candidate_changes_only_the_network_of_the_calibrated_one(tmp_path):
    tool = _script("run_calibration")
    calibrated = _script("bench_train").CALIBRATED_CANDIDATE
    plain = tool.CANDIDATES[calibrated + "_plain"]
    assert plain.deformable == "none" and plain._replace(deformable=None) == tool.CANDIDATES[calibrated]
    # the same data set (same folder), the same grid but for one training flag
    assert tool.data_command(plain, tmp_path) == tool.data_command(tool.CANDIDATES[calibrated], tmp_path)
    ours, theirs = (tool.grid_commands(n, "data", tool.CANDIDATES[n], 2, True)[0] for n in (calibrated + "_plain",
                                                                                            calibrated))  # fmt: skip
    assert [a for a in ours if a != "--train-arg=--deformable=none"] == [
        a + "_plain" if a.endswith(calibrated) else a for a in theirs]  # fmt: skip
    assert tool.record(plain, "data", [], [])["deformable"] == "none"


def test_calibration_study_trains_every_row_of_table2_only_when_asked():
    tool = _script("run_calibration")
    name = "lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24"
    c = tool.CANDIDATES[name]
    some, every = (tool.grid_commands(name, "data", c, 2, table2)[0] for table2 in (False, True))
    assert some[:3] == every[:3] and some[3:6] == ["--only", *tool.ROWS] and "--only" not in every
    assert [a for a in some if a not in ("--only", *tool.ROWS)] == every
    done = subprocess.run([sys.executable, str(ROOT / "data_scripts" / "run_calibration.py"), "--list", "--only", name,
                           "--table2"], cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and " ".join(every[:-1]) in done.stdout, done.stderr[-1000:]


def test_calibration_study_states_the_benchmark_it_departs_from():
    from radarode_lite.cli import run_experiments
    from radarode_lite.data import SIZES

    tool = _script("run_calibration")
    assert tool.BENCHMARK_SNR == SIZES["benchmark"]["channel_snr_db"]
    assert tool.SUBJECTS == SIZES["benchmark"]["n_subjects"] and tool.EPOCHS == run_experiments.DEFAULT_EPOCHS
    assert tool.DURATION == SIZES["benchmark"]["duration_s"]


def test_book_calibrated_data_set_is_the_calibrated_candidates():
    """``book:calibrated`` (chapters 8 and 14) must stay the data set that chapter 12's calibrated
    candidate generates: the same people, recordings and radar channels (seed 0)."""
    from radarode_lite.data import SIZES

    tool = _script("run_calibration")
    c = tool.CANDIDATES[_script("bench_train").CALIBRATED_CANDIDATE]
    size = SIZES["calibrated"]
    assert size["channel_snr_db"] == tuple(c.snr) and size["n_subjects"] == c.subjects
    assert size["duration_s"] == (c.duration or tool.DURATION)
    assert c.bursts is None


def test_train_benchmark_times_the_candidate_that_chapter_12_finds_calibrated():
    candidate = _script("bench_train").CALIBRATED_CANDIDATE
    assert candidate in _script("run_calibration").CANDIDATES
    chapter = (ROOT / "book" / "ch12_training_and_optimisers.ipynb").read_text()
    assert f'CALIBRATED = \\"{candidate}\\"' in chapter


def test_calibration_data_set_is_reused_only_when_its_stamp_matches(tmp_path):
    import json

    tool = _script("run_calibration")
    folder = tmp_path / "calibration_snr-18_2"
    plain, bursts = tool.Candidate("3e-3", (-18, 2)), tool.Candidate("3e-3", (-18, 2), 8, (0.5, -9, 1, 2))
    assert not tool.generated(folder, plain)
    folder.mkdir()
    stamp = {"complete": True, "channel_snr_db": [-18.0, 2.0], "seed": 0, "save_mat": True, "abrupt": None,
             "n_subjects": 12, "duration_s": 20.0}  # fmt: skip
    (folder / "dataset.json").write_text(json.dumps(stamp))
    assert tool.generated(folder, plain)
    with pytest.raises(FileExistsError, match="channel_snr_db"):
        tool.generated(folder, tool.Candidate("3e-3", (-21, -1)))
    with pytest.raises(FileExistsError, match="abrupt"):
        tool.generated(folder, bursts)
    with pytest.raises(FileExistsError, match="n_subjects"):
        tool.generated(folder, tool.Candidate("3e-3", (-18, 2), subjects=20))
    (folder / "dataset.json").write_text(json.dumps(dict(stamp, abrupt=[0.5, -9.0, [1.0, 2.0]])))
    assert tool.generated(folder, bursts)
    (folder / "dataset.json").write_text(json.dumps(dict(stamp, n_subjects=20)))
    assert tool.generated(folder, tool.Candidate("3e-3", (-18, 2), subjects=20))
    with pytest.raises(FileExistsError, match="duration_s"):
        tool.generated(folder, tool.Candidate("3e-3", (-18, 2), subjects=20, duration=12))
    (folder / "dataset.json").write_text(json.dumps(dict(stamp, n_subjects=20, duration_s=12.0)))
    assert tool.generated(folder, tool.Candidate("3e-3", (-18, 2), subjects=20, duration=12))
    for other in (dict(stamp, complete=False), dict(stamp, save_mat=False)):
        (folder / "dataset.json").write_text(json.dumps(other))
        with pytest.raises(FileExistsError):
            tool.generated(folder, plain)


def test_noise_bench_projects_the_networks_and_tests_each_grid_runs():
    bench = _script("bench_noise")
    one = {"mmecg": 1.0, "radarode": 1.0, "radarode_mtl": 1.0}
    none = dict.fromkeys(one, 0.0)
    # one second per network trained: the matched grid trains 3 seeds x 3 frameworks x 13
    # conditions, the clean grid 9 networks; Tables III and V take 7 conditions each
    trained = bench._grids(one, one, none, 0.0, "")
    assert trained == {"clean_trained": 9, "matched": 117, "table3_matched": 63, "table5_matched": 63}
    # the matched grid trains under noise but for its clean baseline, the other on clean inputs
    assert bench._grids(one, none, none, 0.0, "")["matched"] == 9
    assert bench._grids(none, one, none, 0.0, "")["matched"] == 108
    assert bench._grids(none, one, none, 0.0, "")["clean_trained"] == 0
    # one second per test: every network is tested under every condition, once
    tested = bench._grids(none, none, one, 0.0, "_looped")
    assert tested["clean_trained_looped"] == tested["matched_looped"] == 117
    assert bench._grids(none, none, none, 1.0, "")["matched"] == 13  # one noisy copy per condition
