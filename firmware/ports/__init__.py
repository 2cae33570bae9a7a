"""Ports: thin hardware adapters for the portable core. Only `host` is importable on CPython."""
