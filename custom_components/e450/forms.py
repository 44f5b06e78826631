"""The flows' forms: schemas, what a user typed turned into settings, and the placeholders every text may use."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any, Final

from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector

from .compat import vol
from .const import (
    ADDRESS_SIZES,
    AUTO_DETECT,
    BAUD_CHOICES,
    CONF_ADDRESS_SIZE,
    CONF_ADVANCED,
    CONF_AUTHENTICATION_KEY,
    CONF_CLIENT,
    CONF_DEVICE_ADDRESS,
    CONF_DLMS_BAUD,
    CONF_DLMS_FRAMING,
    CONF_DLMS_PARITY,
    CONF_ENCRYPTION_KEY,
    CONF_LOGICAL,
    CONF_MAX_BAUD,
    CONF_PASSWORD,
    CONF_PHYSICAL,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SYSTEM_TITLE,
    CONF_WAKE_UP,
    DEFAULT_CLIENT,
    DEFAULT_LOGICAL,
    DEFAULT_MAX_BAUD,
    DEFAULT_PHYSICAL,
    PROTOCOL_AUTO,
    PROTOCOLS,
)
from .ports import SerialPort, preferred_port
from .scales import in_base
from .wire import Readout
from .wire.dlms.client.reading import ObjectList
from .wire.framing.hdlc import server_address
from .wire.models import Scale
from .wire.obis import OBIS, Kind, normalize_address


def form_placeholders(**values: str) -> dict[str, str]:
    """Every placeholder an error text of the flows' forms may use, empty unless given."""
    keys = ("port", "bridge", "detail", "baud", "framing", "frames", "seconds", "system_title", "meter", "error")
    return dict.fromkeys(keys, "") | values


def address_error(address: str) -> bool:
    """A device address the sign-on request cannot carry (IEC 62056-21:2002 §6.3.1)."""
    return any(char in address for char in "/!?") or not address.isprintable() or len(address) > 32


def _max_baud_selector() -> Any:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=[str(baud) for baud in BAUD_CHOICES], mode=selector.SelectSelectorMode.DROPDOWN
        )
    )


def max_baud_schema(default: int) -> Any:
    """The maximum baud rate alone (a bridge at a fixed speed, config_flow's bridge_speed step)."""
    return vol.Schema({vol.Required(CONF_MAX_BAUD, default=str(default)): _max_baud_selector()})


def _advanced_schema(defaults: dict[str, Any], *, protocol: bool) -> Any:
    schema = vol.Schema(
        {
            vol.Required(CONF_MAX_BAUD, default=str(defaults.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))): (
                _max_baud_selector()
            ),
            vol.Optional(
                CONF_DEVICE_ADDRESS, description={"suggested_value": defaults.get(CONF_DEVICE_ADDRESS, "")}
            ): selector.TextSelector(),
            vol.Required(CONF_WAKE_UP, default=bool(defaults.get(CONF_WAKE_UP, False))): selector.BooleanSelector(),
        }
    )
    if not protocol:  # a reconfiguration keeps the way the meter is read
        return schema
    protocols = selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=list(PROTOCOLS), mode=selector.SelectSelectorMode.DROPDOWN, translation_key="protocol"
        )
    )
    return schema.extend({vol.Required(CONF_PROTOCOL, default=PROTOCOL_AUTO): protocols})


_HEX_KEY = re.compile(r"[0-9A-Fa-f]{32}")


def key_text(value: Any) -> str:
    """A key as typed (spaces, colons, ``0x`` allowed) as 32 uppercase hex digits, or ``""``."""
    text = re.sub(r"[\s:]|0x", "", str(value or ""))
    return text.upper() if _HEX_KEY.fullmatch(text) else ""


def keys_schema() -> Any:
    secret = selector.TextSelector(selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD))
    return vol.Schema({vol.Required(CONF_ENCRYPTION_KEY): secret, vol.Optional(CONF_AUTHENTICATION_KEY): secret})


