"""The client's end of an HDLC connection (IEC 62056-46 §6.4; docs/dlms-client.md §1): SNRM/UA with the
negotiated information field length and window, numbered I-frames, RR, segmentation both ways, DISC.

Sans-IO and frame-level: :class:`HdlcLink` says which frame to send next and turns the frames that arrived into
APDUs; the client (:mod:`.client`) decides when, and what a silence means. The window is one frame each way, as
every meter in the field accepts (a larger window is negotiated down to one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ...errors import ClientProblem, DlmsClientError
from ...framing.hdlc import (
    DISC,
    DM,
    FRMR,
    SNRM,
    UA,
    HdlcFrame,
    build_frame,
    encode_address,
    information_control,
    receive_ready_control,
    server_address,
)

LLC_REQUEST: Final = b"\xe6\xe6\x00"  # IEC 62056-46 §5 (LLC): destination/source LSAP, quality
LLC_RESPONSE: Final = b"\xe6\xe7\x00"
DEFAULT_PHYSICAL: Final = 17  # the E450's lower HDLC address on its optical port
DEFAULT_INFORMATION_LENGTH: Final = 128  # §6.4.4.4.3.2: the default maximum information field length
_PARAMETERS: Final = b"\x81\x80"  # format identifier, HDLC parameter group (§6.4.4.4.3.2)
_MAX_INFO_TRANSMIT: Final = 0x05
_MAX_INFO_RECEIVE: Final = 0x06
_WINDOW_TRANSMIT: Final = 0x07
_WINDOW_RECEIVE: Final = 0x08


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Addresses and the information field lengths to propose."""

    client: int = 16  # the client SAP: 16 public client, 32 reading client, 48 … (meter-specific)
    logical: int = 1  # server upper address: the management logical device
    physical: int | None = DEFAULT_PHYSICAL  # server lower address; ``None``: a 1-byte server address (upper only)
    address_size: int | None = None  # 1, 2 or 4 bytes for the server address; ``None``: the smallest that fits
    max_info_receive: int = DEFAULT_INFORMATION_LENGTH
    max_info_transmit: int = DEFAULT_INFORMATION_LENGTH


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the UA settled: the longest information field each way (the windows stay at one)."""

    max_info_transmit: int = DEFAULT_INFORMATION_LENGTH
    max_info_receive: int = DEFAULT_INFORMATION_LENGTH


def _parameter(identifier: int, value: int, size: int) -> bytes:
    return bytes([identifier, size]) + value.to_bytes(size, "big")


def parse_parameters(information: bytes) -> dict[int, int]:
    """``81 80 length (identifier length value)*`` → identifier → value; empty for an absent field."""
    if not information:
        return {}
    if len(information) < 3 or information[:2] != _PARAMETERS or information[2] != len(information) - 3:
        raise DlmsClientError(ClientProblem.MALFORMED, f"HDLC parameters {information.hex()}")
    values: dict[int, int] = {}
    pos = 3
    while pos + 2 <= len(information):
        identifier, size = information[pos], information[pos + 1]
        values[identifier] = int.from_bytes(information[pos + 2 : pos + 2 + size], "big")
        pos += 2 + size
    if pos != len(information):
        raise DlmsClientError(ClientProblem.MALFORMED, f"HDLC parameters {information.hex()}")
    return values


class HdlcLink:
    """Sequence numbers, segments and addresses of one connection; a new link for every connection."""

    def __init__(self, settings: LinkSettings | None = None) -> None:
        self.settings = settings = settings or LinkSettings()
        if settings.address_size == 1:
            self.server = server_address(settings.logical, None)
        else:
            self.server = server_address(settings.logical, settings.physical, settings.address_size)
        self.client = encode_address(settings.client, 1)
        self.negotiated = Negotiated()
        self._send_sequence = 0  # V(S)
        self._receive_sequence = 0  # V(R)
        self._outgoing: list[bytes] = []  # I-frames (or the RR asking for the next segment) not yet sent
        self._last_sent = b""
        self._segments: list[bytes] = []  # received segments of the APDU under way
        self._ready = False  # a segment arrived: an RR asks for the next
        self._unacknowledged = False  # a segment of ours awaits its RR
        self.repeated_frames = 0  # frames the meter sent twice, dropped
        self.retransmissions = 0

    # --- connection --------------------------------------------------------------------------------------------

    def connect(self) -> bytes:
        """The SNRM; proposes information field lengths only when they differ from the defaults (as meters that
        reject a parameter field expect)."""
        settings = self.settings
        information = b""
        if (settings.max_info_receive, settings.max_info_transmit) != (DEFAULT_INFORMATION_LENGTH,) * 2:
            group = (
                _parameter(_MAX_INFO_TRANSMIT, settings.max_info_transmit, 2)
                + _parameter(_MAX_INFO_RECEIVE, settings.max_info_receive, 2)
                + _parameter(_WINDOW_TRANSMIT, 1, 4)
                + _parameter(_WINDOW_RECEIVE, 1, 4)
            )
            information = _PARAMETERS + bytes([len(group)]) + group
        return self._remember(build_frame(self.server, self.client, SNRM, information))

    def accept_ua(self, frame: HdlcFrame) -> Negotiated:
        """The UA that answers SNRM; its parameters are the meter's (its transmit is our receive)."""
        if frame.control == DM:
            raise DlmsClientError(ClientProblem.CONNECTION_REFUSED, "DM in answer to SNRM")
        if frame.control != UA:
            raise DlmsClientError(ClientProblem.MALFORMED, f"control 0x{frame.control:02x} in answer to SNRM")
        values = parse_parameters(frame.information)
        self.negotiated = Negotiated(
            max_info_transmit=min(self.settings.max_info_transmit, values.get(_MAX_INFO_RECEIVE, 128)),
            max_info_receive=values.get(_MAX_INFO_TRANSMIT, DEFAULT_INFORMATION_LENGTH),
        )
        self._send_sequence = self._receive_sequence = 0
        return self.negotiated

    def disconnect(self) -> bytes:
        """The DISC; the meter answers UA (or DM, when it had already left)."""
        return self._remember(build_frame(self.server, self.client, DISC))

    # --- data ---------------------------------------------------------------------------------------------------

    def send(self, apdu: bytes) -> None:
        """Queue an APDU: LLC header, then segments of at most the negotiated length (§6.4.4.4.3.3)."""
        data = LLC_REQUEST + apdu
        size = self.negotiated.max_info_transmit
        self._outgoing = [data[start : start + size] for start in range(0, len(data), size)]

    def next_frame(self) -> bytes | None:
        """The frame to send now: the next segment (each waits for the meter's RR), or ``None``."""
        if self._ready:
            self._ready = False
            return self._remember(build_frame(self.server, self.client, receive_ready_control(self._receive_sequence)))
        if not self._outgoing or self._unacknowledged:
            return None  # a window of one: the next segment waits for the meter's RR
        piece = self._outgoing.pop(0)
        self._unacknowledged = bool(self._outgoing)
        control = information_control(self._send_sequence, self._receive_sequence)
        self._send_sequence = (self._send_sequence + 1) & 7
        return self._remember(build_frame(self.server, self.client, control, piece, segmented=bool(self._outgoing)))

    def retransmit(self) -> bytes:
        """The last frame again, same sequence numbers (after a silence: the frame or its answer was lost)."""
        self.retransmissions += 1
        return self._last_sent

    def _remember(self, frame: bytes) -> bytes:
        self._last_sent = frame
        return frame

    def ours(self, frame: HdlcFrame) -> bool:
        """Addressed to this client by this meter; anything else (an echo of our own frame, another station's
        traffic on a shared line) is none of ours."""
        return frame.destination == self.client and frame.source == self.server

    def receive(self, frame: HdlcFrame) -> bytes | None:
        """A frame of ours arrived: the complete APDU (LLC stripped) when it completes one, else ``None`` (a
        segment, whose RR :meth:`next_frame` now gives, an RR for our segment, or a repeated frame dropped)."""
        control = frame.control
        if control == DM:
            raise DlmsClientError(ClientProblem.DISCONNECTED, "DM: the meter is in disconnected mode")
        if control == FRMR:
            raise DlmsClientError(ClientProblem.SEQUENCE_ERROR, f"FRMR {frame.information.hex()}")
        if control & 0x01 == 0:  # an I-frame
            return self._information(frame)
        if control & 0x0F == 0x01:  # RR: our segment arrived, send the next
            self._check_acknowledged(control)
            self._unacknowledged = False
            return None
        raise DlmsClientError(ClientProblem.MALFORMED, f"unexpected control 0x{control:02x}")

    def _check_acknowledged(self, control: int) -> None:
        if control >> 5 != self._send_sequence:
            raise DlmsClientError(
                ClientProblem.SEQUENCE_ERROR, f"N(R) {control >> 5} acknowledges, V(S) is {self._send_sequence}"
            )

    def _information(self, frame: HdlcFrame) -> bytes | None:
        send_sequence = (frame.control >> 1) & 7
        if send_sequence == (self._receive_sequence - 1) & 7:
            self.repeated_frames += 1  # the meter sent it again (our RR or request may have been lost): seen
            return None
        if send_sequence != self._receive_sequence:
            raise DlmsClientError(
                ClientProblem.SEQUENCE_ERROR, f"N(S) {send_sequence} received, V(R) is {self._receive_sequence}"
            )
        self._check_acknowledged(frame.control)
        self._receive_sequence = (self._receive_sequence + 1) & 7
        self._segments.append(frame.information)
        if frame.segmented:
            self._ready = True  # ask for the next segment
            return None
        data = b"".join(self._segments)
        self._segments = []
        return data[len(LLC_RESPONSE) :] if data.startswith(LLC_RESPONSE) else data
