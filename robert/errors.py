"""Errors of the protocol library: one base class, messages written for a person, never a key."""

from __future__ import annotations


class ProtocolError(ValueError):
    """Input that does not follow the ROBERT protocol (bad length, encoding, MAC, ...)."""


class HelloFormatError(ProtocolError):
    """A HELLO message that is not 16 bytes or not bytes at all."""


class BundleError(ProtocolError):
    """A tuples bundle that does not authenticate or does not parse."""


class ReportFormatError(ProtocolError):
    """A /report body of the wrong JSON shape, base64, length or size."""