def clean_keys(user_input: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """``(keys, errors)`` from the key form; an empty authentication key means "none"."""
    keys = {CONF_ENCRYPTION_KEY: key_text(user_input.get(CONF_ENCRYPTION_KEY))}
    errors = {} if keys[CONF_ENCRYPTION_KEY] else {CONF_ENCRYPTION_KEY: "invalid_key"}
    authentication = str(user_input.get(CONF_AUTHENTICATION_KEY) or "").strip()
    keys[CONF_AUTHENTICATION_KEY] = key_text(authentication) if authentication else ""
    if authentication and not keys[CONF_AUTHENTICATION_KEY]:
        errors[CONF_AUTHENTICATION_KEY] = "invalid_key"
    return keys, errors


def clean_settings(user_input: dict[str, Any]) -> dict[str, Any]:
    advanced = user_input.get(CONF_ADVANCED, {})
    return {
        CONF_MAX_BAUD: int(advanced.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD)),
        CONF_DEVICE_ADDRESS: str(advanced.get(CONF_DEVICE_ADDRESS) or "").strip(),
        CONF_WAKE_UP: bool(advanced.get(CONF_WAKE_UP, False)),
    }


def chosen_protocol(user_input: Mapping[str, Any]) -> str:
    """How the user wants the meter talked to (advanced settings): automatic, or the DLMS client."""
    return str(user_input.get(CONF_ADVANCED, {}).get(CONF_PROTOCOL, PROTOCOL_AUTO))


def port_schema(
    ports: list[SerialPort],
    settings: dict[str, Any],
    user_input: dict[str, Any] | None,
    *,
    auto_detect: bool = True,
    current: str = "",
) -> Any:
    """The port form: a port picker (with "detect automatically") and the collapsed advanced settings."""
    options = [selector.SelectOptionDict(value=port.path, label=port.label) for port in ports]
    if auto_detect:
        options.append(selector.SelectOptionDict(value=AUTO_DETECT, label=AUTO_DETECT))
    # never a built-in UART (/dev/ttyS0) by default: the one USB adapter, else "detect automatically"
    preferred = preferred_port(ports) or (AUTO_DETECT if auto_detect else "")
    default = (user_input or {}).get(CONF_PORT) or current or preferred
    # A select with custom values on every HA version: it carries "Detect automatically" and URLs typed by
    # hand (socket://host:port, rfc2217://…), which HA 2026.5's serial port selector cannot offer.
    port_selector = selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options,
            custom_value=True,
            mode=selector.SelectSelectorMode.DROPDOWN,
            translation_key="port",
        )
    )
    return vol.Schema(
        {
            vol.Required(CONF_PORT, default=default): port_selector,
            vol.Required(CONF_ADVANCED): section(_advanced_schema(settings, protocol=auto_detect), {"collapsed": True}),
        }
    )


def push_placeholders(
    readout: Readout, settings: Mapping[str, Any], maker: str | None, serial: str, port: str
) -> dict[str, str]:
    """What the confirmation of a push meter shows: who, where, line settings, security, layout and framing."""
    info = readout.push
    assert info is not None
    layout = info.layout + (f" ({info.profile})" if info.profile else "") if info.layout else "?"
    return {
        "manufacturer": maker or "?",
        "serial": serial,
        "port": port,
        "baud": str(settings[CONF_DLMS_BAUD]),
        "framing": f"8{settings[CONF_DLMS_PARITY]}1",
        "security": info.security + (f" (tag {info.tag})" if info.tag else ""),
        "layout": f"{layout}, {str(settings.get(CONF_DLMS_FRAMING, 'hdlc')).upper()}",
        "values": str(len(readout.readings)),
        **energy_placeholders(readout),
    }


_DISPLAY_ENERGY: Final = (("energy", "kWh"), ("reactive_energy", "kvarh"), ("apparent_energy", "kVAh"))


def _as_displayed(value: float, unit: str | None) -> str:
    """An energy as a meter's display shows it: in kWh (kvarh, kVAh), three decimals."""
    for family, shown in _DISPLAY_ENERGY:
        if (base := in_base(value, unit, family)) is not None:
            return f"{base / 1000:,.3f} {shown}"
    return f"{value} {unit or ''}".rstrip()


def energy_placeholders(readout: Readout) -> dict[str, str]:
    """The energy registers as they will be shown, grouped by where their scale came from, for the user to compare
    with the meter's display before creating the entry (docs/scaling.md §5)."""
    found: dict[str, list[str]] = {"energy_sent": [], "energy_convention": [], "energy_checked": [], "energy_held": []}
    conventions = set()
    for code, reading in readout.readings.items():
        quantity = OBIS.get(code)
        if quantity is None or quantity.kind is not Kind.ENERGY:
            continue
        scale = readout.scale(code)
        shown = f"{code} = {_as_displayed(float(reading.value), reading.unit)}"
        if scale is Scale.CONVENTION:
            found["energy_convention"].append(shown)
            conventions.add(readout.scales[code].source or "")
        elif scale in (Scale.CHECKED, Scale.CORRECTED):
            found["energy_checked"].append(shown)
        else:
            found["energy_sent"].append(shown)
    for code, held in readout.withheld.items():
        quantity = OBIS.get(code)
        if quantity is not None and quantity.kind is Kind.ENERGY:
            found["energy_held"].append(f"{code} ({held.raw})")
    placeholders = {key: ", ".join(values) or "-" for key, values in found.items()}
    placeholders["convention"] = ", ".join(sorted(filter(None, conventions))) or "-"
    return placeholders


