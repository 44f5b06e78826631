"""The sans-IO session on scripted byte streams with a fake clock: every mode, quirk, timeout and retry."""

from __future__ import annotations

import pytest

from custom_components.e450.wire import (
    BccStatus,
    ChecksumError,
    FramingError,
    NoAnswerError,
    ProtocolMode,
    ReadoutRefusedError,
    ReadoutTimeoutError,
)
from custom_components.e450.wire.actions import Configure, Done, Drain, Send, Wait
from custom_components.e450.wire.iec62056.frames import bcc, build_data_message
from custom_components.e450.wire.iec62056.mode_d import ModeDConfig, ModeDSession
from custom_components.e450.wire.iec62056.session import Session, SessionConfig, State

from .scripted import Script

BLOCK = b"F.F(00)\r\n0.0.0(71234567)\r\n1.8.0(012345.678*kWh)\r\n32.7.0(230.1*V)\r\n!\r\n"
DATA = build_data_message(BLOCK)
IDENT = b"/LGZ5\\2ZMXi320AP.B22\r\n"


def meter(
    ident: bytes = IDENT, data: bytes = DATA, *, echo: bool = False, max_baud: int = 9600, tr: float = 0.2
) -> object:
    """A well-behaved mode C meter: ident after tr, data after the ACK at the rate it asked for."""
    speeds = {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        replies: list[tuple[float, bytes]] = [(0.0, sent)] if echo else []
        if sent.startswith(b"/?"):
            replies.append((len(sent) * 10 / 300 + tr, ident))
        elif sent.startswith(b"\x06"):
            requested = speeds[chr(sent[2])]
            assert requested <= max_baud
            replies.append((len(sent) * 10 / 300 + tr + 0.2, data))
        return replies

    return respond


def test_mode_c_switches_baud_after_drain_and_delay() -> None:
    script = Script(Session(), respond=meter())  # type: ignore[arg-type]
    readout = script.run()
    assert script.sent == [b"/?!\r\n", b"\x06050\r\n"]
    assert readout.bcc is BccStatus.OK
    assert readout.identification is not None and readout.identification.mode is ProtocolMode.C
    assert {code: r.value for code, r in readout.readings.items()} == {"1.8.0": 12345.678, "32.7.0": 230.1}
    assert [c.baud for c in script.configured] == [9600, 300]  # back to 300 for the next read
    times = {type(a).__name__ + (a.data[:1].hex() if isinstance(a, Send) else ""): t for t, a in script.actions}
    ack_sent = times["Send06"]
    ident_done = next(t for t, a in script.actions if isinstance(a, Wait) and t > 0.2)
    assert ack_sent >= ident_done + 0.2 - 1e-9  # tr before answering
    switch = next(t for t, a in script.actions if isinstance(a, Configure) and a.baud == 9600)
    assert switch == pytest.approx(ack_sent + 6 * 10 / 300 + 0.3)  # drained ACK + switch delay
    assert readout.timings.baud == 9600
    assert readout.timings.bytes_sent == 11
    assert readout.timings.total == pytest.approx(
        readout.timings.sign_on + readout.timings.identification + readout.timings.readout
    )
    assert readout.raw.endswith(DATA)


@pytest.mark.parametrize(("cap", "ack"), [(2400, b"\x06030\r\n"), (300, b"\x06000\r\n"), (5000, b"\x06040\r\n")])
def test_user_cap_limits_the_option_select(cap: int, ack: bytes) -> None:
    script = Script(Session(SessionConfig(max_baud=cap)), respond=meter())  # type: ignore[arg-type]
    script.run()
    assert script.sent[1] == ack


def test_meter_maximum_limits_the_option_select() -> None:
    script = Script(Session(), respond=meter(ident=b"/LGZ4ZMF100AC.M27\r\n", max_baud=4800))  # type: ignore[arg-type]
    assert script.run().timings.baud == 4800
    assert script.sent[1] == b"\x06040\r\n"


def test_fast_reaction_flag_shortens_the_ack_delay() -> None:
    script = Script(Session(), respond=meter(ident=b"/ISk5MT174-0001\r\n"))  # type: ignore[arg-type]
    script.run()
    ident_at = 5 * 10 / 300 + 0.2
    ack_at = next(t for t, a in script.actions if isinstance(a, Send) and a.data.startswith(b"\x06"))
    assert ack_at == pytest.approx(ident_at + 0.02)


def test_echoing_head_is_ignored() -> None:
    session = Session()
    script = Script(session, respond=meter(echo=True))  # type: ignore[arg-type]
    readout = script.run()
    assert readout.bcc is BccStatus.OK and len(readout.datasets) == 4
    assert session.echo_detected


def test_echo_split_across_chunks_and_false_echo_prefix() -> None:
    session = Session()
    script = Script(session, incoming=[(0.2, b"/?"), (0.21, b"!\r\n"), (0.5, IDENT)], respond=meter(ident=b""))  # type: ignore[arg-type]
    # the meter's own reply starts with "/" like our request: a shared prefix must not eat it
    script.incoming = [(0.2, b"/"), (0.25, IDENT[1:])]
    readout = script.run()
    assert readout.identification is not None and readout.identification.manufacturer == "LGZ"
    assert not session.echo_detected


def test_unsolicited_readout_without_ack() -> None:
    """MT174: identification and data in one go, without waiting for an ACK."""
    raw = b"/ISk5MT174-0002\r\n" + DATA

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        return [(0.3, raw)] if sent.startswith(b"/?") else []

    script = Script(Session(), respond=respond)
    readout = script.run()
    assert script.sent == [b"/?!\r\n"]
    assert readout.timings.baud == 300 and not script.configured


def test_readout_during_switch_delay_stays_at_300() -> None:
    """AS1440: the data arrives at 300 Bd right after our ACK left; we must not switch away from it."""

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.3, b"/ELS5\\@V9.30\r\n")]
        return [(0.21, DATA)] if sent.startswith(b"\x06") else []

    script = Script(Session(), respond=respond)
    readout = script.run()
    assert readout.bcc is BccStatus.OK and readout.timings.baud == 300
    assert not script.configured


