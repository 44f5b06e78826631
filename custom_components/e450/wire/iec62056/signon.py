"""The sign-on every IEC 62056-21 session shares, as the base of the sans-IO machines: request, identification,
option select and baud switch (modes A, B, C and the mode E handover), the echo of an optical head, and the one
retry at 300 Bd.

The driver feeds a session what arrived with :meth:`SignOn.receive_data` and asks :meth:`SignOn.next_action` what
to do (:mod:`..actions`) until it returns ``Done`` or raises a :class:`~..errors.MeterError`. The machine is a
table of state → handler (as h11 keeps its own); a handler returns the next action and moves the state only
through :meth:`SignOn._move`. What follows the sign-on is the subclass's: the data readout (:mod:`.session`) or a
programming-mode exchange (:mod:`.programming`). The sign-on knows nothing of DLMS: a meter that does not answer
ends in :class:`~..errors.NoAnswerError`, and detection (:mod:`..detect`) decides what to try next.

Clause numbers refer to IEC 62056-21:2002; field quirks cite docs/iec62056-21.md.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, auto
from typing import Any, ClassVar, Final

from ..actions import Action, Configure, Done, Drain, Send, Wait
from ..errors import FramingError, MeterError, NoAnswerError, ReadoutRefusedError
from ..models import HdlcHandover, Identification, LoadProfile, ProtocolMode, Readout, Timings
from .assembly import refusal
from .config import SessionConfig
from .frames import BAUD_CHAR_C, INITIAL_BAUD, SOH, STX, build_ack, build_request
from .transcript import find_identification

REACTION_TIME: Final = 0.2  # tr, §6.3.14: the meter's (and our) minimum pause before answering
FAST_REACTION_TIME: Final = 0.02  # tr when the flag's third letter is lowercase
CHARACTER_BITS: Final = 10  # start + 7 data + parity + stop, as for 8N1
WAKE_UP_DURATION: Final = 2.2  # battery meters: NULs for 2.1-2.3 s, then 1.5-1.7 s pause (docs/iec62056-21.md §1.5)
WAKE_UP_PAUSE: Final = 1.6
IDENT_MAX_CHARS: Final = 40  # "/" + 3 + 1 + escapes + up to 16 ident characters + CR LF, with margin

Handler = Callable[[Any, float], Action]  # an unbound handler of the session class that owns the table


def wire_time(byte_count: int, baud: int) -> float:
    """Seconds ``byte_count`` characters take on the line at ``baud`` (10 bits per character)."""
    return byte_count * CHARACTER_BITS / baud


class State(Enum):
    """Where a read stands: the sign-on's states, then the data readout's or the programming mode's."""

    START = auto()
    WAKE_UP_PAUSE = auto()
    REQUEST = auto()
    REQUEST_DRAIN = auto()
    AWAIT_IDENTIFICATION = auto()
    ACK_DELAY = auto()
    ACK_DRAIN = auto()
    SWITCH_DELAY = auto()
    READOUT = auto()
    OPERAND = auto()  # programming mode: the meter's P0 operand (password prompt)
    PASSWORD = auto()  # P1 sent, the meter's ACK awaited
    COMMAND = auto()  # tr, then the R5 command
    ANSWER = auto()  # the answer to the command
    BREAK = auto()  # B0 sent: the end of programming mode
    RECOVER = auto()
    DONE = auto()
    FAILED = auto()


