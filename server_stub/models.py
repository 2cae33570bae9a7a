"""Request and response bodies of API v6, as pydantic models (they are the OpenAPI schema).

Field names are the wire names of the real ROBERT server. Byte fields are
base64 strings; their lengths are checked by the service, which answers 400
with a message naming the field.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from robert import report


def b64_of(size: int, description: str):
    """A base64 string of exactly `size` bytes (its exact length and alphabet in the schema)."""
    length = 4 * ((size + 2) // 3)
    pad = (3 - size % 3) % 3
    pattern = f"^[A-Za-z0-9+/]{{{length - pad}}}{'=' * pad}$"
    return Field(min_length=length, max_length=length, pattern=pattern,
                 description=f"base64 of {description} ({size} bytes)")

MAX_CONTACTS = report.MAX_CONTACTS      # per report (robert.report checks; answered 400)
MAX_HELLOS = report.MAX_HELLOS          # per report, all contacts together
MAX_HELLOS_PER_CONTACT = report.MAX_HELLOS_PER_CONTACT
TUPLES_DAYS_MIN = 4
TUPLES_DAYS_MAX = 30

class PushInfo(BaseModel):
    token: str = Field(max_length=4096)
    locale: str = Field(max_length=64)
    timezone: str = Field(max_length=64)


class ClientConfig(BaseModel):
    name: str
    value: int | float | str | bool | list[int] | list[float]


class RegisterRequest(BaseModel):
    captchaId: str = Field(max_length=256)
    captcha: str = Field(max_length=256)
    clientPublicECDHKey: str = Field(max_length=1024,
                                     description="base64 of a P-256 SubjectPublicKeyInfo (DER)")
    pushInfo: PushInfo | None = None
    tuplesDays: int | None = Field(
        default=None,
        description="Extension of this stub: days of tuples wanted (clamped to "
                    f"{TUPLES_DAYS_MIN}..{TUPLES_DAYS_MAX}); the real server gives 4.")


class CaptchaRequest(BaseModel):
    type: str = Field(max_length=16, description="IMAGE or AUDIO")
    locale: str = Field(max_length=64, description="e.g. fr-FR (the stub draws one kind only)")


class CaptchaResponse(BaseModel):
    """robert-server's CaptchaCreationDto: the id under `id` and, from its getter, `captchaId`."""

    id: str
    captchaId: str


class RegisterResponse(BaseModel):
    tuples: str = Field(description="base64 of IV || AES-256-GCM ciphertext || tag")
    timeStart: int = Field(description="service start, NTP seconds")
    config: list[ClientConfig]
    message: str | None = None


class AuthRequest(BaseModel):
    ebid: str = b64_of(8, "the EBID of epochId")
    epochId: int = Field(ge=0, lt=2**32)
    time: str = b64_of(4, "the NTP seconds of the request")
    mac: str = b64_of(32, "the HMAC-SHA256 of prefix || ebid || epochId || time")


class StatusRequest(AuthRequest):
    pushInfo: PushInfo | None = None


class StatusResponse(BaseModel):
    """robert-server's StatusResponseDto, @JsonInclude(NON_NULL): absent fields are not sent."""

    riskLevel: int = Field(description="0 no risk, 4 at risk")
    tuples: str
    config: list[ClientConfig]
    lastContactDate: str | None = Field(
        default=None, description="only when at risk: NTP seconds (as a string) of 00:00 UTC of the "
                                  "last contact's day, randomised by -1/0/+1 day")
    lastRiskScoringDate: str | None = Field(
        default=None, description="only when at risk: NTP seconds (as a string) of the epoch "
                                  "at which the risk was detected")
    declarationToken: str | None = Field(
        default=None, description="only when at risk: a JWT (RS256, iss 'tac')")
    analyticsToken: str | None = Field(default=None, description="a JWT (RS256)")
    message: str | None = None


class HelloId(BaseModel):
    timeCollectedOnDevice: int = Field(ge=0, lt=2**32, description="NTP seconds of reception")
    timeFromHelloMessage: int = Field(ge=0, lt=2**16, description="Time16 of the HELLO")
    mac: str = b64_of(5, "the HELLO MAC")
    rssiCalibrated: int = Field(ge=-128, le=127, description="calibrated RSSI, dBm")


class Contact(BaseModel):
    ebid: str = b64_of(8, "the EBID heard")
    ecc: str = b64_of(1, "the ECC heard")
    ids: list[HelloId]


class ReportRequest(BaseModel):
    token: str = Field(min_length=1, max_length=report.MAX_TOKEN_CHARS,
                       description="report code: 6 or 12 characters, a UUID or a JWT")
    contacts: list[Contact] = Field(
        description=f"at most {MAX_CONTACTS} contacts, {MAX_HELLOS_PER_CONTACT} HELLOs a "
                    f"contact and {MAX_HELLOS} HELLOs in all (the body is capped at 32 MiB)")


class ReportResponse(BaseModel):
    success: bool
    message: str | None = None
    reportValidationToken: str | None = None


class SuccessResponse(BaseModel):
    success: bool
    message: str | None = None


class ClockResponse(BaseModel):
    serviceStartDate: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$",
                                  json_schema_extra={"format": "date"},
                                  description="UTC date of the service start, YYYY-MM-DD")
    time: str = Field(json_schema_extra={"format": "date-time"},
                      description="server time, ISO 8601 UTC to the millisecond "
                                  "(e.g. 2026-11-23T17:40:12.123Z), as the real server")
    epoch: int = Field(description="epochId of the server time")


class VerifyResponse(BaseModel):
    valid: bool


class AdminClockRequest(BaseModel):
    offset: float = Field(ge=-10 * 365 * 86400, le=10 * 365 * 86400,
                          description="seconds added to the system time")


class AdminClockResponse(BaseModel):
    offset: float
    time: int = Field(description="server time after the change, NTP seconds")


class ErrorResponse(BaseModel):
    message: str