def test_mode_a_reads_at_300_without_ack() -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        return [(0.3, b"/ABC@SIM\r\n"), (0.8, DATA)] if sent.startswith(b"/?") else []

    script = Script(Session(), respond=respond)
    readout = script.run()
    assert readout.identification is not None and readout.identification.mode is ProtocolMode.A
    assert script.sent == [b"/?!\r\n"] and not script.configured


def test_mode_b_switches_without_ack() -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        return [(0.3, b"/SIEC2WR5\r\n"), (0.8, DATA)] if sent.startswith(b"/?") else []

    script = Script(Session(SessionConfig(max_baud=300)), respond=respond)
    readout = script.run()
    assert readout.identification is not None and readout.identification.mode is ProtocolMode.B
    assert script.sent == [b"/?!\r\n"]
    assert [c.baud for c in script.configured] == [2400, 300]


def test_mode_d_push_unframed_and_framed() -> None:
    telegram = b"\x7f/EMH5----eHZ-E0018E\r\n\r\n1-0:1.8.0*255(000123.4*kWh)\r\n!\r\n"
    script = Script(ModeDSession(), incoming=[(1.0, telegram[:20]), (1.5, telegram[20:])])
    readout = script.run()
    assert script.sent == [] and not script.configured
    assert readout.bcc is BccStatus.ABSENT
    assert readout.readings["1.8.0"].value == 123.4
    assert readout.timings.baud == 2400 and readout.timings.total == pytest.approx(1.5)
    framed = Script(ModeDSession(), incoming=[(1.0, b"/EMH5eHZ\r\n" + DATA)])
    assert framed.run().bcc is BccStatus.OK


def test_mode_d_silence() -> None:
    with pytest.raises(NoAnswerError, match="mode D"):
        Script(ModeDSession(ModeDConfig(timeout=10))).run()


def test_mode_d_telegram_cut_short_or_damaged() -> None:
    """A telegram that stops before its "!" is cut after ta; a framed one with a wrong BCC is refused."""
    cut = Script(ModeDSession(), incoming=[(1.0, b"/EMH5eHZ\r\n1.8.0(000123.4*kWh)\r\n")])
    with pytest.raises(ReadoutTimeoutError):
        cut.run()
    assert cut.now == pytest.approx(2.5)
    damaged = DATA[:-1] + bytes([DATA[-1] ^ 1])
    with pytest.raises(ChecksumError):
        Script(ModeDSession(), incoming=[(1.0, b"/EMH5eHZ\r\n" + damaged)]).run()


