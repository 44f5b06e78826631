"""Run Home Assistant with the integration and a simulated (or real) meter, onboarded and configured.

Started by ``scripts/develop``; see its header for the options. Stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
URL = "http://127.0.0.1:8123"
USER, PASSWORD, NAME = "dev", "dev-e450", "Developer"
CLIENT_ID = f"{URL}/"
CONFIGURATION = """\
# Made by scripts/develop: no default_config (its go2rtc/ffmpeg parts need the internet)
homeassistant:
  name: e450 development
  latitude: 48.2
  longitude: 16.37
  elevation: 170
  unit_system: metric
  time_zone: Europe/Vienna
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


def prepare_config(fresh: bool, config: Path = CONFIG, port: int = 8123) -> None:
    """A development configuration in ``config``, with the integration linked in."""
    if fresh and config.exists():
        shutil.rmtree(config)
    config.mkdir(exist_ok=True)
    (config / "configuration.yaml").write_text(CONFIGURATION.replace("{port}", str(port)))
    links = config / "custom_components"
    links.mkdir(exist_ok=True)
    target = links / "e450"
    if not target.exists():
        target.symlink_to(ROOT / "custom_components" / "e450")


async def wait_for_http(session: aiohttp.ClientSession, process: subprocess.Popen[bytes], url: str = URL) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"Home Assistant exited with code {process.returncode}; see {CONFIG}/home-assistant.log")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{url}/api/onboarding") as response:
                if response.status in (200, 401):
                    return
        await asyncio.sleep(0.5)
    raise SystemExit("Home Assistant did not start within 5 minutes")


async def onboard(session: aiohttp.ClientSession, url: str = URL) -> str:
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
    return token


async def login(session: aiohttp.ClientSession, url: str = URL) -> str:
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


async def add_meter(session: aiohttp.ClientSession, token: str, port: str, keys: dict[str, str]) -> str:
    """Create the e450 entry through the real config-flow API (unless one exists); ``keys`` for a push meter."""
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{URL}/api/config/config_entries/entry", headers=headers) as response:
        entries = [entry for entry in await response.json() if entry["domain"] == "e450"]
    if entries:
        return f"existing entry {entries[0]['title']}"
    async with session.post(
        f"{URL}/api/config/config_entries/flow", json={"handler": "e450"}, headers=headers
    ) as response:
        response.raise_for_status()
        flow: dict[str, Any] = await response.json()
    advanced = {"max_baud": "9600", "device_address": "", "wake_up": False}
    async with session.post(
        f"{URL}/api/config/config_entries/flow/{flow['flow_id']}",
        json={"port": port, "advanced": advanced},
        headers=headers,
    ) as response:
        flow = await response.json()
    if flow.get("step_id") == "dlms_key":  # an encrypted DLMS push meter: give the keys, as a user would
        if not keys:
            raise SystemExit(f"The meter on {port} pushes encrypted DLMS; pass --ek (and --ak)")
        async with session.post(
            f"{URL}/api/config/config_entries/flow/{flow['flow_id']}", json=keys, headers=headers
        ) as response:
            flow = await response.json()
    if flow.get("step_id") not in ("confirm", "confirm_push"):
        raise SystemExit(f"The config flow did not find the meter on {port}: {flow.get('errors')}")
    async with session.post(
        f"{URL}/api/config/config_entries/flow/{flow['flow_id']}", json={}, headers=headers
    ) as response:
        created = await response.json()
    return f"created entry {created.get('title')}"


async def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/develop")
    parser.add_argument("--port", help="a real meter's port or URL instead of the simulator")
    parser.add_argument("--profile", default="e450", help="simulator profile (default e450)")
    parser.add_argument("--fault", help="simulator fault")
    parser.add_argument("--fresh", action="store_true", help="start from an empty config/")
    parser.add_argument("--ek", help="encryption key of a DLMS push meter (default: the simulator's)")
    parser.add_argument("--ak", help="authentication key of a DLMS push meter (default: the simulator's)")
    args = parser.parse_args()
    prepare_config(args.fresh)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes: list[subprocess.Popen[bytes]] = []
    port = args.port
    if port is None:
        link = str(CONFIG / "ttyMETER")
        command = [sys.executable, "-m", "simulator", "--profile", args.profile, "--pty", "--realtime", "--link", link]
        if args.fault:
            command += ["--fault", args.fault]
        simulator = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        processes.append(simulator)
        assert simulator.stdout is not None
        port = (await asyncio.to_thread(simulator.stdout.readline)).decode().strip()
        print(f"Simulator ({args.profile}{', fault ' + args.fault if args.fault else ''}) on {port}")
    hass = subprocess.Popen(
        [sys.executable, "-m", "homeassistant", "--config", str(CONFIG), "--skip-pip"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(hass)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with aiohttp.ClientSession() as session:
            print("Starting Home Assistant 2025.4 …")
            await wait_for_http(session, hass)
            token = await onboard(session)
            keys = {"encryption_key": args.ek or "", "authentication_key": args.ak or ""}
            if args.port is None:  # the simulator's push profiles use its example keys
                sys.path.insert(0, str(ROOT))  # the script runs from scripts/; the simulator package is at the root
                from simulator.dlms_push import EXAMPLE_AK, EXAMPLE_EK

                keys = {"encryption_key": args.ek or EXAMPLE_EK.hex(), "authentication_key": args.ak or ""}
                if args.profile == "e450-dlms-encrypted":
                    keys["authentication_key"] = args.ak or EXAMPLE_AK.hex()
            print(await add_meter(session, token, port, {k: v for k, v in keys.items() if v}))
        print(f"\nOpen {URL} and log in as '{USER}' with password '{PASSWORD}'.")
        print(f"Logs: {CONFIG}/home-assistant.log. Ctrl-C stops everything.")
        while not stop.is_set() and hass.poll() is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
