"""The options step of each M-Bus channel: the sub-meter's medium and the scale of its number, shown with the value
the meter sends so the user can compare it with the sub-meter's display (docs/mbus-submeters.md §4).

A change of a channel's unit or power of ten restarts its statistics as a change of an energy register's scale
does (:mod:`.rescale`): the entry reloads with the channel's total held until the period is compiled, then its
statistics start again at the new scale.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers import selector

from .compat import vol
from .const import CONF_RESCALE_PENDING
from .submeter_settings import (
    ALL_UNITS,
    AS_SENT,
    CONF_EXPONENT,
    CONF_MEDIUM,
    CONF_SUBMETERS,
    CONF_UNIT,
    EXPONENTS,
    UNITS_FOR,
    ChannelOptions,
    Total,
    channel_options,
    total_of,
)
from .submeters import channel_code
from .wire import Readout
from .wire.models import scaled_text
from .wire.submeters import Medium, SubMeter, submeters

STEP: Final = "submeter"
# the unit choices' keys (translated: selector.submeter_unit) and the units they stand for
UNIT_KEYS: Final[dict[str, str]] = {"m3": "m³", "l": "L", "kwh": "kWh", "mwh": "MWh", "gj": "GJ"}
KEY_OF: Final = {unit: key for key, unit in UNIT_KEYS.items()}


def _select(options: list[str], translation_key: str | None = None) -> selector.SelectSelector:
    config = selector.SelectSelectorConfig(options=options, mode=selector.SelectSelectorMode.DROPDOWN)
    if translation_key is not None:
        config["translation_key"] = translation_key
    return selector.SelectSelector(config)


def _shown(submeter: SubMeter, total: Total) -> str:
    """The channel's reading as its total shows it."""
    if submeter.raw is None:
        return "–"
    text = scaled_text(submeter.raw, total.exponent, total.value(submeter.raw))
    return f"{text} {total.unit}" if total.unit else text


class SubMeterOptionsFlow(OptionsFlow):
    """After the meter's own options, one form per M-Bus channel that names a sub-meter."""

    _options: dict[str, Any]
    _channels: list[SubMeter]

    async def async_step_submeters(self, options: dict[str, Any]) -> ConfigFlowResult:
        """Continue with the channels of the last readout, if it names any; else save ``options``."""
        self._options = options
        readout: Readout | None = getattr(getattr(self.config_entry, "runtime_data", None), "data", None)
        self._channels = list(submeters(readout)) if readout is not None else []
        return await self.async_step_submeter()

    async def async_step_submeter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The medium and the scale of the next channel."""
        if not self._channels:
            return self.async_create_entry(data=self._options)
        submeter = self._channels[0]
        stored = channel_options(self._options)
        errors: dict[str, str] = {}
        if user_input is not None:
            medium = Medium(user_input[CONF_MEDIUM])
            unit = UNIT_KEYS.get(str(user_input[CONF_UNIT]), AS_SENT)
            if unit != AS_SENT and unit not in UNITS_FOR[medium]:
                errors[CONF_UNIT] = "unit_not_for_medium"
            else:
                chosen = ChannelOptions(
                    medium,
                    None if unit == AS_SENT else unit,
                    None if unit == AS_SENT else int(user_input[CONF_EXPONENT]),
                )
                self._save(submeter, stored.get(submeter.channel), chosen)
                self._channels.pop(0)
                return await self.async_step_submeter()
        current = stored.get(submeter.channel) or ChannelOptions()
        total = total_of(submeter, current)
        units = ([AS_SENT] if submeter.exponent is not None else []) + [KEY_OF[unit] for unit in ALL_UNITS]
        unit_default = AS_SENT if total.sent else KEY_OF.get(total.unit or "", "m3")
        schema = vol.Schema(
            {
                vol.Required(CONF_MEDIUM, default=str(total.medium)): _select([str(m) for m in Medium], "medium"),
                vol.Required(CONF_UNIT, default=unit_default): _select(units, "submeter_unit"),
                vol.Required(CONF_EXPONENT, default=str(total.exponent)): _select([str(e) for e in EXPONENTS]),
            }
        )
        placeholders = {
            "channel": str(submeter.channel),
            "serial": submeter.serial or "–",
            "raw": "–" if submeter.raw is None else str(submeter.raw),
            "shown": _shown(submeter, total),
            "sent": "" if submeter.unit is None else f"{submeter.unit} × 10^{submeter.exponent}",
        }
        return self.async_show_form(
            step_id=STEP, data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    def _save(self, submeter: SubMeter, before: ChannelOptions | None, chosen: ChannelOptions) -> None:
        """The channel's choice in the options; a new unit or power of ten restarts its statistics (rescale.py)."""
        channels = dict(self._options.get(CONF_SUBMETERS) or {})
        channels[str(submeter.channel)] = chosen.as_dict()
        self._options = {**self._options, CONF_SUBMETERS: channels}
        old, new = total_of(submeter, before), total_of(submeter, chosen)
        if (old.unit, old.exponent) != (new.unit, new.exponent):
            pending = {*self._options.get(CONF_RESCALE_PENDING, []), channel_code(submeter.channel)}
            self._options[CONF_RESCALE_PENDING] = sorted(pending)