def test_retry_at_300_after_failed_switched_read() -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        if sent == b"\x06050\r\n":
            return [(0.5, b"\xf8\x80\x00\xf8\xfe")]  # the switch failed: noise
        if sent == b"\x06000\r\n":
            return [(0.4, DATA)]
        return []

    script = Script(Session(), respond=respond)
    readout = script.run()
    assert script.sent == [b"/?!\r\n", b"\x06050\r\n", b"/?!\r\n", b"\x06000\r\n"]
    assert readout.timings.retried and readout.timings.baud == 300
    assert [c.baud for c in script.configured] == [9600, 300]
    retry_request = [t for t, a in script.actions if isinstance(a, Send) and a.data == b"/?!\r\n"][1]
    fallback = next(t for t, a in script.actions if isinstance(a, Configure) and a.baud == 300)
    assert retry_request >= fallback + 2.5  # the meter had time to fall back to 300 Bd


def test_no_second_retry_and_checksum_error() -> None:
    bad = DATA[:-1] + bytes([DATA[-1] ^ 0x01])

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(0.7, bad)] if sent.startswith(b"\x06") else []

    script = Script(Session(), respond=respond)
    with pytest.raises(ChecksumError) as caught:
        script.run()
    assert caught.value.expected == bcc(DATA[1:-1])
    assert script.sent.count(b"/?!\r\n") == 2  # one retry, not more
    with pytest.raises(FramingError):
        script.session.next_action(script.now)  # a failed session stays failed


@pytest.mark.parametrize("after", [0.1, 1.0])
def test_a_refused_readout_is_said_and_not_retried(after: float) -> None:
    """An E550 or ZMD asked for its readout without a password answers the option select with a lone NAK, at
    once (before the speed switch) or at the new speed: the read fails with that refusal (not "no data message"),
    and the 300 Bd retry, meant for a failed speed switch, is not tried: a refusal would come again."""

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(after, b"\x15\r\n")] if sent.startswith(b"\x06") else []

    script = Script(Session(), respond=respond)
    with pytest.raises(ReadoutRefusedError, match="refused the data readout"):
        script.run()
    assert script.sent.count(b"/?!\r\n") == 1


def test_retry_disabled() -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        return [(0.4, IDENT)] if sent.startswith(b"/?") else []

    script = Script(Session(SessionConfig(retry_at_300=False)), respond=respond)
    with pytest.raises(ReadoutTimeoutError, match="No data message"):
        script.run()
    assert script.sent.count(b"/?!\r\n") == 1


def test_truncated_readout() -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(0.5, DATA[:30])] if sent.startswith(b"\x06") else []

    with pytest.raises(ReadoutTimeoutError, match="truncated"):
        Script(Session(SessionConfig(max_baud=300)), respond=respond).run()


def test_noise_without_frame_is_a_framing_error() -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(0.5, b"\x7f\x7f\x00noise")] if sent.startswith(b"\x06") else []

    with pytest.raises(FramingError, match="no data message"):
        Script(Session(SessionConfig(max_baud=300)), respond=respond).run()


def test_overall_deadline_scales_with_baud() -> None:
    """A meter that keeps trickling bytes (never exceeding ta) is cut off by the overall deadline."""
    trickle = [(0.9 + 1.0 * i, b"\x02" if i == 0 else b"x") for i in range(400)]

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(delay, data) for delay, data in trickle] if sent.startswith(b"\x06") else []

    config = SessionConfig(max_baud=300, readout_budget_bytes=3000, retry_at_300=False)
    script = Script(Session(config), respond=respond)
    with pytest.raises(ReadoutTimeoutError):
        script.run()
    # 3 s first byte + 3000 characters at 300 Bd (100 s) after the readout phase began
    assert 100 < script.now < 110


