"""Files that survive interruptions: atomic writes, free space, crash leftovers, one-line disk errors.

Every file the package and its scripts write goes through :func:`atomic_write`: the content is
written into a hidden temporary file next to the final one, ``.<name>.tmp-<pid>``, then renamed
into place, so a reader sees the complete file or none. A process killed in between leaves the
temporary file behind; :func:`remove_leftovers` finds such files and folders of processes that no
longer run and deletes them.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import uuid
from pathlib import Path

#: Hidden temporary files and folders of an interrupted write: ``.<name>.tmp-<pid>[-<hex>]``,
#: ``.<name>tmp-<pid>`` and the ``old`` copies kept while a folder is replaced.
LEFTOVER = re.compile(r"^\..+?(?:tmp|old)-(\d+)(?:-[0-9a-f]+)?$")

#: Free space kept beyond the estimated size of a large file, bytes.
SPARE_BYTES = 16 * 2**20

_HINTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
          errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
          errno.EPERM: "permission denied"}  # fmt: skip


def temporary_path(path) -> Path:
    """The hidden temporary name under which ``path`` is written: ``.<name>.tmp-<pid>``."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write(path, write, size_hint=None) -> Path:
    """Call ``write(temporary path)``, then rename the file to ``path``: all or nothing.

    ``size_hint`` (bytes): check first that the folder has that much free space (plus
    :data:`SPARE_BYTES`). Write errors come out as ``OSError`` naming the file and the cause;
    torch's own write errors (a ``RuntimeError`` from its zip writer) are turned into one.
    """
    path = Path(path)
    if size_hint is not None:
        check_free_space(path.parent, size_hint, path.name)
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, disk_error(exc, path)) from None
    except RuntimeError as exc:  # torch.save on a full disk: "PytorchStreamWriter failed writing file ..."
        if "writ" not in str(exc).lower():
            raise
        raise OSError(errno.EIO, f"cannot write {str(path)!r}: the write failed (is the disk full?)") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_folder(final, fill, done=None) -> Path:
    """Call ``fill(temporary folder)``, then swap the folder into place as ``final``: all or nothing.

    The folder is built under a hidden name beside ``final`` (removed on every exit path and, if
    the process is killed, by :func:`remove_leftovers`). An existing ``final`` is moved aside
    and deleted only once the new one is in place. ``done(folder) -> bool``: if given and it
    holds for ``final`` once ``fill`` has run (another process finished an identical copy
    first), the new copy is dropped and the existing one kept. Write errors come out as one line.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp, old = final.parent / f".{final.name}.tmp-{tag}", final.parent / f".{final.name}.old-{tag}"
    try:
        tmp.mkdir()
        fill(tmp)
        if done is None or not done(final):
            if final.exists():
                try:
                    final.rename(old)
                except FileNotFoundError:  # another process moved it first
                    pass
            try:
                tmp.rename(final)
            except OSError:
                if done is None or not done(final):  # not a race lost to an identical copy
                    raise
    except OSError as exc:
        if old.exists() and not final.exists():
            old.rename(final)
        raise OSError(exc.errno, disk_error(exc, final)) from None
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    return final


def check_free_space(folder, n_bytes, what) -> None:
    """Raise ``OSError(ENOSPC)`` unless ``folder`` (or its nearest existing parent) has ``n_bytes`` free."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    needed = int(n_bytes) + SPARE_BYTES
    if free < needed:
        raise OSError(errno.ENOSPC, f"not enough free space in {str(folder)!r} for {what}: needs about "
                                    f"{needed / 2**20:.0f} MiB, {free / 2**20:.0f} MiB free")  # fmt: skip


def disk_error(exc: OSError, path=None) -> str:
    """One line for a failed write or read: the file, what went wrong and, for the usual causes, why."""
    where = exc.filename if exc.filename is not None else path
    reason = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno)
    text = f"cannot write {str(where)!r}: {reason}" if where is not None else reason
    return f"{text} ({hint})" if hint and hint.lower() not in reason.lower() else text


def find_leftovers(folder) -> list[Path]:
    """Hidden temporary files and folders in ``folder`` whose writing process no longer runs."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = LEFTOVER.match(entry.name)
        if match and not pid_alive(int(match.group(1))):
            found.append(entry)
    return sorted(found)


def remove_leftovers(folder) -> list[str]:
    """Delete :func:`find_leftovers` of ``folder``; return the names deleted."""
    removed = []
    for entry in find_leftovers(folder):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` runs on this machine (ours counts as not: its leftovers are old)."""
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_writable(folder) -> Path:
    """Create ``folder`` and check that a file can be written in it; ``OSError`` with one clear line if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe.tmp-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OSError(exc.errno, disk_error(exc, folder)) from None
    return folder
