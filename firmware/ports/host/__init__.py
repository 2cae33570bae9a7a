"""The host port: a token as a CPython process (pty as USB, file as flash, virtual radio)."""
