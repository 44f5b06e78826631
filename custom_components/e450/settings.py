"""A config entry's settings, typed: the one place that turns entry data and options into what the code uses.

Keys and defaults are those of :mod:`.const`; entries made by every earlier version read the same way (an entry
without a transport reads an IEC 62056-21 meter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
import re
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry

from .anomalies import Thresholds
from .const import (
    CONF_ADDRESS_SIZE,
    CONF_AUTHENTICATION_KEY,
    CONF_BACKFILL,
    CONF_CLIENT,
    CONF_CLOCK_DRIFT,
    CONF_CONTRACT_POWER,
    CONF_DEVICE_ADDRESS,
    CONF_DLMS_BAUD,
    CONF_DLMS_FRAMING,
    CONF_DLMS_PARITY,
    CONF_DLMS_PROFILE,
    CONF_ENCRYPTION_KEY,
    CONF_FUSE_CURRENT,
    CONF_INVOCATION_COUNTER,
    CONF_LINK_LOST_MINUTES,
    CONF_LOGICAL,
    CONF_MAX_BAUD,
    CONF_MODE_E,
    CONF_NOMINAL_FREQUENCY,
    CONF_NOMINAL_VOLTAGE,
    CONF_PASSWORD,
    CONF_PHYSICAL,
    CONF_PORT,
    CONF_REGISTERS,
    CONF_SCALES,
    CONF_SCAN_INTERVAL,
    CONF_SWITCH_DELAY,
    CONF_SYSTEM_TITLE,
    CONF_TRANSPORT,
    CONF_VOLTAGE_TOLERANCE,
    CONF_WAKE_UP,
    DEFAULT_BACKFILL,
    DEFAULT_CLIENT,
    DEFAULT_CLOCK_DRIFT_MINUTES,
    DEFAULT_LINK_LOST_MINUTES,
    DEFAULT_LOGICAL,
    DEFAULT_MAX_BAUD,
    DEFAULT_NOMINAL_FREQUENCY,
    DEFAULT_NOMINAL_VOLTAGE,
    DEFAULT_PHYSICAL,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_SWITCH_DELAY_MS,
    DEFAULT_VOLTAGE_TOLERANCE,
    DLMS_PROFILE_AUTO,
    TRANSPORT_CLIENT,
    TRANSPORT_DLMS,
)
from .household import Limits
from .wire import PushDecoder, PushMeter, SessionConfig
from .wire.dlms.client.config import DIRECT_BAUD, ClientConfig
from .wire.dlms.client.hdlc_link import LinkSettings
from .wire.dlms.client.hls import DEFAULT_SYSTEM_TITLE, ClientKeys
from .wire.framing import Framing

MAX_USER_EXPONENT: Final = 6


def merged(entry: ConfigEntry) -> dict[str, Any]:
    """The entry's effective values: options override the data the flow stored."""
    return {**entry.data, **entry.options}


def is_push(values: Mapping[str, Any]) -> bool:
    """The values describe a meter that pushes DLMS/COSEM (rather than one that answers IEC 62056-21)."""
    return values.get(CONF_TRANSPORT) == TRANSPORT_DLMS


def scan_interval(values: Mapping[str, Any]) -> timedelta:
    """Time between reads (or, for a push meter, between publications)."""
    default = DEFAULT_PUBLISH_INTERVAL if is_push(values) else DEFAULT_SCAN_INTERVAL
    return timedelta(seconds=int(values.get(CONF_SCAN_INTERVAL, default.seconds)))


def session_config(values: Mapping[str, Any]) -> SessionConfig:
    """IEC 62056-21 session settings from entry values (or a flow's settings)."""
    return SessionConfig(
        max_baud=int(values.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD)),
        address=str(values.get(CONF_DEVICE_ADDRESS) or ""),
        wake_up=bool(values.get(CONF_WAKE_UP, False)),
        switch_delay=float(values.get(CONF_SWITCH_DELAY, DEFAULT_SWITCH_DELAY_MS)) / 1000,
    )


def is_client(values: Mapping[str, Any]) -> bool:
    """The values describe a meter our DLMS/COSEM client reads (mode E or direct HDLC)."""
    return values.get(CONF_TRANSPORT) == TRANSPORT_CLIENT


def client_keys(values: Mapping[str, Any]) -> ClientKeys | None:
    """HLS-GMAC's keys and our system title, when the values have both keys."""
    ek, ak = values.get(CONF_ENCRYPTION_KEY), values.get(CONF_AUTHENTICATION_KEY)
    if not ek or not ak:
        return None
    title = values.get(CONF_SYSTEM_TITLE)
    return ClientKeys(bytes.fromhex(ek), bytes.fromhex(ak), bytes.fromhex(title) if title else DEFAULT_SYSTEM_TITLE)


def client_config(values: Mapping[str, Any]) -> ClientConfig:
    """DLMS/COSEM client settings from entry values (or a flow's settings): addresses, password or keys, mode E,
    the registers the object list offered (none kept: the object list is read first)."""
    password = str(values.get(CONF_PASSWORD) or "")
    mode_e = bool(values.get(CONF_MODE_E, False))
    max_baud = int(values.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))
    offered = tuple((int(class_id), str(code)) for class_id, code in values.get(CONF_REGISTERS) or ())
    return ClientConfig(
        link=LinkSettings(
            client=int(values.get(CONF_CLIENT, DEFAULT_CLIENT)),
            logical=int(values.get(CONF_LOGICAL, DEFAULT_LOGICAL)),
            physical=int(values.get(CONF_PHYSICAL, DEFAULT_PHYSICAL)),
            address_size=int(values.get(CONF_ADDRESS_SIZE) or 0) or None,
        ),
        password=password or None,
        keys=client_keys(values),
        invocation_counter=int(values.get(CONF_INVOCATION_COUNTER, 0)),
        registers=(),
        offered=offered,
        mode_e=mode_e,
        # mode E: the cap for the speed agreed at the sign-on; direct HDLC: the optical port's 9600 Bd
        baud=max_baud if mode_e else DIRECT_BAUD,
        session=session_config(values),
    )


