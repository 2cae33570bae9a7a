"""The folder-as-flash storage of the host port."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ports.host.storage import FolderStorage, StorageError


def test_write_read_size_rename_remove(tmp_path):
    flash = FolderStorage(str(tmp_path / "flash"))
    assert flash.size("log/0001") == -1
    with flash.open("log/0001.tmp", "wb") as f:
        f.write(b"abc" * 10)
        f.flush()
        f.sync()
    flash.sync()
    flash.rename("log/0001.tmp", "log/0001")
    assert flash.size("log/0001") == 30
    assert flash.size("log/0001.tmp") == -1
    assert flash.listdir("log") == ["0001"]
    with flash.open("log/0001", "rb") as f:
        assert f.read() == b"abc" * 10
    flash.remove("log/0001")
    assert not flash.exists("log/0001")


def test_rename_replaces_existing_file(tmp_path):
    flash = FolderStorage(str(tmp_path))
    for name, body in (("keys", b"old"), ("keys.new", b"new")):
        with flash.open(name, "wb") as f:
            f.write(body)
    flash.rename("keys.new", "keys")
    with flash.open("keys", "rb") as f:
        assert f.read() == b"new"


def test_data_is_in_the_folder_and_survives_a_new_instance(tmp_path):
    with FolderStorage(str(tmp_path)).open("state", "wb") as f:
        f.write(b"\x01\x02")
    assert (tmp_path / "state").read_bytes() == b"\x01\x02"
    assert FolderStorage(str(tmp_path)).size("state") == 2


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", "a\x00"])
def test_names_leaving_the_folder_are_refused(tmp_path, name):
    flash = FolderStorage(str(tmp_path / "flash"))
    with pytest.raises(StorageError, match="bad flash file name"):
        flash.open(name, "wb")
    assert os.listdir(tmp_path / "flash") == []


@given(st.text(max_size=30))
def test_any_name_is_either_refused_or_inside(tmp_path_factory, name):
    root = tmp_path_factory.getbasetemp() / "fuzz-flash"
    flash = FolderStorage(str(root))
    try:
        path = flash.path(name)
    except StorageError:
        return
    assert os.path.commonpath([path, flash.root]) == flash.root
    assert path != flash.root


def test_wipe_empties_the_flash(tmp_path):
    flash = FolderStorage(str(tmp_path))
    for name in ("a", "d/b", "d/e/c"):
        with flash.open(name, "wb") as f:
            f.write(b"x")
    flash.wipe()
    assert flash.listdir() == []


def test_sync_makes_data_and_new_directory_entries_durable(tmp_path, monkeypatch):
    """flush + sync reach fsync for the file and, for a new file, for its folder."""
    import stat

    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    flash = FolderStorage(str(tmp_path))
    with flash.open("log_1.bin", "ab") as f:
        f.write(b"x")
        f.flush()
        f.sync()
    assert synced == ["file", "dir"]
    synced.clear()
    with flash.open("log_1.bin", "ab") as f:  # existing file: its entry is already durable
        f.write(b"y")
        f.sync()
    assert synced == ["file"]
    synced.clear()
    flash.rename("log_1.bin", "log_2.bin")
    assert synced == ["dir"]


def test_one_owner_at_a_time(tmp_path):
    first, second = FolderStorage(str(tmp_path)), FolderStorage(str(tmp_path))
    first.lock()
    with pytest.raises(StorageError, match="in use by another robert-token"):
        second.lock()
    first.unlock()
    second.lock()
    second.unlock()
