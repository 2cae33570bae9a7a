"""The one error type of the station: a message for the operator and the exit code to use."""

from __future__ import annotations

# Exit codes of robert-provision (also listed in docs/provisioning.md).
EXIT_OK = 0
EXIT_FAILED = 1  # a token could not be provisioned (link, server, verification)
EXIT_USAGE = 2  # bad command line, manifest or server key
EXIT_REFUSED = 3  # the token is already provisioned and no confirmed factory reset was given
EXIT_PARTIAL = 4  # batch: some tokens done, some failed


class ProvisionError(Exception):
    """Something the operator must act on; `message` says what and never holds key material."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
