"""Errors of the wire package as translation keys and placeholders, for the flows and the coordinator alike."""

from __future__ import annotations

from .meter_names import MeterType
from .wire import (
    KEY_PROBLEMS,
    ChecksumError,
    DlmsError,
    FramingError,
    MeterError,
    NoAnswerError,
    NoPushError,
    PortUnavailableError,
    PushMeter,
    PushProblem,
    ReadoutRefusedError,
    ReadoutTimeoutError,
)
from .wire.errors import DlmsClientError


def error_key(err: MeterError, meter: MeterType | None = None) -> tuple[str, dict[str, str]]:
    """Translation key and placeholders for an error. ``meter``, the type known from an earlier read, lets a
    silent meter's message say what its type offers instead (docs/meter-names.md §3)."""
    if isinstance(err, NoAnswerError) and err.bridge is not None and not err.received_bytes:
        # the bridge took the connection and passed nothing on: its wiring or settings before the meter's
        return "port_silent", {"port": err.bridge, "bridge": err.bridge, "detail": ""}
    if meter is not None and meter.family.customer_push and isinstance(err, NoAnswerError | ReadoutTimeoutError):
        kind = "no_answer" if isinstance(err, NoAnswerError) else "readout_timeout"
        return f"{kind}_customer_push", {"meter": meter.model}
    if isinstance(err, PortUnavailableError):
        return f"port_{err.reason}", {"port": err.port, "detail": err.detail, "bridge": err.bridge or err.port}
    if isinstance(err, ChecksumError):
        return "checksum", {}
    if isinstance(err, ReadoutTimeoutError):
        return "readout_timeout", {}
    if isinstance(err, ReadoutRefusedError):
        return "readout_refused", {}
    if isinstance(err, FramingError):
        return "framing", {}
    if isinstance(err, NoAnswerError):
        return "no_answer", {}
    if isinstance(err, NoPushError):
        return "no_push", {"seconds": f"{err.seconds:g}"}
    if isinstance(err, DlmsClientError):
        return f"client_{err.reason}", {"detail": err.detail}
    if isinstance(err, DlmsError):
        known = err.reason in KEY_PROBLEMS or err.reason is PushProblem.UNKNOWN_LAYOUT
        return str(err.reason) if known else "dlms_malformed", {"detail": err.detail}
    return "unknown", {}


def push_meter_key(found: PushMeter) -> tuple[str, dict[str, str]]:
    """The error shown when a port meant for an IEC 62056-21 meter carries pushes."""
    kind = "encrypted" if found.encrypted else "plain"
    return f"dlms_push_{kind}", {"baud": str(found.baud), "framing": f"8{found.parity}1"}
