"""Serial ports of this machine with readable names. Blocking: call it in the executor. No HA import."""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import re

import serialx

BY_ID = Path("/dev/serial/by-id")
# Radio sticks other integrations own: auto-detection never sends a sign-on to them.
_RADIO = re.compile(
    r"zigbee|z-?wave|thread|conbee|raspbee|skyconnect|connect zbt|zbdongle|sonoff.*dongle|efr32|cc26|cc13|"
    r"deconz|z-stick|uzb|nabu casa|home assistant connect|ezsp|zwa-2",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SerialPort:
    """A port as the user should see and store it."""

    path: str  # the stable /dev/serial/by-id/… link when there is one
    device: str  # the kernel device it points to
    label: str
    is_radio: bool
    is_usb: bool = False  # a USB adapter (an optical head, most likely), not a built-in UART like /dev/ttyS0


def _by_id_links(directory: Path = BY_ID) -> dict[str, str]:
    links: dict[str, str] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return links
    for entry in entries:
        links[os.path.realpath(entry.path)] = entry.path
    return links


def list_ports(by_id: Path = BY_ID) -> list[SerialPort]:
    """USB and platform serial ports, labelled ``maker product (serial) — path``."""
    links = _by_id_links(by_id)
    ports: list[SerialPort] = []
    for info in serialx.list_serial_ports():
        device = str(info.device)
        path = links.get(os.path.realpath(device), device)
        details = [part for part in (info.manufacturer, info.product) if part]
        description = " ".join(details) or getattr(info, "interface_description", None) or "Serial port"
        if info.serial_number:
            description += f" ({info.serial_number})"
        is_radio = bool(_RADIO.search(description))
        ports.append(SerialPort(path, device, f"{description} — {path}", is_radio, info.vid is not None))
    return ports


def preferred_port(ports: list[SerialPort]) -> str | None:
    """The port to offer first: the only USB adapter that is not a radio stick; none when there are several
    (the user chooses, or lets detection try them) or only built-in UARTs."""
    heads = [port for port in ports if port.is_usb and not port.is_radio]
    return heads[0].path if len(heads) == 1 else None


def same_port(first: str, second: str) -> bool:
    """Whether two paths name the same device (a by-id link and its /dev/ttyUSBn, for example)."""
    if first == second:
        return True
    if "://" in first or "://" in second:
        return False
    return os.path.realpath(first) == os.path.realpath(second)
