"""What the HACS action and hassfest check, offline, where it applies to us and can fail.

The validators themselves run from their own checkouts (scripts/validate; CI reaches neither GitHub nor the brands
site). These tests hold the same rules against our files: manifest.json as hassfest's custom-integration schema and
HACS's integration check read it, hacs.json as HACS's schema, the licence HACS wants, brand/ as Home Assistant
(2026.3 and newer) serves it, icons.json and quality_scale.yaml as hassfest's schemas. The translation files' schema is
in tests/test_translations.py.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import re
from types import ModuleType
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from packaging.requirements import Requirement
from PIL import Image
import pytest
import yaml

REPOSITORY = Path(__file__).parent.parent
COMPONENT = REPOSITORY / "custom_components" / "e450"

# hassfest's manifest schema with its custom-integration extension (script/hassfest/manifest.py): every key it knows.
MANIFEST_KEYS = {
    "domain", "name", "after_dependencies", "bluetooth", "codeowners", "config_flow", "dependencies", "dhcp",
    "disabled", "documentation", "homekit", "import_executor", "integration_type", "iot_class", "issue_tracker",
    "loggers", "mqtt", "quality_scale", "requirements", "single_config_entry", "ssdp", "usb", "version", "zeroconf",
}  # fmt: skip
# what hassfest (custom integrations need a version) and HACS's integration_manifest check require, and what HA
# uses to show and load the integration
MANIFEST_REQUIRED = {
    "domain", "name", "codeowners", "config_flow", "documentation", "integration_type", "iot_class",
    "issue_tracker", "requirements", "version",
}  # fmt: skip
IOT_CLASSES = {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
# hassfest's version check for custom integrations (AwesomeVersion with ensure_strategy)
VERSION_STRATEGIES = {
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
}
# HACS's hacs.json schema (custom_components/hacs/utils/validate.py: HACS_MANIFEST_JSON_SCHEMA, extra keys refused)
HACS_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "content_in_root": bool,
    "country": (str, list),
    "filename": str,
    "hacs": str,
    "hide_default_branch": bool,
    "homeassistant": str,
    "persistent_directory": str,
    "render_readme": bool,
    "zip_release": bool,
}
# The licences HACS accepts without fetching the SPDX list (validate/license.py: POPULAR_OSI_APPROVED_LICENSES)
POPULAR_OSI_LICENCES = {
    "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "CDDL-1.0", "EPL-2.0", "GPL-2.0", "GPL-3.0", "LGPL-2.1",
    "LGPL-3.0", "MIT", "MPL-2.0",
}  # fmt: skip
# Home Assistant's brands integration (2026.3): the files it serves from a custom integration's brand/ folder
BRAND_IMAGES = {
    f"{dark}{kind}{hidpi}.png" for dark in ("", "dark_") for kind in ("icon", "logo") for hidpi in ("", "@2x")
}
# hassfest's quality scale rules (script/hassfest/quality_scale.py: ALL_RULES)
QUALITY_SCALE_RULES = {
    # bronze
    "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow", "config-flow-test-coverage",
    "dependency-transparency", "docs-actions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data",
    "test-before-configure", "test-before-setup", "unique-config-entry",
    # silver
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters", "docs-installation-parameters",
    "entity-unavailable", "integration-owner", "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage",
    # gold
    "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update", "docs-examples",
    "docs-known-limitations", "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
    "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations", "reconfiguration-flow", "repair-issues",
    "stale-devices",
    # platinum
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip
TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")  # hassfest's translation_key_validator
MDI_ICON = re.compile(r"^mdi:[a-z0-9]+(-[a-z0-9]+)*$")


def manifest() -> dict[str, Any]:
    return dict(json.loads((COMPONENT / "manifest.json").read_text(encoding="utf-8")))


def hacs_offline() -> ModuleType:
    """scripts/hacs_offline.py, whose licence detection stands in for GitHub's in the offline HACS run."""
    spec = importlib.util.spec_from_file_location("hacs_offline", REPOSITORY / "scripts" / "hacs_offline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_keys_order_and_values() -> None:
    data = manifest()
    keys = list(data)
    assert keys[:2] == ["domain", "name"], "hassfest: domain, then name, first"
    assert keys[2:] == sorted(keys[2:]), "hassfest: the other keys in alphabetical order"
    assert set(keys) <= MANIFEST_KEYS, set(keys) - MANIFEST_KEYS
    assert set(keys) >= MANIFEST_REQUIRED, MANIFEST_REQUIRED - set(keys)
    assert "quality_scale" not in data, "hassfest: only core integrations declare a quality scale in the manifest"
    assert data["domain"] == COMPONENT.name and re.fullmatch(r"[a-z0-9_]+", data["domain"])
    assert isinstance(data["name"], str) and data["name"].strip()
    assert data["codeowners"] and all(re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", owner) for owner in data["codeowners"])
    assert data["config_flow"] is True
    assert data["iot_class"] in IOT_CLASSES and data["integration_type"] in INTEGRATION_TYPES
    assert data["iot_class"] == "local_polling" and data["integration_type"] == "device"
    assert data["requirements"] == ["serialx>=1.15.1"]
    for key in ("documentation", "issue_tracker"):
        assert re.fullmatch(r"https://[^\s/]+/\S*", data[key]), key
    assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+/issues", data["issue_tracker"]), (
        "scripts/hacs_offline.py takes the GitHub repository from the issue tracker"
    )
    for requirement in data["requirements"]:
        assert " " not in requirement, "hassfest: a requirement without spaces"
        Requirement(requirement)
    assert all(isinstance(logger, str) and logger for logger in data.get("loggers", []))
    assert all(isinstance(domain, str) for domain in data.get("dependencies", []) + data.get("after_dependencies", []))


def test_manifest_version_parses_as_hassfest_and_hacs_read_it() -> None:
    version = manifest()["version"]
    assert isinstance(version, str)
    assert AwesomeVersion(version).strategy in VERSION_STRATEGIES, version
    pyproject = (REPOSITORY / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{version}"' in pyproject, "manifest.json and pyproject.toml give the same version"


def test_hacs_json() -> None:
    hacs = json.loads((REPOSITORY / "hacs.json").read_text(encoding="utf-8"))
    assert set(hacs) <= set(HACS_JSON_TYPES), set(hacs) - set(HACS_JSON_TYPES)
    for key, value in hacs.items():
        assert isinstance(value, HACS_JSON_TYPES[key]), key
    assert hacs["name"] == manifest()["name"]
    assert AwesomeVersion(hacs["homeassistant"]).strategy == AwesomeVersionStrategy.CALVER
    assert hacs["homeassistant"] == "2025.4.0", "the oldest release the integration supports"
    assert not hacs.get("zip_release") or hacs.get("filename"), "HACS: zip_release needs filename"
    assert not hacs.get("content_in_root"), "the integration lives in custom_components/e450"
    # HACS's "information" check: a README at the root
    assert (REPOSITORY / "README.md").is_file()


def test_licence_is_one_hacs_accepts() -> None:
    files = hacs_offline().repository_files(REPOSITORY)
    licence = hacs_offline().licence(files)
    assert licence is not None, "HACS: the repository has no license"
    assert licence["spdx_id"] in POPULAR_OSI_LICENCES, licence


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        ("Apache License\n   Version 2.0, January 2004", "Apache-2.0"),
        ("MIT License\n\nPermission is hereby granted, free of charge, to any person", "MIT"),
        ("All rights reserved.", "NOASSERTION"),
    ],
)
def test_licence_detection(tmp_path: Path, text: str, spdx: str) -> None:
    (tmp_path / "LICENSE").write_text(text, encoding="utf-8")
    licence = hacs_offline().licence({"LICENSE": tmp_path / "LICENSE"})
    assert licence is not None and licence["spdx_id"] == spdx
    assert hacs_offline().licence({}) is None


