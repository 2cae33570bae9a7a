"""Test double of MicroPython's `bluetooth` (ESP32 has the real one): records every call."""


class UUID:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value


class BLE:
    def __init__(self):
        self.calls = []
        self.handler = None
        self.values = {}

    def active(self, on=None):
        self.calls.append(("active", on))
        return True

    def config(self, **kw):
        self.calls.append(("config", kw))

    def irq(self, handler):
        self.handler = handler

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        self.calls.append(("adv", interval_us, adv_data, resp_data, connectable))

    def gap_scan(self, duration_ms, interval_us=1280000, window_us=11250, active=False):
        self.calls.append(("scan", duration_ms, interval_us, window_us, active))

    def gatts_register_services(self, services):
        self.calls.append(("services", services))
        return ((21, 23),)

    def gatts_set_buffer(self, handle, size, append=False):
        self.calls.append(("buffer", handle, size, append))

    def gatts_read(self, handle):
        return self.values.get(handle, b"")

    def gatts_notify(self, conn, handle, data):
        self.calls.append(("notify", conn, handle, bytes(data)))
