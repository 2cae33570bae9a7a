"""The USB port of a host token: a real pseudo-terminal in raw mode.

The kiosk opens the pty's slave side (`/dev/pts/N`) as it would a CDC-ACM
port. We keep our own descriptor on the slave open, so the pty survives a
kiosk that closes and reopens it (cable pulled and plugged back): the master
never sees a hang-up. Replies the previous kiosk never read are dropped when a
new request arrives after a 2 s silence, as a device drops its USB FIFO on
re-enumeration.
"""

import errno
import fcntl
import logging
import os
import termios
import time
import tty

log = logging.getLogger("robert_token.usb")

READ_SIZE = 4096
MAX_PENDING = 1 << 20  # bytes queued for a kiosk that does not read
STALE_S = 2.0


class PtyLink:
    """A pty whose incoming bytes go to `on_data(bytes) -> bytes`; the returned bytes go back."""

    def __init__(self, link_path=None, stale_s=STALE_S):
        self.link_path = link_path
        self.stale_s = stale_s
        self.master = self.slave = None
        self.name = None
        self.on_data = None
        self.garbage_dropped = 0
        self._pending = b""
        self._last_write = 0.0
        self._loop = None
        self._writing = False

    def open(self) -> str:
        if self.link_path and os.path.lexists(self.link_path) and not os.path.islink(self.link_path):
            raise FileExistsError("--pty-link %s exists and is not a symlink: not replaced"
                                  % self.link_path)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        attrs = termios.tcgetattr(self.slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.name = os.ttyname(self.slave)
        if self.link_path:
            _replace_symlink(self.name, self.link_path)
        return self.name

    def start(self, loop, on_data) -> None:
        """Start serving: from now on bytes read from the kiosk go to `on_data`."""
        self._loop = loop
        self.on_data = on_data
        loop.add_reader(self.master, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # cannot happen while we hold the slave; be safe
                return
            raise
        if not data:
            return
        self._drop_stale_output()
        reply = self.on_data(data)
        if reply:
            self.write(reply)

    def _drop_stale_output(self) -> None:
        unread = _unread_bytes(self.slave) + len(self._pending)
        if unread and time.monotonic() - self._last_write > self.stale_s:
            termios.tcflush(self.slave, termios.TCIFLUSH)
            self._pending = b""
            log.warning("dropped %d reply bytes the previous USB host never read", unread)

    def write(self, data: bytes) -> None:
        self._last_write = time.monotonic()
        self._pending += data
        if len(self._pending) > MAX_PENDING:
            dropped = len(self._pending) - MAX_PENDING
            self._pending = self._pending[dropped:]
            log.warning("USB host is not reading: dropped %d bytes", dropped)
        self._flush()

    def _flush(self) -> None:
        while self._pending:
            try:
                n = os.write(self.master, self._pending)
            except BlockingIOError:
                break
            self._pending = self._pending[n:]
        if self._pending and not self._writing:
            self._loop.add_writer(self.master, self._flush)
            self._writing = True
        elif not self._pending and self._writing:
            self._loop.remove_writer(self.master)
            self._writing = False

    def close(self) -> None:
        if self._loop is not None and self.master is not None:
            self._loop.remove_reader(self.master)
            if self._writing:
                self._loop.remove_writer(self.master)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None
        if self.link_path and self.name and os.path.islink(self.link_path) \
                and os.readlink(self.link_path) == self.name:
            os.remove(self.link_path)  # ours only: another token may own it by now


def _unread_bytes(fd: int) -> int:
    buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int.from_bytes(buf, "little")


def _replace_symlink(target: str, link_path: str) -> None:
    tmp = link_path + ".tmp"
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link_path)