def test_brand_images() -> None:
    brand = COMPONENT / "brand"
    names = {path.name for path in brand.iterdir()}
    assert names <= BRAND_IMAGES, f"Home Assistant serves only {sorted(BRAND_IMAGES)}: {names - BRAND_IMAGES}"
    assert "icon.png" in names, "HACS's brands check and Home Assistant's fallbacks start from icon.png"
    for name in sorted(names):
        with Image.open(brand / name) as image:
            assert image.format == "PNG", name
            width, height = image.size
        scale = 2 if "@2x" in name else 1
        if "icon" in name:
            assert (width, height) == (256 * scale, 256 * scale), name
        else:  # the brands repository's rule: shortest side 128 to 256 (256 to 512 at @2x), at most 3:1 wide
            assert 128 * scale <= min(width, height) <= 256 * scale, name
            assert height <= width <= 3 * height, name


def test_brand_images_are_published() -> None:
    """HACS looks for brand/icon.png in the repository's tree: the file must be tracked, not merely present."""
    files = hacs_offline().repository_files(REPOSITORY)
    for path in (COMPONENT / "brand").iterdir():
        assert path.relative_to(REPOSITORY).as_posix() in files, path.name


def test_icons_json() -> None:
    icons = json.loads((COMPONENT / "icons.json").read_text(encoding="utf-8"))
    english = json.loads((COMPONENT / "translations" / "en.json").read_text(encoding="utf-8"))
    # hassfest: entity_component only for entity, helper and system integrations; entity for all but entity/system
    assert set(icons) <= {"entity", "services"}, set(icons)
    assert "services" not in icons or (COMPONENT / "services.yaml").is_file()
    for platform, entries in icons.get("entity", {}).items():
        assert re.fullmatch(r"[a-z0-9_]+", platform), platform
        for key, entry in entries.items():
            assert TRANSLATION_KEY.match(key), key
            assert key in english["entity"].get(platform, {}), f"icon for {platform}.{key}: no such entity"
            assert set(entry) <= {"default", "state", "state_attributes", "range"}, (platform, key)
            default = entry.get("default")
            assert default is None or MDI_ICON.match(default), (platform, key)
            for state, icon in entry.get("state", {}).items():
                assert TRANSLATION_KEY.match(state) and MDI_ICON.match(icon), (platform, key, state)
                assert icon != default, f"{platform}.{key}.{state}: same as the default icon, hassfest refuses it"


def test_quality_scale() -> None:
    scale = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text(encoding="utf-8"))
    assert set(scale) == {"rules"}
    rules = scale["rules"]
    assert set(rules) <= QUALITY_SCALE_RULES, set(rules) - QUALITY_SCALE_RULES
    assert set(rules) == QUALITY_SCALE_RULES, f"rules without a status: {QUALITY_SCALE_RULES - set(rules)}"
    for rule, value in rules.items():
        if isinstance(value, str):
            assert value in {"done", "todo"}, rule
        else:
            assert set(value) <= {"status", "comment"} and value["status"] in {"done", "todo", "exempt"}, rule
            assert value["status"] != "exempt" or str(value.get("comment", "")).strip(), f"{rule}: exempt, why?"
