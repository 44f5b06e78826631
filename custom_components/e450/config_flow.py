"""Config flow: pick (or detect) the optical head's port, read the meter once, confirm what was found."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector

from .compat import vol
from .const import (
    AUTO_DETECT,
    BAUD_CHOICES,
    CONF_ADVANCED,
    CONF_DEVICE_ADDRESS,
    CONF_MAX_BAUD,
    CONF_PORT,
    CONF_WAKE_UP,
    DEFAULT_MAX_BAUD,
    DOMAIN,
)
from .coordinator import error_key, session_config
from .iec62056 import IEC62056Error, Readout, read_meter
from .meter_info import manufacturer_name, meter_serial
from .ports import SerialPort, list_ports, same_port

_LOGGER = logging.getLogger(__name__)


def _advanced_schema(defaults: dict[str, Any]) -> Any:
    return vol.Schema(
        {
            vol.Required(CONF_MAX_BAUD, default=str(defaults.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))): (
                selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[str(baud) for baud in BAUD_CHOICES],
                        mode=selector.SelectSelectorMode.DROPDOWN,
                    )
                )
            ),
            vol.Optional(
                CONF_DEVICE_ADDRESS, description={"suggested_value": defaults.get(CONF_DEVICE_ADDRESS, "")}
            ): selector.TextSelector(),
            vol.Required(CONF_WAKE_UP, default=bool(defaults.get(CONF_WAKE_UP, False))): selector.BooleanSelector(),
        }
    )


def _clean_settings(user_input: dict[str, Any]) -> dict[str, Any]:
    advanced = user_input.get(CONF_ADVANCED, {})
    return {
        CONF_MAX_BAUD: int(advanced.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD)),
        CONF_DEVICE_ADDRESS: str(advanced.get(CONF_DEVICE_ADDRESS) or "").strip(),
        CONF_WAKE_UP: bool(advanced.get(CONF_WAKE_UP, False)),
    }


class E450ConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a meter."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        self._ports: list[SerialPort] = []
        self._settings: dict[str, Any] = {}
        self._port = ""
        self._readout: Readout | None = None
        self._candidates: list[SerialPort] = []

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose a port (listed, typed, or "detect automatically") and, if needed, advanced settings."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"port": "", "detail": "", "baud": "", "framing": ""}
        if user_input is not None:
            self._settings = _clean_settings(user_input)
            port = str(user_input[CONF_PORT]).strip()
            address = self._settings[CONF_DEVICE_ADDRESS]
            if address and (any(char in address for char in "/!?") or not address.isprintable() or len(address) > 32):
                errors[CONF_ADVANCED] = "invalid_address"
            elif port == AUTO_DETECT:
                return await self.async_step_detect()
            elif not port:
                errors[CONF_PORT] = "port_not_found"
            else:
                error, details = await self._async_try_read(port)
                if error is None:
                    return await self._async_found(port)
                errors["base"] = error
                placeholders.update(details)
        self._ports = await self.hass.async_add_executor_job(list_ports)
        return self.async_show_form(
            step_id="user",
            data_schema=self._user_schema(user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _user_schema(self, user_input: dict[str, Any] | None) -> Any:
        options = [selector.SelectOptionDict(value=port.path, label=port.label) for port in self._ports]
        options.append(selector.SelectOptionDict(value=AUTO_DETECT, label=AUTO_DETECT))
        default = (user_input or {}).get(CONF_PORT) or (self._ports[0].path if self._ports else AUTO_DETECT)
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
                vol.Required(CONF_ADVANCED): section(_advanced_schema(self._settings), {"collapsed": True}),
            }
        )

    async def _async_try_read(self, port: str) -> tuple[str | None, dict[str, str]]:
        """A full read: the only proof that the head, the port and the settings work together."""
        try:
            self._readout = await read_meter(port, session_config(self._settings, detect_dlms=True))
        except IEC62056Error as err:
            _LOGGER.debug("Reading %s failed: %s", port, err)
            return error_key(err)
        except Exception:
            _LOGGER.exception("Unexpected error reading %s", port)
            return "unknown", {}
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
        for port in self._candidates:
            error, _ = await self._async_try_read(port.path)
            if error is None:
                return await self._async_found(port.path)
            _LOGGER.debug("No meter on %s (%s)", port.path, error)
        return self.async_abort(reason="no_meter_found")

    async def _async_found(self, port: str) -> ConfigFlowResult:
        readout = self._readout
        assert readout is not None
        await self.async_set_unique_id(meter_serial(readout))
        self._abort_if_unique_id_configured(updates={CONF_PORT: port})
        self._port = port
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show what was found; create the entry on confirmation."""
        readout = self._readout
        assert readout is not None
        ident = readout.identification
        maker = manufacturer_name(ident.manufacturer) if ident else "?"
        model = ident.model if ident else "?"
        if user_input is not None:
            return self.async_create_entry(
                title=f"{maker} {model}".strip(),
                data={CONF_PORT: self._port, **self._settings},
            )
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                "manufacturer": maker,
                "model": model,
                "serial": self.unique_id or "",
                "mode": ident.mode.value if ident else "?",
                "baud": str(readout.timings.baud),
                "values": str(len(readout.datasets)),
                "port": self._port,
            },
        )
