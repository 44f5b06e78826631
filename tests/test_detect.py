"""Detection on scripted byte streams with a fake clock: sign-on first, then listening for DLMS/COSEM pushes."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.e450.wire import DetectConfig, NoAnswerError, PushMeter, Readout, SessionConfig
from custom_components.e450.wire.detect import Detector, Phase, find_raw_apdu, peek_security
from custom_components.e450.wire.framing import Framing
from custom_components.e450.wire.framing.hdlc import build_hdlc_frame, find_hdlc_frame, strip_llc
from custom_components.e450.wire.framing.mbus import build_mbus_frame
from custom_components.e450.wire.iec62056.frames import build_data_message

from .dlms_vectors import vector
from .scripted import Script

CLEAR = b"\x0f\x00\x00\x00\x01\x00\x02\x00"
CIPHERED = b"\xdb\x08LGZg1234\x05\x20\x00\x00\x00\x01"


@pytest.mark.parametrize(("apdu", "encrypted"), [(CLEAR, False), (CIPHERED, True)])
def test_push_meter_found(apdu: bytes, encrypted: bool) -> None:
    frame = build_hdlc_frame(b"\xe6\xe7\x00" + apdu)
    # no identification; the 9600 8N1 window runs from ~2.17 s, 2400 8E1 from ~5.17 s
    script = Script(Detector(), incoming=[(3.0, b"\x12\x34"), (6.0, b"junk" + frame[:10]), (6.1, frame[10:])])
    found = script.result()
    assert found == PushMeter(2400, "E", encrypted, b"LGZg1234" if encrypted else None)
    assert [(c.baud, c.byte_size, c.parity) for c in script.configured] == [(9600, 8, "N"), (2400, 8, "E")]


def test_an_answering_meter_is_read_without_listening() -> None:
    data = build_data_message(b"1.8.0(000123.4*kWh)\r\n!\r\n")

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, b"/ABC0meter\r\n")]  # mode A: the data follows the identification at 300 Bd
        return []

    script = Script(Detector(), respond=respond)
    script.incoming.append((0.8, data))
    found = script.result()
    assert isinstance(found, Readout) and found.readings["1.8.0"].value == 123.4
    assert all(c.byte_size == 7 for c in script.configured)


def test_listening_stops_on_a_silent_line() -> None:
    """Not one byte in a whole push interval: nothing pushes, so the other line settings are not tried."""
    script = Script(Detector(DetectConfig(listen=1.0)))
    with pytest.raises(NoAnswerError):
        script.result()
    assert [(c.baud, c.parity) for c in script.configured] == [(9600, "N")]


def test_listening_tries_every_setting_while_garbage_arrives() -> None:
    """Bursts that hold no valid frame move the listener on at once; bursts caught half-way do not."""
    bursts = [(t, b"\xf0\x0f\xaa" * 20) for t in (2.5, 2.6, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0)]
    script = Script(Detector(DetectConfig(listen=6.0)), incoming=bursts)
    with pytest.raises(NoAnswerError) as caught:
        script.result()
    settings = [(c.baud, c.parity) for c in script.configured if c.byte_size == 8]
    assert settings == [(9600, "N"), (2400, "E"), (2400, "N"), (9600, "E"), (115200, "N"), (2400, "O")]
    assert script.now < 24  # far less than six whole windows (36 s)
    assert caught.value.received_bytes == 0  # nothing arrived before the listening began


def test_sign_on_settings_are_the_sessions() -> None:
    """The sign-on uses the caller's session settings (here a device address) before any listening."""
    script = Script(Detector(DetectConfig(SessionConfig(address="12345678"), listen=0.5)))
    with pytest.raises(NoAnswerError):
        script.result()
    assert script.sent == [b"/?12345678!\r\n"]


def test_peek_security_looks_inside_a_block_transfer() -> None:
    block = b"\xe0\x00\x00\x01\x00\x00" + bytes([len(CIPHERED)]) + CIPHERED
    assert peek_security(block) == (True, b"LGZg1234")
    long_block = b"\xe0\x00\x00\x01\x00\x00\x81" + bytes([len(CIPHERED)]) + CIPHERED
    assert peek_security(long_block) == (True, b"LGZg1234")
    assert peek_security(CLEAR) == (False, None)


def test_a_push_in_m_bus_frames_is_found_and_named() -> None:
    """Kaifa/Sagemcom meters in Austria push M-Bus long frames."""
    frame = build_mbus_frame(0x00, b"\x01\x67" + CIPHERED)  # the first of several segments
    script = Script(Detector(), incoming=[(6.0, b"\x10\x40\xff\x3f\x16" + frame)])
    found = script.result()
    assert found == PushMeter(9600, "N", True, b"LGZg1234", Framing.MBUS)  # heard in the first window
    clear = Script(Detector(), incoming=[(6.0, build_mbus_frame(0x10, b"\x01\x67" + CLEAR))]).result()
    assert isinstance(clear, PushMeter) and not clear.encrypted and clear.framing == "mbus"


def test_every_line_setting_meters_push_at_is_tried() -> None:
    settings = [(baud, parity) for baud, parity in DetectConfig().line_settings]
    assert {(9600, "N"), (2400, "E"), (2400, "N"), (9600, "E"), (115200, "N"), (2400, "O")} == set(settings)


def aidon_apdu() -> bytes:
    """The APDU of a real Aidon push (tests/fixtures/dlms), as a raw-framing meter sends it."""
    frame = vector("aidon_no_hdlc_obis_scaler_list3").lines[0]
    parsed = find_hdlc_frame(frame)
    assert parsed is not None
    return strip_llc(parsed.information)


def test_raw_apdus_are_found_in_a_whole_burst() -> None:
    """No framing, no checksum: a burst from silence to silence that is nothing but complete APDUs."""
    apdu = aidon_apdu()
    # caught half-way at 9600 8N1 (not taken: the listener waits out that window), then whole at 2400 8E1
    incoming = [(2.2, apdu[40:]), (9.0, apdu)]
    script = Script(Detector(), incoming=incoming)
    assert script.result() == PushMeter(2400, "E", False, None, Framing.RAW)
    assert find_raw_apdu(apdu + apdu) == apdu  # two APDUs back to back: the first is reported


@pytest.mark.parametrize(
    "burst",
    [
        b"\x0f\x00\x00\x00\x01\x00\x09\x04abcd",  # too short to be taken for a push
        b"\x0f\x00\x00\x00\x01\x00\x09\x04abcd" + b"\x00" * 12,  # a complete APDU followed by junk
        b"\x01\x02\x03" * 10,  # noise
        b"\xdb\x08LGZg1234\x82\x01\x00" + b"\x00" * 20,  # a ciphered APDU cut short
    ],
)
def test_noise_is_not_taken_for_raw_apdus(burst: bytes) -> None:
    assert find_raw_apdu(burst) is None


def test_phase_says_what_is_being_tried() -> None:
    detector = Detector(DetectConfig(listen=1.0))
    assert detector.phase == Phase("sign_on", 300, "7E1")
    phases = []
    script = Script(detector)
    original = detector.next_action

    def observed(now: float) -> Any:
        action = original(now)
        if not phases or phases[-1] != detector.phase:
            phases.append(detector.phase)
        return action

    detector.next_action = observed  # type: ignore[method-assign]
    with pytest.raises(NoAnswerError):
        script.result()
    assert phases == [Phase("sign_on", 300, "7E1"), Phase("listen", 9600, "8N1")]
