"""Double of CircuitPython's `_bleio` on nRF52, kept to the C source's behaviour.

Source: github.com/adafruit/circuitpython at cd3da4a5 (10.3.0-alpha.4+),
`ports/nordic/common-hal/_bleio/*.c` (the SoftDevice S140 6.1.0 underneath,
`ports/nordic/bluetooth/s140_nrf52_6.1.0/.../ble_gap.h`, `ble_gatts.h`) and
`shared-bindings/_bleio/*.c` (argument checks). Each behaviour names its
file and function. Methods prefixed `sim_` are not `_bleio`: they are the
air and the peers (a kiosk, a phone) the tests drive.
"""

import supervisor

# nrf_error.h / ble_err.h codes (NRF_ERROR_BASE_NUM 0)
NRF_ERROR_INVALID_STATE = 0x08
NRF_ERROR_INVALID_PARAM = 0x07
NRF_ERROR_DATA_SIZE = 0x0C
NRF_ERROR_BUSY = 0x11

BLE_GATTS_VAR_ATTR_LEN_MAX = 512  # ble_gatts.h
BLE_GATTS_FIX_ATTR_LEN_MAX = 510
BLE_GATT_ATT_MTU_DEFAULT = 23  # ble_gatt.h
BLE_GAP_ADV_SET_DATA_SIZE_MAX = 31  # ble_gap.h: legacy advertising
BLE_GAP_ADV_SET_DATA_SIZE_EXTENDED_MAX_SUPPORTED = 255
BLE_GAP_ADV_SET_DATA_SIZE_EXTENDED_CONNECTABLE_MAX_SUPPORTED = 238


class BluetoothError(Exception):
    pass


class RoleError(BluetoothError):
    pass


class SecurityError(BluetoothError):
    pass


def check_nrf_error(err):
    """common-hal/_bleio/__init__.c check_nrf_error: SoftDevice codes to exceptions."""
    if err == 0:
        return
    if err == NRF_ERROR_INVALID_PARAM:
        raise ValueError("Invalid BLE parameter")
    if err == NRF_ERROR_INVALID_STATE:
        raise BluetoothError("Invalid state")
    raise BluetoothError("Unknown system firmware error: %04x" % err)


class UUID:
    def __init__(self, value):
        if isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("UUID integer value must be 0-0xffff")
        self.value = value

    @property
    def uuid16(self):
        return self.value if isinstance(self.value, int) else None

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)


class Address:
    # shared-bindings/_bleio/Address.c
    PUBLIC = 0
    RANDOM_STATIC = 1
    RANDOM_PRIVATE_RESOLVABLE = 2
    RANDOM_PRIVATE_NON_RESOLVABLE = 3

    def __init__(self, address, address_type):
        address = bytes(address)
        if len(address) != 6:
            raise ValueError("Address must be 6 bytes long")
        self.address_bytes = address
        self.type = address_type


class Attribute:
    # common-hal/_bleio/Attribute.h security modes
    NO_ACCESS = 0x00
    OPEN = 0x11


class Characteristic:
    # shared-bindings/_bleio/Characteristic.c CHAR_PROP_*
    BROADCAST = 0x01
    READ = 0x02
    WRITE_NO_RESPONSE = 0x04
    WRITE = 0x08
    NOTIFY = 0x10
    INDICATE = 0x20

    def __init__(self):
        pass  # made by add_to_service only

    @staticmethod
    def add_to_service(service, uuid, properties=0, read_perm=Attribute.OPEN, write_perm=Attribute.OPEN,
                       max_length=20, fixed_length=False, initial_value=None, user_description=None):
        # Characteristic.c common_hal_bleio_characteristic_construct
        limit = BLE_GATTS_FIX_ATTR_LEN_MAX if fixed_length else BLE_GATTS_VAR_ATTR_LEN_MAX
        if max_length < 0 or max_length > limit:
            raise ValueError("max_length must be 0-%d when fixed_length is %s" % (limit, fixed_length))
        c = Characteristic()
        c.service = service
        c.uuid = uuid
        c.properties = properties
        c.max_length = max_length
        c.fixed_length = fixed_length
        c._value = bytes(initial_value or b"")
        c.handlers = []  # CharacteristicBuffer / PacketBuffer of this characteristic
        service.characteristics.append(c)
        return c

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, data):
        # Characteristic.c common_hal_bleio_characteristic_set_value (local characteristic)
        data = bytes(data)
        if self.fixed_length and len(data) != self.max_length:
            raise ValueError("Value length != required fixed length")
        if len(data) > self.max_length:
            raise ValueError("Value length > max_length")
        self._value = data
        for conn in adapter._conns:
            if self.properties & Characteristic.NOTIFY and self in conn.subscribed:
                # characteristic_gatts_notify_indicate -> sd_ble_gatts_hvx; ble_gatts.h:
                # NRF_ERROR_DATA_SIZE when the value does not fit one ATT_MTU - 3 notification.
                if len(data) > conn.mtu - 3:
                    check_nrf_error(NRF_ERROR_DATA_SIZE)
                conn.notified.append(data)


