"""Reading a meter with the DLMS/COSEM client over a port: :mod:`...port` runs the machine and always closes."""

from __future__ import annotations

from datetime import datetime

from ...iec62056.frames import INITIAL_BAUD
from ...models import LoadProfile, Readout
from ...port import run_on_port
from ..units import Scaling
from .client import ClientConfig, DlmsClient
from .get import Attribute
from .profile import LOAD_PROFILE, ProfileRead
from .shortname import ShortNames


async def read_dlms(
    port: str,
    config: ClientConfig | None = None,
    scalers: dict[Attribute, Scaling | None] | None = None,
    names: ShortNames | None = None,
) -> Readout:
    """One association with the meter on ``port`` (a path or a URL such as ``socket://host:port``): mode E signs
    on at 300 Bd 7E1, direct HDLC opens at the configured speed, 8N1. ``scalers`` and ``names`` (a short name
    meter's object list) persist across reads."""
    result = await _run(port, DlmsClient(config or ClientConfig(), scalers, names=names))
    assert isinstance(result, Readout)
    return result


async def read_profile(
    port: str,
    start: datetime,
    end: datetime,
    config: ClientConfig | None = None,
    code: str = LOAD_PROFILE,
    scalers: dict[Attribute, Scaling | None] | None = None,
    names: ShortNames | None = None,
) -> LoadProfile:
    """The entries of the profile generic ``code`` between ``start`` and ``end`` (meter time, both included)."""
    read = ProfileRead(start, end, code, scalers)
    result = await _run(port, DlmsClient(config or ClientConfig(), read.scalers, read, names))
    assert isinstance(result, LoadProfile)
    return result


async def _run(port: str, client: DlmsClient) -> Readout | LoadProfile:
    """Mode E signs on at 300 Bd 7E1, direct HDLC opens at the configured speed, 8N1."""
    if client.config.mode_e:
        result = await run_on_port(port, client, INITIAL_BAUD, 7, "E")
    else:
        result = await run_on_port(port, client, client.config.baud, 8, "N")
    assert isinstance(result, Readout | LoadProfile)
    return result
