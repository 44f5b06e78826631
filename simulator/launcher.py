"""Home Assistant with the integration and a simulated (or real) meter, onboarded through its real APIs.

One launcher for ``scripts/develop`` and the real-browser test (tests/browser), so the two never drift apart: both
run the simulator and Home Assistant as processes, exactly as a developer would, and both onboard a user the way
the frontend does. Development tooling like the rest of this package; never shipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
from importlib.metadata import version
import os
from pathlib import Path
import shutil
import subprocess
import sys
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD, NAME = "dev", "dev-e450", "Developer"
HTTP_PORT = 8123
# A meter keeps the local time of where it hangs: the simulated one runs in Home Assistant's time zone, or its clock
# would be an hour or two off and the clock check would rightly say so.
TIME_ZONE = "Europe/Vienna"
START_POLLS = 600  # every 0.5 s: 5 minutes for a cold start (frontend, recorder) on a slow machine
PROGRESS_POLLS = 360  # every 0.5 s: 3 minutes of detection (every speed and line setting on a silent port)
STOP_TIMEOUT = 30.0
CONFIGURATION = """\
# Made by simulator/launcher.py: no default_config (its go2rtc/ffmpeg parts need the internet)
homeassistant:
  name: e450 development
  latitude: 48.2
  longitude: 16.37
  elevation: 170
  unit_system: metric
  time_zone: {time_zone}
  country: AT
  currency: EUR
http:
  server_host: 127.0.0.1
  server_port: {port}
frontend:
config:
energy:
history:
recorder:
logbook:
repairs:
diagnostics:
logger:
  default: info
  logs:
    custom_components.e450: debug
