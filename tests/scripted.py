"""Drive a sans-IO machine (session, mode D, detection) with scripted bytes and a fake clock: no port, no real
time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from custom_components.e450.wire.actions import Action, Configure, Done, Drain, Send, Wait
from custom_components.e450.wire.iec62056.session import wire_time
from custom_components.e450.wire.models import PushMeter, Readout


class Machine(Protocol):
    @property
    def baud(self) -> int: ...

    def receive_data(self, data: bytes, now: float) -> None: ...

    def next_action(self, now: float) -> Action: ...


# respond(sent bytes, time, baud of the line) -> bytes to deliver, as (delay after now, data) pairs
Responder = Callable[[bytes, float, int], list[tuple[float, bytes]]]


@dataclass
class Script:
    session: Machine
    incoming: list[tuple[float, bytes]] = field(default_factory=list)
    respond: Responder | None = None
    limit: float = 3600.0
    now: float = 0.0
    actions: list[tuple[float, Action]] = field(default_factory=list)

    @property
    def sent(self) -> list[bytes]:
        return [action.data for _, action in self.actions if isinstance(action, Send)]

    @property
    def configured(self) -> list[Configure]:
        return [action for _, action in self.actions if isinstance(action, Configure)]

    def run(self) -> Readout:
        result = self.result()
        assert isinstance(result, Readout)
        return result

    def result(self) -> Readout | PushMeter:
        last_sent = b""
        steps = 0
        while True:
            steps += 1
            assert steps < 100_000, "session does not terminate"
            assert self.now <= self.limit, "session exceeded the simulated time limit"
            action = self.session.next_action(self.now)
            self.actions.append((self.now, action))
            if isinstance(action, Done):
                return action.result
            if isinstance(action, Send):
                last_sent = action.data
                if self.respond is not None:
                    replies = self.respond(action.data, self.now, self.session.baud)
                    self.incoming.extend((self.now + delay, data) for delay, data in replies)
            elif isinstance(action, Drain):
                self.now += wire_time(len(last_sent), self.session.baud)
            elif isinstance(action, Wait):
                self.incoming.sort(key=lambda item: item[0])
                if self.incoming and self.incoming[0][0] <= action.deadline:
                    at, data = self.incoming.pop(0)
                    self.now = max(self.now, at)
                    self.session.receive_data(data, self.now)
                else:
                    assert action.deadline > self.now or action.deadline == self.now
                    self.now = max(self.now, action.deadline)


def run_script(session: Machine, incoming: list[tuple[float, bytes]]) -> Readout:
    return Script(session, list(incoming)).run()