def test_partial_blocks_are_acknowledged_and_repeated_on_nak() -> None:
    first = build_data_message(b"1.8.0(1.0*kWh)\r\n", partial=True)
    corrupted = first[:-1] + bytes([first[-1] ^ 0x10])
    second = build_data_message(b"2.8.0(2.0*kWh)\r\n!\r\n")
    sent_blocks = iter([corrupted, first, second])

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        if sent.startswith(b"\x06") or sent == b"\x15":
            return [(0.5, next(sent_blocks))]
        return []

    script = Script(Session(SessionConfig(max_baud=300)), respond=respond)
    readout = script.run()
    assert b"\x15" in script.sent  # NAK for the damaged block
    assert {code: r.value for code, r in readout.readings.items()} == {"1.8.0": 1.0, "2.8.0": 2.0}


def test_wake_up_and_address() -> None:
    config = SessionConfig(wake_up=True, address="12345678", max_baud=300)
    script = Script(Session(config), respond=meter())  # type: ignore[arg-type]
    script.run()
    nuls = script.sent[0]
    assert set(nuls) == {0} and len(nuls) == 66  # 2.2 s at 300 Bd
    request_at = next(t for t, a in script.actions if isinstance(a, Send) and a.data.startswith(b"/?"))
    assert request_at == pytest.approx(66 * 10 / 300 + 1.6)
    assert script.sent[1] == b"/?12345678!\r\n"


def test_garbage_before_identification() -> None:
    script = Script(Session(), respond=meter(ident=b"\x00\x7f\x7f" + IDENT))  # type: ignore[arg-type]
    assert script.run().identification is not None


def test_no_answer_ends_the_session() -> None:
    """The session knows nothing of DLMS: no identification is "no IEC answer", and detection takes over."""
    script = Script(Session())
    with pytest.raises(NoAnswerError) as caught:
        script.run()
    assert caught.value.received_bytes == 0
    assert script.now == pytest.approx(5 * 10 / 300 + 2.0)


def test_noise_only_is_no_answer_after_the_identification_window() -> None:
    noise = [(0.2 + 0.05 * i, b"\x7f") for i in range(200)]
    script = Script(Session(), incoming=noise)
    with pytest.raises(NoAnswerError) as caught:
        script.run()
    assert caught.value.received_bytes > 0
    assert script.now < 7


def test_done_is_repeated_and_drain_is_requested_before_switching() -> None:
    script = Script(Session(), respond=meter())  # type: ignore[arg-type]
    readout = script.run()
    assert isinstance(script.session.next_action(script.now), Done)
    assert isinstance(script.session, Session) and script.session.state is State.DONE
    kinds = [type(a) for _, a in script.actions]
    ack_index = next(i for i, (_, a) in enumerate(script.actions) if isinstance(a, Send) and a.data[:1] == b"\x06")
    assert kinds[ack_index + 1] is Drain
    assert readout.timings.as_dict()["baud"] == 9600


def test_a_readout_that_ends_at_its_bang_line_is_accepted_unchecked() -> None:
    """E350 firmware captured by vzlogger: the data block ends at "!" CR LF, then silence — no ETX, no BCC."""
    unterminated = b"\x02" + BLOCK  # BLOCK ends with "!\r\n"

    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(0.5, unterminated)] if sent.startswith(b"\x06") else []

    script = Script(Session(SessionConfig(max_baud=300)), respond=respond)
    readout = script.run()
    assert readout.bcc is BccStatus.ABSENT
    assert readout.readings["1.8.0"].value == 12345.678 and readout.readings["32.7.0"].value == 230.1
    ack_at = next(t for t, a in script.actions if isinstance(a, Send) and a.data.startswith(b"\x06"))
    arrived = ack_at + 0.5
    assert script.now == pytest.approx(arrived + SessionConfig().inter_character_timeout)  # quiet for ta, not before


@pytest.mark.parametrize("cut", [b"1.8.0(012345.678*kWh)\r\n", b"1.8.0(012345.678*kWh)\r\n!", b"x!\r\n"])
def test_a_readout_cut_before_its_bang_line_is_never_accepted(cut: bytes) -> None:
    def respond(sent: bytes, now: float, baud: int) -> list[tuple[float, bytes]]:
        if sent.startswith(b"/?"):
            return [(0.4, IDENT)]
        return [(0.5, b"\x02" + cut)] if sent.startswith(b"\x06") else []

    with pytest.raises(ReadoutTimeoutError, match="truncated"):
        Script(Session(SessionConfig(max_baud=300)), respond=respond).run()
