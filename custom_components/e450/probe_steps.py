"""The config flow's probing steps: detection runs in the background while a progress dialog says what is being
tried (signing on at 300 Bd, listening for pushes at 9600 8N1 …), then the first push is awaited the same way.
Closing the dialog stops it and frees the port."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
import logging
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlow, ConfigFlowResult
from homeassistant.core import callback

from .client_reads import first_read
from .const import (
    CONF_CLIENT,
    CONF_DLMS_BAUD,
    CONF_DLMS_PARITY,
    CONF_LOGICAL,
    CONF_MAX_BAUD,
    CONF_MODE_E,
    CONF_PASSWORD,
    CONF_PHYSICAL,
    CONF_TRANSPORT,
    DOMAIN,
    TRANSPORT_CLIENT,
)
from .forms import clean_client, client_schema, form_placeholders, max_baud_schema
from .messages import error_key
from .probe import Probe
from .settings import client_config, push_settings
from .wire import KEY_PROBLEMS, DetectConfig, MeterError, PushMeter, Readout
from .wire.bridges import is_raw_bridge
from .wire.dlms.client.config import ClientConfig
from .wire.dlms.client.reading import ObjectList
from .wire.errors import ClientProblem, DlmsClientError

# the meter answered but wants another client address or a password
NEEDS_CREDENTIALS = frozenset(
    {ClientProblem.ASSOCIATION_REFUSED, ClientProblem.WRONG_PASSWORD, ClientProblem.AUTHENTICATION_REQUIRED}
)

# the meter did not answer the client at these addresses: in client-only mode, the form may name others
NOT_ANSWERED = frozenset({ClientProblem.NO_UA})

_LOGGER = logging.getLogger(__name__)


class ProbeSteps(ConfigFlow):
    """Probing with progress; the flow that uses it says what follows (``_async_found``, the key step) and how
    an error is shown (``_async_show_error``)."""

    def __init__(self) -> None:
        self._settings: dict[str, Any] = {}
        self._port = ""
        self._readout: Readout | None = None
        self._push: PushMeter | None = None  # what the sign-on found instead of an answer
        self._detecting = False  # probing the candidates of "detect automatically"
        self._probe: Probe | None = None
        self._task: asyncio.Task[Any] | None = None  # probing, or waiting for the first push
        self._client = ClientConfig()  # the DLMS client settings being tried
        self._object_list: ObjectList | None = None  # what the DLMS meter's object list offered

    async def _async_found(self, port: str) -> ConfigFlowResult:
        raise NotImplementedError  # pragma: no cover - the flow's

    async def _async_show_error(self, error: str, details: dict[str, str]) -> ConfigFlowResult:
        raise NotImplementedError  # pragma: no cover - the flow's

    async def _async_try_push(self, port: str, values: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
        raise NotImplementedError  # pragma: no cover - the flow's

    async def async_step_dlms_key(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        raise NotImplementedError  # pragma: no cover - the flow's

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        raise NotImplementedError  # pragma: no cover - the flow's

    def _async_reconfigured(self) -> ConfigFlowResult:
        raise NotImplementedError  # pragma: no cover - the flow's

    def _fixed_speed_bridge(self) -> bool:
        """The read through a raw TCP bridge succeeded only on the retry at the initial speed: the bridge keeps
        one speed (line_speed.py), and the entry should not switch at all."""
        readout = self._readout
        return (
            readout is not None
            and readout.push is None
            and readout.timings.retried
            and is_raw_bridge(self._port)
            and readout.timings.baud < int(self._settings.get(CONF_MAX_BAUD, readout.timings.baud))
        )

    async def async_step_bridge_speed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A bridge at a fixed speed: offer the speed that worked as the maximum baud rate, and say why."""
        assert self._readout is not None
        if user_input is not None:
            self._settings[CONF_MAX_BAUD] = int(user_input[CONF_MAX_BAUD])
            if self.source == SOURCE_RECONFIGURE:
                return self._async_reconfigured()
            return await self.async_step_confirm()
        baud = self._readout.timings.baud
        return self.async_show_form(
            step_id="bridge_speed",
            data_schema=max_baud_schema(baud),
            description_placeholders={"port": self._port, "baud": str(baud)},
        )

    def _use_push(self, found: PushMeter) -> None:
        _LOGGER.debug("The port carries DLMS pushes: %s", found)
        self._push, self._settings = found, push_settings(found)

    async def _async_probe(
        self, ports: list[str], config: DetectConfig, client: ClientConfig, *, client_only: bool = False
    ) -> ConfigFlowResult:
        """Start detection on ``ports`` (one after another) and show its progress. ``client``: how the DLMS client
        reads a meter that announces mode E but gives no readout (or, ``client_only``, every meter)."""
        self._push = None
        self._probe = Probe(ports, config, client, client_only=client_only)
        self._task = self.hass.async_create_task(self._probe.run(), f"{DOMAIN} probe", eager_start=False)
        return await self.async_step_probe()

    async def async_step_probe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Detection runs: say which port, which speed and which line setting is being tried."""
        probe = self._probe
        assert probe is not None
        if probe.finished or probe.step is None:
            return self.async_show_progress_done(next_step_id="probe_done")
        step = probe.step
        return self.async_show_progress(
            step_id="probe",
            progress_action=step.phase.step,
            description_placeholders={"port": step.port, "baud": str(step.phase.baud), "line": step.phase.line},
            progress_task=self.hass.async_create_task(probe.next_change(), f"{DOMAIN} probe progress"),
        )

    async def async_step_probe_done(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What probing found: a meter to confirm, a push meter to listen to, or the reason there was none."""
        assert self._probe is not None
        outcome = self._probe.outcome
        if outcome.port is not None and isinstance(outcome.found, Readout):
            self._readout = outcome.found
            if outcome.client is not None:
                self._object_list = outcome.object_list
                self._use_client(outcome.client, outcome.kept)
            return await self._async_found(outcome.port)
        if outcome.port is not None and isinstance(outcome.found, PushMeter):
            self._port = outcome.port
            self._use_push(outcome.found)
            if outcome.found.encrypted:
                return await self.async_step_dlms_key()
            # one clear push proves the port and the layout (and may turn out ciphered after all)
            self._task = self.hass.async_create_task(
                self._async_try_push(self._port, self._settings), f"{DOMAIN} first push", eager_start=False
            )
            return await self.async_step_first_push()
        if self._detecting:
            return self.async_abort(reason="no_meter_found")
        port, failure = next(iter(outcome.errors.items()), ("", None))
        if isinstance(failure, DlmsClientError) and (
            failure.reason in NEEDS_CREDENTIALS or (failure.reason in NOT_ANSWERED and self._probe.client_only)
        ):
            # a DLMS meter that refuses the public client (or not at these addresses): ask for those it wants
            self._port, self._client = port, self._probe.client or ClientConfig()
            if self._probe.client and not self._probe.client_only:
                self._client = replace(self._client, mode_e=True)  # refused after the sign-on announced mode E
            return await self.async_step_dlms_client(refused=failure)
        error, details = error_key(failure) if isinstance(failure, MeterError) else ("unknown", {})
        return await self._async_show_error(error, details)

    def _use_client(self, client: ClientConfig, kept: Mapping[str, Any]) -> None:
        """The entry reads the meter with these DLMS client settings, and keeps the client form's values and what
        the first read found (the registers offered, the invocation counter reserved)."""
        self._settings.update(
            {
                CONF_TRANSPORT: TRANSPORT_CLIENT,
                CONF_MODE_E: client.mode_e,
                CONF_CLIENT: client.link.client,
                CONF_LOGICAL: client.link.logical,
                CONF_PHYSICAL: client.link.physical,
                CONF_PASSWORD: client.password or "",
                **kept,
            }
        )

    async def async_step_dlms_client(
        self, user_input: dict[str, Any] | None = None, *, refused: MeterError | None = None
    ) -> ConfigFlowResult:
        """The meter refused the public client (or did not answer at the default addresses): ask for the client
        address and a password or HLS-GMAC's keys (and the server's addresses and their size, for meters that need
        others); prove them with a read that starts with the object list."""
        errors: dict[str, str] = {}
        placeholders = form_placeholders(port=self._port)
        if refused is not None:
            errors["base"], details = error_key(refused)
            placeholders.update(details)
        if user_input is not None:
            values, errors = clean_client(user_input)
            if not errors:
                client = client_config({**self._settings, **values, CONF_MODE_E: self._client.mode_e})
                try:
                    read, kept = await first_read(self._port, client)
                except MeterError as err:
                    errors["base"], details = error_key(err)
                    placeholders.update(details)
                else:
                    self._readout, self._object_list = read.readout, read.object_list
                    self._use_client(client, values | kept)
                    return await self._async_found(self._port)
        return self.async_show_form(
            step_id="dlms_client",
            data_schema=self.add_suggested_values_to_schema(client_schema(self._settings), user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_first_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Waiting for one complete push at the line settings detection found."""
        task = self._task
        assert task is not None
        if task.done():
            return self.async_show_progress_done(next_step_id="first_push_done")
        return self.async_show_progress(
            step_id="first_push",
            progress_action="push",
            description_placeholders={
                "port": self._port,
                "baud": str(self._settings[CONF_DLMS_BAUD]),
                "line": f"8{self._settings[CONF_DLMS_PARITY]}1",
            },
            progress_task=task,
        )

    async def async_step_first_push_done(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The first push decoded: confirm; ciphered after all: ask for the keys; else say why not."""
        assert self._task is not None
        error, details = self._task.result()
        if error in KEY_PROBLEMS:  # the first frame looked clear, but the pushes are ciphered after all
            return await self.async_step_dlms_key()
        if error is None:
            return await self._async_found(self._port)
        if self._detecting:
            return self.async_abort(
                reason="push_not_decoded",
                description_placeholders={"port": self._port, "detail": details.get("detail") or str(error)},
            )
        return await self._async_show_error(error, details)

    @callback
    def async_remove(self) -> None:
        """The dialog was closed: stop probing or listening, which closes the port."""
        if self._task is not None:
            self._task.cancel()
