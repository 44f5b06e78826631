"""Typed errors of the IEC 62056-21 library: one base class the caller can catch."""

from __future__ import annotations


class IEC62056Error(Exception):
    """Base class of every error this package raises."""


class PortUnavailableError(IEC62056Error):
    """The serial port or URL could not be opened (or vanished while in use).

    ``reason`` is one of ``not_found``, ``permission``, ``busy``, ``unsupported``, ``io``.
    """

    def __init__(self, port: str, reason: str, detail: str = "") -> None:
        self.port = port
        self.reason = reason
        self.detail = detail
        text = {
            "not_found": "does not exist",
            "permission": "permission denied (is the user in the dialout group?)",
            "busy": "is busy (opened by another program or integration)",
            "unsupported": "is not a serial port or supported URL",
            "io": "failed",
        }.get(reason, reason)
        super().__init__(f"Port {port} {text}{': ' + detail if detail else ''}")


class NoAnswerError(IEC62056Error):
    """The meter did not send an identification after the sign-on."""

    def __init__(self, message: str = "", *, received_bytes: int = 0) -> None:
        self.received_bytes = received_bytes
        super().__init__(
            message
            or "No answer from the meter: check that the optical head sits on the meter's "
            "optical port, the right way round, and that the cable is plugged in"
        )


class ReadoutTimeoutError(IEC62056Error):
    """The data message did not arrive, or stopped arriving, in time."""


class FramingError(IEC62056Error):
    """Bytes arrived but do not form a valid IEC 62056-21 message."""


class ChecksumError(FramingError):
    """The block check character (BCC) of a data message is wrong."""

    def __init__(self, expected: int, received: int) -> None:
        self.expected = expected
        self.received = received
        super().__init__(f"BCC mismatch: computed 0x{expected:02x}, received 0x{received:02x}")


class DlmsPushDetectedError(IEC62056Error):
    """The port carries DLMS/COSEM HDLC frames instead of IEC 62056-21 mode A-D."""

    def __init__(self, baud: int, parity: str, encrypted: bool, system_title: bytes | None = None) -> None:
        self.baud = baud
        self.parity = parity
        self.encrypted = encrypted
        self.system_title = system_title
        kind = "encrypted " if encrypted else ""
        sender = f", system title {system_title.hex().upper()}" if system_title else ""
        super().__init__(
            f"The meter pushes {kind}DLMS/COSEM (HDLC frames at {baud} Bd 8{parity}1{sender}) on this port; "
            "it does not answer an IEC 62056-21 sign-on. Decode it with: python -m custom_components.e450.dlms "
            f"listen PORT --baud {baud} --parity {parity}" + (" --ek KEY" if encrypted else "")
        )