class SignOn:
    """One exchange with one meter, up to the end of its sign-on. Create a new session for every read."""

    _HANDLERS: ClassVar[dict[State, Handler]]
    MODE_CONTROL: ClassVar[str] = "0"  # option select Y (§6.3.3): 0 data readout, 1 programming mode

    def __init__(self, config: SessionConfig | None = None) -> None:
        self.config = config or SessionConfig()
        self._state = State.START
        self._pending: list[Action] = []
        self._buffer = bytearray()  # received, parity-stripped, echo-free bytes of the current phase
        self._echo = b""  # what we just sent, expected back from an echoing head
        self._echo_held = bytearray()
        self._baud = INITIAL_BAUD
        self._deadline = 0.0
        self._phase_deadline: float | None = None
        self._last_rx: float | None = None
        self._retried = False
        self._forced_baud_char: str | None = None
        self._identification: Identification | None = None
        self._raw = bytearray()
        self._bytes_sent = 0
        self.bytes_received = 0
        self._t_start = 0.0
        self._t_request = 0.0
        self._t_ident = 0.0
        self._result: Readout | HdlcHandover | LoadProfile | None = None
        self.echo_detected = False

    # --- inputs -----------------------------------------------------------------------------------------------

    @property
    def baud(self) -> int:
        """The baud rate the line is (to be) set to."""
        return self._baud

    @property
    def state(self) -> State:
        """Where the read stands."""
        return self._state

    @property
    def identification(self) -> Identification | None:
        """The identification, once received."""
        return self._identification

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived from the port."""
        if not data:
            return
        self.bytes_received += len(data)
        self._last_rx = now
        data = bytes(byte & 0x7F for byte in data)  # the parity bit, when the port runs at 8 bits
        self._raw += data
        self._buffer += self._strip_echo(data)

    def _strip_echo(self, data: bytes) -> bytes:
        """Drop our own transmission coming back from an echoing optical head (docs/iec62056-21.md §1.4)."""
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
            return self._HANDLERS[self._state](self, now)
        except MeterError:
            self._move(State.FAILED)
            raise

    def _move(self, state: State, deadline: float | None = None) -> None:
        """The only place the state changes (and, with it, the deadline of the new state)."""
        self._state = state
        if deadline is not None:
            self._deadline = deadline

    def _enter(self, state: State, now: float, deadline: float | None = None) -> Action:
        """Move to ``state`` and run its handler at once."""
        self._move(state, deadline)
        return self._HANDLERS[state](self, now)

    def _send(self, data: bytes, *, drain: bool = False) -> Send:
        self._bytes_sent += len(data)
        self._echo = data
        self._echo_held = bytearray()
        if drain:
            self._pending.append(Drain())
        return Send(data)

    def _configure(self, baud: int) -> Configure:
        self._baud = baud
        return Configure(baud)

    def _wait(self, now: float, deadline: float) -> Action | None:
        """``Wait`` until ``deadline`` unless it has passed."""
        return Wait(deadline) if now < deadline else None

    def _reaction_time(self) -> float:
        """tr before we answer the meter: 20 ms for a lowercase third flag letter, else 200 ms (§6.3.14)."""
        identification = self._identification
        return FAST_REACTION_TIME if identification is not None and identification.fast_reaction else REACTION_TIME

    # --- what follows the sign-on (the subclass's) ------------------------------------------------------------

    def _begin(self, now: float, *, unsolicited: bool) -> Action:
        """The sign-on is over at the final speed: start what the session is for. ``unsolicited``: the meter
        is already sending (its data arrived before the baud switch), so no ``Wait`` first."""
        raise NotImplementedError  # pragma: no cover - every session says what it is for

    def _after_identification(self, now: float, identification: Identification) -> Action:
        """Mode C (and ``\\2`` mode-E capable meters, which still accept a mode C option select): ACK after tr."""
        return self._enter(State.ACK_DELAY, now, now + self._reaction_time())

    def _timings(self, now: float, phase_start: float) -> Timings:
        return Timings(
            total=now - self._t_start,
            sign_on=self._t_request - self._t_start,
            identification=self._t_ident - self._t_request,
            readout=now - phase_start,
            baud=self._baud,
            bytes_sent=self._bytes_sent,
            bytes_received=self.bytes_received,
            retried=self._retried,
        )

    def _done(self, result: Readout | LoadProfile) -> Action:
        self._result = result
        self._move(State.DONE)
        if self._baud != INITIAL_BAUD:
            # meters return to 300 Bd after the exchange; so does the line, for the next read (§6.4.3)
            self._pending.append(Done(result))
            return Configure(INITIAL_BAUD)
        return Done(result)

    # --- sign-on ----------------------------------------------------------------------------------------------

    def _on_start(self, now: float) -> Action:
        self._t_start = now
        if not self.config.wake_up:
            return self._enter(State.REQUEST, now)
        # battery meters sleep: a train of NULs, then a pause, wakes them (docs/iec62056-21.md §1.5)
        self._move(State.WAKE_UP_PAUSE, -1.0)  # the pause's deadline is set once the NULs have drained
        return self._send(b"\x00" * max(1, round(WAKE_UP_DURATION * self._baud / CHARACTER_BITS)), drain=True)

    def _on_wake_up_pause(self, now: float) -> Action:
        if self._deadline < 0:
            self._move(State.WAKE_UP_PAUSE, now + WAKE_UP_PAUSE)
        return self._wait(now, self._deadline) or self._enter(State.REQUEST, now)

    def _on_request(self, now: float) -> Action:
        self._buffer.clear()
        self._raw.clear()
        self._move(State.REQUEST_DRAIN)
        return self._send(build_request(self.config.address), drain=True)

    def _on_request_drain(self, now: float) -> Action:
        # the drain has completed: the request is on the wire, the meter's tr starts now
        self._t_request = now
        self._phase_deadline = now + self.config.identification_timeout + wire_time(IDENT_MAX_CHARS, self._baud)
        return self._enter(State.AWAIT_IDENTIFICATION, now, now + self.config.identification_timeout)

    def _on_await_identification(self, now: float) -> Action:
        identification, line_end = find_identification(bytes(self._buffer), complete=True)
        if identification is not None:
            self._identification = identification
            self._t_ident = now
            del self._buffer[:line_end]
            return self._after_identification(now, identification)
        if not self._buffer:
            waiting = self._wait(now, self._deadline)
        else:
            # noise, or half an identification: wait for the rest, but no longer than ta after the last byte
            assert self._last_rx is not None and self._phase_deadline is not None
            waiting = self._wait(now, min(self._phase_deadline, self._last_rx + self.config.inter_character_timeout))
        if waiting is not None:
            return waiting
        raise NoAnswerError(received_bytes=self.bytes_received)

    # --- option select and baud switch ------------------------------------------------------------------------

    def _on_ack_delay(self, now: float) -> Action:
        if STX in self._buffer or SOH in self._buffer:
            return self._begin(now, unsolicited=True)
        if (waiting := self._wait(now, self._deadline)) is not None:
            return waiting
        self._move(State.ACK_DRAIN)
        if self.config.hdlc:  # mode E: protocol control and mode control 2 (Annex E)
            return self._send(build_ack(self._ack_baud_char(), "2", "2"), drain=True)
        return self._send(build_ack(self._ack_baud_char(), self.MODE_CONTROL), drain=True)

    def _on_ack_drain(self, now: float) -> Action:
        delay = self.config.switch_delay if self._target_baud() != self._baud else 0.0
        if self.config.hdlc:  # mode E: the meter confirms (ACK 2 Z 2, tr later) at the old speed, then switches
            delay = max(delay, 2 * REACTION_TIME + wire_time(6, self._baud))  # its tr, its ACK, a margin
        return self._enter(State.SWITCH_DELAY, now, now + delay)

    def _on_switch_delay(self, now: float) -> Action:
        if self.config.hdlc:
            return self._wait(now, self._deadline) or self._hand_over()
        if STX in self._buffer or (self.MODE_CONTROL != "0" and SOH in self._buffer):
            # AS1440/MT174 style: the meter sent its readout (or operand) at the current speed without waiting
            return self._begin(now, unsolicited=True)
        if (waiting := self._wait(now, self._deadline)) is not None:
            return waiting
        if self.MODE_CONTROL == "0" and refusal(self._buffer):
            # the meter refused the readout at once, at the old speed (E550, ZMD without a password)
            return self._fail(now, ReadoutRefusedError(f"The meter refused the data readout at {self._baud} Bd (NAK)"))
        target = self._target_baud()
        self._begin(now, unsolicited=False)
        if target != self._baud:
            self._buffer.clear()
            return self._configure(target)
        return self._HANDLERS[self._state](self, now)

    def _hand_over(self) -> Action:
        """Mode E: the line is HDLC's now, at the agreed speed, 8N1 (IEC 62056-21 Annex E)."""
        assert self._identification is not None
        self._result = HdlcHandover(self._identification, self._target_baud())
        self._move(State.DONE)
        self._pending.append(Done(self._result))
        self._baud = self._result.baud
        return Configure(self._result.baud, 8, "N")

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

    # --- the one retry ----------------------------------------------------------------------------------------

    def _fail(self, now: float, error: MeterError) -> Action:
        """Raise ``error``, unless a switched mode C exchange may be tried once more at 300 Bd."""
        identification = self._identification
        if (
            self.config.retry_at_300
            and not self._retried
            and not isinstance(error, ReadoutRefusedError)  # a refusal is no line fault: it would come again
            and identification is not None
            and identification.mode is ProtocolMode.C
            and self._baud != INITIAL_BAUD
        ):
            # Baud switch failures are the most common field problem (docs/iec62056-21.md §3.4): the meter falls
            # back to 300 Bd after its timeout, so sign on again and ask it to stay there (<ACK>000).
            self._retried = True
            self._forced_baud_char = "0"
            self._move(State.RECOVER, now + self.config.fallback_wait)
            return self._configure(INITIAL_BAUD)
        raise error

    def _on_recover(self, now: float) -> Action:
        return self._wait(now, self._deadline) or self._enter(State.REQUEST, now)

    def _on_done(self, now: float) -> Action:
        assert self._result is not None
        return Done(self._result)

    def _on_failed(self, now: float) -> Action:
        raise FramingError("the session has already failed")  # a caller kept going


SIGN_ON_HANDLERS: Final[dict[State, Handler]] = {
    State.START: SignOn._on_start,
    State.WAKE_UP_PAUSE: SignOn._on_wake_up_pause,
    State.REQUEST: SignOn._on_request,
    State.REQUEST_DRAIN: SignOn._on_request_drain,
    State.AWAIT_IDENTIFICATION: SignOn._on_await_identification,
    State.ACK_DELAY: SignOn._on_ack_delay,
    State.ACK_DRAIN: SignOn._on_ack_drain,
    State.SWITCH_DELAY: SignOn._on_switch_delay,
    State.RECOVER: SignOn._on_recover,
    State.DONE: SignOn._on_done,
    State.FAILED: SignOn._on_failed,
}
