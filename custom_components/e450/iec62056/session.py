"""The IEC 62056-21 read session as a sans-IO state machine (modes A, B, C and D).

The session never touches a port or a clock. The driver feeds it what arrived with :meth:`Session.receive_data`
and asks :meth:`Session.next_action` what to do next — send bytes, wait for the transmitter to drain, reconfigure
the line, wait for data until a deadline — until it returns :class:`Done` or raises an
:class:`~.errors.IEC62056Error`. Every timing path is therefore testable with a fake clock.

Clause numbers refer to IEC 62056-21:2002; meter quirks cite PROTOCOL.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from .dataset import parse_data_block
from .errors import (
    ChecksumError,
    DlmsPushDetectedError,
    FramingError,
    IEC62056Error,
    NoAnswerError,
    ReadoutTimeoutError,
)
from .frames import (
    ACK,
    BAUD_CHAR_C,
    INITIAL_BAUD,
    NAK,
    SOH,
    STX,
    build_ack,
    build_request,
    split_data_message,
)
from .hdlc import find_hdlc_frame
from .models import BccStatus, Identification, ProtocolMode, Readout, Timings
from .transcript import find_identification

REACTION_TIME: Final = 0.2  # tr, 6.3.14: the meter's (and our) minimum pause before answering
FAST_REACTION_TIME: Final = 0.02  # tr when the flag's third letter is lowercase
CHARACTER_BITS: Final = 10  # start + 7 data + parity + stop, as for 8N1
WAKE_UP_DURATION: Final = 2.2  # battery meters: NULs for 2.1-2.3 s, then 1.5-1.7 s pause (PROTOCOL.md §1.7)
WAKE_UP_PAUSE: Final = 1.6
IDENT_MAX_CHARS: Final = 40  # "/" + 3 + 1 + escapes + up to 16 ident characters + CR LF, with margin
MAX_NAKS: Final = 2
# Where E450-family meters push DLMS/COSEM: optical 9600 8N1 (Wiener Netze, Burgenland), wired CII 2400 8E1
# (Swiss utilities), 2400 8N1 (HAN readers). DLMS.md §1.1.
DLMS_LINE_SETTINGS: Final[tuple[tuple[int, str], ...]] = ((9600, "N"), (2400, "E"), (2400, "N"), (9600, "E"))
# Silence that ends a burst of bytes: pushes come seconds apart, the frames of one push back to back.
PUSH_GAP: Final = 0.3


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What the user and the caller may tune. Defaults follow the standard and field practice."""

    max_baud: int = 19200  # user cap for the ACK option select (mode C)
    address: str = ""  # device address / serial in the request, when the meter needs one
    wake_up: bool = False  # battery meters: NUL preamble
    switch_delay: float = 0.3  # after the ACK has left the UART, before changing the baud (USB adapters)
    identification_timeout: float = 2.0  # first byte after the request left: tr ≤ 1.5 s plus margin
    inter_character_timeout: float = 1.5  # ta
    readout_first_byte_timeout: float = 3.0  # after the switch: the meter's tr plus its own switch
    readout_budget_bytes: int = 16384  # the overall readout deadline scales with this at the baud in force
    retry_at_300: bool = True  # one more attempt with <ACK>000 when the switched read failed
    fallback_wait: float = 2.5  # silence before the retry, so the meter is back at 300 Bd
    detect_dlms: bool = True  # listen for HDLC pushes when no identification comes
    dlms_listen: float = 6.0  # per line setting: longer than the E450's 5 s push interval
    push_mode: bool = False  # mode D: never transmit, wait for the meter's telegram
    push_baud: int = 2400
    push_timeout: float = 30.0


# --- actions: what the driver must do -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Write these bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Drain:
    """Wait until everything written has physically left the transmitter (tcdrain)."""


@dataclass(frozen=True, slots=True)
class Configure:
    """Set the line to ``baud`` with ``byte_size`` data bits and ``parity``, one stop bit."""

    baud: int
    byte_size: int = 7
    parity: str = "E"


@dataclass(frozen=True, slots=True)
class Wait:
    """Deliver received data with :meth:`Session.receive_data`, or come back at ``deadline``."""

    deadline: float


