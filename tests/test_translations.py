"""Translations: en, fr and de have the same keys and placeholders; every key the code uses exists; every file meets
hassfest's translation schema (script/hassfest/translations.py, which checks translations/en.json of a custom
integration; Home Assistant loads fr and de the same way, so they are held to it too)."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from homeassistant.helpers import config_validation as cv
import pytest
import voluptuous as vol

from custom_components.e450.anomalies import ERROR_MEANINGS, AnomalyKind
from custom_components.e450.messages import error_key
from custom_components.e450.sensor import SENSORS, STATISTICS_SENSORS
from custom_components.e450.wire import DlmsError, PortProblem, PushProblem
from custom_components.e450.wire.errors import ClientProblem, DlmsClientError

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
    assert set(icons["binary_sensor"]) == set(english["entity"]["binary_sensor"])
    source = "\n".join(path.read_text() for path in ROOT.glob("*.py"))
    for key in re.findall(r'translation_key="(\w+)"', source):
        assert any(
            key in section
            for section in (english["exceptions"], sensors, english["selector"], english["entity"]["button"])
        ), key
    errors = english["config"]["error"]
    for reason in PortProblem:  # a local port's, and a network bridge's
        assert f"port_{reason}" in errors and f"port_{reason}" in english["exceptions"]
    for key in ("no_answer", "checksum", "framing", "readout_timeout"):
        assert key in errors and key in english["exceptions"]
    assert {"dlms_push_plain", "dlms_push_encrypted"} <= set(errors)
    for problem in PushProblem:  # what a push's failure shows, in the flows and as an update failure
        key = error_key(DlmsError(problem))[0]
        assert key in errors and key in english["exceptions"], key
    for client_problem in ClientProblem:  # what a DLMS client read's failure shows, in the flows and at run time
        key = error_key(DlmsClientError(client_problem))[0]
        assert key in errors and key in english["exceptions"], key
    assert {str(kind) for kind in AnomalyKind} <= set(english["issues"])
    assert ERROR_MEANINGS


RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")


def translation_key(value: Any) -> str:
    """hassfest's translation_key_validator."""
    if not isinstance(value, str) or RE_TRANSLATION_KEY.match(value) is None:
        raise vol.Invalid(f"invalid translation key {value!r}")
    return value


def text(value: Any) -> str:
    """hassfest's translation_value_validator, and no [%key:…%] reference: Home Assistant resolves those only when it
    builds core's translations; in a custom integration's translations/*.json they would reach the UI verbatim."""
    value = cv.string_with_no_html(value)
    if re.search(r"'\{\w+\}'", value):
        raise vol.Invalid("a placeholder inside single quotes")
    if value != value.strip():
        raise vol.Invalid("leading or trailing spaces")
    if "[%key:" in value:
        raise vol.Invalid("a [%key:…%] reference (not resolved for custom integrations)")
    return value


def data_descriptions_described(value: dict[str, Any]) -> dict[str, Any]:
    """hassfest: every data_description key is a data key, in a step and in each of its sections."""
    for step_id, step in value["step"].items():
        for part in (step, *step.get("sections", {}).values()):
            unknown = set(part.get("data_description", {})) - set(part.get("data", {}))
            if unknown:
                raise vol.Invalid(f"step {step_id}: data_description for {sorted(unknown)}, which are not in data")
    return value


def steps_titled(value: dict[str, Any]) -> dict[str, Any]:
    """Ours, beyond hassfest: every step of a flow has a title, and a step with fields describes each of them."""
    for step_id, step in value["step"].items():
        if "title" not in step:
            raise vol.Invalid(f"step {step_id} has no title")
        for part in (step, *step.get("sections", {}).values()):
            if "data_description" in part and set(part["data_description"]) != set(part.get("data", {})):
                missing = sorted(set(part.get("data", {})) - set(part["data_description"]))
                raise vol.Invalid(f"step {step_id}: no data_description for {missing}")
    return value


def flow_schema() -> vol.All:
    """hassfest's gen_data_entry_schema for config and options flows and repair fix flows."""
    texts = {str: text}
    step = {
        vol.Optional("title"): text,
        vol.Optional("description"): text,
        vol.Optional("data"): texts,
        vol.Optional("data_description"): texts,
        vol.Optional("menu_options"): texts,
        vol.Optional("submit"): text,
        vol.Optional("sections"): {
            str: {
                vol.Optional("name"): text,
                vol.Optional("description"): text,
                vol.Optional("data"): texts,
                vol.Optional("data_description"): texts,
            }
        },
    }
    schema = {
        vol.Optional("flow_title"): text,
        vol.Required("step"): {str: step},
        vol.Optional("error"): texts,
        vol.Optional("abort"): texts,
        vol.Optional("progress"): texts,
        vol.Optional("create_entry"): texts,
    }
    return vol.All(vol.Schema(schema), data_descriptions_described, steps_titled)


