"""The Czech distributors' RS-485 push (ČEZ Distribuce, EG.D, PRE: Sagemcom XT211 and others): raw APDUs whose
elements name their objects by descriptors without A-XDR tags (docs/dlms.md §6.6), read from EG.D's own example,
on a raw line, by detection and from the command line; powers and energies scaled by the distributors' units."""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path

import pytest

from custom_components.e450.wire import PushDecoder
from custom_components.e450.wire.commands.dlms import main
from custom_components.e450.wire.detect import Detector, find_raw_apdu
from custom_components.e450.wire.dlms.push.czech import elements, opens
from custom_components.e450.wire.dlms.push.raw import RawReader
from custom_components.e450.wire.framing import Framing
from custom_components.e450.wire.models import Layout, PushMeter, Scale
from simulator.dlms_push import czech_body, data_notification
from simulator.profiles import MeterState

from .dlms_vectors import vector
from .scripted import Script

EXAMPLE = "czech_xt211_egd_raw_spec_example"


def test_egd_example_decodes_to_every_value_the_document_states() -> None:
    source = vector(EXAMPLE)
    (push,) = PushDecoder(framing=Framing.RAW).feed(source.data)
    assert push.error is None and push.readout is not None
    readout = push.readout
    assert push.info.layout is Layout.CZECH and push.info.time is None
    readings = {code: (reading.value, reading.unit) for code, reading in readout.readings.items()}
    # the document's "Parsed items" and "Unit" columns
    stated = {"1.7.0": 3, "21.7.0": 1, "41.7.0": 1, "61.7.0": 1, "2.7.0": 3, "22.7.0": 1, "42.7.0": 1, "62.7.0": 1}
    assert {code: readings[code] for code in stated} == {code: (value, "W") for code, value in stated.items()}
    energies = {"1.8.0": 8, "1.8.1": 0, "1.8.2": 4, "1.8.3": 4, "1.8.4": 0, "2.8.0": 4}
    assert {code: readings[code] for code in energies} == {code: (value, "Wh") for code, value in energies.items()}
    assert readings["96.3.10"] == (1, None)  # disconnector: connected
    assert [readings[f"0-{relay}:96.3.10"][0] for relay in range(2, 7)] == [1, 0, 0, 0, 0]
    assert readout.text("96.14.0") == "T3" and readout.text("96.1.0") == "0123456789"
    assert readout.text("42.0.0") == "EGD012345" and readings["17.0.0"] == (0, None)  # limiter: 0 W
    assert not readout.withheld
    assert {readout.scale(code) for code in (*stated, *energies)} == {Scale.CONVENTION}
    assert readout.scales["1.8.0"].source == "Czech distributors' convention"


def test_the_example_as_printed_is_refused_without_a_hang() -> None:
    """EG.D's example carries two misprints (a 9-byte string announced as 16 bytes, 27 elements counted as 22): as
    printed it is no well-formed push, and a raw reader says so instead of waiting for bytes that never come."""
    printed = b"".join(vector(EXAMPLE).lines)
    assert printed != vector(EXAMPLE).data
    reader = RawReader()
    assert reader.feed(printed) == [] and reader.junk_bytes == len(printed)  # skipped at once, not waited on
    assert len(reader.feed(vector(EXAMPLE).data)) == 1  # the next, well-formed push is read
    assert elements(printed[6:]) is None


def test_a_raw_line_of_czech_pushes_among_junk() -> None:
    apdu = vector(EXAMPLE).data
    decoder = PushDecoder(framing=Framing.RAW)
    found = decoder.feed(b"\x00\x17" + apdu[:100]) + decoder.feed(apdu[100:] + apdu)
    assert [push.info.layout for push in found] == [Layout.CZECH, Layout.CZECH]
    assert decoder.junk_bytes == 2


def test_detection_takes_a_burst_of_czech_apdus() -> None:
    apdu = data_notification(
        czech_body(MeterState(), datetime(2026, 12, 6, 8, 0)), datetime(2026, 12, 6), 7, dated=False
    )
    assert opens(apdu, 6) and find_raw_apdu(apdu) == apdu
    script = Script(Detector(), incoming=[(3.0, apdu)])  # heard whole in the 9600 8N1 window
    assert script.result() == PushMeter(9600, "N", False, None, Framing.RAW)


def test_the_simulated_xt211_publishes_its_registers() -> None:
    state = MeterState()
    apdu = data_notification(czech_body(state, datetime(2026, 12, 6)), datetime(2026, 12, 6), 1, dated=False)
    (push,) = PushDecoder(framing=Framing.RAW).feed(apdu)
    assert push.readout is not None
    readings = push.readout.readings
    assert readings["1.8.0"].value == round(state.import_kwh * 1000)
    assert readings["1.8.1"].value + readings["1.8.2"].value == readings["1.8.0"].value
    assert readings["1.7.0"].value == sum(readings[c].value for c in ("21.7.0", "41.7.0", "61.7.0"))


def test_decode_reads_the_example_in_auto_and_raw_framing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = tmp_path / "xt211.hex"
    capture.write_text(vector(EXAMPLE).data.hex(" "))
    for framing in ("auto", "raw"):
        assert main(["decode", str(capture), "--framing", framing]) == 0
        (push,) = json.loads(capsys.readouterr().out)["pushes"]
        assert push["layout"] == "czech"
        assert push["readings"]["1.8.0"] == {
            "value": 8, "unit": "Wh", "scale": "convention", "scale_source": "Czech distributors' convention",
        }  # fmt: skip
