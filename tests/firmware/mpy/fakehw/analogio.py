class AnalogIn:
    def __init__(self, pin):
        self.value = 45000