class CharacteristicBuffer:
    """CharacteristicBuffer.c: a ring of `buffer_size` bytes that writes fill; full, new bytes drop."""

    def __init__(self, characteristic, timeout=1, buffer_size=64):
        if buffer_size < 1:  # shared-bindings: mp_arg_validate_int_min(buffer_size, 1)
            raise ValueError("buffer_size must be >= 1")
        self.characteristic = characteristic
        self.timeout = timeout
        self.buffer_size = buffer_size
        self._ring = bytearray()
        self.dropped = 0
        characteristic.handlers.append(self)

    def _on_write(self, conn, data):
        # write_to_ringbuf -> py/ringbuf.c ringbuf_put_n: stops at the first byte that does not fit
        room = self.buffer_size - len(self._ring)
        self._ring.extend(data[:room])
        self.dropped += max(0, len(data) - room)

    @property
    def in_waiting(self):
        return len(self._ring)

    def read(self, n=None):
        if n is None:
            n = len(self._ring)
        if n > len(self._ring):
            # common_hal_bleio_characteristic_buffer_read waits up to `timeout` for n bytes
            supervisor.sim_advance(int(self.timeout * 1000))
        out = bytes(self._ring[:n])
        self._ring = self._ring[len(out):]
        return out

    def reset_input_buffer(self):
        self._ring = bytearray()

    def deinit(self):
        self.characteristic.handlers.remove(self)


class PacketBuffer:
    """PacketBuffer.c: keeps each write whole; the first writer's connection owns it until it goes."""

    def __init__(self, characteristic, buffer_size, max_packet_size=None):
        if max_packet_size is None:
            max_packet_size = characteristic.max_length
        # common_hal_bleio_packet_buffer_construct caps the size at BLE_GATTS_VAR_ATTR_LEN_MAX - 3
        self.max_packet_size = min(max_packet_size, BLE_GATTS_VAR_ATTR_LEN_MAX - 3)
        self._capacity = buffer_size * (2 + self.max_packet_size)
        self._packets = []
        self._conn = None
        characteristic.handlers.append(self)

    def _used(self):
        return sum(2 + len(p) for p in self._packets)

    def _on_write(self, conn, data):
        # packet_buffer_on_ble_server_evt: writes of another connection are ignored
        if self._conn is None:
            self._conn = conn
        elif self._conn is not conn:
            return
        if len(data) + 2 > self._capacity:  # write_to_ringbuf: "shouldn't happen", dropped
            return
        while self._capacity - self._used() < len(data) + 2:
            self._packets.pop(0)  # the oldest packets make room
        self._packets.append(bytes(data))

    def _on_disconnect(self, conn):
        if self._conn is conn:
            self._conn = None

    @property
    def incoming_packet_length(self):
        return self.max_packet_size

    def readinto(self, buf):
        # common_hal_bleio_packet_buffer_readinto: 0 when empty, -overrun (packet dropped) when too long
        if not self._packets:
            return 0
        p = self._packets.pop(0)
        if len(p) > len(buf):
            return len(buf) - len(p)
        buf[: len(p)] = p
        return len(p)

    def deinit(self):
        pass


class Service:
    def __init__(self, uuid, secondary=False):
        self.uuid = uuid
        self.secondary = secondary
        self.characteristics = []
        adapter.services.append(self)


class ScanEntry:
    def __init__(self, address, data, rssi, connectable=False, scan_response=False):
        self.address = Address(address, Address.RANDOM_STATIC)
        self.advertisement_bytes = bytes(data)
        self.rssi = rssi
        self.connectable = connectable
        self.scan_response = scan_response


