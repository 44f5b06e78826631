"""Repair flows: for a replaced meter, adopt the new meter as this entry's identity or keep the old one; for
registers held back because their scale is not settled, choose it by comparing with the meter's display; for a
sub-meter's total whose scale nobody said, the channel's form (the options step of the channel)."""

from __future__ import annotations

from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir, selector

from .anomalies import AnomalyKind
from .compat import vol
from .const import CONF_ACCEPTED_SERIAL, CONF_PORT, CONF_SCALES, DOMAIN
from .issues import issue_id
from .scale_review import checks_made, display_values, held_by_group, scale_choices
from .settings import merged, user_scales
from .submeter_options import answered, channel_form
from .submeter_settings import channel_options
from .submeters import channel_of


class MeterChangedRepairFlow(RepairsFlow):
    """The serial number read differs from the entry's: the meter was replaced (or the head moved to another)."""

    def __init__(self, entry_id: str, old: str, new: str) -> None:
        self._entry_id = entry_id
        self._old = old
        self._new = new

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> data_entry_flow.FlowResult:
        """Start with the choice."""
        return await self.async_step_choose()

    async def async_step_choose(self, user_input: dict[str, str] | None = None) -> data_entry_flow.FlowResult:
        """Adopt the new meter (its serial becomes the entry's and the device's) or keep the old identity."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            if user_input["action"] == "adopt":
                _migrate_identity(self.hass, self._entry_id, self._old, self._new)
                self.hass.config_entries.async_update_entry(entry, unique_id=self._new)
                self.hass.config_entries.async_schedule_reload(self._entry_id)
            else:
                self.hass.config_entries.async_update_entry(
                    entry, options={**entry.options, CONF_ACCEPTED_SERIAL: self._new}
                )
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(self._entry_id, AnomalyKind.METER_CHANGED))
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="choose",
            data_schema=vol.Schema(
                {
                    vol.Required("action", default="adopt"): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=["adopt", "keep"],
                            mode=selector.SelectSelectorMode.LIST,
                            translation_key="meter_changed_action",
                        )
                    )
                }
            ),
            description_placeholders={
                "old": self._old,
                "new": self._new,
                "meter": entry.title,
                "port": str(entry.data.get(CONF_PORT, "")),
            },
        )


def _migrate_identity(hass: HomeAssistant, entry_id: str, old: str, new: str) -> None:
    """Move the device and the entities to the new serial, keeping their entity ids and history."""
    devices = dr.async_get(hass)
    device = next(
        (d for d in dr.async_entries_for_config_entry(devices, entry_id) if (DOMAIN, old) in d.identifiers), None
    )
    if device is not None:
        devices.async_update_device(device.id, new_identifiers={(DOMAIN, new)}, serial_number=new)
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry_id):
        if entity.unique_id.startswith(f"{old}_"):
            entities.async_update_entity(entity.entity_id, new_unique_id=f"{new}_{entity.unique_id[len(old) + 1 :]}")


class ScaleRepairFlow(RepairsFlow):
    """Registers of one group held back: the user picks their power of ten by comparing the numbers with what the
    meter's display shows; the choice becomes the entry's scales option (docs/scaling.md §5)."""

    def __init__(self, entry_id: str, group: str, issue: str) -> None:
        self._entry_id = entry_id
        self._group = group
        self._issue = issue

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> data_entry_flow.FlowResult:
        """Start with the choice."""
        return await self.async_step_choose()

    async def async_step_choose(self, user_input: dict[str, str] | None = None) -> data_entry_flow.FlowResult:
        """Each scale the registers could have, with their values at it; the ones the checks allow first."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        coordinator = getattr(entry, "runtime_data", None) if entry is not None else None
        if entry is None or coordinator is None or coordinator.data is None:
            return self.async_abort(reason="entry_removed")
        held = next((codes for g, codes in held_by_group(coordinator.data).items() if g.value == self._group), None)
        if not held:
            return self.async_abort(reason="scale_settled")
        if user_input is not None:
            exponent = int(user_input["exponent"])
            scales = {**user_scales(merged(entry)), **dict.fromkeys(held, exponent)}
            ir.async_delete_issue(self.hass, DOMAIN, self._issue)
            self.hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_SCALES: scales})
            return self.async_create_entry(data={})
        options = [
            selector.SelectOptionDict(value=str(exponent), label=display_values(held, exponent))
            for exponent in scale_choices(held)
        ]
        return self.async_show_form(
            step_id="choose",
            data_schema=vol.Schema(
                {
                    vol.Required("exponent", default=options[0]["value"]): selector.SelectSelector(
                        selector.SelectSelectorConfig(options=options, mode=selector.SelectSelectorMode.LIST)
                    )
                }
            ),
            description_placeholders={
                "meter": entry.title,
                "registers": ", ".join(sorted(held)),
                "sent": ", ".join(f"{code} = {item.raw}" for code, item in sorted(held.items())),
                "checks": checks_made(coordinator.listener.decoder.judge.verdicts, self._group),
            },
        )


class SubMeterScaleRepairFlow(RepairsFlow):
    """A sub-meter's number came with no unit and scale: the user says them in the channel's form, which is the
    channel's options step; the entry reloads with the total shown (docs/mbus-submeters.md §4)."""

    def __init__(self, entry_id: str, channel: int, issue: str) -> None:
        self._entry_id = entry_id
        self._channel = channel
        self._issue = issue

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> data_entry_flow.FlowResult:
        """Start with the channel's form."""
        return await self.async_step_channel()

    async def async_step_channel(self, user_input: dict[str, Any] | None = None) -> data_entry_flow.FlowResult:
        """Medium, unit and power of ten, shown with the number the meter sends."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        coordinator = getattr(entry, "runtime_data", None) if entry is not None else None
        submeter = channel_of(getattr(coordinator, "data", None), self._channel)
        if entry is None or submeter is None:
            return self.async_abort(reason="channel_gone")
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = answered(entry.options, submeter, user_input)
            if options is not None:
                ir.async_delete_issue(self.hass, DOMAIN, self._issue)
                self.hass.config_entries.async_update_entry(entry, options=options)  # the entry reloads
                return self.async_create_entry(data={})
        schema, placeholders = channel_form(submeter, channel_options(entry.options).get(self._channel))
        return self.async_show_form(
            step_id="channel",
            data_schema=schema,
            errors=errors,
            description_placeholders={**placeholders, "meter": entry.title},
        )


async def async_create_fix_flow(hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None) -> RepairsFlow:
    """The replaced meter's flow, the scale of a group of registers, or a sub-meter channel's form."""
    assert data is not None
    if data.get("kind") in (AnomalyKind.SCALE_WAITING, AnomalyKind.SCALE_UNCERTAIN):
        return ScaleRepairFlow(str(data["entry_id"]), str(data["group"]), issue_id)
    if data.get("kind") == AnomalyKind.SUBMETER_SCALE:
        return SubMeterScaleRepairFlow(str(data["entry_id"]), int(data["channel"]), issue_id)
    return MeterChangedRepairFlow(str(data["entry_id"]), str(data["old"]), str(data["new"]))
