"""The one error hierarchy of the wire package: :class:`MeterError` is the base a caller catches.

Each error says what happened on the line in words a user can act on; the Home Assistant side maps the class
(and a ``reason`` where there is one) to a translated message.
"""

from __future__ import annotations

from enum import StrEnum

from .bridges import bridge_of


class MeterError(Exception):
    """Base class of every error the wire package raises."""


class PortProblem(StrEnum):
    """Why a port could not be opened or used."""

    NOT_FOUND = "not_found"
    PERMISSION = "permission"
    BUSY = "busy"
    UNSUPPORTED = "unsupported"
    IO = "io"
    # a network bridge (``socket://``, ``rfc2217://``); the messages name its host and port
    REFUSED = "refused"  # nothing listens there, or the bridge serves another client
    UNREACHABLE = "unreachable"  # no answer to the connection at all: wrong address, bridge offline
    SILENT = "silent"  # connected, then nothing: no RFC 2217 negotiation, or no byte from the meter behind it
    DROPPED = "dropped"  # the bridge closed the connection in the middle of a read
    TIMEOUT = "timeout"  # a step on the port (open, speed change, drain, write) did not finish in time


_PORT_TEXT = {
    PortProblem.NOT_FOUND: "does not exist",
    PortProblem.PERMISSION: "permission denied (is the user in the dialout group?)",
    PortProblem.BUSY: "is busy (opened by another program or integration)",
    PortProblem.UNSUPPORTED: "is not a serial port or supported URL",
    PortProblem.IO: "failed",
    PortProblem.REFUSED: "refused the connection (is the bridge's TCP server on, and free?)",
    PortProblem.UNREACHABLE: "cannot be reached (address, power, network?)",
    PortProblem.SILENT: "accepted the connection, then said nothing",
    PortProblem.DROPPED: "closed the connection in the middle of the read",
    PortProblem.TIMEOUT: "did not respond in time",
}


class PortUnavailableError(MeterError):
    """The serial port or URL could not be opened (or vanished while in use)."""

    def __init__(self, port: str, reason: PortProblem, detail: str = "") -> None:
        self.port = port
        self.reason = reason
        self.detail = detail
        self.bridge = bridge_of(port)  # host:port of a network bridge, else None
        subject = f"The bridge at {self.bridge}" if self.bridge else f"Port {port}"
        super().__init__(f"{subject} {_PORT_TEXT[reason]}{': ' + detail if detail else ''}")


class NoAnswerError(MeterError):
    """The meter did not send an IEC 62056-21 identification after the sign-on (nor a mode D telegram).

    ``bridge``: ``host:port`` when the port is a network bridge's URL (set by the driver), so the message can say
    that the bridge accepted the connection and then passed nothing on."""

    bridge: str | None = None

    def __init__(self, message: str = "", *, received_bytes: int = 0) -> None:
        self.received_bytes = received_bytes
        super().__init__(
            message
            or "No answer from the meter: check that the optical head sits on the meter's "
            "optical port, the right way round, and that the cable is plugged in"
        )


class ReadoutTimeoutError(MeterError):
    """The data message did not arrive, or stopped arriving, in time."""


class ReadoutRefusedError(MeterError):
    """The meter answered the data readout's option select with a lone NAK: it gives its data only after a
    password, or only over DLMS (mode E meters such as the E550 and ZMD; docs/iec62056-21.md §4)."""


class ProgrammingRefusedError(MeterError):
    """The meter would not do what programming mode asked of it: enter it, take the password, or give the load
    profile (``(ERROR)`` or NAK; docs/iec62056-21.md §7)."""


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


class ClientProblem(StrEnum):
    """Why a DLMS/COSEM client read failed; stable keys (translations, the command line's messages)."""

    NO_UA = "no_ua"  # no answer to the connection request (SNRM)
    CONNECTION_REFUSED = "connection_refused"  # the meter answered the SNRM with DM (disconnected mode)
    ASSOCIATION_REFUSED = "association_refused"  # AARE with a result other than accepted
    WRONG_PASSWORD = "wrong_password"  # AARE: authentication failure
    AUTHENTICATION_REQUIRED = "authentication_required"  # AARE: this client must authenticate (a password)
    AUTHENTICATION_FAILED = "authentication_failed"  # HLS-GMAC: the meter and we do not share the keys
    OBJECT_UNAVAILABLE = "object_unavailable"  # none of the objects asked for could be read
    NO_ANSWER = "no_answer"  # the meter stopped answering once connected
    SEQUENCE_ERROR = "sequence_error"  # HDLC send/receive sequence numbers out of step, or a frame rejected
    DISCONNECTED = "disconnected"  # the meter left the connection (DM) in the middle of the exchange
    BLOCK_TRANSFER_ABORTED = "block_transfer_aborted"  # a GET answered in blocks broke off
    REJECTED = "rejected"  # exception-response or confirmed-service-error to a request
    MALFORMED = "malformed"  # an answer that does not parse


_CLIENT_TEXT = {
    ClientProblem.NO_UA: "the meter did not answer the HDLC connection request (check the port settings, the "
    "client and server addresses)",
    ClientProblem.CONNECTION_REFUSED: "the meter refused the HDLC connection (disconnected mode)",
    ClientProblem.ASSOCIATION_REFUSED: "the meter refused the association (AARQ)",
    ClientProblem.WRONG_PASSWORD: "the meter refused the password",
    ClientProblem.AUTHENTICATION_REQUIRED: "the meter requires a password for this client",
    ClientProblem.AUTHENTICATION_FAILED: "high level security (HLS-GMAC) failed: check the encryption and "
    "authentication keys",
    ClientProblem.OBJECT_UNAVAILABLE: "the meter has none of the objects asked for",
    ClientProblem.NO_ANSWER: "the meter stopped answering",
    ClientProblem.SEQUENCE_ERROR: "HDLC frames out of sequence",
    ClientProblem.DISCONNECTED: "the meter dropped the connection",
    ClientProblem.BLOCK_TRANSFER_ABORTED: "a block transfer broke off",
    ClientProblem.REJECTED: "the meter rejected a request",
    ClientProblem.MALFORMED: "the meter's answer does not parse",
}


class DlmsClientError(MeterError):
    """A DLMS/COSEM client read failed; ``reason`` says why, ``detail`` what exactly was seen."""

    def __init__(self, reason: ClientProblem, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{_CLIENT_TEXT[reason]}{': ' + detail if detail else ''}")
