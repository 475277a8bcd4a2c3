"""Atomic file writes and the permissions of everything passline persists.

A temp file in the target folder, fsynced, then renamed over the target: a reader (another
process, a CI upload, a crash) sees the old file or the new one, never half of one.

Run records, caches, journals, baselines and reports hold prompts and model outputs, which
can be confidential: they are private by default (files 0600, folders 0700). With
``[tool.passline] shared_permissions = true`` they get the usual 0666/0777 minus the umask
instead. The policy is process-wide and set by the entry points (the pytest plugin, the
CLI) from the resolved settings; every writer asks :func:`file_mode` / :func:`dir_mode`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any


def _read_umask() -> int:
    # Read once, at import, before passline starts threads: os.umask can only be read by
    # setting it, and doing that per write set the process umask to 0 for a moment while
    # runner threads created files, which could then come out world-writable. Linux shows
    # it without changing it; elsewhere the brief swap uses a safe 022, never 0.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
_SHARED_FILE_MODE = 0o666 & ~_UMASK
_SHARED_DIR_MODE = 0o777 & ~_UMASK
_PRIVATE_FILE_MODE = 0o600
_PRIVATE_DIR_MODE = 0o700
_shared = False


def set_shared_permissions(shared: bool) -> bool:
    """Make what passline writes from now on shared (umask) or private; returns the old
    policy so a caller can restore it."""
    global _shared
    old, _shared = _shared, bool(shared)
    return old


def file_mode() -> int:
    return _SHARED_FILE_MODE if _shared else _PRIVATE_FILE_MODE


def dir_mode() -> int:
    return _SHARED_DIR_MODE if _shared else _PRIVATE_DIR_MODE


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """``mkdir -p`` where every folder created gets :func:`dir_mode` (existing ones are left
    as they are). Raises ``NotADirectoryError`` / ``FileExistsError`` when a file is in the way."""
    target = Path(path)
    if target.is_dir():
        return target
    missing = []
    for folder in (target, *target.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, dir_mode())
        except FileExistsError:  # another process made it meanwhile
            if not folder.is_dir():
                raise
    if not target.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(target))
    return target


def create_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with :func:`file_mode` unless it exists (so that SQLite, which
    copies the database file's mode to its -wal/-shm files, keeps a private cache private)."""
    target = Path(path)
    make_dirs(target.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode()))
    return target


def open_append(path: str | os.PathLike[str]) -> IO[str]:
    """A UTF-8 text file opened for appending, created with :func:`file_mode` if missing."""
    target = Path(path)
    make_dirs(target.parent)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
    return os.fdopen(fd, "a", encoding="utf-8")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    target = Path(path)
    make_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 2,
                      sort_keys: bool = False) -> Path:
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, default=str) + "\n"
    return atomic_write_text(path, text)
