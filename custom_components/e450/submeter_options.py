"""The form of an M-Bus channel: the sub-meter's medium and the scale of its number, shown with the value the meter
sends so the user can compare it with the sub-meter's display (docs/mbus-submeters.md §4). It is a step of the
options, one per channel, and the fix of a channel's repair issue when nothing says its scale (:mod:`.repairs`).

A change of a channel's unit or power of ten restarts its statistics as a change of an energy register's scale
does (:mod:`.rescale`): the entry reloads with the channel's total held until the period is compiled, then its
statistics start again at the new scale. A total that was not settled showed no number, so it has no statistics to
restart: the entry reloads and the total is shown at once.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    """The channel's reading as its total shows it ("–": none, or not settled)."""
    if submeter.raw is None or not total.settled:
        return "–"
    text = scaled_text(submeter.raw, total.exponent, total.value(submeter.raw))
    return f"{text} {total.unit}" if total.unit else text


def channel_form(submeter: SubMeter, current: ChannelOptions | None) -> tuple[vol.Schema, dict[str, str]]:
    """The channel's form, filled with what is said now, and its placeholders (the number sent, the total shown)."""
    total = total_of(submeter, current)
    units = ([AS_SENT] if submeter.exponent is not None else []) + [KEY_OF[unit] for unit in ALL_UNITS]
    unit_default = AS_SENT if total.sent else KEY_OF[total.usual_unit]
    schema = vol.Schema(
        {
            vol.Required(CONF_MEDIUM, default=str(total.medium)): _select([str(m) for m in Medium], "medium"),
            vol.Required(CONF_UNIT, default=unit_default): _select(units, "submeter_unit"),
            # no power of ten offered for a number whose scale nobody said: the user reads it off the display (a
            # required select would show its first choice, which a hasty submit would take)
            (
                vol.Required(CONF_EXPONENT, default=str(total.exponent))
                if total.settled
                else vol.Optional(CONF_EXPONENT)
            ): _select([str(e) for e in EXPONENTS]),
        }
    )
    placeholders = {
        "channel": str(submeter.channel),
        "serial": submeter.serial or "–",
        "raw": "–" if submeter.raw is None else str(submeter.raw),
        "shown": _shown(submeter, total),
        "sent": "" if submeter.unit is None else f"{submeter.unit} × 10^{submeter.exponent}",
    }
    return schema, placeholders


def _chosen(user_input: dict[str, Any]) -> ChannelOptions | str:
    """The user's choice in the channel's form, or the form's error: a unit that is not one for the medium, no
    power of ten for a unit."""
    medium = Medium(user_input[CONF_MEDIUM])
    unit = UNIT_KEYS.get(str(user_input[CONF_UNIT]), AS_SENT)
    if unit == AS_SENT:
        return ChannelOptions(medium, None, None)
    if unit not in UNITS_FOR[medium]:
        return "unit_not_for_medium"
    if user_input.get(CONF_EXPONENT) is None:
        return "exponent_missing"
    return ChannelOptions(medium, unit, int(user_input[CONF_EXPONENT]))


def answered(
    options: Mapping[str, Any], submeter: SubMeter, user_input: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """``options`` with the user's answer in the channel's form, or the form's errors. A new unit or power of ten
    of a total that was shown restarts its statistics (rescale.py); a total that was not settled showed no number:
    nothing to restart."""
    chosen = _chosen(user_input)
    if isinstance(chosen, str):
        field = CONF_EXPONENT if chosen == "exponent_missing" else CONF_UNIT
        return None, {field: chosen}
    before = channel_options(options).get(submeter.channel)
    channels = dict(options.get(CONF_SUBMETERS) or {})
    channels[str(submeter.channel)] = chosen.as_dict()
    answer = {**options, CONF_SUBMETERS: channels}
    old, new = total_of(submeter, before), total_of(submeter, chosen)
    if old.settled and (old.unit, old.exponent) != (new.unit, new.exponent):
        pending = {*answer.get(CONF_RESCALE_PENDING, []), channel_code(submeter.channel)}
        answer[CONF_RESCALE_PENDING] = sorted(pending)
    return answer, {}


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
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = answered(self._options, submeter, user_input)
            if options is not None:
                self._options = options
                self._channels.pop(0)
                return await self.async_step_submeter()
        schema, placeholders = channel_form(submeter, channel_options(self._options).get(submeter.channel))
        return self.async_show_form(
            step_id=STEP, data_schema=schema, errors=errors, description_placeholders=placeholders
        )
