"""Flash in memory: the `port.storage` interface (docs/architecture.md) over a dict of bytearrays.

Semantics of the host port's `FolderStorage` (firmware/ports/host/storage.py):
`open` with modes r/rb/w/wb/ab/r+b, `remove` and `size` (-1 when absent),
`rename` refusing an existing target (the core never renames over a file),
`listdir`. Writes land at once (a process of the in-process world never loses
power), so `sync` has nothing to do. The in-process world keeps thousands of
tokens this way without a folder each.
"""

from __future__ import annotations

import io


class MemFile(io.BytesIO):
    """A file open on MemStorage: its bytes go back to the storage on flush and close."""

    def __init__(self, store: dict, name: str, initial: bytes, text: bool, append: bool) -> None:
        super().__init__(initial)
        self._store = store
        self._name = name
        self._text = text
        if append:
            self.seek(0, io.SEEK_END)

    def read(self, n: int = -1):
        data = super().read(n)
        return data.decode() if self._text else data

    def write(self, data) -> int:
        return super().write(data.encode() if isinstance(data, str) else data)

    def flush(self) -> None:
        if not self.closed:
            self._store[self._name] = self.getvalue()

    def sync(self) -> None:
        self.flush()

    def close(self) -> None:
        self.flush()
        super().close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


class MemStorage:
    """`open/remove/rename/size/listdir` over a dict of file contents."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def open(self, name: str, mode: str = "rb") -> MemFile:
        text = "b" not in mode
        if mode.startswith("r"):
            if name not in self.files:
                raise OSError(2, f"no such file: {name}")
            return MemFile(self.files, name, self.files[name], text, False)
        if mode.startswith("w"):
            self.files[name] = b""
            return MemFile(self.files, name, b"", text, False)
        if mode.startswith("a"):
            return MemFile(self.files, name, self.files.get(name, b""), text, True)
        raise ValueError(f"unsupported mode {mode!r}")

    def remove(self, name: str) -> None:
        if self.files.pop(name, None) is None:
            raise OSError(2, f"no such file: {name}")

    def rename(self, old: str, new: str) -> None:
        if new in self.files:
            raise OSError(17, f"target exists: {new}")
        if old not in self.files:
            raise OSError(2, f"no such file: {old}")
        self.files[new] = self.files.pop(old)

    def size(self, name: str) -> int:
        data = self.files.get(name)
        return -1 if data is None else len(data)

    def exists(self, name: str) -> bool:
        return name in self.files

    def listdir(self, name: str = "") -> list:
        return sorted(self.files)

    def sync(self) -> None:
        pass
