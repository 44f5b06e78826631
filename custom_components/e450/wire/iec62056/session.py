"""The IEC 62056-21 data readout (modes A, B and C) as a sans-IO state machine: the sign-on of :mod:`.signon`,
then one data message, possibly in partial blocks (:mod:`.assembly`), parsed into a :class:`~..models.Readout`.

Clause numbers refer to IEC 62056-21:2002; field quirks cite docs/iec62056-21.md.
"""

from __future__ import annotations

from typing import ClassVar

from ..actions import Action, Wait
from ..errors import MeterError
from ..models import BccStatus, Identification, ProtocolMode, Readout
from .assembly import MessageAssembly
from .config import DEFAULT_SWITCH_DELAY, SessionConfig
from .dataset import parse_data_block
from .signon import REACTION_TIME, SIGN_ON_HANDLERS, Handler, SignOn, State, wire_time

__all__ = ["DEFAULT_SWITCH_DELAY", "REACTION_TIME", "Session", "SessionConfig", "State", "wire_time"]


class Session(SignOn):
    """One read of one meter. Create a new session for every read."""

    _HANDLERS: ClassVar[dict[State, Handler]]

    def __init__(self, config: SessionConfig | None = None) -> None:
        super().__init__(config)
        self._assembly = MessageAssembly()

    def _after_identification(self, now: float, identification: Identification) -> Action:
        if identification.mode is ProtocolMode.A:
            return self._begin(now, unsolicited=True)
        if identification.mode is ProtocolMode.B:
            # §6.4.2: in mode B both sides switch to the announced rate right after the identification
            self._begin(now, unsolicited=False)
            self._buffer.clear()
            return self._configure(identification.max_baud)
        return super()._after_identification(now, identification)

    # --- data readout -----------------------------------------------------------------------------------------

    def _begin(self, now: float, *, unsolicited: bool) -> Action:
        self._assembly = MessageAssembly()
        self._phase_deadline = None  # set once the baud is final, see _on_readout
        self._last_rx = None
        deadline = now + self.config.readout_first_byte_timeout
        if unsolicited:
            return self._enter(State.READOUT, now, deadline)
        self._move(State.READOUT, deadline)
        return Wait(deadline)

    def _on_readout(self, now: float) -> Action:
        if self._phase_deadline is None:
            budget = wire_time(self.config.readout_budget_bytes, self._baud)
            self._phase_deadline = now + self.config.readout_first_byte_timeout + budget
        try:
            step = self._assembly.step(self._buffer)
        except MeterError as error:
            return self._fail(now, error)
        if isinstance(step, bytes):
            return self._send(step)
        if step is not None:
            return self._finish(now, step.block)
        # still waiting: for the first byte, for the next character (ta), or the overall deadline
        deadline = self._deadline if self._last_rx is None else self._last_rx + self.config.inter_character_timeout
        if (waiting := self._wait(now, min(deadline, self._phase_deadline))) is not None:
            return waiting
        if self._last_rx is not None and (block := self._assembly.ended_at_bang(self._buffer)) is not None:
            return self._finish(now, block, BccStatus.ABSENT)
        heard = self._last_rx is not None
        first = self.config.readout_first_byte_timeout
        return self._fail(now, self._assembly.timeout_error(self._buffer, self._baud, first, heard=heard))

    def _finish(self, now: float, block: bytes, bcc: BccStatus = BccStatus.OK) -> Action:
        readout = Readout(
            identification=self._identification,
            datasets=parse_data_block(block),
            bcc=bcc,
            raw=bytes(self._raw),
            timings=self._timings(now, self._t_ident),
        )
        return self._done(readout)


Session._HANDLERS = {**SIGN_ON_HANDLERS, State.READOUT: Session._on_readout}
