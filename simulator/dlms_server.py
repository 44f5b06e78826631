"""The simulated meter's DLMS server: the HDLC secondary station (IEC 62056-46) in front of the COSEM
application (:mod:`.cosem_server`), reached directly at 9600 8N1 or after a mode E sign-on (IEC 62056-21 Annex E,
through :class:`~.responder.Responder`).

It reuses the wire package's frame builders and reader, never the client's link or session logic. Faults of the
link are played here: no UA, a lost or repeated answer, a wrong N(S), a meter that vanishes after the AARE.
"""

from __future__ import annotations

import asyncio
from typing import Final

from custom_components.e450.wire.framing.hdlc import (
    DISC,
    DM,
    FRMR,
    SNRM,
    UA,
    HdlcFrame,
    HdlcReader,
    build_frame,
    decode_address,
    information_control,
    physical_from_serial,
    receive_ready_control,
)

from .cosem_objects import CosemObjects
from .cosem_server import CLIENTS, Application
from .dlms_push import METER_NUMBER
from .faults import FaultPlan
from .registers import Registers
from .transport import Line

LOGICAL_DEVICE: Final = 1  # the management logical device
PHYSICAL_ADDRESS: Final = 17
SERVER_MAX_INFO: Final = 256  # the longest information field the meter sends or takes
INACTIVITY_TIMEOUT: Final = 120.0  # the E450's HDLC inactivity time-out (IEC HDLC setup, 0-0:22.0.0)
FAST_INACTIVITY: Final = 5.0
POLL: Final = 0.05
LLC_REQUEST: Final = b"\xe6\xe6\x00"
LLC_RESPONSE: Final = b"\xe6\xe7\x00"


def _parameters(transmit: int, receive: int) -> bytes:
    group = (
        b"\x05\x02"
        + transmit.to_bytes(2, "big")
        + b"\x06\x02"
        + receive.to_bytes(2, "big")
        + b"\x07\x04\x00\x00\x00\x01\x08\x04\x00\x00\x00\x01"
    )
    return b"\x81\x80" + bytes([len(group)]) + group


def _proposed(information: bytes) -> dict[int, int]:
    values: dict[int, int] = {}
    pos = 3
    while pos + 2 <= len(information):
        size = information[pos + 1]
        values[information[pos]] = int.from_bytes(information[pos + 2 : pos + 2 + size], "big")
        pos += 2 + size
    return values