def strings_schema() -> vol.Schema:
    """The part of hassfest's gen_strings_schema that an integration like ours can use."""
    states = cv.schema_with_slug_keys(text, slug_validator=translation_key)
    entity = {
        vol.Optional("name"): text,
        vol.Optional("state"): states,
        vol.Optional("state_attributes"): cv.schema_with_slug_keys(
            {vol.Optional("name"): text, vol.Optional("state"): states}, slug_validator=translation_key
        ),
        vol.Optional("unit_of_measurement"): text,
    }
    issue = vol.All(
        cv.has_at_least_one_key("description", "fix_flow"),
        vol.Schema(
            {
                vol.Required("title"): text,
                vol.Exclusive("description", "fixable"): text,
                vol.Exclusive("fix_flow", "fixable"): flow_schema(),
            }
        ),
    )
    return vol.Schema(
        {
            vol.Optional("title"): text,
            vol.Optional("config"): flow_schema(),
            vol.Optional("options"): flow_schema(),
            vol.Optional("selector"): cv.schema_with_slug_keys(
                {"options": cv.schema_with_slug_keys(text, slug_validator=translation_key)},
                slug_validator=vol.Any("_", cv.slug),
            ),
            vol.Optional("issues"): {str: issue},
            vol.Optional("device"): cv.schema_with_slug_keys(
                {vol.Optional("name"): text}, slug_validator=translation_key
            ),
            vol.Optional("entity"): cv.schema_with_slug_keys(
                cv.schema_with_slug_keys(entity, slug_validator=translation_key), slug_validator=cv.slug
            ),
            vol.Optional("exceptions"): cv.schema_with_slug_keys(
                {vol.Optional("message"): text}, slug_validator=cv.slug
            ),
        }
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_hassfest_schema(language: str) -> None:
    strings_schema()(load(language))


@pytest.mark.parametrize(
    "broken",
    [
        {"config": {"step": {"user": {"title": "T", "data": {"a": "A"}, "data_description": {"b": "B"}}}}},
        {"config": {"step": {"user": {"title": "T", "sections": {"s": {"data": {}, "data_description": {"b": "B"}}}}}}},
        {"config": {"step": {"user": {"description": "no title"}}}},
        {"entity": {"sensor": {"Bad_Key": {"name": "N"}}}},
        {"issues": {"x": {"title": "T"}}},
        {"issues": {"x": {"title": "T", "description": "D", "fix_flow": {"step": {}}}}},
        {"exceptions": {"x": {"message": "See [%key:common::state::on%]"}}},
        {"exceptions": {"x": {"message": "<b>bold</b>"}}},
        {"exceptions": {"x": {"message": "Port '{port}'"}}},
        {"exceptions": {"x": {"message": "trailing "}}},
        {"unknown_section": {}},
    ],
)
def test_hassfest_schema_refuses(broken: dict[str, Any]) -> None:
    with pytest.raises(vol.Invalid):
        strings_schema()(broken)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_push_layout_has_a_label(language: str) -> None:
    from custom_components.e450.const import DLMS_PROFILE_AUTO
    from custom_components.e450.wire import PROFILES

    labels = load(language)["selector"]["dlms_profile"]["options"]
    assert set(labels) == {DLMS_PROFILE_AUTO, *PROFILES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_option_text_names_a_subset_of_the_push_layouts(language: str) -> None:
    """An options text that names some of the layouts falls behind when a profile is added: it names all of them
    (as the selector's labels do) or none. (The key step's text names operators as the givers of keys, not as
    layouts.)"""
    from custom_components.e450.wire import PROFILES

    translations = load(language)
    labels = translations["selector"]["dlms_profile"]["options"]
    # the part of each label that names the layout ("Wiener Netze", "Iskraemeco AM550, Elektro Celje")
    names = [labels[profile].split(" (")[0] for profile in PROFILES]
    texts = {key: text for key, text in flatten(translations).items() if key.startswith("/options/")}
    for key, text in texts.items():
        named = [name for name in names if name in text]
        assert not named or len(named) == len(names), (key, named)