"""


@dataclass(frozen=True)
class Simulated:
    """A simulator process (``python -m simulator``) serving ``profile`` on a pty linked into the config dir."""

    profile: str = "e450"
    realtime: bool = False
    fault: str | None = None


@dataclass
class Running:
    """A started Home Assistant: its URL, the meter's port, an open HTTP session and the developer's token."""

    url: str
    config: Path
    port: str
    hass: subprocess.Popen[bytes]
    session: aiohttp.ClientSession
    token: str


def prepare_config(config: Path, port: int = HTTP_PORT, *, fresh: bool = False) -> None:
    """A development configuration in ``config``, with the integration linked in (edits apply on restart)."""
    if fresh and config.exists():
        shutil.rmtree(config)
    config.mkdir(exist_ok=True)
    (config / "configuration.yaml").write_text(
        CONFIGURATION.replace("{port}", str(port)).replace("{time_zone}", TIME_ZONE)
    )
    links = config / "custom_components"
    links.mkdir(exist_ok=True)
    target = links / "e450"
    if not target.exists():
        target.symlink_to(ROOT / "custom_components" / "e450")


def _process(command: list[str], env_updates: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Run from the repository root with it on the path: both processes import this checkout's packages."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_updates or {})}
    return subprocess.Popen([sys.executable, *command], env=env, cwd=ROOT, **kwargs)


def start_simulator(simulated: Simulated, link: Path) -> subprocess.Popen[bytes]:
    command = ["-m", "simulator", "--profile", simulated.profile, "--pty"]
    if simulated.realtime:
        command.append("--realtime")
    command += ["--link", str(link)]
    if simulated.fault:
        command += ["--fault", simulated.fault]
    return _process(command, stdout=subprocess.PIPE, env_updates={"TZ": TIME_ZONE})


def start_home_assistant(config: Path) -> subprocess.Popen[bytes]:
    command = ["-m", "homeassistant", "--config", str(config), "--skip-pip"]
    return _process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes, newest first; kill what has not exited in time."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.asynccontextmanager
async def launch(
    config: Path,
    *,
    http_port: int = HTTP_PORT,
    fresh: bool = False,
    meter: Simulated | str = Simulated(),
    say: Callable[[str], None] | None = None,
) -> AsyncIterator[Running]:
    """Start the simulator (or use the port ``meter`` names) and Home Assistant, wait until it serves, onboard
    the developer; everything is stopped when the block ends. ``say`` hears about the progress."""
    url = f"http://127.0.0.1:{http_port}"
    prepare_config(config, http_port, fresh=fresh)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        port = meter if isinstance(meter, str) else ""
        if isinstance(meter, Simulated):
            simulator = start_simulator(meter, config / "ttyMETER")
            processes.append(simulator)
            assert simulator.stdout is not None
            # the simulator prints where it serves once it does: Home Assistant must not look for it earlier
            port = (await asyncio.to_thread(simulator.stdout.readline)).decode().strip()
            if say:
                say(f"Simulator ({meter.profile}{', fault ' + meter.fault if meter.fault else ''}) on {port}")
        hass = start_home_assistant(config)
        processes.append(hass)
        async with aiohttp.ClientSession() as session:
            if say:
                say(f"Starting Home Assistant {version('homeassistant')} …")
            await wait_for_http(session, hass, url, config)
            token = await onboard(session, url)
            await confirm_http_config(session, url, token)
            yield Running(url, config, port, hass, session, token)
    finally:
        stop(processes)


async def wait_for_http(
    session: aiohttp.ClientSession, process: subprocess.Popen[bytes], url: str, config: Path
) -> None:
    for _ in range(START_POLLS):
        if process.poll() is not None:
            raise SystemExit(f"Home Assistant exited with code {process.returncode}; see {config}/home-assistant.log")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{url}/api/onboarding") as response:
                if response.status in (200, 401):
                    return
        await asyncio.sleep(0.5)
    raise SystemExit("Home Assistant did not start within 5 minutes")


async def onboard(session: aiohttp.ClientSession, url: str) -> str:
    """Create the development user (first start) and return an access token."""
    client_id = f"{url}/"
    async with session.get(f"{url}/api/onboarding") as response:
        steps = {step["step"]: step["done"] for step in await response.json()}
    if not steps.get("user"):
        payload = {"client_id": client_id, "name": NAME, "username": USER, "password": PASSWORD, "language": "en"}
        async with session.post(f"{url}/api/onboarding/users", json=payload) as response:
            response.raise_for_status()
            code = (await response.json())["auth_code"]
    else:
        code = await login(session, url)
    async with session.post(
        f"{url}/auth/token", data={"grant_type": "authorization_code", "code": code, "client_id": client_id}
    ) as response:
        response.raise_for_status()
        token: str = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": client_id, "redirect_uri": f"{url}/?auth_callback=1"}),
    ):
        if not steps.get(step):
            async with session.post(f"{url}/api/onboarding/{step}", json=body, headers=headers) as response:
                if response.status not in (200, 403):
                    response.raise_for_status()
    if not steps.get("core_config"):
        await remove_default_entries(session, url, headers)
    return token


# What onboarding's core_config step sets up on its own: nothing the development instance needs, and Google
# Translate fails to set up offline, a red card on the integrations page the screenshots would show.
ONBOARDING_DOMAINS = frozenset({"google_translate", "shopping_list", "met", "radio_browser"})


async def remove_default_entries(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> None:
    """Delete the config entries onboarding created, so the instance shows only the integration."""
    entries = f"{url}/api/config/config_entries/entry"
    async with session.get(entries, headers=headers) as response:
        response.raise_for_status()
        found = [entry["entry_id"] for entry in await response.json() if entry["domain"] in ONBOARDING_DOMAINS]
    for entry_id in found:
        async with session.delete(f"{entries}/{entry_id}", headers=headers) as response:
            response.raise_for_status()


async def confirm_http_config(session: aiohttp.ClientSession, url: str, token: str) -> None:
    """Keep the http settings of configuration.yaml, as the user confirms them in the frontend.

    Since 2026 Home Assistant moves them from YAML to its storage as a "pending" configuration on the first start,
    asks the user in a dialog (which covers the page) to confirm it, and reverts to its defaults (all interfaces,
    port 8123) and restarts five minutes later unless confirmed. Earlier versions know no such command: nothing to
    do there, nor when nothing is pending.
    """
    async with session.ws_connect(f"{url}/api/websocket") as socket:
        await socket.receive_json()  # auth_required
        await socket.send_json({"type": "auth", "access_token": token})
        if (await socket.receive_json()).get("type") != "auth_ok":
            raise SystemExit("Home Assistant refused the developer's token on its websocket")
        await socket.send_json({"id": 1, "type": "http/config"})
        current = await socket.receive_json()
        if current.get("success") and (current.get("result") or {}).get("pending"):
            await socket.send_json({"id": 2, "type": "http/config/promote"})
            promoted = await socket.receive_json()
            if not promoted.get("success"):
                raise SystemExit(f"Home Assistant did not take the http settings: {promoted.get('error')}")


async def login(session: aiohttp.ClientSession, url: str) -> str:
    """An authorisation code for the development user (for the token endpoint or a browser's auth callback)."""
    client_id = f"{url}/"
    body = {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": f"{url}/?auth_callback=1"}
    async with session.post(f"{url}/auth/login_flow", json=body) as response:
        flow = await response.json()
    async with session.post(
        f"{url}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": client_id, "username": USER, "password": PASSWORD},
    ) as response:
        result = await response.json()
    return str(result["result"])


async def past_progress(
    session: aiohttp.ClientSession, flows: str, flow: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """The flow's next step once detection, which shows its progress (port, speed, line setting), is done: asking
    for the flow again moves it on, as the frontend does."""
    for _ in range(PROGRESS_POLLS):
        if flow.get("type") != "progress":
            return flow
        await asyncio.sleep(0.5)
        async with session.get(f"{flows}/{flow['flow_id']}", headers=headers) as response:
            flow = await response.json()
    raise SystemExit("The config flow's detection did not finish within 3 minutes")


async def add_meter(running: Running, keys: dict[str, str]) -> str:
    """Create the e450 entry through the real config-flow API (unless one exists); ``keys`` for a push meter."""
    session, url, port = running.session, running.url, running.port
    headers = {"Authorization": f"Bearer {running.token}"}
    async with session.get(f"{url}/api/config/config_entries/entry", headers=headers) as response:
        entries = [entry for entry in await response.json() if entry["domain"] == "e450"]
    if entries:
        return f"existing entry {entries[0]['title']}"
    flows = f"{url}/api/config/config_entries/flow"
    async with session.post(flows, json={"handler": "e450"}, headers=headers) as response:
        response.raise_for_status()
        flow: dict[str, Any] = await response.json()
    advanced = {"max_baud": "9600", "device_address": "", "wake_up": False}
    async with session.post(
        f"{flows}/{flow['flow_id']}", json={"port": port, "advanced": advanced}, headers=headers
    ) as response:
        flow = await past_progress(session, flows, await response.json(), headers)
    if flow.get("step_id") == "dlms_key":  # an encrypted DLMS push meter: give the keys, as a user would
        if not keys:
            raise SystemExit(f"The meter on {port} pushes encrypted DLMS; pass --ek (and --ak)")
        async with session.post(f"{flows}/{flow['flow_id']}", json=keys, headers=headers) as response:
            flow = await past_progress(session, flows, await response.json(), headers)
    if flow.get("step_id") not in ("confirm", "confirm_push"):
        found = flow.get("errors") or flow.get("reason") or flow.get("step_id")
        raise SystemExit(f"The config flow did not find the meter on {port}: {found}")
    async with session.post(f"{flows}/{flow['flow_id']}", json={}, headers=headers) as response:
        created = await response.json()
    return f"created entry {created.get('title')}"
