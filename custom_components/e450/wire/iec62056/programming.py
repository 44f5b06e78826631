"""Reading the load profile ``P.01`` in programming mode, as a sans-IO state machine (docs/iec62056-21.md §7).

After the sign-on of :mod:`.signon` with option select ``ACK 0 Z 1`` (IEC 62056-21:2002 §6.3.3, mode control
1), the meter sends its operand ``SOH P0 STX (…) ETX BCC`` (§6.3.7, the password prompt). Meters that ask for a
password get ``SOH P1 STX (password) ETX BCC`` and answer ACK; without a configured password the session goes on
at once, as the meters of the captures allow. Then ``SOH R5 STX P.01(from;to) ETX BCC`` and its answer, one data
message or partial blocks (:mod:`.assembly`), parsed by :mod:`.profile`; ``SOH B0 ETX BCC`` (§6.3.10) always
ends programming mode, after a refusal too, so the meter is not left busy until its inactivity timeout.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import ClassVar, Final

from ..actions import Action, Wait
from ..errors import FramingError, MeterError, ProgrammingRefusedError
from ..models import Identification, LoadProfile, ProtocolMode
from .assembly import MAX_NAKS, Message, MessageAssembly, frame_start
from .config import SessionConfig
from .frames import ACK, NAK, build_command
from .profile import parse_profile, profile_request
from .signon import SIGN_ON_HANDLERS, Handler, SignOn, State, wire_time

BREAK: Final = "B0"  # complete sign-off (§6.3.10)
OPERAND: Final = "P0"
PASSWORD: Final = "P1"


class ProfileSession(SignOn):
    """One read of ``P.01`` from ``start`` to ``end`` (meter time). Create a new session for every read."""

    _HANDLERS: ClassVar[dict[State, Handler]]
    MODE_CONTROL: ClassVar[str] = "1"

    def __init__(self, start: datetime, end: datetime, config: SessionConfig | None = None) -> None:
        super().__init__(config)
        self._request = profile_request(start, end)  # a range that ends before it starts fails here, not on the wire
        self._assembly = MessageAssembly()
        self._command = b""  # the command COMMAND sends once tr has passed
        self._then = State.ANSWER  # the state that awaits its answer
        self._command_naks = 0
        self._t_command = 0.0
        self._outcome: LoadProfile | MeterError | None = None
        self._break_sent = False

    def _after_identification(self, now: float, identification: Identification) -> Action:
        if identification.mode is not ProtocolMode.C:
            raise ProgrammingRefusedError(
                f"The meter signs on in mode {identification.mode}: its load profile is read in mode C programming "
                "mode only"
            )
        return super()._after_identification(now, identification)

    # --- receiving --------------------------------------------------------------------------------------------

    def _expect(self, state: State) -> None:
        """Await a new message in ``state``: its deadlines run from the first look at it (:meth:`_receive`)."""
        self._assembly = MessageAssembly()
        self._phase_deadline = None
        self._last_rx = None
        self._move(state)

    def _receive(self, now: float) -> Action | Message:
        """The message of the current state once complete, else what to do meanwhile; raises when it failed."""
        if self._phase_deadline is None:  # the command has left and the baud is final: the meter's turn
            self._deadline = now + self.config.readout_first_byte_timeout
            self._phase_deadline = self._deadline + wire_time(self.config.readout_budget_bytes, self._baud)
        step = self._assembly.step(self._buffer)
        if isinstance(step, bytes):
            return self._send(step)
        if step is not None:
            return step
        deadline = self._deadline if self._last_rx is None else self._last_rx + self.config.inter_character_timeout
        if (waiting := self._wait(now, min(deadline, self._phase_deadline))) is not None:
            return waiting
        first = self.config.readout_first_byte_timeout
        raise self._assembly.timeout_error(self._buffer, self._baud, first, heard=self._last_rx is not None)

    def _lone(self, byte: int) -> bool:
        """A single ACK or NAK and no message: the meter's verdict on what we sent."""
        return frame_start(self._buffer) < 0 and byte in self._buffer

    # --- the exchange -----------------------------------------------------------------------------------------

    def _begin(self, now: float, *, unsolicited: bool) -> Action:
        self._expect(State.OPERAND)  # the operand's deadlines start at the first look, once the line has switched
        return self._on_operand(now) if unsolicited else Wait(now)

    def _on_operand(self, now: float) -> Action:
        if self._lone(NAK):
            raise ProgrammingRefusedError("The meter refused programming mode (NAK to the option select ACK 0 Z 1)")
        try:
            got = self._receive(now)
        except MeterError as error:
            return self._fail(now, error)  # no operand at the new speed: once more at 300 Bd
        if not isinstance(got, Message):
            return got
        if got.command != OPERAND:
            what = f"command {got.command}" if got.command else "a data message (its readout?)"
            raise FramingError(f"The meter answered programming mode with {what} instead of the operand P0")
        if self.config.password:
            password = build_command(PASSWORD, f"({self.config.password})".encode("ascii"))
            return self._command_then(now, password, State.PASSWORD)
        return self._command_then(now, self._request, State.ANSWER)

    def _command_then(self, now: float, command: bytes, then: State) -> Action:
        self._command, self._then = command, then
        return self._enter(State.COMMAND, now, now + self._reaction_time())

    def _on_command(self, now: float) -> Action:
        if (waiting := self._wait(now, self._deadline)) is not None:
            return waiting
        self._buffer.clear()
        self._t_command = now
        self._expect(self._then)
        return self._send(self._command, drain=True)

    def _on_password(self, now: float) -> Action:
        if self._lone(ACK):
            return self._command_then(now, self._request, State.ANSWER)
        if self._lone(NAK):
            return self._break(now, ProgrammingRefusedError("The meter refused the password (NAK to P1)"))
        try:
            got = self._receive(now)
        except MeterError:
            return self._break(now, ProgrammingRefusedError("The meter did not acknowledge the password (P1)"))
        if not isinstance(got, Message):
            return got
        text = got.block.decode("ascii", "replace").strip()
        return self._break(now, ProgrammingRefusedError(f"The meter refused the password: {text!r}"))

    def _on_answer(self, now: float) -> Action:
        if self._lone(NAK):
            if self._command_naks < MAX_NAKS:  # §6.3.6: a NAK asks for the command again
                self._command_naks += 1
                return self._command_then(now, self._request, State.ANSWER)
            return self._break(now, ProgrammingRefusedError("The meter refused R5 P.01 (NAK, three times)"))
        try:
            got = self._receive(now)
        except MeterError as error:
            return self._break(now, error)
        if not isinstance(got, Message):
            return got
        if b"ERROR" in got.block.upper():
            text = got.block.decode("ascii", "replace").strip()
            return self._break(now, ProgrammingRefusedError(f"The meter has no load profile P.01 to give: {text!r}"))
        try:
            return self._break(now, parse_profile(got.block))
        except FramingError as error:
            return self._break(now, error)

    def _break(self, now: float, outcome: LoadProfile | MeterError) -> Action:
        self._outcome = outcome
        self._break_sent = False
        return self._enter(State.BREAK, now, now + self._reaction_time())

    def _on_break(self, now: float) -> Action:
        if not self._break_sent:
            if (waiting := self._wait(now, self._deadline)) is not None:
                return waiting
            self._break_sent = True
            return self._send(build_command(BREAK), drain=True)
        if isinstance(self._outcome, MeterError):
            raise self._outcome
        assert self._outcome is not None
        return self._done(replace(self._outcome, timings=self._timings(now, self._t_command)))


ProfileSession._HANDLERS = {
    **SIGN_ON_HANDLERS,
    State.OPERAND: ProfileSession._on_operand,
    State.COMMAND: ProfileSession._on_command,
    State.PASSWORD: ProfileSession._on_password,
    State.ANSWER: ProfileSession._on_answer,
    State.BREAK: ProfileSession._on_break,
}
