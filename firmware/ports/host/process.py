"""A whole host token in one asyncio loop: core, pty, air, BLE.

Without the air the core is ticked on the system clock: `token.tick()` says
how long it may sleep, and any sync traffic wakes it early (a SET_TIME may
start advertising). With the air, time only moves on the air's `time`
messages; the core is built on the first one, since its clock is unknown
before.
"""

import asyncio
import logging

from ports.host.clock import AirClock, SystemClock
from ports.host.led import LogLed
from ports.host.port import HostPort
from ports.host.radio import SilentRadio
from ports.host.storage import FolderStorage
from ports.host.usb import PtyLink

log = logging.getLogger("robert_token.host")

MAX_SLEEP_S = 60.0  # re-tick at least this often on the system clock


def _host_core_class():
    """The core's Token, with INFO also showing the pattern on the (log-only) LED."""
    from robert_token.token import Token

    class HostCore(Token):
        def info(self):
            info = super().info()
            info["led"] = self.port.led.pattern
            return info

    return HostCore


class _RunsDueWork:
    """A sync session whose traffic is followed by the core's due work (see `_after_sync`)."""

    def __init__(self, session, after):
        self.session = session
        self._after = after

    def feed(self, data: bytes) -> bytes:
        reply = self.session.feed(data)
        self._after()
        return reply


class HostToken:
    """Builds the port from the options and runs the token until stopped."""

    def __init__(self, state_dir, serial=None, model="host", air=None, pty_link=None,
                 ble=None, drift_ppm=0.0, clock_offset=0.0, out=None):
        self.serial = serial
        self.model = model
        self.air_address = air
        self.ble_spec = ble
        self.out = out
        self.storage = FolderStorage(state_dir)
        self.led = LogLed()
        self.clock = (AirClock if air else SystemClock)(drift_ppm, clock_offset)
        self.pty = PtyLink(pty_link)
        self.air = None
        self.ble_device = self.ble_transport = self.ble_server = self.ble_exchange = None
        self.port = None
        self.token = None
        self.usb_session = None
        self._wake = None
        self._stopping = asyncio.Event()  # set by stop(), even before run()

    # -- the core ---------------------------------------------------------
    def _start_core(self) -> None:
        from robert_token.sync import Session

        self.token = _host_core_class()(self.port)
        self.usb_session = Session(self.token)
        self.pty.start(asyncio.get_running_loop(), self._on_usb)
        log.info("token core started (serial %s)", self.serial or "unset")

    def new_session(self):
        """A sync session on this token (one per BLE connection)."""
        from robert_token.sync import Session

        if self.token is None:
            raise RuntimeError("the token core has not started yet")
        return _RunsDueWork(Session(self.token), self._after_sync)

    def _on_usb(self, data: bytes) -> bytes:
        try:
            reply = self.usb_session.feed(data)
        except Exception as exc:  # a core bug must not take the USB port down with it
            log.error("sync session failed on %d bytes: %s", len(data), type(exc).__name__)
            return b""
        self._after_sync()
        return reply

    def _after_sync(self) -> None:
        """Sync traffic may have changed what is due (clock set, new tuples): run it now."""
        if self.air is not None:
            self.token.tick()
        elif self._wake is not None:
            self._wake.set()

    # -- the air ------------------------------------------------------------
    def _on_time(self, t: float) -> float:
        if self.clock.t is not None and t < self.clock.t:
            log.warning("the air's time went back from %.3f to %.3f: kept %.3f",
                        self.clock.t, t, self.clock.t)
        self.clock.advance(t)
        if self.token is None:
            self._start_core()
        ms = self.token.tick()
        return self.clock.t + self.clock.seconds_for(max(0, ms))

    def _on_rx(self, t: float, addr: bytes, data: bytes, rssi: int) -> None:
        self.clock.advance(t)
        if self.token is None:
            self._start_core()
        self.token.on_advert(addr, data, rssi, self.clock.ticks_at(t))

    def _on_write(self, t: float, data: bytes, rssi: int) -> None:
        """A phone wrote into the FD64 exchange characteristic (the air carried the connection)."""
        self.clock.advance(t)
        if self.token is None:
            self._start_core()
        try:
            self.token.on_hello_payload(data, rssi, self.clock.ticks_at(t))
        except Exception as exc:  # a core bug must not take the radio down: the write is lost
            log.error("exchange write of %d bytes failed: %s", len(data), type(exc).__name__)

    def _on_ble_payload(self, data: bytes, rssi: int) -> bool:
        """A central wrote into the FD64 characteristic over Bumble (ports/host/exchange.py)."""
        if self.token is None:
            return False
        return self.token.on_hello_payload(data, rssi, self.clock.ticks_ms())

    # -- running --------------------------------------------------------------
    async def start(self) -> None:
        """Open the pty, join the air, bring BLE up; print PTY and READY."""
        self.storage.lock()
        name = self.pty.open()
        self._say("PTY " + name)
        if self.air_address:
            from ports.host.air import AirClient

            host, port = self.air_address
            self.air = AirClient(host, port, self.serial or "")
            await self.air.connect()
            radio = self.air.radio
        else:
            radio = SilentRadio()
        self.port = HostPort(self.storage, self.clock, radio, self.led,
                             serial=self.serial, model=self.model)
        if self.air is None:
            self._start_core()
        if self.ble_spec:
            await self._start_ble()
        self._say("READY")

    async def _start_ble(self) -> None:
        from ports.host import ble

        serial = self.serial or "RT-HOST"
        self.ble_device, self.ble_transport = await ble.open_device(
            self.ble_spec, serial, ble.address_for(serial))
        self.ble_server = ble.GattSyncServer(self.ble_device, self.new_session)
        from ports.host.exchange import GattExchangeServer

        self.ble_exchange = GattExchangeServer(self.ble_device, self._on_ble_payload)
        await ble.advertise(self.ble_device, serial)
        log.info("BLE sync service up on %s as %s", self.ble_spec, self.ble_device.random_address)

    async def run(self) -> int:
        """Serve until stopped (`stop()`) or the air goes away; returns the exit code."""
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if self.air is not None:
            waiters.append(asyncio.ensure_future(self.air.serve(self._on_time, self._on_rx, self._on_write)))
        else:
            waiters.append(asyncio.ensure_future(self._tick_loop()))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        code = 0
        for task in done:
            if task.exception() is not None:
                raise task.exception()
        if self.air is not None and not self._stopping.is_set():
            log.error("the air at %s:%s closed the connection; stopping", *self.air_address)
            code = 3
        await self.close()
        return code

    async def _tick_loop(self) -> None:
        self._wake = asyncio.Event()
        while True:
            ms = self.token.tick()
            sleep = min(MAX_SLEEP_S, self.clock.seconds_for(max(0, ms)))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), sleep)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        self.storage.unlock()
        self.pty.close()
        if self.air is not None:
            await self.air.close()
        if self.ble_transport is not None:
            await self.ble_transport.close()

    def _say(self, line: str) -> None:
        if self.out is not None:
            self.out.write(line + "\n")
            self.out.flush()
