"""Options: how often and how the meter is read, and the limits of the supply checks. They apply at once."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers import selector

from .compat import vol
from .const import (
    BAUD_CHOICES,
    CONF_BACKFILL,
    CONF_CLOCK_DRIFT,
    CONF_CONTRACT_POWER,
    CONF_DLMS_PROFILE,
    CONF_FUSE_CURRENT,
    CONF_LINK_LOST_MINUTES,
    CONF_MAX_BAUD,
    CONF_NOMINAL_FREQUENCY,
    CONF_NOMINAL_VOLTAGE,
    CONF_SCALES,
    CONF_SCAN_INTERVAL,
    CONF_SWITCH_DELAY,
    CONF_VOLTAGE_TOLERANCE,
    DEFAULT_BACKFILL,
    DEFAULT_CLOCK_DRIFT_MINUTES,
    DEFAULT_LINK_LOST_MINUTES,
    DEFAULT_MAX_BAUD,
    DEFAULT_NOMINAL_FREQUENCY,
    DEFAULT_NOMINAL_VOLTAGE,
    DEFAULT_SWITCH_DELAY_MS,
    DEFAULT_VOLTAGE_TOLERANCE,
    DLMS_PROFILE_AUTO,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
    SCAN_MARGIN_SECONDS,
)
from .settings import format_scales, is_push, parse_scales, scan_interval, user_scales
from .submeter_options import SubMeterOptionsFlow
from .wire import PROFILES


def _number(minimum: float | None, maximum: float | None, step: float, unit: str) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(step=step, unit_of_measurement=unit, mode=selector.NumberSelectorMode.BOX)
    if minimum is not None:
        config["min"] = minimum
    if maximum is not None:
        config["max"] = maximum
    return selector.NumberSelector(config)


def _choice(values: tuple[int, ...]) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(options=[str(v) for v in values], mode=selector.SelectSelectorMode.DROPDOWN)
    )


class E450OptionsFlow(SubMeterOptionsFlow):
    """Change how often and how the meter is read, the limits of the supply checks and the household's own
    limits. Applies at once."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; the scan interval is checked against how long a read of this meter really takes."""
        entry = self.config_entry
        current = {**entry.data, **entry.options}
        errors: dict[str, str] = {}
        statistics = getattr(entry, "runtime_data", None)
        duration = statistics.statistics.last_duration if statistics is not None else None
        minimum = max(float(MIN_SCAN_INTERVAL), (duration or 0.0) + SCAN_MARGIN_SECONDS)
        placeholders = {"minimum": f"{minimum:.0f}", "maximum": str(MAX_SCAN_INTERVAL), "part": ""}
        scales_text = format_scales(user_scales(current))
        if user_input is not None:
            interval = float(user_input[CONF_SCAN_INTERVAL])
            scales_text = str(user_input.get(CONF_SCALES) or "")
            try:
                scales = parse_scales(scales_text)
            except ValueError as err:
                scales = {}
                errors[CONF_SCALES] = "scales_invalid"
                placeholders["part"] = str(err)
            if interval < minimum:
                errors[CONF_SCAN_INTERVAL] = "scan_interval_too_short"
            elif interval > MAX_SCAN_INTERVAL:
                errors[CONF_SCAN_INTERVAL] = "scan_interval_too_long"
            if not errors:
                push_meter = is_push(entry.data)
                options = {
                    **entry.options,
                    CONF_SCAN_INTERVAL: int(interval),
                    **(
                        {CONF_DLMS_PROFILE: str(user_input[CONF_DLMS_PROFILE]), CONF_SCALES: scales}
                        if push_meter
                        else {
                            CONF_MAX_BAUD: int(user_input[CONF_MAX_BAUD]),
                            CONF_SWITCH_DELAY: int(user_input[CONF_SWITCH_DELAY]),
                        }
                    ),
                    CONF_NOMINAL_VOLTAGE: int(user_input[CONF_NOMINAL_VOLTAGE]),
                    CONF_VOLTAGE_TOLERANCE: float(user_input[CONF_VOLTAGE_TOLERANCE]),
                    CONF_NOMINAL_FREQUENCY: int(user_input[CONF_NOMINAL_FREQUENCY]),
                    CONF_LINK_LOST_MINUTES: int(user_input[CONF_LINK_LOST_MINUTES]),
                    CONF_FUSE_CURRENT: float(user_input.get(CONF_FUSE_CURRENT) or 0),
                    CONF_CONTRACT_POWER: float(user_input.get(CONF_CONTRACT_POWER) or 0),
                    CONF_CLOCK_DRIFT: float(user_input[CONF_CLOCK_DRIFT]),
                    **(
                        {CONF_BACKFILL: bool(user_input[CONF_BACKFILL])}
                        if not push_meter  # the meters whose load profile the integration can read
                        else {}
                    ),
                }
                return await self.async_step_submeters(options)  # then each M-Bus channel's sub-meter, if any
            current = {**current, **user_input}
        if is_push(entry.data):  # the meter decides its line settings; the layout profile can be forced
            line: dict[Any, Any] = {
                vol.Required(CONF_DLMS_PROFILE, default=current.get(CONF_DLMS_PROFILE, DLMS_PROFILE_AUTO)): (
                    selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[DLMS_PROFILE_AUTO, *sorted(PROFILES)],
                            mode=selector.SelectSelectorMode.DROPDOWN,
                            translation_key="dlms_profile",
                        )
                    )
                ),
                # the user's own scales for registers the meter sends without one (ESPHome's "multiplier")
                vol.Optional(CONF_SCALES, description={"suggested_value": scales_text}): selector.TextSelector(),
            }
        else:
            line = {
                vol.Required(CONF_MAX_BAUD, default=str(current.get(CONF_MAX_BAUD, DEFAULT_MAX_BAUD))): _choice(
                    BAUD_CHOICES
                ),
                vol.Required(
                    CONF_SWITCH_DELAY, default=current.get(CONF_SWITCH_DELAY, DEFAULT_SWITCH_DELAY_MS)
                ): _number(0, 2000, 10, "ms"),
            }
        schema = vol.Schema(
            {
                vol.Required(CONF_SCAN_INTERVAL, default=int(scan_interval(current).total_seconds())): _number(
                    None, None, 1, "s"
                ),
                **line,
                vol.Required(
                    CONF_NOMINAL_VOLTAGE, default=str(current.get(CONF_NOMINAL_VOLTAGE, DEFAULT_NOMINAL_VOLTAGE))
                ): _choice((220, 230, 240)),
                vol.Required(
                    CONF_VOLTAGE_TOLERANCE, default=current.get(CONF_VOLTAGE_TOLERANCE, DEFAULT_VOLTAGE_TOLERANCE)
                ): _number(1, 20, 0.5, "%"),
                vol.Required(
                    CONF_NOMINAL_FREQUENCY,
                    default=str(current.get(CONF_NOMINAL_FREQUENCY, DEFAULT_NOMINAL_FREQUENCY)),
                ): _choice((50, 60)),
                vol.Required(
                    CONF_LINK_LOST_MINUTES, default=current.get(CONF_LINK_LOST_MINUTES, DEFAULT_LINK_LOST_MINUTES)
                ): _number(1, 1440, 1, "min"),
                # the household's own limits: 0 means not set, and nothing is checked against it
                vol.Required(CONF_FUSE_CURRENT, default=current.get(CONF_FUSE_CURRENT, 0)): _number(0, 400, 1, "A"),
                vol.Required(CONF_CONTRACT_POWER, default=current.get(CONF_CONTRACT_POWER, 0)): _number(
                    0, 1000, 0.1, "kVA"
                ),
                vol.Required(
                    CONF_CLOCK_DRIFT, default=current.get(CONF_CLOCK_DRIFT, DEFAULT_CLOCK_DRIFT_MINUTES)
                ): _number(0, 240, 1, "min"),
            }
        )
        if not is_push(entry.data):  # the meters whose load profile the integration can read
            schema = schema.extend(
                {
                    vol.Required(
                        CONF_BACKFILL, default=bool(current.get(CONF_BACKFILL, DEFAULT_BACKFILL))
                    ): selector.BooleanSelector()
                }
            )
        return self.async_show_form(
            step_id="init", data_schema=schema, errors=errors, description_placeholders=placeholders
        )
