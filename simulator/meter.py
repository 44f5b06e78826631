"""A simulated IEC 62056-21 meter (and DLMS push meter) on a pty or a TCP port: the simulator's public face.

The meter is put together from its concepts: the line it talks on (transport.py), the plan of its faults
(faults.py), what it measures (registers.py), and either the responder that answers sign-ons (responder.py) or
the sender that pushes by itself (push_sender.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from pathlib import Path
import random

from .dlms_server import DlmsServer
from .faults import Fault, FaultPlan
from .profiles import PROFILES, MeterState, Profile
from .push_sender import PushSender
from .registers import Registers
from .responder import Responder
from .rfc2217 import Rfc2217Server
from .transport import Line

PUSH_MODES = ("D", "dlms")  # the meter talks without being asked


class MeterSimulator:
    """Serve one profile. Use ``async with`` (or start/stop); ``port`` is the path or URL for the client.

    ``fault`` may be changed while the meter runs; it takes effect with the next sign-on or push."""

    def __init__(
        self,
        profile: str | Profile = "e450",
        *,
        fault: str | None = None,
        realtime: bool = False,
        link: str | None = None,
        tcp_port: int | None = None,
        seed: int = 1,
        unplug_every: float = 20.0,
        unplug_for: float = 5.0,
        address: str = "",
        frozen: bool = False,
        fixed_baud: int | None = None,
        rfc2217: bool = False,
        answer_masks: bool = True,
    ) -> None:
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.rng = random.Random(seed)
        self._faults = FaultPlan(fault, self.rng)
        self.state = MeterState(seed=seed)
        self.unplug_every = unplug_every
        self.unplug_for = unplug_for
        self._realtime = realtime
        self._address = address
        self._line = Line(self._faults, realtime=realtime, link=link, tcp_port=tcp_port, fixed_baud=fixed_baud)
        # an RFC 2217 server (as ser2net) in front of the meter's pty: the client gets its URL
        self.bridge = Rfc2217Server("", answer_masks=answer_masks) if rfc2217 else None
        self._registers = Registers(self.profile, self.state, self._faults, frozen=frozen)
        self._responder: Responder | None = None
        self._sender: PushSender | None = None
        self.dlms: DlmsServer | None = None
        if self.profile.dlms_server:
            self.dlms = DlmsServer(
                self._line, self._faults, self._registers, realtime=realtime, baud=self.profile.max_baud
            )
        if self.profile.mode in PUSH_MODES:
            self._sender = PushSender(self.profile, self._line, self._faults, self._registers, realtime=realtime)
        elif self.profile.mode != "hdlc":
            self._responder = Responder(
                self.profile,
                self._line,
                self._faults,
                self._registers,
                realtime=realtime,
                address=address,
                hdlc=self.dlms.session if self.dlms is not None else None,
            )
        self._tasks: list[asyncio.Task[None]] = []

    # --- what tests and tools read ----------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The pty's path (or its link), a ``socket://`` URL or, behind the RFC 2217 bridge, its ``rfc2217://``
        URL; empty until started."""
        return self.bridge.url if self.bridge is not None else self._line.port

    @property
    def fault(self) -> Fault | None:
        return self._faults.configured

    @fault.setter
    def fault(self, name: str | None) -> None:
        self._faults.configured = name

    @property
    def realtime(self) -> bool:
        return self._realtime

    @property
    def frozen(self) -> bool:
        """Values and clock stand still: reproducible readouts for snapshot tests."""
        return self._registers.frozen

    @property
    def address(self) -> str:
        """The device address a request must carry, if it carries one; empty: the meter answers any."""
        return self._address

    @property
    def readouts(self) -> int:
        """Readouts, telegrams and pushes sent (a damaged one counts too)."""
        return self._registers.readouts

    @property
    def requests(self) -> int:
        """Sign-on requests addressed to this meter; a push meter is never asked."""
        return self._responder.requests if self._responder is not None else 0

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def __aenter__(self) -> MeterSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self._line.open()
        if self.bridge is not None:
            self.bridge.device = self._line.port
            await self.bridge.start()
        if self._line.on_pty:
            self._spawn(self._line.watch())
            if self._faults.unplugs():
                self._spawn(self._unplug_cycle())
        if self._sender is not None:
            self._spawn(self._sender.serve())
        elif self._responder is not None:
            self._spawn(self._responder.serve())
        else:
            assert self.dlms is not None
            self._spawn(self.dlms.serve())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.bridge is not None:
            await self.bridge.stop()
        await self._line.close()

    def _spawn(self, coro: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    # --- the adapter coming and going (pty only) --------------------------------------------------------------

    def unplug(self) -> None:
        """The adapter disappears: the pty closes (the client's fd hangs up) and the link path vanishes."""
        self._line.unplug()

    def replug(self) -> None:
        """The adapter comes back, at the same link path (a new pty behind it)."""
        self._line.replug()

    async def _unplug_cycle(self) -> None:
        while True:
            await asyncio.sleep(self.unplug_every)
            self.unplug()
            await asyncio.sleep(self.unplug_for)
            self.replug()


async def serve_forever(simulator: MeterSimulator, on_ready: Callable[[str], None]) -> None:
    """Run until cancelled (the command line's main loop)."""
    async with simulator:
        on_ready(simulator.port)
        await asyncio.Event().wait()


def default_link(name: str) -> Path:
    return Path(f"/tmp/e450-sim-{name}")
