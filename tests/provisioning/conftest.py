"""Fixtures of the provisioning tests (helpers in station_live.py, a name no other folder uses)."""

from station_live import make_token, server, server_key  # noqa: F401 (fixtures)
