"""Reading a meter with the DLMS/COSEM client over a port: :mod:`...port` runs the machine and always closes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from ...errors import ClientProblem, DlmsClientError
from ...iec62056.frames import INITIAL_BAUD
from ...models import LoadProfile, Readout
from ...obis import normalize_address
from ...port import run_on_port
from ..units import Scaling
from .client import DlmsClient
from .config import ClientConfig
from .cosem import DATA
from .get import Attribute
from .profile import LOAD_PROFILE, ProfileRead
from .reading import ObjectList, RegisterRead
from .shortname import ShortNames

PUBLIC_CLIENT: Final = 16  # reads without authentication, in every meter (Green Book §4.1.3.4)
FRAME_COUNTER: Final = "0-0:43.1.0"  # the invocation counter the meter expects (IDIS, DSMR)


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


@dataclass(frozen=True, slots=True)
class ClientRead:
    """A register read and what the caller keeps from it: what the object list offered (when the read began with
    it: a config with neither registers nor offered ones, docs/dlms-client.md §4.1) and, with HLS-GMAC, the next
    invocation counter ours may use (docs/dlms-client.md §2.3)."""

    readout: Readout
    object_list: ObjectList | None
    invocation_counter: int | None


async def read_client(
    port: str,
    config: ClientConfig | None = None,
    scalers: dict[Attribute, Scaling | None] | None = None,
    names: ShortNames | None = None,
) -> ClientRead:
    """:func:`read_dlms`, with what the caller keeps across reads (over short names too: the object list is the SN
    association's then)."""
    config = config or ClientConfig()
    read = RegisterRead(config.registers, scalers, config.offered)
    client = DlmsClient(config, read.scalers, read, names)
    result = await _run(port, client)
    assert isinstance(result, Readout)
    counter = client.ciphering.invocation_counter if client.ciphering is not None else None
    return ClientRead(result, read.object_list, counter)


async def read_invocation_counter(port: str, config: ClientConfig, code: str = FRAME_COUNTER) -> int:
    """The meter's frame counter for the ciphered client, read by the public client before the ciphered
    association (its data object ``code``, 0-0:43.1.0 unless the meter keeps one per client): the last invocation
    counter the meter accepted. Raises :class:`~..errors.DlmsClientError` when the meter has no such number."""
    public = replace(
        config, link=replace(config.link, client=PUBLIC_CLIENT), password=None, keys=None, offered=((DATA, code),)
    )
    readout = await read_dlms(port, public)
    found = readout.number(normalize_address(code)[0])
    if found is None or not isinstance(found.value, int):
        raise DlmsClientError(ClientProblem.OBJECT_UNAVAILABLE, f"no frame counter at {code}")
    return found.value


async def next_invocation_counter(port: str, config: ClientConfig) -> int:
    """The first invocation counter the meter accepts from the ciphered client: one above its frame counter, or
    ``config.invocation_counter`` when that is higher; 0 for a meter without a frame counter."""
    try:
        counter = await read_invocation_counter(port, config) + 1
    except DlmsClientError as err:
        if err.reason is not ClientProblem.OBJECT_UNAVAILABLE:
            raise
        counter = 0
    return max(counter, config.invocation_counter)


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
    return (await read_profile_counted(port, start, end, config, code, scalers, names))[0]


async def read_profile_counted(
    port: str,
    start: datetime,
    end: datetime,
    config: ClientConfig | None = None,
    code: str = LOAD_PROFILE,
    scalers: dict[Attribute, Scaling | None] | None = None,
    names: ShortNames | None = None,
) -> tuple[LoadProfile, int | None]:
    """:func:`read_profile`, and with HLS-GMAC the next invocation counter ours may use."""
    read = ProfileRead(start, end, code, scalers)
    client = DlmsClient(config or ClientConfig(), read.scalers, read, names)
    result = await _run(port, client)
    assert isinstance(result, LoadProfile)
    return result, client.ciphering.invocation_counter if client.ciphering is not None else None


async def _run(port: str, client: DlmsClient) -> Readout | LoadProfile:
    """Mode E signs on at 300 Bd 7E1, direct HDLC opens at the configured speed, 8N1."""
    if client.config.mode_e:
        result = await run_on_port(port, client, INITIAL_BAUD, 7, "E")
    else:
        result = await run_on_port(port, client, client.config.baud, 8, "N")
    assert isinstance(result, Readout | LoadProfile)
    return result
