"""Child processes that die with their parent (the experiment scripts run ``train.py`` and others as children).

- :func:`run_child` starts a command in its own process group, tells it its parent's id
  (``RADARODE_PARENT_PID``) and kills the whole group if the parent leaves the call by an
  exception, ``Ctrl-C`` or a signal forwarded by :func:`forward_signals`.
- :func:`forward_signals` turns ``SIGTERM`` and ``SIGHUP`` into ``SystemExit`` in the parent, so
  that its ``finally`` blocks run (children killed, scratch folders removed) and no new child starts.
- :func:`follow_parent`, called by a child, ends it (through ``SIGTERM``, so its own clean-up runs)
  as soon as its parent is gone, even after ``kill -9`` of the parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

#: Environment variable that names the parent's process id to a child.
PARENT_ENV = "RADARODE_PARENT_PID"

_live: set = set()
_lock = threading.Lock()
_stopping = threading.Event()


def run_child(command, capture=True, env=None, cwd=None) -> subprocess.CompletedProcess:
    """Run ``command`` to its end as a child that dies with us; return its ``CompletedProcess``.

    ``capture``: collect stdout and stderr as text (else they pass through). Raises
    ``RuntimeError`` if the parent is stopping (after a forwarded signal).
    """
    env = dict(os.environ if env is None else env, **{PARENT_ENV: str(os.getpid())})
    pipe = subprocess.PIPE if capture else None
    with _lock:
        if _stopping.is_set():
            raise RuntimeError("not started: the parent is stopping")
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=pipe, stderr=pipe, text=True,
                                start_new_session=True)  # fmt: skip
        _live.add(proc)
    try:
        out, err = proc.communicate()
    except BaseException:
        stop_children()
        raise
    finally:
        with _lock:
            _live.discard(proc)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def side_by_side(work, items, workers: int) -> None:
    """Call ``work(item)`` for every item, ``workers`` at a time in threads (each ``work`` waits on
    a child of :func:`run_child`); ``Ctrl-C`` or a forwarded signal starts no new item and stops
    the running children. An exception of ``work`` is raised after the running items end."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for future in [pool.submit(work, item) for item in items]:
            future.result()
    except BaseException:
        stop_children()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # the workers remove their scratch folders


def stopping() -> bool:
    """Whether :func:`stop_children` has been called (no child starts any more)."""
    return _stopping.is_set()


def stop_children(grace_s: float = 5.0, wait: bool = True) -> None:
    """Stop every running child: ``SIGTERM`` to its process group, ``SIGKILL`` after ``grace_s``.

    ``wait=False`` (in a signal handler, which may interrupt a wait on the same child) only
    sends ``SIGTERM``.
    """
    with _lock:
        _stopping.set()
        procs = list(_live)
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    if not wait:
        return
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def forward_signals() -> None:
    """In the parent: ``SIGTERM``/``SIGHUP`` stop the children and raise ``SystemExit(128 + signal)``."""

    def handler(signum, frame):
        stop_children(wait=False)  # the callers of run_child then wait for their children
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, handler)


def follow_parent(poll_s: float = 0.5) -> None:
    """In a child of :func:`run_child`: ``SIGTERM`` raises ``SystemExit``, and the loss of the parent sends it.

    Does nothing when the process was not started by :func:`run_child`. The variable is removed
    from the environment so that this process's own children do not watch the wrong parent.
    """

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        return  # called in-process from a thread (a test): nothing to follow
    signal.signal(signal.SIGTERM, handler)
    parent = os.environ.pop(PARENT_ENV, None)
    if parent is None or not parent.isdigit():
        return

    def watch():
        while os.getppid() == int(parent):
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _signal_group(proc, signum) -> None:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def cli(main, argv=None) -> int:
    """Run a script's ``main(argv)`` and return its exit status; ``Ctrl-C``, a disk error and output
    piped into a closed reader (``--list | head``) end with one line (or none), not a traceback."""
    import sys

    try:
        status = main(argv)
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit: let that go nowhere
        return 0
    except OSError as exc:  # a full or read-only disk, no permission: one line, not a traceback
        from radarode_lite._files import disk_error

        print(f"error: {disk_error(exc)}", file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0
