"""End to end in a real browser: Home Assistant + the simulated E450, set up through the UI in headless Chromium,
the device page showing energy and power; a push meter (Aidon) beside it, its device page naming maker and model;
once more in French. Saves the README's screenshots.

Run by .ci/run (which installs Debian's chromium) with the Home Assistant test plugin disabled, since this test
starts a real Home Assistant: ``pytest -p no:homeassistant -m browser tests/browser``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
import contextlib
import json
import os
from pathlib import Path
import shutil
import socket
from typing import Any

import pytest

from simulator import launcher

ROOT = Path(__file__).resolve().parent.parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# the README's screenshots come from the newest Home Assistant, what users run (.ci/run sets E450_HA per stack)
SAVE_SCREENSHOTS = os.environ.get("E450_HA", "latest") == "latest"
BY_ID = Path("/dev/serial/by-id")
HEAD_NAME = "usb-FTDI_FT230X_Basic_UART_D30E450S-if00-port0"  # an FTDI-based optical head, as udev names it

pytestmark = pytest.mark.browser

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def by_id_link(target: str) -> Iterator[str]:
    """The simulated meter under the kind of path a user's USB optical head has (/dev/serial/by-id/…), for the
    screenshots; the simulator's own path where /dev cannot be written. Removed again afterwards."""
    link = BY_ID / HEAD_NAME
    created = [folder for folder in (BY_ID.parent, BY_ID) if not folder.exists()]
    try:
        BY_ID.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    except OSError:
        yield target
        return
    try:
        yield str(link)
    finally:
        link.unlink(missing_ok=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()


@pytest.fixture
async def home_assistant(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    if async_playwright is None or not os.path.exists(CHROMIUM):
        pytest.skip("headless browser test: needs Debian's chromium (apt-get install chromium) and playwright")
    config = tmp_path / "config"
    simulated = launcher.Simulated("e450")
    async with launcher.launch(config, http_port=_free_port(), fresh=True, meter=simulated) as running:
        codes = [await launcher.login(running.session, running.url) for _ in range(3)]
        pusher = launcher.start_simulator(launcher.Simulated("aidon"), config / "ttyPUSH")
        try:
            assert pusher.stdout is not None
            push_port = (await asyncio.to_thread(pusher.stdout.readline)).decode().strip()
            with by_id_link(running.port) as link:
                yield {"url": running.url, "link": link, "push_port": push_port, "codes": codes, "config": config}
        finally:
            launcher.stop([pusher])


@pytest.fixture
async def home_assistant_with_submeters(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """The E450 pushing a gas meter on M-Bus channel 1 and a water meter on channel 2 (docs/mbus-submeters.md)."""
    if async_playwright is None or not os.path.exists(CHROMIUM):
        pytest.skip("headless browser test: needs Debian's chromium (apt-get install chromium) and playwright")
    config = tmp_path / "config"
    simulated = launcher.Simulated("e450-cii-submeters")
    async with launcher.launch(config, http_port=_free_port(), fresh=True, meter=simulated) as running:
        code = await launcher.login(running.session, running.url)
        yield {"url": running.url, "port": running.port, "code": code, "running": running}


def _auth_url(url: str, code: str, path: str) -> str:
    state = base64.b64encode(json.dumps({"hassUrl": url, "clientId": f"{url}/"}).encode()).decode()
    return f"{url}{path}?auth_callback=1&code={code}&state={state}"


async def _open_flow(page: Page, title: str) -> None:
    await page.get_by_text("Add integration").click()
    await page.wait_for_timeout(1000)
    await page.keyboard.type("E450")
    await page.get_by_text("E450 optical meter reader").last.click()
    await page.get_by_text(title).wait_for(timeout=30000)


async def _navigate(page: Page, path: str) -> None:
    await page.evaluate(
        "path => { history.pushState(null, '', path); window.dispatchEvent(new CustomEvent('location-changed')); }",
        path,
    )


async def _screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    if SAVE_SCREENSHOTS:
        await page.screenshot(path=str(IMAGES / name), full_page=full_page)


async def _choose_port(page: Page, path: str) -> None:
    """Type ``path`` into the port picker and submit: Home Assistant 2025.4's combo box takes the text itself; from
    2026 a click opens a search box ("Search | Add custom item") that takes it."""
    await page.locator("ha-combo-box input, ha-picker-field").first.click()
    port = page.locator("ha-picker-combo-box input, ha-combo-box input").first
    await port.wait_for()
    await port.press("Control+a")
    await port.press("Backspace")
    await port.press_sequentially(path, delay=10)
    await port.press("Enter")  # a typed path is a custom value of the port picker
    await page.get_by_text("Submit").click()


async def _finish_flow(page: Page, title: str) -> None:
    """2025.4 says what it created; from 2026 the frontend asks for the device's name and area instead."""
    created = page.get_by_text(f"Created configuration for {title}")
    await created.or_(page.get_by_text("Name and assign")).first.wait_for(timeout=30000)
    await page.get_by_text("Finish").first.click()  # "Finish", or "Skip and finish" from 2026


async def _expect(page: Page, *texts: str) -> None:
    """Each text is visible (Playwright's text locators pierce the frontend's shadow DOM; inner_text does not)."""
    for text in texts:
        await page.get_by_text(text).first.wait_for(timeout=30000)


async def _value_next_to(page: Page, name: str) -> str:
    """The state shown on the device page's row for entity ``name``."""
    row = page.locator("state-badge + *, hui-generic-entity-row, ha-state-row").filter(has_text=name).first
    text = await row.inner_text()
    return " ".join(text.replace(name, "").split())


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def test_add_the_meter_in_a_browser(home_assistant: dict[str, Any]) -> None:
    url, link = home_assistant["url"], home_assistant["link"]
    IMAGES.mkdir(parents=True, exist_ok=True)
    args = BROWSER_ARGS
    assert async_playwright is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(_auth_url(url, home_assistant["codes"][0], "/config/integrations/dashboard"))
        await _open_flow(page, "Connect to the meter")
        await _choose_port(page, link)
        # the progress dialog says what is tried while the meter is probed
        await (
            page.get_by_text("at 300 Bd (7E1)")
            .or_(page.get_by_text("The meter answered"))
            .first.wait_for(timeout=30000)
        )
        await _screenshot(page, "config-flow-progress.png")
        await page.get_by_text("Meter found").wait_for(timeout=60000)
        await _screenshot(page, "config-flow-confirm.png")
        await _expect(page, "Landis+Gyr E450 (ZMXi320AP)", "read at 9600 Bd", link)
        await page.get_by_text("Submit").click()
        await _finish_flow(page, "Landis+Gyr E450")

        await _navigate(page, "/config/devices/dashboard")  # inside the app: a reload would need a new login
        await page.get_by_text("Landis+Gyr E450").first.click()
        await page.get_by_text("Energy import").first.wait_for(timeout=30000)
        await page.wait_for_timeout(2000)
        await _screenshot(page, "device.png", full_page=True)
        await _expect(page, "Energy import", "Power import", "Voltage L1")
        energy = await _value_next_to(page, "Energy import")
        power = await _value_next_to(page, "Power import")
        assert energy.endswith("kWh") and float(energy.split()[0].replace(",", "")) > 10000, energy
        assert power.endswith("kW") and float(power.split()[0]) >= 0, power
        await browser.close()

        # a push meter: nothing answers the sign-on, the integration listens and finds an Aidon's lists; its device
        # page names the maker and the model its list states (0-0:96.1.7), not "DLMS <serial>"
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(_auth_url(url, home_assistant["codes"][2], "/config/integrations/dashboard"))
        await _open_flow(page, "Connect to the meter")
        await _choose_port(page, home_assistant["push_port"])
        await page.get_by_text("Meter found").wait_for(timeout=120000)
        await _expect(page, "Aidon 6534", "pushes DLMS/COSEM data at 2400 Bd")
        await page.get_by_text("Submit").click()
        await _finish_flow(page, "Aidon 6534")
        await _navigate(page, "/config/devices/dashboard")
        await page.get_by_text("Aidon 6534").first.click()
        card = page.locator("ha-device-info-card")
        await card.get_by_text("by Aidon").first.wait_for(timeout=30000)
        await card.get_by_text("6534").first.wait_for(timeout=30000)
        await _expect(page, "Voltage L1")
        assert await page.get_by_text("DLMS 30137181").count() == 0
        await browser.close()

        # the same flow in French: the frontend's language is a per-browser setting
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        await context.add_init_script("localStorage.setItem('selectedLanguage', JSON.stringify('fr'))")
        page = await context.new_page()
        await page.goto(_auth_url(url, home_assistant["codes"][1], "/config/integrations/dashboard"))
        await page.get_by_text("Ajouter une intégration").click()
        await page.wait_for_timeout(1000)
        await page.keyboard.type("E450")
        await page.get_by_text("E450 optical meter reader").last.click()
        await page.get_by_text("Connexion au compteur").wait_for(timeout=30000)
        await _expect(page, "Port série", "Réglages avancés")
        await _screenshot(page, "config-flow-fr.png")
        await browser.close()


async def test_the_gas_meter_has_its_own_device_page(home_assistant_with_submeters: dict[str, Any]) -> None:
    """The E450's push names a gas meter on M-Bus channel 1: set up from the UI, it has a device page of its own,
    linked to the electricity meter. Its push says the medium but not the scale: the total shows no number until
    the repair issue asking for the unit is fixed (through Home Assistant's repair API, as the repair dialog does),
    then its reading in m³."""
    running = home_assistant_with_submeters
    assert async_playwright is not None
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(_auth_url(running["url"], running["code"], "/config/integrations/dashboard"))
        await _open_flow(page, "Connect to the meter")
        await _choose_port(page, running["port"])
        await page.get_by_text("Meter found").wait_for(timeout=60000)
        await page.get_by_text("Submit").click()
        await _finish_flow(page, "Landis+Gyr")
        await _navigate(page, "/config/devices/dashboard")
        await page.get_by_text("Gas meter 24521662").first.click()
        await _expect(page, "Gas meter 24521662", "Connected via", "M-Bus 1")
        await page.wait_for_timeout(2000)
        assert (await _value_next_to(page, "Gas meter 24521662")) == "Unavailable"
        # the repair issue names the channel; its dialog is the channel's form, with the number the meter sends
        await _navigate(page, "/config/repairs")
        await page.get_by_text("Choose the unit of the sub-meter on M-Bus channel 1").first.click()
        await _expect(page, "M-Bus channel 1: sub-meter 24521662", "Power of ten")
        await page.wait_for_timeout(1000)  # the dialog's opening animation
        await _screenshot(page, "gas-meter-repair.png")
        await page.get_by_label("Close").locator("visible=true").first.click()
        await _fix_channel(running["running"], 1, {"medium": "gas", "unit": "m3", "exponent": "-3"})
        await _navigate(page, "/config/devices/dashboard")
        await page.get_by_text("Gas meter 24521662").first.click()
        await _expect(page, "Connected via")
        await page.wait_for_timeout(2000)
        await _screenshot(page, "gas-meter-device.png", full_page=True)
        total = await _value_next_to(page, "Gas meter 24521662")
        assert total.endswith("m³") and 0 < float(total.split()[0].replace(",", "")) < 100000, total
        await browser.close()


async def _fix_channel(running: launcher.Running, channel: int, answer: dict[str, str]) -> None:
    """Fix the channel's repair issue through the repair API the frontend's dialog uses."""
    headers = {"Authorization": f"Bearer {running.token}"}
    url, session = running.url, running.session
    async with session.get(f"{url}/api/config/config_entries/entry", headers=headers) as response:
        (entry,) = [entry for entry in await response.json() if entry["domain"] == "e450"]
    fix = {"handler": "e450", "issue_id": f"{entry['entry_id']}_submeter_scale_{channel}"}
    async with session.post(f"{url}/api/repairs/issues/fix", json=fix, headers=headers) as response:
        response.raise_for_status()
        flow = await response.json()
    assert flow["step_id"] == "channel", flow
    async with session.post(
        f"{url}/api/repairs/issues/fix/{flow['flow_id']}", json=answer, headers=headers
    ) as response:
        response.raise_for_status()
        assert (await response.json())["type"] == "create_entry"