def offered(listed: ObjectList) -> dict[str, str]:
    """The confirmation's counts: objects the association lists, registers read from them, and how many of those
    have a meaning of their own (a sensor each; the others are disabled diagnostic sensors)."""
    known = [
        code for _, code in listed.registers if (quantity := OBIS.get(normalize_address(code)[0])) and quantity.name
    ]
    return {"objects": str(listed.objects), "registers": str(len(listed.registers)), "sensors": str(len(known))}


def client_schema(values: Mapping[str, Any]) -> Any:
    """The DLMS client's addresses and credentials, asked for when the public client is refused or not answered:
    a password (LLS) or HLS-GMAC's keys (and our system title, when the utility gave one)."""
    number = selector.NumberSelector(
        selector.NumberSelectorConfig(min=1, max=0x3FFF, mode=selector.NumberSelectorMode.BOX)
    )
    secret = selector.TextSelector(selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD))
    sizes = selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=[str(size) for size in ADDRESS_SIZES],
            mode=selector.SelectSelectorMode.DROPDOWN,
            translation_key="address_size",
        )
    )
    return vol.Schema(
        {
            vol.Required(CONF_CLIENT, default=int(values.get(CONF_CLIENT, DEFAULT_CLIENT))): number,
            vol.Optional(CONF_PASSWORD): secret,
            vol.Optional(CONF_ENCRYPTION_KEY): secret,
            vol.Optional(CONF_AUTHENTICATION_KEY): secret,
            vol.Optional(CONF_SYSTEM_TITLE): str,
            vol.Required(CONF_LOGICAL, default=int(values.get(CONF_LOGICAL, DEFAULT_LOGICAL))): number,
            vol.Required(CONF_PHYSICAL, default=int(values.get(CONF_PHYSICAL, DEFAULT_PHYSICAL))): number,
            vol.Required(CONF_ADDRESS_SIZE, default=str(values.get(CONF_ADDRESS_SIZE) or 0)): sizes,
        }
    )


def clean_client(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, errors)`` from the client form: whole-number addresses, the password as typed (none when empty),
    both keys or neither (32 hex digits each), a system title of 16 hex digits or none, addresses that fit the
    server address size chosen."""
    values: dict[str, Any] = {
        CONF_CLIENT: int(user_input[CONF_CLIENT]),
        CONF_LOGICAL: int(user_input[CONF_LOGICAL]),
        CONF_PHYSICAL: int(user_input[CONF_PHYSICAL]),
        CONF_ADDRESS_SIZE: int(user_input.get(CONF_ADDRESS_SIZE) or 0),
        CONF_PASSWORD: str(user_input.get(CONF_PASSWORD) or ""),
        CONF_ENCRYPTION_KEY: "",
        CONF_AUTHENTICATION_KEY: "",
        CONF_SYSTEM_TITLE: "",
    }
    errors: dict[str, str] = {}
    typed = {name: str(user_input.get(name) or "").strip() for name in (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY)}
    if any(typed.values()):
        for name, text in typed.items():
            values[name] = key_text(text)
            if not values[name]:
                errors[name] = "invalid_key"  # HLS-GMAC needs both keys
    title = re.sub(r"[\s:]", "", str(user_input.get(CONF_SYSTEM_TITLE) or ""))
    if title and not re.fullmatch(r"[0-9A-Fa-f]{16}", title):
        errors[CONF_SYSTEM_TITLE] = "invalid_system_title"
    values[CONF_SYSTEM_TITLE] = title.upper()
    size = values[CONF_ADDRESS_SIZE]
    try:
        server_address(values[CONF_LOGICAL], None if size == 1 else values[CONF_PHYSICAL], size or None)
    except ValueError:
        errors[CONF_PHYSICAL] = "address_too_large"
    return values, errors
