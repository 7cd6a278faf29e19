"""Files that survive interruptions and children that die with their parent (radarode_lite._files, _children)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import namedtuple
from pathlib import Path

import pytest

from radarode_lite import _children, _files

ROOT = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def _gone(pid: int, within_s: float) -> bool:
    """Whether process ``pid`` has ended (or is a zombie) within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def test_atomic_write_leaves_the_old_file_and_no_temporary_on_failure(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")

    def failing(tmp):
        Path(tmp).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match=r"cannot write .*a\.json.*No space left on device \(the disk is full\)"):
        _files.atomic_write(path, failing)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_torch_write_errors_become_one_clear_oserror(tmp_path):
    def torch_like(tmp):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0: file write failed")

    with pytest.raises(OSError, match="is the disk full") as info:
        _files.atomic_write(tmp_path / "c.pt", torch_like)
    assert "\n" not in str(info.value) and not (tmp_path / "c.pt").exists()


def test_free_space_is_checked_before_a_large_write(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(_files.shutil, "disk_usage", lambda folder: usage(10**9, 10**9 - 50 * 2**20, 50 * 2**20))
    written = []
    with pytest.raises(OSError, match=r"not enough free space .* for big\.pt: needs about 116 MiB, 50 MiB free"):
        _files.atomic_write(tmp_path / "big.pt", written.append, size_hint=100 * 2**20)
    assert written == [] and not list(tmp_path.iterdir())
    _files.atomic_write(tmp_path / "small.txt", lambda tmp: Path(tmp).write_text("x"), size_hint=10)
    assert (tmp_path / "small.txt").read_text() == "x"


def test_leftovers_of_dead_processes_are_removed_and_those_of_live_ones_kept(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".metrics.json.tmp-{dead}").write_text("{")
    (tmp_path / f".obj1_NB_1_tmp-{dead}").mkdir()
    (tmp_path / f".small_seed0.tmp-{dead}-1a2b3c4d").mkdir()
    (tmp_path / f".checkpoint.pt.tmp-{alive}").write_text("being written")
    (tmp_path / "results.json").write_text("{}")
    (tmp_path / ".hidden").write_text("not ours")
    removed = _files.remove_leftovers(tmp_path)
    assert sorted(removed) == sorted([f".metrics.json.tmp-{dead}", f".obj1_NB_1_tmp-{dead}",
                                      f".small_seed0.tmp-{dead}-1a2b3c4d"])  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f".checkpoint.pt.tmp-{alive}", "results.json",
                                                                  ".hidden"])  # fmt: skip
    assert _files.remove_leftovers(tmp_path / "absent") == []


def test_check_writable_names_the_folder(tmp_path, monkeypatch):
    def read_only(self, data):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "write_bytes", read_only)
    with pytest.raises(OSError, match=r"cannot write .*Read-only file system \(the file system is read-only\)"):
        _files.check_writable(tmp_path / "out")


_PARENT = textwrap.dedent("""
    import sys
    from radarode_lite import _children
    _children.forward_signals()
    child = ("import sys, time; from radarode_lite import _children; _children.follow_parent(0.1); "
             "open(sys.argv[1], 'w').write('started'); time.sleep(60)")
    _children.run_child([sys.executable, "-c", child, sys.argv[1]], capture=False)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_child_dies_with_its_parent(tmp_path, signum):
    flag = tmp_path / "started"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(flag)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the child did not start"
        children = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 1
        os.kill(parent.pid, signum)
        parent.wait(timeout=15)
        assert _gone(int(children[0]), within_s=10), f"child {children[0]} outlived its parent ({signum!r})"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_stopping_parent_starts_no_child(monkeypatch):
    monkeypatch.setattr(_children, "_stopping", type(_children._stopping)())
    _children.stop_children()
    with pytest.raises(RuntimeError, match="stopping"):
        _children.run_child([sys.executable, "-c", "pass"])


def test_list_piped_into_head_ends_without_a_traceback():
    script = ROOT / "data_scripts" / "run_experiments.py"
    done = subprocess.run(f"'{sys.executable}' '{script}' --list | head -n 1", shell=True, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert done.stdout.startswith(("todo", "done", "bad")) and "Traceback" not in done.stderr
