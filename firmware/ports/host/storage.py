"""Flash as a folder: each core file is a file in `--state DIR`.

Killing the process is a power cut, so a write is durable only once the core
has called `flush()` and `sync()`, as on littlefs. Names are flat or
slash-separated relative paths; anything that would leave the folder is refused.
"""

import fcntl
import os


class StorageError(OSError):
    """A name the core asked for cannot live in the state folder."""


class FlashFile:
    """A file opened on the folder; `sync()` makes everything written so far durable."""

    def __init__(self, raw, new_in=None):
        self._raw = raw
        self._new_in = new_in  # folder whose entry for this new file is not durable yet

    def sync(self) -> None:
        self._raw.flush()
        os.fsync(self._raw.fileno())
        if self._new_in is not None:
            FolderStorage._sync_dir(self._new_in)
            self._new_in = None

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __iter__(self):
        return iter(self._raw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._raw.close()
        return False


class FolderStorage:
    """The port's `storage`: open/remove/rename/size over one folder."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise StorageError("state %s is a file, not a folder" % self.root)
        os.makedirs(self.root, exist_ok=True)
        self._dirty_dirs = set()
        self._lock_fd = None

    def lock(self) -> None:
        """Own the folder: one token per flash (a second process would corrupt it)."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageError("state %s is in use by another robert-token" % self.root) from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def path(self, name: str) -> str:
        """The host path of a core file name, refusing names that escape the folder."""
        if not name or name.startswith("/") or "\\" in name or "\x00" in name:
            raise StorageError("bad flash file name: " + repr(name))
        parts = name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise StorageError("bad flash file name: " + repr(name))
        return os.path.join(self.root, *parts)

    def open(self, name: str, mode: str = "rb") -> FlashFile:
        path = self.path(name)
        new_in = None
        if any(c in mode for c in "wax+"):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.exists(path):
                new_in = os.path.dirname(path)
                self._dirty_dirs.add(new_in)
        return FlashFile(open(path, mode), new_in)

    def remove(self, name: str) -> None:
        path = self.path(name)
        os.remove(path)
        self._sync_dir(os.path.dirname(path))

    def rename(self, old: str, new: str) -> None:
        """Atomic replace (littlefs semantics): `new` is either the old or the new content."""
        src, dst = self.path(old), self.path(new)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        self._sync_dir(os.path.dirname(dst))
        if os.path.dirname(src) != os.path.dirname(dst):
            self._sync_dir(os.path.dirname(src))

    def size(self, name: str) -> int:
        try:
            return os.stat(self.path(name)).st_size
        except FileNotFoundError:
            return -1

    def exists(self, name: str) -> bool:
        return self.size(name) >= 0

    def listdir(self, name: str = "") -> list:
        path = self.path(name) if name else self.root
        try:
            return sorted(os.listdir(path))
        except FileNotFoundError:
            return []

    def mkdir(self, name: str) -> None:
        os.makedirs(self.path(name), exist_ok=True)

    def sync(self) -> None:
        """Make new directory entries durable (file data is synced by `FlashFile.sync`)."""
        dirs, self._dirty_dirs = self._dirty_dirs, set()
        for d in dirs:
            self._sync_dir(d)

    def wipe(self) -> None:
        """Erase every file (a factory-fresh flash)."""
        for dirpath, dirnames, filenames in os.walk(self.root, topdown=False):
            for f in filenames:
                os.remove(os.path.join(dirpath, f))
            for d in dirnames:
                os.rmdir(os.path.join(dirpath, d))
        self._sync_dir(self.root)

    @staticmethod
    def _sync_dir(path: str) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
