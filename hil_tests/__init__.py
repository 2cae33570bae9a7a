"""The hardware-in-the-loop bench: one test suite for simulated and real tokens."""
