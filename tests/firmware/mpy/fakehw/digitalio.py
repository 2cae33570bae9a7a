class Direction:
    OUTPUT = 1


class Pull:
    UP = 1


class DigitalInOut:
    def __init__(self, pin):
        self.pin = pin
        self.value = True
        self.direction = None

    def switch_to_input(self, pull=None):
        self.value = True
