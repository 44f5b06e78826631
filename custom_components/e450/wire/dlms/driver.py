"""Reading a meter with the DLMS/COSEM client over a port: :mod:`..port` runs the machine and always closes."""

from __future__ import annotations

from datetime import datetime

from ..iec62056.frames import INITIAL_BAUD
from ..models import LoadProfile, Readout
from ..port import run_on_port
from .client import ClientConfig, DlmsClient
from .get import Attribute
from .profile import LOAD_PROFILE, ProfileRead
from .reading import ObjectList, RegisterRead
from .units import Scaling


async def read_dlms(
    port: str, config: ClientConfig | None = None, scalers: dict[Attribute, Scaling | None] | None = None
) -> Readout:
    """One association with the meter on ``port`` (a path or a URL such as ``socket://host:port``): mode E signs
    on at 300 Bd 7E1, direct HDLC opens at the configured speed, 8N1. ``scalers`` persists across reads."""
    result = await _run(port, DlmsClient(config or ClientConfig(), scalers))
    assert isinstance(result, Readout)
    return result


async def read_object_list(
    port: str, config: ClientConfig | None = None, scalers: dict[Attribute, Scaling | None] | None = None
) -> tuple[Readout, ObjectList | None]:
    """:func:`read_dlms`, and what the association's object list offered when the read began with it (a config
    with neither registers nor offered ones: docs/dlms-client.md §4.3)."""
    config = config or ClientConfig()
    read = RegisterRead(config.registers, scalers, config.offered)
    result = await _run(port, DlmsClient(config, read.scalers, read))
    assert isinstance(result, Readout)
    return result, read.object_list


async def read_profile(
    port: str,
    start: datetime,
    end: datetime,
    config: ClientConfig | None = None,
    code: str = LOAD_PROFILE,
    scalers: dict[Attribute, Scaling | None] | None = None,
) -> LoadProfile:
    """The entries of the profile generic ``code`` between ``start`` and ``end`` (meter time, both included)."""
    read = ProfileRead(start, end, code, scalers)
    result = await _run(port, DlmsClient(config or ClientConfig(), read.scalers, read))
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
