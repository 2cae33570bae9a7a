"""The ROBERT token's portable core: runs unchanged on MicroPython, CircuitPython and CPython.

No module here imports hardware: a port hands `token.Token` an object with the
interfaces of docs/architecture.md.
"""

FW_VERSION = "0.1.0"
