"""Atomic writes never touch the process umask (other threads create files meanwhile)."""

from __future__ import annotations

import os
import stat

import pytest

from passline._atomic import atomic_write_json, atomic_write_text, set_shared_permissions


def test_writes_do_not_change_the_process_umask_and_get_private_or_shared_modes(
        tmp_path, monkeypatch):
    # review #21: reading the umask per write set it to 0 while runner threads made files
    current = os.umask(0o022)
    os.umask(current)

    def forbidden(mask: int) -> int:
        raise AssertionError("atomic writes must not call os.umask")

    monkeypatch.setattr(os, "umask", forbidden)
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
    atomic_write_json(tmp_path / "b.json", {"x": 1})
    assert path.read_text() == "hello"
    # private by default: records hold prompts and outputs
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "sub").stat().st_mode) == 0o700
    old = set_shared_permissions(True)
    try:
        shared = atomic_write_text(tmp_path / "shared" / "a.txt", "hello")
    finally:
        set_shared_permissions(old)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o666 & ~current
    assert stat.S_IMODE(shared.parent.stat().st_mode) == 0o777 & ~current


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = atomic_write_text(tmp_path / "a.txt", "old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_json(target, {"x": 1})
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
