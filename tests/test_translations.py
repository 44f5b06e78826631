"""Translations: en, fr and de have the same keys and placeholders; every key the code uses exists."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

from custom_components.e450.anomalies import ERROR_MEANINGS, AnomalyKind
from custom_components.e450.messages import error_key
from custom_components.e450.sensor import SENSORS, STATISTICS_SENSORS
from custom_components.e450.wire import DlmsError, PushProblem

ROOT = Path(__file__).parent.parent / "custom_components" / "e450"
LANGUAGES = ("en", "fr", "de")


def load(language: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "translations" / f"{language}.json").read_text(encoding="utf-8")))


def flatten(node: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}/{key}"))
        return out
    return {prefix: node}


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_same_keys_and_placeholders(language: str) -> None:
    english, other = flatten(load("en")), flatten(load(language))
    assert set(english) == set(other)
    for key, text in english.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", other[key])), key
        assert other[key].strip(), key


def test_every_key_the_code_uses_exists() -> None:
    english = load("en")
    sensors = english["entity"]["sensor"]
    for description in (*SENSORS.values(), *STATISTICS_SENSORS):
        assert description.translation_key in sensors
    assert "obis_value" in sensors
    icons = json.loads((ROOT / "icons.json").read_text())["entity"]
    assert set(icons["sensor"]) == set(sensors)
    assert set(icons["button"]) == set(english["entity"]["button"])
    source = "\n".join(path.read_text() for path in ROOT.glob("*.py"))
    for key in re.findall(r'translation_key="(\w+)"', source):
        assert any(
            key in section
            for section in (english["exceptions"], sensors, english["selector"], english["entity"]["button"])
        ), key
    errors = english["config"]["error"]
    for reason in ("not_found", "permission", "busy", "unsupported", "io"):
        assert f"port_{reason}" in errors and f"port_{reason}" in english["exceptions"]
    for key in ("no_answer", "checksum", "framing", "readout_timeout"):
        assert key in errors and key in english["exceptions"]
    assert {"dlms_push_plain", "dlms_push_encrypted"} <= set(errors)
    for problem in PushProblem:  # what a push's failure shows, in the flows and as an update failure
        key = error_key(DlmsError(problem))[0]
        assert key in errors and key in english["exceptions"], key
    assert {str(kind) for kind in AnomalyKind} <= set(english["issues"])
    assert ERROR_MEANINGS


def test_manifest_and_hacs() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"] and keys[2:] == sorted(keys[2:])
    assert manifest["iot_class"] == "local_polling" and manifest["integration_type"] == "device"
    assert manifest["requirements"] == ["serialx>=1.15.1"]
    assert manifest["documentation"].startswith("https://") and manifest["issue_tracker"].startswith("https://")
    hacs = json.loads((ROOT.parent.parent / "hacs.json").read_text())
    assert hacs["homeassistant"] == "2025.4.0" and hacs["name"]
    from PIL import Image

    with Image.open(ROOT / "brand" / "icon.png") as icon:
        assert icon.size == (256, 256)
