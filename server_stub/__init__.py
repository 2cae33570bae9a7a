"""A ROBERT server (API v6) for development, tests and demos: FastAPI + SQLite.

`robert-server` (see `server_stub.cli`) runs it; `server_stub.app.create_app`
builds the ASGI application around a `Store` and a `Clock`.
"""