class ScanResults:
    """shared-module/_bleio/ScanResults.c: iterating blocks until the next report or the timeout."""

    def __init__(self, owner, end_ms, minimum_rssi, buffer_size):
        self._owner = owner
        self._end = end_ms
        self._min_rssi = minimum_rssi
        self._size = buffer_size
        self.done = False

    def __iter__(self):
        return self

    def __next__(self):
        while not self.done:
            now = supervisor.now[0]
            nxt = None
            for a in self._owner.air:
                if len(a) > 2 and a[0] < now:  # [at, entry, period]: an advertiser on the air
                    a[0] += ((now - a[0] + a[2] - 1) // a[2]) * a[2]
                if a[0] >= now and (nxt is None or a[0] < nxt[0]):
                    nxt = a
            if nxt is None or nxt[0] > self._end:
                supervisor.sim_advance(max(0, self._end - now))
                self.done = True  # BLE_GAP_EVT_TIMEOUT src SCAN: set_done
                break
            supervisor.sim_advance(nxt[0] - now)
            entry = nxt[1]
            if len(nxt) > 2:
                nxt[0] += nxt[2]
            else:
                self._owner.air.remove(nxt)
            if entry.rssi >= self._min_rssi:  # shared_module_bleio_scanresults_append filter
                self._owner.heard.append(entry)
                return entry
        raise StopIteration


class Connection:
    """Connection.c: ATT MTU 23 until the central's exchange, then min(512, its RX MTU)."""

    def __init__(self, owner):
        self._owner = owner
        self.mtu = BLE_GATT_ATT_MTU_DEFAULT
        self._mtu_set = False
        self.subscribed = []
        self.notified = []
        self.connected = True
        self.writes_refused = 0

    @property
    def max_packet_length(self):
        # common_hal_bleio_connection_get_max_packet_length: (mtu or 23) - 3
        return self.mtu - 3

    def disconnect(self):
        self._owner.sim_disconnect(self)

    # ---- the central's side (not _bleio)
    def sim_exchange_mtu(self, client_rx_mtu):
        # Connection.c BLE_GATTS_EVT_EXCHANGE_MTU_REQUEST: min(512, client), at least 23, set once
        if not self._mtu_set:
            self.mtu = max(BLE_GATT_ATT_MTU_DEFAULT, min(BLE_GATTS_VAR_ATTR_LEN_MAX, client_rx_mtu))
            self._mtu_set = True
        return self.mtu

    def sim_subscribe(self, characteristic):
        self.subscribed.append(characteristic)

    def sim_write(self, characteristic, data, with_response=False):
        """A central's write; False when the SoftDevice refuses it (longer than max_length)."""
        data = bytes(data)
        if len(data) > self.mtu - 3:
            raise AssertionError("a central cannot write %d bytes in one ATT PDU (MTU %d)" % (len(data), self.mtu))
        # The SoftDevice stores the value (vloc stack, max_len = max_length) and refuses a longer
        # write: an error response to a write request, nothing at all for a write command.
        if len(data) > characteristic.max_length:
            self.writes_refused += 1
            return False
        characteristic._value = data
        for h in characteristic.handlers:
            h._on_write(self, data)
        return True


class Adapter:
    def __init__(self):
        self.sim_reset()

    def sim_reset(self):
        self._address = Address(b"\x11\x22\x33\x44\x55\xd6", Address.RANDOM_STATIC)
        # Adapter.c bleio_adapter_reset_name: "CIRCUITPY" + the factory address's two low bytes
        self.name = "CIRCUITPY%02x%02x" % (self._address.address_bytes[1], self._address.address_bytes[0])
        self._adv = None  # (data, scan_response, connectable, interval) of the user's advertising
        self._scan = None
        self._conns = []
        self.services = []
        self.air = []  # [at_ms, ScanEntry] or [at_ms, ScanEntry, period_ms]: what scan windows can hear
        self.heard = []
        self.on_air = []  # (ms, "start"/"stop", data, scan_response, connectable, address bytes)
        self.enabled = True

    # ---- address
    @property
    def address(self):
        return self._address

    @address.setter
    def address(self, addr):
        # Adapter.c common_hal_bleio_adapter_set_address -> sd_ble_gap_addr_set, which returns
        # NRF_ERROR_INVALID_STATE while advertising or scanning (ble_gap.h): "Could not set address"
        if self._adv is not None or (self._scan is not None and not self._scan.done):
            raise BluetoothError("Could not set address")
        if addr.type == Address.RANDOM_STATIC and addr.address_bytes[5] & 0xC0 != 0xC0:
            # ble_gap.h: a random static address has its two top bits set, else BLE_ERROR_GAP_INVALID_BLE_ADDR
            raise BluetoothError("Could not set address")
        self._address = addr

    # ---- advertising
    @property
    def advertising(self):
        return self._adv is not None  # common_hal_bleio_adapter_get_advertising

    @property
    def connected(self):
        return bool(self._conns)

    @property
    def connections(self):
        return tuple(self._conns)

    def start_advertising(self, data, scan_response=None, connectable=True, anonymous=False, timeout=0,
                          interval=0.1, tx_power=0, directed_to=None):
        data = bytes(data)
        sr = bytes(scan_response or b"")
        # shared-bindings/_bleio/Adapter.c bleio_adapter_start_advertising
        if interval < 0.02 or interval > 10.24:
            raise ValueError("interval must be in range 0.02-10.24")
        if len(data) > 31 and connectable and sr:
            raise BluetoothError("Cannot have scan responses for extended, connectable advertisements.")
        # common-hal Adapter.c common_hal_bleio_adapter_start_advertising
        if self._adv is not None:
            raise BluetoothError("Already advertising.")
        for n in (len(data), len(sr)):  # check_data_fit
            if n > BLE_GAP_ADV_SET_DATA_SIZE_EXTENDED_MAX_SUPPORTED or (
                    connectable and n > BLE_GAP_ADV_SET_DATA_SIZE_EXTENDED_CONNECTABLE_MAX_SUPPORTED):
                raise ValueError("Data too large for advertisement packet")
        if len(data) > 31 and sr:
            raise BluetoothError("Extended advertisements with scan response not supported.")
        # _common_hal_bleio_adapter_start_advertising: over 31 bytes anywhere is an extended set;
        # connectable extended is EXTENDED_CONNECTABLE_NONSCANNABLE, which cannot carry a scan
        # response: sd_ble_gap_adv_set_configure answers NRF_ERROR_INVALID_PARAM.
        extended = len(data) > BLE_GAP_ADV_SET_DATA_SIZE_MAX or len(sr) > BLE_GAP_ADV_SET_DATA_SIZE_MAX
        if extended and connectable and sr:
            check_nrf_error(NRF_ERROR_INVALID_PARAM)
        self._adv = (data, sr, connectable, interval)
        self.on_air.append((supervisor.now[0], "start", data, sr, connectable, self._address.address_bytes))

    def stop_advertising(self):
        if self._adv is not None:
            self.on_air.append((supervisor.now[0], "stop", None, None, None, None))
        self._adv = None

    # ---- scanning
    def start_scan(self, prefixes=b"", buffer_size=512, extended=False, timeout=None, interval=0.1, window=0.1,
                   minimum_rssi=-80, active=True):
        # shared-bindings/_bleio/Adapter.c bleio_adapter_start_scan: argument checks
        t = 0.0 if timeout is None else float(timeout)
        if interval < 0.0025 or interval > 40.959375:
            raise ValueError("interval must be in range 0.0025-40.959375")
        if t != 0.0 and t < interval:
            raise ValueError("non-zero timeout must be >= interval")
        if window > interval:
            raise ValueError("window must be <= interval")
        # common-hal Adapter.c common_hal_bleio_adapter_start_scan
        if self._scan is not None and not self._scan.done:
            raise BluetoothError("Scan already in progress. Stop with stop_scan.")
        if self._adv is not None:
            # the user's own advertising is on: check_nrf_error(NRF_ERROR_BUSY), which prints as
            # "Unknown system firmware error: 0011" (adafruit/circuitpython#6012)
            check_nrf_error(NRF_ERROR_BUSY)
        if t > 655.35:
            raise ValueError("timeout must be < 655.35 secs")
        end = supervisor.now[0] + (int(t * 1000) if t else 1 << 40)
        self._scan = ScanResults(self, end, minimum_rssi, buffer_size)
        self.scans = getattr(self, "scans", 0) + 1
        return self._scan

    def stop_scan(self):
        if self._scan is not None:
            self._scan.done = True
        self._scan = None

    # ---- peers (not _bleio)
    def sim_connect(self):
        """A central connects to the current connectable advertising (which it stops)."""
        if self._adv is None or not self._adv[2]:
            raise AssertionError("nothing connectable on the air")
        conn = Connection(self)
        self._conns.append(conn)
        # Adapter.c advertising_on_ble_evt BLE_GAP_EVT_CONNECTED: "Connecting also stops an advertisement."
        self.stop_advertising()
        return conn

    def sim_disconnect(self, conn):
        if conn in self._conns:
            self._conns.remove(conn)
            conn.connected = False
            for s in self.services:
                for c in s.characteristics:
                    for h in c.handlers:
                        if hasattr(h, "_on_disconnect"):
                            h._on_disconnect(conn)

    def sim_characteristic(self, uuid):
        for s in self.services:
            for c in s.characteristics:
                if c.uuid == uuid:
                    return c
        return None


adapter = Adapter()