def push_settings(found: PushMeter) -> dict[str, Any]:
    """An entry's settings for the push meter detection found."""
    return {
        CONF_TRANSPORT: TRANSPORT_DLMS,
        CONF_DLMS_BAUD: found.baud,
        CONF_DLMS_PARITY: found.parity,
        CONF_DLMS_FRAMING: str(found.framing),
    }


def push_profile(values: Mapping[str, Any]) -> str | None:
    """The positional layout the options force, ``None`` for "chosen by the body's signature"."""
    profile = values.get(CONF_DLMS_PROFILE) or DLMS_PROFILE_AUTO
    return None if profile == DLMS_PROFILE_AUTO else str(profile)


def push_decoder(values: Mapping[str, Any]) -> PushDecoder:
    """A decoder with the entry's (or a flow's) keys, layout profile and the user's scales."""
    ek, ak = values.get(CONF_ENCRYPTION_KEY), values.get(CONF_AUTHENTICATION_KEY)
    framing = Framing(values.get(CONF_DLMS_FRAMING) or Framing.AUTO)
    return PushDecoder(
        bytes.fromhex(ek) if ek else None,
        bytes.fromhex(ak) if ak else None,
        push_profile(values),
        framing,
        user_scales(values),
    )


_SCALE = re.compile(r"\s*(?:\d{1,3}-\d{1,3}:)?(\d{1,3}\.\d{1,3}\.\d{1,3})\s*=\s*([+-]?\d)\s*")


def user_scales(values: Mapping[str, Any]) -> dict[str, int]:
    """The user's scales, ``{code: exponent}``."""
    return {str(code): int(exponent) for code, exponent in (values.get(CONF_SCALES) or {}).items()}


def parse_scales(text: str) -> dict[str, int]:
    """``1.8.0=1, 31.7.0=-3`` (the options' text) as ``{code: exponent}``; exponents from -6 to 6. Raises
    ``ValueError`` naming the part it cannot read."""
    scales: dict[str, int] = {}
    for part in filter(str.strip, re.split(r"[,;\n]", text)):
        match = _SCALE.fullmatch(part)
        if match is None or abs(int(match[2])) > MAX_USER_EXPONENT:
            raise ValueError(part.strip())
        scales[match[1]] = int(match[2])
    return scales


def format_scales(scales: Mapping[str, int]) -> str:
    """The options' text for ``scales``."""
    return ", ".join(f"{code}={exponent}" for code, exponent in sorted(scales.items()))


def thresholds(values: Mapping[str, Any]) -> Thresholds:
    """Anomaly limits from the options."""
    return Thresholds(
        nominal_voltage=float(values.get(CONF_NOMINAL_VOLTAGE, DEFAULT_NOMINAL_VOLTAGE)),
        voltage_tolerance=float(values.get(CONF_VOLTAGE_TOLERANCE, DEFAULT_VOLTAGE_TOLERANCE)),
        nominal_frequency=float(values.get(CONF_NOMINAL_FREQUENCY, DEFAULT_NOMINAL_FREQUENCY)),
    )


def limits(values: Mapping[str, Any]) -> Limits:
    """The household's own limits; 0 (or nothing) means not set."""
    fuse = float(values.get(CONF_FUSE_CURRENT) or 0)
    contract = float(values.get(CONF_CONTRACT_POWER) or 0)
    return Limits(
        fuse_current=fuse or None,
        contract_power=contract or None,
        nominal_voltage=float(values.get(CONF_NOMINAL_VOLTAGE, DEFAULT_NOMINAL_VOLTAGE)),
    )


@dataclass(frozen=True, slots=True)
class PushLine:
    """Where a push meter's pushes arrive: 8 data bits, this parity, one stop bit."""

    baud: int
    parity: str


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything an entry's coordinator needs, read once per change of options."""

    port: str
    scan_interval: timedelta
    thresholds: Thresholds
    limits: Limits
    clock_drift_minutes: float
    link_lost_after: timedelta
    session: SessionConfig  # IEC 62056-21 meters
    client: ClientConfig | None  # meters read by the DLMS/COSEM client
    backfill: bool  # fill the statistics' gaps from the load profile (where the meter has one we can read)
    push: PushLine | None  # push meters
    profile: str | None  # push meters: the layout the options force

    @classmethod
    def of(cls, entry: ConfigEntry) -> Settings:
        """The entry's settings, options applied."""
        values = merged(entry)
        push = PushLine(int(values[CONF_DLMS_BAUD]), str(values[CONF_DLMS_PARITY])) if is_push(values) else None
        return cls(
            port=str(entry.data[CONF_PORT]),
            scan_interval=scan_interval(values),
            thresholds=thresholds(values),
            limits=limits(values),
            clock_drift_minutes=float(values.get(CONF_CLOCK_DRIFT, DEFAULT_CLOCK_DRIFT_MINUTES)),
            link_lost_after=timedelta(minutes=float(values.get(CONF_LINK_LOST_MINUTES, DEFAULT_LINK_LOST_MINUTES))),
            session=session_config(values),
            client=client_config(values) if is_client(values) else None,
            backfill=bool(values.get(CONF_BACKFILL, DEFAULT_BACKFILL)),
            push=push,
            profile=push_profile(values),
        )
