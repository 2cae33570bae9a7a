"""Double of CircuitPython's `digitalio` (board pins); outputs keep a log of (monotonic ms, value)."""

import supervisor

_held = {}  # pin name -> True while the test holds that button down


class Direction:
    INPUT = 0
    OUTPUT = 1


class Pull:
    UP = 1
    DOWN = 2


class DigitalInOut:
    def __init__(self, pin):
        self.pin = pin
        self.direction = Direction.INPUT
        self._value = False
        self.log = []
        _pins.append(self)

    def switch_to_input(self, pull=None):
        self.direction = Direction.INPUT
        self.pull = pull

    def switch_to_output(self, value=False):
        self.direction = Direction.OUTPUT
        self.value = value

    @property
    def value(self):
        if self.direction == Direction.INPUT:
            return not _held.get(self.pin, False)  # a button pulls its pin low when pressed
        return self._value

    @value.setter
    def value(self, v):
        v = bool(v)
        if v != self._value or not self.log:
            self.log.append((supervisor.now[0], v))
        self._value = v

    def deinit(self):
        pass


_pins = []


def sim_press(pin, held=True):
    _held[pin] = held


def sim_output(pin):
    """The last DigitalInOut made for `pin` (the test reads its log)."""
    for p in reversed(_pins):
        if p.pin == pin:
            return p
    return None
