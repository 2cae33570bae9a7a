"""What can go wrong at the kiosk, said in plain words for a pharmacist.

Every error the kiosk shows is a `KioskError`: `message` says what happened and
what to do, `exit_code` is the CLI's exit status (docs/kiosk.md lists them).
Messages never carry key material or contact data.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_TOKEN = 3
EXIT_SERVER = 4
EXIT_LINK = 5
EXIT_QUEUED = 6


class KioskError(Exception):
    """Base of every error shown to the pharmacist."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(KioskError):
    """Bad input typed at the kiosk (a code, a date, a missing consent)."""

    exit_code = EXIT_USAGE


class NoToken(KioskError):
    """No token found where the pharmacist said it would be."""

    exit_code = EXIT_LINK


class LinkLost(KioskError):
    """The cable was pulled, the token reset, or it went out of BLE range."""

    exit_code = EXIT_LINK

    def __init__(self, message: str = "The connection to the token was lost. "
                 "Plug the token in again and retry: nothing was erased.") -> None:
        super().__init__(message)


class TokenError(KioskError):
    """The token answered with an error status (docs/sync-protocol.md)."""

    exit_code = EXIT_TOKEN

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ServerError(KioskError):
    """The ROBERT server refused the request (4xx) or failed (5xx)."""

    exit_code = EXIT_SERVER

    def __init__(self, message: str, http_status: int = 0) -> None:
        super().__init__(message)
        self.http_status = http_status


class ServerUnreachable(ServerError):
    """The ROBERT server could not be reached or did not answer in time."""

    def __init__(self, message: str = "The ROBERT server cannot be reached. "
                 "Check the internet connection and retry later.") -> None:
        super().__init__(message, 0)


class ReportQueued(KioskError):
    """A report could not be delivered yet; it waits, encrypted, in the kiosk's queue."""

    exit_code = EXIT_QUEUED

    def __init__(self, message: str, entry_id: str | None = None) -> None:
        super().__init__(message)
        self.entry_id = entry_id
