"""Test double of CircuitPython's `_bleio` (nRF52): adapter, addresses, GATT objects."""


class UUID:
    def __init__(self, value):
        self.value = value


class Address:
    RANDOM_STATIC = 1

    def __init__(self, address, address_type):
        self.address_bytes = bytes(address)
        self.type = address_type


class Attribute:
    OPEN = 1
    NO_ACCESS = 0


class Characteristic:
    WRITE_NO_RESPONSE = 4
    NOTIFY = 16

    def __init__(self):
        self.sent = []

    @staticmethod
    def add_to_service(service, uuid, properties=0, read_perm=1, write_perm=1, max_length=20,
                       fixed_length=False):
        c = Characteristic()
        c.uuid = uuid
        service.chars.append(c)
        return c

    @property
    def value(self):
        return self.sent[-1] if self.sent else b""

    @value.setter
    def value(self, data):
        self.sent.append(bytes(data))


class CharacteristicBuffer:
    def __init__(self, characteristic, buffer_size=64):
        self.data = bytearray()

    @property
    def in_waiting(self):
        return len(self.data)

    def read(self, n):
        out = bytes(self.data[:n])
        self.data = self.data[n:]
        return out


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.chars = []


class ScanEntry:
    def __init__(self, address, data, rssi):
        self.address = Address(address, 1)
        self.advertisement_bytes = data
        self.rssi = rssi


class Adapter:
    def __init__(self):
        self.advertising = False
        self.connected = False
        self.address = None
        self.calls = []
        self.air = []  # ScanEntry objects the next scan window hears

    def start_advertising(self, data, scan_response=None, connectable=True, interval=0.1):
        self.advertising = True
        self.calls.append(("adv", bytes(data), connectable, interval, self.address))

    def stop_advertising(self):
        self.advertising = False
        self.calls.append(("stop",))

    def start_scan(self, **kw):
        self.calls.append(("scan", kw))
        return iter(self.air)

    def stop_scan(self):
        self.calls.append(("stop_scan",))


adapter = Adapter()
