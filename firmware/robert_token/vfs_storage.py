"""The port `storage` over the board's own file system (littlefs on ESP32 and nRF52).

littlefs and FAT make a write durable when the file is flushed or closed; the
core only renames to a free name (`flashfile`), which both do atomically.
"""

import os


class VfsStorage:
    """open/remove/rename/size on files under one folder of the VFS."""

    def __init__(self, root="/flash/rt"):
        self.root = root.rstrip("/")
        if self.root:
            self._mkdirs(self.root)

    def _mkdirs(self, path):
        cur = ""
        for part in path.split("/"):
            if not part:
                continue
            cur += "/" + part if (cur or path.startswith("/")) else part
            try:
                os.mkdir(cur)
            except OSError:
                pass

    def path(self, name):
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise OSError("bad flash file name")
        return self.root + "/" + name if self.root else name

    def open(self, name, mode="rb"):
        return open(self.path(name), mode)

    def remove(self, name):
        os.remove(self.path(name))

    def rename(self, old, new):
        """Rename to a free name (the core never renames over a file: FAT refuses, see `flashfile`)."""
        os.rename(self.path(old), self.path(new))

    def size(self, name):
        try:
            return os.stat(self.path(name))[6]
        except OSError:
            return -1

    def listdir(self):
        try:
            return os.listdir(self.root or ".")
        except OSError:
            return []
