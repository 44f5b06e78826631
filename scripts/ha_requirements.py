"""Print the requirements of the integrations the installed Home Assistant sets up for a development instance.

Used by ``scripts/setup --ha latest``. Home Assistant 2025.4 depended on hassil, home-assistant-intents, ha-ffmpeg …
itself; current releases leave them to the integrations' manifests and set up every base platform by default
(conversation, tts, camera, ai_task, assist_satellite …). simulator/launcher.py starts Home Assistant with
``--skip-pip``, so nothing installs them at run time: an integration that cannot import fails to set up, and the
websocket command listing the services fails with it, which leaves the frontend on "Loading…".

The integrations: Home Assistant's core and default ones (its bootstrap), those the launcher's configuration.yaml
names, and their dependencies, as their manifests list them. One requirement a line, as the manifests pin them
(they agree with Home Assistant's package_constraints.txt, which constrains the installation).
"""

from __future__ import annotations

import json
from pathlib import Path
import re

from homeassistant import bootstrap, components

from simulator.launcher import CONFIGURATION


def integrations(roots: set[str], folder: Path) -> set[str]:
    """``roots`` and everything they depend on, through the manifests' ``dependencies``."""
    found: set[str] = set()
    todo = sorted(roots)
    while todo:
        domain = todo.pop()
        manifest = folder / domain / "manifest.json"
        if domain in found or not manifest.exists():
            continue
        found.add(domain)
        todo.extend(json.loads(manifest.read_text()).get("dependencies", []))
    return found


def main() -> None:
    folder = Path(components.__path__[0])
    configured = set(re.findall(r"^([a-z_]+):", CONFIGURATION, re.MULTILINE)) - {"homeassistant"}
    roots = set(bootstrap.CORE_INTEGRATIONS) | set(bootstrap.DEFAULT_INTEGRATIONS) | configured
    requirements = {
        requirement
        for domain in integrations(roots, folder)
        for requirement in json.loads((folder / domain / "manifest.json").read_text()).get("requirements", [])
    }
    print("\n".join(sorted(requirements, key=str.lower)))


if __name__ == "__main__":
    main()
