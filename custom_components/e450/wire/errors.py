"""The one error hierarchy of the wire package: :class:`MeterError` is the base a caller catches.

Each error says what happened on the line in words a user can act on; the Home Assistant side maps the class
(and a ``reason`` where there is one) to a translated message.
"""

from __future__ import annotations

from enum import StrEnum


class MeterError(Exception):
    """Base class of every error the wire package raises."""


class PortProblem(StrEnum):
    """Why a port could not be opened or used."""

    NOT_FOUND = "not_found"
    PERMISSION = "permission"
    BUSY = "busy"
    UNSUPPORTED = "unsupported"
    IO = "io"


_PORT_TEXT = {
    PortProblem.NOT_FOUND: "does not exist",
    PortProblem.PERMISSION: "permission denied (is the user in the dialout group?)",
    PortProblem.BUSY: "is busy (opened by another program or integration)",
    PortProblem.UNSUPPORTED: "is not a serial port or supported URL",
    PortProblem.IO: "failed",
}


class PortUnavailableError(MeterError):
    """The serial port or URL could not be opened (or vanished while in use)."""

    def __init__(self, port: str, reason: PortProblem, detail: str = "") -> None:
        self.port = port
        self.reason = reason
        self.detail = detail
        super().__init__(f"Port {port} {_PORT_TEXT[reason]}{': ' + detail if detail else ''}")


class NoAnswerError(MeterError):
    """The meter did not send an IEC 62056-21 identification after the sign-on (nor a mode D telegram)."""

    def __init__(self, message: str = "", *, received_bytes: int = 0) -> None:
        self.received_bytes = received_bytes
        super().__init__(
            message
            or "No answer from the meter: check that the optical head sits on the meter's "
            "optical port, the right way round, and that the cable is plugged in"
        )


class ReadoutTimeoutError(MeterError):
    """The data message did not arrive, or stopped arriving, in time."""


class FramingError(MeterError):
    """Bytes arrived but do not form a valid IEC 62056-21 message."""


class ChecksumError(FramingError):
    """The block check character (BCC) of a data message is wrong."""

    def __init__(self, expected: int, received: int) -> None:
        self.expected = expected
        self.received = received
        super().__init__(f"BCC mismatch: computed 0x{expected:02x}, received 0x{received:02x}")


class PushProblem(StrEnum):
    """Why a DLMS/COSEM push could not be used; also the translation keys the integration shows."""

    NO_KEY = "no_key"  # encrypted, and no encryption key is configured
    TAG_MISMATCH = "tag_mismatch"  # the GCM tag does not verify with the keys given
    WRONG_KEY = "wrong_key"  # decrypted without a tag check, and the result is not a DLMS APDU at all
    NOT_NOTIFICATION = "not_notification"  # a DLMS APDU, but not a complete data-notification
    UNSUPPORTED = "unsupported"  # a security suite or APDU these meters do not use
    MALFORMED = "malformed"  # A-XDR that does not parse
    UNKNOWN_LAYOUT = "unknown_layout"  # a body that no layout or profile describes
    DUPLICATE = "duplicate"  # the same invocation counter again: a repeated or replayed push
    INTERRUPTED = "interrupted"  # a block transfer that broke off before its last block


# Every one of these means "check the keys" (the config flow's and the reauth flow's errors).
KEY_PROBLEMS = frozenset(
    {PushProblem.NO_KEY, PushProblem.TAG_MISMATCH, PushProblem.WRONG_KEY, PushProblem.NOT_NOTIFICATION}
)


class DlmsError(MeterError):
    """A push that cannot be decoded; ``reason`` says why."""

    def __init__(self, reason: PushProblem, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else str(reason))


class NoPushError(MeterError):
    """No DLMS push arrived in time on the port."""

    def __init__(self, seconds: float, received_bytes: int = 0) -> None:
        self.seconds = seconds
        self.received_bytes = received_bytes
        super().__init__(f"No DLMS push in {seconds:g} s ({received_bytes} bytes received)")