class HdlcServer:
    """The secondary station of one meter: sequence numbers, segments, retransmissions; frames in, frames out."""

    def __init__(self, application: Application, faults: FaultPlan, max_receive: int = SERVER_MAX_INFO) -> None:
        self.application = application
        self.max_receive = max_receive  # the longest information field it takes (a ZMD: 62 bytes)
        self.faults = faults
        self.physical_addresses = {PHYSICAL_ADDRESS, physical_from_serial(int(METER_NUMBER))}
        self.connected = False
        self.ended = False  # DISC answered: the session is over
        self.silent = False  # the meter vanished (fault): it answers nothing more
        self._client = b""
        self._server = b""
        self._send_sequence = 0
        self._receive_sequence = 0
        self._max_transmit = 128
        self._incoming: list[bytes] = []
        self._outgoing: list[bytes] = []
        self._last: list[bytes] = []
        self._answers = 0  # I-frames sent since the association: the faults pick which one they spoil

    def addressed(self, destination: bytes) -> bool:
        """Upper address 1 with lower address 17 or the serial-derived one (2 or 4 bytes), or the 1-byte form."""
        value = decode_address(destination)
        if len(destination) == 1:
            return value == LOGICAL_DEVICE
        shift = 7 if len(destination) == 2 else 14
        return value >> shift == LOGICAL_DEVICE and value & ((1 << shift) - 1) in self.physical_addresses

    def on_frame(self, frame: HdlcFrame) -> list[bytes]:
        """The frames that answer ``frame`` (none when it is not for this meter)."""
        if self.silent or not self.addressed(frame.destination):
            return []
        client = decode_address(frame.source)
        control = frame.control
        if control == SNRM:
            if client not in CLIENTS or not self.faults.answers_snrm():
                return []
            return [self._connect(frame)]
        if frame.source != self._client:
            return []
        if control == DISC:
            was, self.connected, self.ended = self.connected, False, True
            self.application.reset()
            return [self._frame(UA if was else DM)]
        if not self.connected:
            return [self._frame(DM)]
        if control & 0x01 == 0:
            if len(frame.information) > self.max_receive:
                return [self._frame(FRMR)]  # longer than the meter said it takes
            return self._information(frame, client)
        if control & 0x0F == 0x01:  # RR: the next segment, or the last answer again
            return [self._next_segment()] if self._outgoing else self._last
        return [self._frame(FRMR)]

    def _frame(self, control: int, information: bytes = b"", *, segmented: bool = False) -> bytes:
        return build_frame(self._client, self._server, control, information, segmented=segmented)

    def _connect(self, frame: HdlcFrame) -> bytes:
        self._client, self._server = frame.source, frame.destination
        proposed = _proposed(frame.information) if frame.information else {}
        self._max_transmit = min(SERVER_MAX_INFO, proposed.get(0x06, 128))
        receive = min(self.max_receive, proposed.get(0x05, 128))
        self.connected = True
        self._send_sequence = self._receive_sequence = 0
        self._incoming, self._outgoing, self._last = [], [], []
        self._answers = 0
        self.application.reset()
        return self._frame(UA, _parameters(self._max_transmit, receive))

    def _information(self, frame: HdlcFrame, client: int) -> list[bytes]:
        send_sequence = (frame.control >> 1) & 7
        if send_sequence == (self._receive_sequence - 1) & 7 and self._last:
            return self._last  # the client did not hear our answer and asks again: the same frames
        if send_sequence != self._receive_sequence:
            return [self._frame(FRMR)]
        self._receive_sequence = (self._receive_sequence + 1) & 7
        self._incoming.append(frame.information)
        if frame.segmented:
            self._last = [self._frame(receive_ready_control(self._receive_sequence))]
            return self._last
        data = b"".join(self._incoming)
        self._incoming = []
        apdu = data[len(LLC_REQUEST) :] if data.startswith(LLC_REQUEST) else data
        associated = self.application.association is not None
        answer = LLC_RESPONSE + self.application.handle(client, apdu)
        size = self._max_transmit
        self._outgoing = [answer[start : start + size] for start in range(0, len(answer), size)]
        frames = [self._next_segment()]
        if associated or self.application.association is not None:
            frames = self._spoil(frames, after_aare=not associated)
        return frames

    def _next_segment(self) -> bytes:
        piece = self._outgoing.pop(0)
        control = information_control(self._send_sequence, self._receive_sequence)
        self._send_sequence = (self._send_sequence + 1) & 7
        frame = self._frame(control, piece, segmented=bool(self._outgoing))
        self._last = [frame]
        return frame

    def _spoil(self, frames: list[bytes], *, after_aare: bool) -> list[bytes]:
        """The link faults, on the first answer after the association (the AARE itself for a vanishing meter)."""
        if after_aare:
            if self.faults.vanishes():
                self.silent = True
            return frames
        self._answers += 1
        if self._answers != 1:
            return frames
        if self.faults.loses_frame():
            return []
        if self.faults.repeats_frame():
            return frames + frames
        if self.faults.breaks_sequence():
            wrong = information_control(self._send_sequence, self._receive_sequence)  # N(S) one ahead
            return [self._frame(wrong, LLC_RESPONSE + b"\xc4\x01\x41\x01\x04")]
        return frames


class DlmsServer:
    """Serves HDLC on the line: directly (``serve``), or once a mode E sign-on hands it over (``session``)."""

    def __init__(self, line: Line, faults: FaultPlan, registers: Registers, *, realtime: bool, baud: int) -> None:
        self.line = line
        self.faults = faults
        self.realtime = realtime
        self.baud = baud
        profile = registers.profile
        objects = CosemObjects(
            registers, short_names=profile.dlms_referencing == "sn", submeters=profile.mbus_submeters
        )
        self.application = Application(objects, faults)
        self.max_receive = profile.hdlc_max_receive
        self.registers = registers
        self.connections = 0  # SNRMs answered with UA, for tests

    async def serve(self) -> None:
        """Direct HDLC at 9600 8N1: the meter listens whenever a client has the line open; a DISC or a silence
        ends the connection, not the listening (the next SNRM opens another)."""
        self.line.home_baud = self.line.baud = self.baud
        while True:
            await self.line.connected.wait()
            self.faults.pick()
            await self.session(self.baud, direct=True)

    async def session(self, baud: int, *, direct: bool = False) -> None:
        """HDLC at ``baud`` until the client closes the line; in mode E also until DISC or the inactivity time-out
        (then the meter is back at 300 Bd, waiting for a sign-on)."""
        self.line.baud = baud
        server = HdlcServer(self.application, self.faults, self.max_receive)
        reader = HdlcReader()
        loop = asyncio.get_running_loop()
        idle = INACTIVITY_TIMEOUT if self.realtime else FAST_INACTIVITY
        last = loop.time()
        while direct or (not server.ended and loop.time() - last < idle):
            data = await self.line.receive(POLL)
            if data is None:
                if not self.line.connected.is_set():
                    return
                continue
            last = loop.time()
            for frame in reader.feed(data):
                was_connected = server.connected
                answers = server.on_frame(frame)
                if server.connected and not was_connected:
                    self.connections += 1
                    self.registers.advance()
                for answer in answers:
                    await self.line.transmit(answer)
        self.application.reset()
