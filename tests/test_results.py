"""Results files and their metadata (radarode_lite.studies.results) and the experiment grid runner."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from radarode_lite.studies import results

REPO = Path(__file__).resolve().parents[1]


def _save(path, **overrides):
    kwargs = dict(metrics={"pcc_pct": 91.5, "nan": float("nan")}, config={"method": "ega", "epochs": 3}, seed=2,
                  command="python data_scripts/train.py --seed 2", wall_s=12.5)
    kwargs.update(overrides)
    return results.save_result(path, **kwargs)


def test_saved_result_reads_back_with_its_metadata(tmp_path):
    path = _save(tmp_path / "a" / "run.json", history={"loss": [1.0, 0.5]})
    record = results.load_result(path)
    assert record["metrics"] == {"pcc_pct": 91.5, "nan": None}
    assert record["config"]["method"] == "ega" and record["seed"] == 2
    assert record["git_commit"] == "unknown" or len(record["git_commit"]) == 40
    assert record["machine"]["cpu_count"] >= 1 and record["timestamp_utc"].endswith("Z")
    assert record["history"] == {"loss": [1.0, 0.5]}
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # no temporary file left


def test_the_machine_record_names_the_cpu_and_the_instruction_set_of_torchs_kernels(monkeypatch):
    import torch

    machine = results.machine_info()
    assert machine["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    if Path("/proc/cpuinfo").is_file():
        names = [l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                 if l.lower().startswith("model name")]  # fmt: skip
        assert machine["cpu"] == (names[0] if names and names[0] else machine["cpu"])
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc")))
    monkeypatch.setattr(results.platform, "processor", lambda: "")
    assert results.cpu_model() == "unknown"


@pytest.mark.parametrize("missing", sorted(results.REQUIRED_KEYS))
def test_a_file_without_any_piece_of_metadata_is_rejected(tmp_path, missing):
    path = _save(tmp_path / "run.json")
    record = json.loads(path.read_text())
    del record[missing]
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=missing):
        results.load_result(path)
    with pytest.raises(ValueError, match="run.json"):
        results.load_results(tmp_path)


@pytest.mark.parametrize("key, value, match", [
    ("git_commit", "abc", "git_commit"),
    ("seed", -1, "seed"),
    ("timestamp_utc", "yesterday", "timestamp_utc"),
    ("command", "  ", "command"),
    ("wall_s", "fast", "wall_s"),
    ("format", 99, "format"),
])
def test_malformed_metadata_is_rejected(tmp_path, key, value, match):
    path = _save(tmp_path / "run.json")
    record = json.loads(path.read_text())
    record[key] = value
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=match):
        results.load_result(path)


def test_loader_errors_and_sorting(tmp_path):
    with pytest.raises(FileNotFoundError):
        results.load_result(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError):
        results.load_results(tmp_path / "nope")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load_result(tmp_path / "bad.json")
    (tmp_path / "bad.json").unlink()
    _save(tmp_path / "b.json")
    _save(tmp_path / "sub" / "a.json")
    assert [r["path"] for r in results.load_results(tmp_path)] == ["b.json", "sub/a.json"]
    with pytest.raises(ValueError, match=".json"):
        _save(tmp_path / "run.txt")
    with pytest.raises(TypeError, match="metrics"):
        _save(tmp_path / "c.json", metrics=[1, 2])
    with pytest.raises(ValueError, match="overwrite"):
        results.save_result(tmp_path / "d.json", {}, {}, 0, "cmd", 1.0, git_commit="abc")


def test_run_experiments_smoke_grid_stores_loadable_results(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "data_scripts" / "run_experiments.py"), "--smoke",
                           "--results", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["failed"] == [] and summary["ran"] == 3
    records = results.load_results(tmp_path / "smoke")
    assert sorted(r["run"] for r in records) == ["ega_paper_T1_seed0", "ew_seed0", "single_ppi_seed0"]
    for record in records:
        assert record["command"].startswith("python data_scripts/train.py ")
        assert record["config"]["smoke"] is True
    ega = next(r for r in records if r["run"].startswith("ega"))
    assert "gradients" not in ega["config"]["method_kwargs"]  # parameter gradients, the authors' setting
    for flag in ("--schedule cosine", "--stretch 0.3", "--cycle-head autocorrelation"):
        assert flag in ega["command"]
    # resumable: a second call finds every run stored and trains nothing
    again = subprocess.run([sys.executable, str(REPO / "data_scripts" / "run_experiments.py"), "--smoke",
                            "--results", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert json.loads(again.stdout.strip().splitlines()[-1])["ran"] == 0
    # the same folder under other settings is refused, not taken as done, and nothing is touched
    stored = {r["run"]: r for r in records}
    for other in (["--epochs", "2"], ["--train-arg=--lr=3e-3"]):
        refused = subprocess.run([sys.executable, str(REPO / "data_scripts" / "run_experiments.py"), "--smoke",
                                  "--results", str(tmp_path), *other], capture_output=True, text=True, timeout=600)  # fmt: skip
        assert refused.returncode == 2 and "made by another command" in refused.stderr, refused.stderr[-2000:]
        assert "--overwrite" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert {r["run"]: r for r in results.load_results(tmp_path / "smoke")} == stored


def test_grid_settings_ignore_where_and_how_a_run_was_computed():
    from radarode_lite.cli import run_experiments

    settings = run_experiments._train_settings
    a = "python data_scripts/train.py --data d --seed 0 --threads 1 --tasks ppi --out runs/x"
    b = "radarode-train --data d --seed 0 --threads 2 --device cuda --tasks ppi --out elsewhere"
    assert settings(a) == settings(b) == ["--data", "d", "--seed", "0", "--tasks", "ppi"]
    assert settings(a) != settings(a.replace("--seed 0", "--seed 1"))


def test_table2_grid_holds_every_row_of_the_paper():
    from radarode_lite.cli import run_experiments
    from radarode_lite.studies import table2

    runs = run_experiments.table2_runs([0, 1, 2, 3, 4], epochs=16)
    names = {r.name for r in runs}
    assert len(runs) == len(names) == 5 * (3 + 11 + 5)
    for method in run_experiments.TABLE2_METHODS:
        assert {f"{method}_seed{s}" for s in range(5)} <= names
    for t in ("0.1", "0.5", "1", "1.5", "2"):
        assert f"ega_paper_T{t}_seed4" in names
    configs = {table2.configuration({"run": n}) for n in names}
    rows = {table2.paper_label(c) for c in configs if not c.startswith("single_")} | {table2.label(table2.BASELINE)}
    assert rows == set(table2.read_paper_table2())  # every row of the published table, none more
    assert all("gradients" not in r.options for r in runs)  # the authors' parameter gradients
    ega = [r for r in runs if r.method == "ega"]
    assert {r.options["warmup_epoch"] for r in ega} == {4} and {r.options["variant"] for r in ega} == {"paper"}
    args = runs[0].train_args("book:benchmark", 16, "lite")
    assert args[args.index("--test-subjects") + 1] == "4"


# ---------------------------------------------------------------------------------------
# Damaged files and interrupted grids
# ---------------------------------------------------------------------------------------


def _grid_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_experiments_module", REPO / "radarode_lite" / "cli" / "run_experiments.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("damage, message", [
    (lambda text: text[: len(text) // 2], "not valid JSON"),
    (lambda text: text.replace('"pcc_pct": 91.5', '"pcc_pct": NaN'), "NaN"),
    (lambda text: text.replace('"pcc_pct": 91.5', '"pcc_pct": 91.5, "pcc_pct": 99.0'), "appears twice"),
    (lambda text: text.replace('"pcc_pct": 91.5', '"pcc_pct": -Infinity'), "Infinity"),
])  # fmt: skip
def test_damaged_results_files_are_refused_naming_the_file(tmp_path, damage, message):
    path = _save(tmp_path / "run.json")
    assert results.result_problem(path) is None
    path.write_text(damage(path.read_text()))
    with pytest.raises(ValueError, match=message) as info:
        results.load_result(path)
    assert str(path) in str(info.value)
    assert message in results.result_problem(path)
    assert results.result_problem(tmp_path / "absent.json") == "missing"


def test_the_grid_reruns_damaged_and_missing_results_and_removes_leftovers(tmp_path, monkeypatch, capsys):
    script = _grid_script()
    folder = tmp_path / "smoke"
    ew = next(r for r in script.smoke_runs() if r.name == "ew_seed0")
    args = ew.train_args(script.DEFAULT_DATA, script.DEFAULT_EPOCHS, "lite", test_subjects=1) + ["--smoke"]
    _save(folder / "ew_seed0.json", command="python data_scripts/train.py " + shlex.join(args))  # valid: kept
    _save(folder / "single_ppi_seed0.json")
    (folder / "single_ppi_seed0.json").write_text('{"format": 1, "metrics": {')  # truncated: run again
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = folder / f".ew_seed0.tmp-{int(dead.stdout)}"
    (leftover / "data").mkdir(parents=True)
    assert script.main(["--smoke", "--results", str(tmp_path), "--list"]) == 0
    listed = {line.split()[1]: line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == {"single_ppi_seed0": "bad", "ew_seed0": "done", "ega_paper_T1_seed0": "todo"}
    ran = []
    monkeypatch.setattr(script, "run_one", lambda run, *args, **kwargs: ran.append(run.name) or 0.0)
    assert script.main(["--smoke", "--results", str(tmp_path)]) == 0
    assert sorted(ran) == ["ega_paper_T1_seed0", "single_ppi_seed0"]
    out = capsys.readouterr().out
    assert "damaged" in out and leftover.name in out and not leftover.exists()
    assert script.main(["--smoke", "--results", str(tmp_path), "--only", "nosuchrun"]) == 2
    assert "matches no run" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [15, 9])
def test_killing_the_grid_kills_its_train_child_and_its_scratch_goes(tmp_path, signum):
    import os
    import time

    command = [sys.executable, str(REPO / "data_scripts" / "run_experiments.py"), "--smoke", "--results",
               str(tmp_path), "--only", "single_ppi"]  # fmt: skip
    grid = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, scratch = time.monotonic() + 60, []
        while not scratch and time.monotonic() < deadline:  # train.py has started writing
            time.sleep(0.1)
            scratch = list((tmp_path / "smoke").glob(".single_ppi_seed0.tmp-*"))
        children = subprocess.run(["pgrep", "-P", str(grid.pid)], capture_output=True, text=True).stdout.split()
        assert scratch and len(children) == 1
        os.kill(grid.pid, signum)
        grid.wait(timeout=30)
        child = Path(f"/proc/{children[0]}/stat")
        deadline = time.monotonic() + 15
        while child.exists() and child.read_text().rsplit(")", 1)[1].split()[0] not in "ZX" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not child.exists() or child.read_text().rsplit(")", 1)[1].split()[0] in "ZX"
        if signum == 15:  # stopped cleanly: no scratch left; after kill -9 the next run removes it
            assert not list((tmp_path / "smoke").glob(".*tmp-*"))
    finally:
        if grid.poll() is None:
            grid.kill()


@pytest.mark.parametrize("width", [20, 60, 80])
def test_wrap_command_reads_back_as_the_same_words_in_a_shell(width):
    stored = results.load_result(
        REPO / "book" / "data" / "results" / "benchmark" / "calibration"
        / "lr3e-3_sigma8_snr-19.5_0.5_subjects20_epochs24" / "table2" / "ega_paper_T1_seed0.json")["command"]  # fmt: skip
    for command in (stored, stored + " --note 'two  spaces and a \\\\ backslash'"):
        wrapped = results.wrap_command(command, width=width)
        lines = wrapped.split("\n")
        assert len(lines) > 1 and all(line.endswith(" \\") for line in lines[:-1])
        assert all(line.startswith("    ") for line in lines[1:])
        # longer than the width only where one word alone is
        for line in lines:
            words = shlex.split(line.removesuffix(" \\"))
            assert len(line) <= width or len(words) == 1, line
        echoed = subprocess.run(["bash", "-c", "printf '%s\\n' " + wrapped], capture_output=True, text=True,
                                check=True).stdout  # fmt: skip
        assert echoed.split("\n")[:-1] == shlex.split(command)


@pytest.mark.parametrize(("kwargs", "error"), [({"command": ""}, TypeError), ({"command": None}, TypeError),
                                               ({"command": "a b", "width": 5}, ValueError),
                                               ({"command": "a b", "width": True}, ValueError),
                                               ({"command": "a b", "indent": 4}, TypeError)])  # fmt: skip
def test_wrap_command_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error, match=next(iter(k for k in ("indent", "width", "command") if k in kwargs))):
        results.wrap_command(**kwargs)