@dataclass(frozen=True, slots=True)
class Done:
    """The read is complete."""

    readout: Readout


Action = Send | Drain | Configure | Wait | Done


class _State(Enum):
    START = auto()
    WAKE_UP_PAUSE = auto()
    REQUEST = auto()
    REQUEST_DRAIN = auto()
    AWAIT_IDENTIFICATION = auto()
    ACK_DELAY = auto()
    ACK_DRAIN = auto()
    SWITCH_DELAY = auto()
    READOUT = auto()
    RECOVER = auto()
    LISTEN = auto()
    DONE = auto()
    FAILED = auto()


class Session:
    """One read of one meter. Create a new session for every read."""

    def __init__(self, config: SessionConfig | None = None) -> None:
        self.config = config or SessionConfig()
        self._state = _State.START
        self._pending: list[Action] = []
        self._buffer = bytearray()  # received, parity-stripped, echo-free bytes of the current phase
        self._echo = b""  # what we just sent, expected back from an echoing head
        self._echo_held = bytearray()
        self._baud = self.config.push_baud if self.config.push_mode else INITIAL_BAUD
        self._eight_bit = False
        self._deadline: float | None = None
        self._phase_deadline: float | None = None
        self._last_rx: float | None = None
        self._retried = False
        self._forced_baud_char: str | None = None
        self._identification: Identification | None = None
        self._blocks: list[bytes] = []
        self._naks = 0
        self._frame_seen = False
        self._listen_index = -1
        self._listen_buffer = bytearray()
        self._received_before_listen = 0
        self._listen_started = 0.0
        self._listen_rx: float | None = None  # last byte at this line setting
        self._burst_whole = False  # the current burst began after a silence: we see it from its start
        self._raw = bytearray()
        self._bytes_sent = 0
        self._bytes_received = 0
        self._t_start = 0.0
        self._t_request = 0.0
        self._t_ident = 0.0
        self._result: Readout | None = None
        self.echo_detected = False

    # --- inputs -----------------------------------------------------------------------------------------------

    @property
    def baud(self) -> int:
        """The baud rate the line is (to be) set to."""
        return self._baud

    @property
    def identification(self) -> Identification | None:
        """The identification, once received."""
        return self._identification

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived from the port."""
        if not data:
            return
        self._bytes_received += len(data)
        self._last_rx = now
        if self._state is _State.LISTEN:
            self._listen_buffer += data
            last = self._listen_rx if self._listen_rx is not None else self._listen_started
            if now - last >= PUSH_GAP:
                self._burst_whole = self._listen_index >= 0
            self._listen_rx = now
            return
        if not self._eight_bit:
            data = bytes(byte & 0x7F for byte in data)  # parity bit when the port runs at 8 bits
        self._raw += data
        self._buffer += self._strip_echo(data)

    def _strip_echo(self, data: bytes) -> bytes:
        """Drop our own transmission coming back from an echoing optical head (PROTOCOL.md §5.2)."""
        if not self._echo:
            return data
        echo, held = self._echo, self._echo_held + data
        if held.startswith(echo):
            self.echo_detected = True
            self._echo, self._echo_held = b"", bytearray()
            return bytes(held[len(echo) :])
        if self._echo.startswith(held):
            self._echo_held = held  # could still be the echo: decide when more arrives
            return b""
        self._echo, self._echo_held = b"", bytearray()
        return bytes(held)

    # --- outputs ----------------------------------------------------------------------------------------------

    def next_action(self, now: float) -> Action:
        """What the driver must do next. Raises the typed error when the read has failed."""
        if self._pending:
            return self._pending.pop(0)
        try:
            return self._step(now)
        except IEC62056Error:
            self._state = _State.FAILED
            raise

    def _send(self, data: bytes) -> Send:
        self._bytes_sent += len(data)
        self._echo = data
        self._echo_held = bytearray()
        return Send(data)

    def _configure(self, baud: int, byte_size: int = 7, parity: str = "E") -> Configure:
        self._baud = baud
        self._eight_bit = byte_size == 8
        return Configure(baud, byte_size, parity)

    def _char_time(self, count: int) -> float:
        return count * CHARACTER_BITS / self._baud

    def _step(self, now: float) -> Action:
        state = self._state
        if state is _State.START:
            self._t_start = now
            if self.config.push_mode:
                self._state = _State.AWAIT_IDENTIFICATION
                self._t_request = now
                self._deadline = now + self.config.push_timeout
                return self._step(now)  # the driver opened the line at ``baud`` (push_baud)
            if self.config.wake_up:
                self._state = _State.WAKE_UP_PAUSE
                self._deadline = None
                self._pending = [Drain()]
                return self._send(b"\x00" * max(1, round(WAKE_UP_DURATION * self._baud / CHARACTER_BITS)))
            self._state = _State.REQUEST
            return self._step(now)
        if state is _State.WAKE_UP_PAUSE:
            if self._deadline is None:
                self._deadline = now + WAKE_UP_PAUSE
            if now < self._deadline:
                return Wait(self._deadline)
            self._state = _State.REQUEST
            return self._step(now)
        if state is _State.REQUEST:
            self._buffer.clear()
            self._raw.clear()
            self._state = _State.REQUEST_DRAIN
            self._pending = [Drain()]
            return self._send(build_request(self.config.address))
        if state is _State.REQUEST_DRAIN:
            # the drain has completed: the request is on the wire, the meter's tr starts now
            self._t_request = now
            self._deadline = now + self.config.identification_timeout
            self._phase_deadline = self._deadline + self._char_time(IDENT_MAX_CHARS)
            self._state = _State.AWAIT_IDENTIFICATION
            return self._step(now)
        if state is _State.AWAIT_IDENTIFICATION:
            return self._await_identification(now)
        if state is _State.ACK_DELAY:
            if STX in self._buffer or SOH in self._buffer:
                return self._start_readout(now, unsolicited=True)
            assert self._deadline is not None
            if now < self._deadline:
                return Wait(self._deadline)
            self._state = _State.ACK_DRAIN
            self._pending = [Drain()]
            return self._send(build_ack(self._ack_baud_char()))
        if state is _State.ACK_DRAIN:
            self._state = _State.SWITCH_DELAY
            target = self._target_baud()
            self._deadline = now + (self.config.switch_delay if target != self._baud else 0.0)
            return self._step(now)
        if state is _State.SWITCH_DELAY:
            if STX in self._buffer:
                # AS1440/MT174 style: the meter sent its readout at the current speed without waiting
                return self._start_readout(now, unsolicited=True)
            assert self._deadline is not None
            if now < self._deadline:
                return Wait(self._deadline)
            target = self._target_baud()
            self._start_readout(now, unsolicited=False)
            if target != self._baud:
                self._buffer.clear()
                return self._configure(target)
            return self._step(now)
        if state is _State.READOUT:
            return self._readout(now)
        if state is _State.RECOVER:
            assert self._deadline is not None
            if now < self._deadline:
                return Wait(self._deadline)
            self._state = _State.REQUEST
            return self._step(now)
        if state is _State.LISTEN:
            return self._listen(now)
        if state is _State.DONE:
            assert self._result is not None
            return Done(self._result)
        raise FramingError("the session has already failed")  # FAILED: a caller kept going

    # --- identification ---------------------------------------------------------------------------------------

    def _await_identification(self, now: float) -> Action:
        identification, line_end = find_identification(bytes(self._buffer), complete=True)
        if identification is not None:
            self._identification = identification
            self._t_ident = now
            del self._buffer[:line_end]
            return self._after_identification(now, identification)
        assert self._deadline is not None
        nothing_yet = not self._buffer
        if self.config.push_mode:
            if now < self._deadline:
                return Wait(self._deadline)
            raise NoAnswerError(
                "No telegram from the meter: a mode D meter pushes by itself; check the head and the baud rate",
                received_bytes=self._bytes_received,
            )
        assert self._phase_deadline is not None
        if nothing_yet and now < self._deadline:
            return Wait(self._deadline)
        if not nothing_yet:
            # noise, or half an identification: wait for the rest, but no longer than ta after the last byte
            assert self._last_rx is not None
            deadline = min(self._phase_deadline, self._last_rx + self.config.inter_character_timeout)
            if now < deadline:
                return Wait(deadline)
        if self.config.detect_dlms:
            self._received_before_listen = self._bytes_received
            self._state = _State.LISTEN
            return self._listen(now)
        raise NoAnswerError(received_bytes=self._bytes_received)

    def _after_identification(self, now: float, identification: Identification) -> Action:
        if self.config.push_mode or identification.mode is ProtocolMode.A:
            return self._start_readout(now, unsolicited=True)
        if identification.mode is ProtocolMode.B:
            # 6.4.2: in mode B both sides switch to the announced rate right after the identification
            self._start_readout(now, unsolicited=False)
            self._buffer.clear()
            return self._configure(identification.max_baud)
        # Mode C (and \2 mode-E capable meters, which still accept a mode C readout): ACK after tr
        reaction = FAST_REACTION_TIME if identification.fast_reaction else REACTION_TIME
        self._state = _State.ACK_DELAY
        self._deadline = now + reaction
        return self._step(now)

    def _ack_baud_char(self) -> str:
        if self._forced_baud_char is not None:
            return self._forced_baud_char
        return BAUD_CHAR_C[self._target_baud()]

    def _target_baud(self) -> int:
        assert self._identification is not None
        if self._forced_baud_char is not None:
            return INITIAL_BAUD
        cap = min(self._identification.max_baud, self.config.max_baud)
        # the highest standard rate not above both the meter's maximum and the user's cap
        return max((baud for baud in BAUD_CHAR_C if baud <= cap), default=INITIAL_BAUD)

    # --- data readout -----------------------------------------------------------------------------------------

    def _start_readout(self, now: float, *, unsolicited: bool) -> Action:
        self._state = _State.READOUT
        self._blocks = []
        self._frame_seen = False
        self._naks = 0
        self._deadline = now + self.config.readout_first_byte_timeout
        self._phase_deadline = None  # set once the baud is final, see _readout
        self._last_rx = None
        if unsolicited:
            return self._step(now)
        return Wait(self._deadline)

    def _readout(self, now: float) -> Action:
        if self._phase_deadline is None:
            self._phase_deadline = (
                now + self.config.readout_first_byte_timeout + self._char_time(self.config.readout_budget_bytes)
            )
        while True:
            start = self._frame_start()
            if start < 0:
                # mode D meters (EMH eHZ, EasyMeter) push unframed: identification, data lines, "!" CR LF
                end = self._buffer.find(b"!") if self.config.push_mode and not self._blocks else -1
                if end >= 0 and self._buffer.find(b"\n", end) >= 0:
                    return self._finish(now, bytes(self._buffer[:end]), BccStatus.ABSENT)
                break
            cut = split_data_message(bytes(self._buffer), start)
            if cut is None:
                break
            message, consumed = cut
            del self._buffer[:consumed]
            self._frame_seen = True
            if message.bcc is BccStatus.MISMATCH:
                if message.partial and self._naks < MAX_NAKS:
                    self._naks += 1
                    return self._send(bytes([NAK]))  # ask for the block again (6.3.10)
                assert message.expected_bcc is not None and message.received_bcc is not None
                return self._fail_readout(now, ChecksumError(message.expected_bcc, message.received_bcc))
            self._blocks.append(message.block)
            if message.partial:
                self._naks = 0
                return self._send(bytes([ACK]))  # request the next partial block
            return self._finish(now, b"".join(self._blocks), BccStatus.OK)
        # still waiting: for the first byte, for the next character (ta), or the overall deadline
        if self._last_rx is None:
            assert self._deadline is not None
            deadline = self._deadline
        else:
            deadline = self._last_rx + self.config.inter_character_timeout
        deadline = min(deadline, self._phase_deadline)
        if now < deadline:
            return Wait(deadline)
        if not self._frame_seen and self._frame_start() < 0 and self._last_rx is None:
            error: IEC62056Error = ReadoutTimeoutError(
                f"No data message from the meter within {self.config.readout_first_byte_timeout:g} s at {self._baud} Bd"
            )
        elif self._frame_start() < 0:
            error = FramingError(f"Received {len(self._buffer)} bytes at {self._baud} Bd but no data message")
        else:
            error = ReadoutTimeoutError(f"The data message stopped arriving at {self._baud} Bd (truncated)")
        return self._fail_readout(now, error)

    def _frame_start(self) -> int:
        starts = [index for index in (self._buffer.find(STX), self._buffer.find(SOH)) if index >= 0]
        return min(starts, default=-1)

    def _fail_readout(self, now: float, error: IEC62056Error) -> Action:
        identification = self._identification
        if (
            self.config.retry_at_300
            and not self._retried
            and identification is not None
            and identification.mode is ProtocolMode.C
            and not self.config.push_mode
            and self._baud != INITIAL_BAUD
        ):
            # Baud switch failures are the most common field problem (PROTOCOL.md §3.2.1): the meter falls
            # back to 300 Bd after its timeout, so sign on again and ask it to stay there (<ACK>000).
            self._retried = True
            self._forced_baud_char = "0"
            self._state = _State.RECOVER
            self._deadline = now + self.config.fallback_wait
            return self._configure(INITIAL_BAUD)
        raise error

    def _finish(self, now: float, block: bytes, bcc: BccStatus) -> Action:
        if self._baud != INITIAL_BAUD and not self.config.push_mode:
            # meters return to 300 Bd after the readout; so does the line, for the next read (6.4.4)
            self._pending.append(Configure(INITIAL_BAUD))
        self._result = Readout(
            identification=self._identification,
            datasets=parse_data_block(block),
            bcc=bcc,
            raw=bytes(self._raw),
            timings=Timings(
                total=now - self._t_start,
                sign_on=self._t_request - self._t_start,
                identification=self._t_ident - self._t_request,
                readout=now - self._t_ident,
                baud=self._baud,
                bytes_sent=self._bytes_sent,
                bytes_received=self._bytes_received,
                retried=self._retried,
            ),
        )
        self._state = _State.DONE
        if self._pending:
            self._pending.append(Done(self._result))
            return self._pending.pop(0)
        return Done(self._result)

    # --- DLMS push detection ----------------------------------------------------------------------------------

    def _listen(self, now: float) -> Action:
        frame = find_hdlc_frame(bytes(self._listen_buffer))
        if frame is not None and self._listen_index >= 0:
            baud, parity = DLMS_LINE_SETTINGS[self._listen_index]
            raise DlmsPushDetectedError(baud, parity, frame.encrypted, frame.system_title)
        if self._listen_index >= 0:
            assert self._deadline is not None
            if self._listen_rx is None and now >= self._deadline:
                # not one byte in a whole push interval: nothing pushes (a wrong speed still delivers garbage)
                self._configure(INITIAL_BAUD)
                raise NoAnswerError(received_bytes=self._received_before_listen)
            burst_over = self._listen_rx is not None and now >= self._listen_rx + PUSH_GAP  # same sum as the Wait
            # a burst seen whole, from silence to silence, without a valid frame: this is not the push's speed
            if now < self._deadline and not (self._burst_whole and burst_over):
                wake = self._deadline
                if self._burst_whole and self._listen_rx is not None:
                    wake = min(wake, self._listen_rx + PUSH_GAP)
                return Wait(wake)
        self._listen_index += 1
        if self._listen_index >= len(DLMS_LINE_SETTINGS):
            self._configure(INITIAL_BAUD)
            raise NoAnswerError(received_bytes=self._received_before_listen)
        self._listen_buffer.clear()
        self._listen_started, self._listen_rx, self._burst_whole = now, None, False
        baud, parity = DLMS_LINE_SETTINGS[self._listen_index]
        self._deadline = now + self.config.dlms_listen
        return self._configure(baud, 8, parity)


def wire_time(byte_count: int, baud: int) -> float:
    """Seconds ``byte_count`` characters take on the line at ``baud`` (10 bits per character)."""
    return byte_count * CHARACTER_BITS / baud


__all__ = [
    "Action",
    "Configure",
    "Done",
    "Drain",
    "Send",
    "Session",
    "SessionConfig",
    "Wait",
    "wire_time",
]
