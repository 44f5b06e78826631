"""Property tests: the parsers and the session only ever raise the typed protocol error, never hang, and the
BCC catches any single-byte change inside a framed block."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.e450.wire import BccStatus, DetectConfig, MeterError, Readout, parse_transcript
from custom_components.e450.wire.detect import Detector
from custom_components.e450.wire.framing.hdlc import find_hdlc_frame
from custom_components.e450.wire.iec62056.dataset import _parse, parse_data_block
from custom_components.e450.wire.iec62056.frames import build_data_message, parse_identification, split_data_message

from .scripted import Script
from .telegrams import load, telegram_files

CORPUS = [load(path) for path in telegram_files()]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated_telegrams(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(0, 8))):
        operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if operation == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete" and data:
            del data[position]
        elif operation == "truncate":
            del data[position:]
    return bytes(data)


@SETTINGS
@given(st.one_of(mutated_telegrams(), st.binary(max_size=600)))
def test_parsers_raise_only_the_typed_error(data: bytes) -> None:
    with contextlib.suppress(MeterError):
        parse_transcript(data)
    parse_data_block(data)  # lenient: never raises
    find_hdlc_frame(data)
    with contextlib.suppress(MeterError):
        parse_identification(data)


def _block(telegram: bytes) -> bytes:
    """The data block of a telegram (what follows its STX), or the whole capture when it has none."""
    return telegram.split(b"\x02", 1)[-1]


@SETTINGS
@given(st.one_of(mutated_telegrams().map(_block), st.binary(max_size=600)))
def test_the_line_by_line_parse_finds_what_the_one_pass_parse_finds(block: bytes) -> None:
    """Lines parsed on their own (and cached) give exactly the data sets of the block parsed in one pass, and a
    block parsed again gives back the very same objects (what lets a readout's changes be found by identity)."""
    found = parse_data_block(block)
    assert found == _parse(block)
    again = parse_data_block(block)
    assert all(a is b for a, b in zip(found, again, strict=True)) or again == _parse(block)


@SETTINGS
@given(
    block=st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b if x & 0x7F not in (2, 3, 4))),
    data=st.data(),
)
def test_any_single_byte_change_is_caught_by_the_bcc(block: bytes, data: st.DataObject) -> None:
    message = build_data_message(block + b"!\r\n")
    cut = split_data_message(message, 0)
    assert cut is not None and cut[0].bcc is BccStatus.OK
    # A 7-bit line carries bytes 0-127. Change one data byte or the BCC itself (changing the framing bytes
    # changes where the frame ends: that is the framing's job, not the BCC's).
    position = data.draw(st.sampled_from([*range(1, len(message) - 2), len(message) - 1]))
    replacement = data.draw(
        st.integers(0, 127).filter(lambda value: value != message[position] and value not in (2, 3, 4))
    )
    corrupted = bytearray(message)
    corrupted[position] = replacement
    cut = split_data_message(bytes(corrupted), 0)
    assert cut is not None
    assert cut[0].bcc is BccStatus.MISMATCH


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(
        st.tuples(st.floats(0.0, 20.0), st.one_of(mutated_telegrams(), st.binary(max_size=64))), max_size=12
    )
)
def test_session_terminates_with_a_typed_error_or_a_readout(chunks: list[tuple[float, bytes]]) -> None:
    script = Script(Detector(DetectConfig(listen=1.0)), incoming=list(chunks), limit=1200.0)
    try:
        result = script.result()
    except MeterError:
        return
    # random bytes never make a checksum-valid HDLC frame here: whatever ends well is a readout
    assert isinstance(result, Readout) and result.bcc in (BccStatus.OK, BccStatus.ABSENT)


@pytest.mark.parametrize("telegram", CORPUS[:3])
def test_mutation_strategy_uses_real_data(telegram: bytes) -> None:
    assert len(telegram) > 50
