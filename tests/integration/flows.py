"""Driving config flows through their progress steps, as the frontend does."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType


async def finish_progress(hass: HomeAssistant, result: Any) -> dict[str, Any]:
    """Let each progress step run to its end, then ask for the step that follows (what the frontend does when
    the flow says it progressed), until a step that is not a progress step."""
    result = dict(result)
    while result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = dict(await hass.config_entries.flow.async_configure(result["flow_id"]))
    assert result["type"] is not FlowResultType.SHOW_PROGRESS_DONE
    return result
