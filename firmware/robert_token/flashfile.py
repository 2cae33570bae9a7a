"""Replacing a flash file so that a power cut at any instant leaves the old or the new content whole.

CircuitPython's FAT cannot rename over an existing file, so "write a temp, rename
over" is not enough there. Every replace in the core goes through `commit`:

1. the new content is written to `NAME.tmp` and synced (a cut leaves a partial
   `.tmp`, dropped at start-up: the old `NAME` stays);
2. `NAME.tmp` is renamed `NAME.new`, a name that does not exist at that point:
   this rename is the commit point, a `.new` file is always complete;
3. `NAME` is removed and 4. `NAME.new` is renamed `NAME`.

`recover(storage, NAME)`, called before `NAME` is read, finishes an interrupted
3-4 and drops a partial `.tmp`. Only plain renames to a free name are used, so
littlefs and FAT behave the same.
"""


def tmp_name(name):
    """Where the new content of `name` is written before `commit`."""
    return name + ".tmp"


def _new_name(name):
    return name + ".new"


def sync(f):
    """Flush a file to flash (CircuitPython/MicroPython files may lack `sync`)."""
    f.flush()
    s = getattr(f, "sync", None)
    if s is not None:
        s()


def _finish(storage, name):
    new = _new_name(name)
    if storage.size(name) >= 0:
        storage.remove(name)
    storage.rename(new, name)


def recover(storage, name):
    """Complete an interrupted replace of `name`; drop a partial temp file."""
    if storage.size(_new_name(name)) >= 0:
        _finish(storage, name)
    tmp = tmp_name(name)
    if storage.size(tmp) >= 0:
        storage.remove(tmp)


def commit(storage, name):
    """Replace `name` by the synced content of `tmp_name(name)`."""
    if storage.size(_new_name(name)) >= 0:
        _finish(storage, name)  # a committed replace left unfinished: it goes first
    storage.rename(tmp_name(name), _new_name(name))
    _finish(storage, name)


def replace(storage, name, data):
    """Write `data` (str or bytes) as the new content of `name`, power-cut safe."""
    tmp = tmp_name(name)
    with storage.open(tmp, "w" if isinstance(data, str) else "wb") as f:
        f.write(data)
        sync(f)
    commit(storage, name)


def remove(storage, name):
    """Delete `name` and any replace in progress (the pending ones first, so none comes back)."""
    for n in (_new_name(name), tmp_name(name), name):
        if storage.size(n) >= 0:
            storage.remove(n)
