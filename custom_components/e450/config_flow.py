"""Config flow: pick (or detect) the optical head's port, read the meter once, confirm what was found.

A meter that does not answer IEC 62056-21 but pushes DLMS/COSEM is recognised on the way; the flow then
listens to a push (asking for the utility's keys when it is encrypted) instead of reading.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.core import callback

from .client_reads import first_read
from .compat import update_and_reload, vol
from .const import (
    AUTO_DETECT,
    CONF_ACCEPTED_SERIAL,
    CONF_ADVANCED,
    CONF_DEVICE_ADDRESS,
    CONF_DLMS_BAUD,
    CONF_DLMS_FRAMING,
    CONF_DLMS_PARITY,
    CONF_MAX_BAUD,
    CONF_MODE_E,
    CONF_PORT,
    CONF_WAKE_UP,
    DOMAIN,
    FIRST_PUSH_WAIT,
    PROTOCOL_DLMS,
)
from .coordinator import E450PushCoordinator
from .forms import (
    address_error,
    chosen_protocol,
    clean_keys,
    clean_settings,
    form_placeholders,
    keys_schema,
    offered,
    port_schema,
    push_placeholders,
)
from .messages import error_key, push_meter_key
from .meter_info import identified, maker_and_model, meter_identity, meter_serial, readout_type
from .options_flow import E450OptionsFlow
from .ports import SerialPort, list_ports, same_port
from .probe_steps import ProbeSteps
from .settings import client_config, is_client, is_push, merged, push_decoder, session_config
from .wire import DetectConfig, MeterError, PushMeter, capture_push, detect_meter
from .wire.detect import PUSH_LISTEN_SECONDS
from .wire.framing import Framing

_LOGGER = logging.getLogger(__name__)


PUSH_DETECTED = "dlms_push"  # _async_try_read's marker: the port carries pushes, listen instead of reading
FRAMES = {Framing.HDLC: "HDLC", Framing.MBUS: "M-Bus", Framing.RAW: "raw", Framing.AUTO: "?"}


class E450ConfigFlow(ProbeSteps, domain=DOMAIN):
    """Set up a meter."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        super().__init__()
        self._ports: list[SerialPort] = []
        self._candidates: list[SerialPort] = []
        self._user_input: dict[str, Any] | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose a port (listed, typed, or "detect automatically") and, if needed, advanced settings."""
        errors: dict[str, str] = {}
        placeholders = form_placeholders()
        if user_input is not None:
            self._settings = clean_settings(user_input)
            self._user_input = user_input
            port = str(user_input[CONF_PORT]).strip()
            address = self._settings[CONF_DEVICE_ADDRESS]
            if address and address_error(address):
                errors[CONF_ADVANCED] = "invalid_address"
            elif port == AUTO_DETECT:
                return await self.async_step_detect()
            elif not port:
                errors[CONF_PORT] = "port_not_found"
            elif owner := await self._async_port_owner(port):
                # serialx opens exclusively: two entries on one port would make each other's reads fail
                errors[CONF_PORT] = "port_in_use_by_entry"
                placeholders.update(port=port, detail=owner)
            else:
                return await self._async_start_probe([port])
        return await self._async_show_user_form(user_input, errors, placeholders)

    async def _async_show_user_form(
        self, user_input: dict[str, Any] | None, errors: dict[str, str], placeholders: dict[str, str]
    ) -> ConfigFlowResult:
        self._ports = await self.hass.async_add_executor_job(list_ports)
        return self.async_show_form(
            step_id="user",
            data_schema=self._user_schema(user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_show_error(self, error: str, details: dict[str, str]) -> ConfigFlowResult:
        """Back to the port form with what went wrong."""
        return await self._async_show_user_form(self._user_input, {"base": error}, form_placeholders(**details))

    async def _async_port_owner(self, port: str) -> str | None:
        """Title of the entry that already reads ``port``, if any (paths resolved in the executor)."""
        entries = [(e.title, str(e.data.get(CONF_PORT, ""))) for e in self._async_current_entries(include_ignore=False)]

        def owner() -> str | None:
            return next((title for title, used in entries if same_port(port, used)), None)

        return await self.hass.async_add_executor_job(owner)

    def _user_schema(self, user_input: dict[str, Any] | None, *, auto_detect: bool = True, current: str = "") -> Any:
        return port_schema(self._ports, self._settings, user_input, auto_detect=auto_detect, current=current)

    async def _async_try_read(self, port: str) -> tuple[str | None, dict[str, str]]:
        """A full read, for a reconfiguration: the only proof that the head, the port and the settings work
        together. ``PUSH_DETECTED`` when the meter pushes DLMS/COSEM instead of answering (``self._push`` says how).
        """
        self._push = None
        try:
            found = await detect_meter(port, DetectConfig(session_config(self._settings), listen=PUSH_LISTEN_SECONDS))
        except MeterError as err:
            _LOGGER.debug("Reading %s failed: %s", port, err)
            return error_key(err)
        except Exception:
            _LOGGER.exception("Unexpected error reading %s", port)
            return "unknown", {}
        if isinstance(found, PushMeter):
            self._use_push(found)
            return PUSH_DETECTED, {}
        self._readout = found
        return None, {}

    async def _async_try_client(self, port: str, values: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
        """A read with the DLMS/COSEM client and ``values``' settings; on success ``None``, ``self._readout`` set."""
        try:
            read, kept = await first_read(port, client_config(values))
        except MeterError as err:
            _LOGGER.debug("DLMS read of %s failed: %s", port, err)
            return error_key(err)
        self._readout, self._object_list = read.readout, read.object_list
        self._settings.update(kept)
        return None, {}

    async def async_step_detect(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask before probing, then sign on to each candidate USB serial port in turn."""
        if user_input is None:
            ports = await self.hass.async_add_executor_job(list_ports)
            in_use = [str(entry.data.get(CONF_PORT, "")) for entry in self._async_current_entries(include_ignore=False)]
            self._candidates = [
                port for port in ports if not port.is_radio and not any(same_port(port.path, used) for used in in_use)
            ]
            if not self._candidates:
                return self.async_abort(reason="no_ports")
            return self.async_show_form(
                step_id="detect",
                description_placeholders={"ports": "\n".join(f"- {port.label}" for port in self._candidates)},
            )
        self._detecting = True
        return await self._async_start_probe([port.path for port in self._candidates])

    async def _async_start_probe(self, ports: list[str]) -> ConfigFlowResult:
        detect = DetectConfig(session_config(self._settings), listen=PUSH_LISTEN_SECONDS)
        client_only = chosen_protocol(self._user_input or {}) == PROTOCOL_DLMS
        return await self._async_probe(ports, detect, client_config(self._settings), client_only=client_only)

    async def _async_found(self, port: str) -> ConfigFlowResult:
        readout = self._readout
        assert readout is not None
        serial = meter_serial(readout)
        await self.async_set_unique_id(serial)
        if (entry := self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, serial)) is not None:
            update_and_reload(self.hass, entry, {CONF_PORT: port}, only_if_changed=True)  # the meter moved ports
        self._abort_if_unique_id_configured()
        self._port = port
        if readout.push is not None:
            return await self.async_step_confirm_push()
        if self._fixed_speed_bridge():
            return await self.async_step_bridge_speed()
        return await self.async_step_confirm()

    # --- DLMS push meters ---------------------------------------------------------------------------------------

    def _needs_key(self) -> bool:
        return self._push is not None and self._push.encrypted

    async def _async_try_push(self, port: str, values: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
        """Listen for one push with ``values``' line settings and keys; on success ``None``, ``self._readout`` set."""
        try:
            # a meter pushing several lists may name itself in only some: listen until one has
            push = await capture_push(
                port,
                int(values[CONF_DLMS_BAUD]),
                str(values[CONF_DLMS_PARITY]),
                push_decoder(values),
                FIRST_PUSH_WAIT,
                wanted=identified,
            )
        except MeterError as err:
            _LOGGER.debug("No push from %s: %s", port, err)
            return error_key(err)
        if push.error is not None:
            _LOGGER.debug("Push from %s not decoded: %s", port, push.error)
            return error_key(push.error)
        assert push.readout is not None
        if not identified(push.readout):
            detail = f"pushes decode, but none named the meter within {round(FIRST_PUSH_WAIT)} s"
            return "no_meter_identity", {"seconds": str(round(FIRST_PUSH_WAIT)), "detail": detail}
        self._readout = push.readout
        return None, {}

    async def async_step_dlms_key(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the utility's encryption key (and authentication key) and prove them on a live push."""
        errors: dict[str, str] = {}
        placeholders = form_placeholders(
            baud=str(self._settings[CONF_DLMS_BAUD]),
            framing=f"8{self._settings[CONF_DLMS_PARITY]}1",
            frames=FRAMES[Framing(self._settings.get(CONF_DLMS_FRAMING, Framing.HDLC))],
            system_title=self._push.system_title.hex().upper() if self._push and self._push.system_title else "?",
        )
        if user_input is not None:
            keys, errors = clean_keys(user_input)
            if not errors:
                error, details = await self._async_try_push(self._port, {**self._settings, **keys})
                if error is None:
                    self._settings.update(keys)
                    return await self._async_found(self._port)
                errors["base"] = error
                placeholders.update(details)
        return self.async_show_form(
            step_id="dlms_key",
            data_schema=self.add_suggested_values_to_schema(keys_schema(), user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_confirm_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the push meter that was found; create the entry on confirmation."""
        readout = self._readout
        assert readout is not None and readout.push is not None
        found = meter_identity(readout)
        # the meter users know where the push names its type ("Aidon 6534"), else its maker
        who = f"{found.maker} {found.name}" if found.maker and found.name else found.maker
        if user_input is not None:
            title = who if found.name and who else f"{found.maker or 'DLMS'} {self.unique_id}"
            return self.async_create_entry(title=title.strip(), data={CONF_PORT: self._port, **self._settings})
        return self.async_show_form(
            step_id="confirm_push",
            description_placeholders=push_placeholders(
                readout, self._settings, who, found.serial or self.unique_id or "", self._port
            ),
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The meter's pushes no longer decrypt: the utility has probably changed the keys."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the new keys; prove them on the push that failed (or on a live one when the entry is down)."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders = form_placeholders(meter=entry.title)
        if user_input is not None:
            keys, errors = clean_keys(user_input)
            if not errors:
                values = {**merged(entry), **keys}
                coordinator = entry.runtime_data if entry.state is ConfigEntryState.LOADED else None
                sample = coordinator.listener.rejected_push if isinstance(coordinator, E450PushCoordinator) else None
                if sample:
                    push = push_decoder(values).decode_apdu(sample)
                    error, details = error_key(push.error) if push.error else (None, {})
                    self._readout = push.readout
                else:
                    error, details = await self._async_try_push(str(entry.data[CONF_PORT]), values)
                if error is None:
                    if wrong := self._abort_if_wrong_meter(entry):
                        return wrong
                    update_and_reload(self.hass, entry, keys)
                    return self.async_abort(reason="reauth_successful")
                errors["base"] = error
                placeholders.update(details)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=keys_schema(),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _abort_if_wrong_meter(self, entry: ConfigEntry) -> ConfigFlowResult | None:
        """Abort when the meter just read is not the entry's (nor the replacement the user accepted)."""
        assert self._readout is not None
        serial = meter_serial(self._readout)
        if serial in (entry.unique_id, entry.options.get(CONF_ACCEPTED_SERIAL)):
            return None
        return self.async_abort(reason="wrong_meter", description_placeholders={"serial": serial, "meter": entry.title})

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move an existing meter to another port or URL (or change its advanced settings); re-probe first."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders = form_placeholders(meter=entry.title)
        push_meter = is_push(entry.data)
        if user_input is None:
            self._settings = {key: entry.data.get(key) for key in (CONF_MAX_BAUD, CONF_DEVICE_ADDRESS, CONF_WAKE_UP)}
        else:
            port = str(user_input[CONF_PORT]).strip()
            if push_meter:  # same line settings and keys, another port
                self._settings = {}
                error, details = await self._async_try_push(port, entry.data) if port else ("port_not_found", {})
            else:
                self._settings = clean_settings(user_input)
                if not port:
                    error, details = "port_not_found", {}
                elif is_client(entry.data):  # the DLMS client, with the entry's addresses and password
                    error, details = await self._async_try_client(port, {**entry.data, **self._settings})
                else:
                    error, details = await self._async_try_read(port)
                if error == PUSH_DETECTED and self._push is not None:  # an IEC meter's port now carries pushes
                    error, details = push_meter_key(self._push)
            if error is None:
                if wrong := self._abort_if_wrong_meter(entry):
                    return wrong
                self._port = port
                if not push_meter and self._fixed_speed_bridge():  # the new port is a bridge at one speed
                    return await self.async_step_bridge_speed()
                return self._async_reconfigured()
            errors["base"] = error
            placeholders.update(details)
        self._ports = await self.hass.async_add_executor_job(list_ports)
        schema = self._user_schema(user_input, auto_detect=False, current=str(entry.data[CONF_PORT]))
        if push_meter:  # a push meter has no sign-on settings
            schema = vol.Schema({key: value for key, value in schema.schema.items() if key != CONF_ADVANCED})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    def _async_reconfigured(self) -> ConfigFlowResult:
        """Save the new port and settings and reload the entry."""
        entry = self._get_reconfigure_entry()
        # the advanced settings chosen here win over an older maximum baud rate from the options
        options = {key: value for key, value in entry.options.items() if key != CONF_MAX_BAUD}
        update_and_reload(self.hass, entry, {CONF_PORT: self._port, **self._settings}, options)
        return self.async_abort(reason="reconfigure_successful")

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> E450OptionsFlow:
        """Options: polling, link and anomaly settings."""
        return E450OptionsFlow()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show what was found; create the entry on confirmation."""
        readout = self._readout
        assert readout is not None
        ident = readout.identification
        maker, model = maker_and_model(readout)
        # the name users know for a known type: "Landis+Gyr E450", "E450 (ZMXi320AP)" (docs/meter-names.md)
        found = readout_type(readout)
        model = found.model if found else model
        if user_input is not None:
            name = found.name if found else model or self.unique_id
            return self.async_create_entry(
                title=f"{maker or 'DLMS'} {name}".strip(),
                data={CONF_PORT: self._port, **self._settings},
            )
        mode = ident.mode.value if ident else "?"
        placeholders = {
            "manufacturer": maker or "?",
            "model": model or "?",
            "serial": meter_identity(readout).serial or self.unique_id or "",
            "mode": mode,
            "baud": str(readout.timings.baud),
            "values": str(len(readout.datasets)),
            "port": self._port,
        }
        if is_client(self._settings):
            placeholders["mode"] = "E (DLMS/COSEM)" if self._settings.get(CONF_MODE_E) else "DLMS/COSEM (HDLC)"
            if self._object_list is not None:  # what the object list offered, and how much of it has a meaning
                return self.async_show_form(
                    step_id="confirm_client", description_placeholders=placeholders | offered(self._object_list)
                )
        return self.async_show_form(step_id="confirm", description_placeholders=placeholders)

    async_step_confirm_client = async_step_confirm
