"""DLMS/COSEM data-notification pushes in HDLC frames, in the three real E450 layouts (docs/dlms.md §6), and in
other makers' and utilities' layouts (Kaifa, Aidon, a list that names no maker, the Czech distributors').

``swiss``: Swiss CII push object list + values, general block transfer, no encryption (2400 8E1, wired port).
``burgenland``: Netz Burgenland 14 positional values, glo-ciphering SC 0x30 with a tag (9600 8N1, optical).
``wiener-netze``: Wiener Netze date-time + 8 positional values, glo-ciphering SC 0x20, no tag (9600 8N1, optical).
"""

from __future__ import annotations

from datetime import datetime
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custom_components.e450.wire.framing.hdlc import build_hdlc_frame
from custom_components.e450.wire.framing.mbus import build_mbus_frame

from .profiles import MeterState

# The simulator's keys: EK as in the DLMS green book examples, AK as Netz Burgenland's published example.
EXAMPLE_EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
EXAMPLE_AK = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
SYSTEM_TITLE = b"LGZg" + bytes.fromhex("72A9A111")
# the Kaifa MA309's system title opens with Kaifa's flag id, as Netz NÖ's example does ("KFMgP…",
# tests/fixtures/dlms/kaifa_at_mbus_netznoe_example_encrypted.txt): the integration names the maker from it
KAIFA_SYSTEM_TITLE = b"KFMg" + bytes.fromhex("5000A1B2")
SYSTEM_TITLES = {"kaifa": KAIFA_SYSTEM_TITLE}  # layouts whose meter is not the E450
METER_NUMBER = "30137181"
LOGICAL_DEVICE_NAME = "LGZ1030655933512"
LLC = b"\xe6\xe7\x00"
BLOCK_SIZE = 0x70  # what the Swiss E450 puts in one block


def length(size: int) -> bytes:
    """A-XDR length form."""
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def structure(*items: bytes) -> bytes:
    return b"\x02" + length(len(items)) + b"".join(items)


def array(*items: bytes) -> bytes:
    return b"\x01" + length(len(items)) + b"".join(items)


def octets(raw: bytes) -> bytes:
    return b"\x09" + length(len(raw)) + raw


def u16(value: int) -> bytes:
    return b"\x12" + struct.pack(">H", value)


def u32(value: int) -> bytes:
    return b"\x06" + struct.pack(">I", value)


def i8(value: int) -> bytes:
    return b"\x0f" + struct.pack(">b", value)


def obis(code: str) -> bytes:
    """``1-0:1.8.0`` (F = 255) as six bytes."""
    ab, cde = code.split(":")
    a, b = ab.split("-")
    return bytes([int(a), int(b), *(int(part) for part in cde.split(".")), 255])


def cosem_datetime(now: datetime, status: int = 0x00) -> bytes:
    """12-byte COSEM date-time, deviation unspecified (0x8000), as the E450 sends it."""
    return struct.pack(
        ">HBBBBBBBhB", now.year, now.month, now.day, now.isoweekday(), now.hour, now.minute, now.second, 0xFF,
        -0x8000, status,
    )  # fmt: skip


def _currents(state: MeterState) -> list[int]:
    """Phase currents in 0.01 A."""
    return [round(kw * 1000 / volts * 100) for kw, volts in zip(state.phase_power_kw, state.voltages, strict=True)]


def swiss_body(state: MeterState, now: datetime, extra: list[tuple[int, str, int, bytes]] | None = None) -> bytes:
    """Push object list (class, OBIS, attribute, index) followed by one value per list item; ``extra``: more list
    items (class, OBIS, attribute, value) after the meter's own."""
    power = round(sum(state.phase_power_kw) * 1000)
    registers: list[tuple[int, str, bytes]] = [
        (1, "0-0:42.0.0", octets(LOGICAL_DEVICE_NAME.encode())),
        (1, "0-0:96.1.1", octets(METER_NUMBER.encode())),
        (8, "0-0:1.0.0", octets(cosem_datetime(now, 0x81))),
        (3, "1-0:1.7.0", u32(power)),
        (3, "1-0:2.7.0", u32(0)),
        (3, "1-1:1.8.0", u32(round(state.import_kwh * 1000))),
        (3, "1-1:2.8.0", u32(round(state.export_kwh * 1000))),
        (3, "1-1:3.8.0", u32(round(state.reactive_import_kvarh * 1000))),
        (3, "1-1:4.8.0", u32(round(state.reactive_export_kvarh * 1000))),
        *((3, f"1-0:{c}.7.0", u16(round(volts))) for c, volts in zip((32, 52, 72), state.voltages, strict=True)),
        *((3, f"1-0:{c}.7.0", u16(amps)) for c, amps in zip((31, 51, 71), _currents(state), strict=True)),
    ]
    items = [(cls, code, 2, value) for cls, code, value in registers] + (extra or [])
    entries = [(40, "0-8:25.9.0", 2), (40, "0-8:25.9.0", 1)] + [(cls, code, attr) for cls, code, attr, _ in items]
    push_list = array(*(structure(u16(cls), octets(obis(code)), i8(attr), u16(0)) for cls, code, attr in entries))
    return structure(push_list, octets(obis("0-8:25.9.0")), *(value for _, _, _, value in items))


def u8(value: int) -> bytes:
    return b"\x11" + bytes([value])


# the sub-meters on the M-Bus channels (docs/mbus-submeters.md): a gas meter on channel 1 and a water meter on
# channel 2, each read by the E450 once an hour; their readings grow with the hours since REFERENCE
SUBMETER_REFERENCE = datetime(2024, 1, 1)
GAS_SERIAL, WATER_SERIAL = "24521662", "70123456"
GAS_LITRES_PER_HOUR, WATER_LITRES_PER_HOUR = 350, 20
GAS_START, WATER_START = 1_000_000, 250_000  # litres


def submeter_readings(now: datetime) -> tuple[datetime, int, int]:
    """The capture time of the sub-meters' last hourly reading before ``now``, and the gas and water readings then
    (litres)."""
    captured = now.replace(minute=0, second=0, microsecond=0)
    hours = int((captured - SUBMETER_REFERENCE).total_seconds() // 3600)
    return captured, GAS_START + GAS_LITRES_PER_HOUR * hours, WATER_START + WATER_LITRES_PER_HOUR * hours


def _submeter_entries(now: datetime) -> list[tuple[int, str, int, bytes]]:
    """(class, OBIS, attribute, value) of the two sub-meters: the gas meter as the Swiss E450 pushes it (serial,
    medium, value without its scaler, status, capture time), the water meter with its scaler_unit (litres)."""
    captured, gas, water = submeter_readings(now)
    stamp = octets(cosem_datetime(captured))
    return [
        (1, "0-1:96.1.0", 2, octets(GAS_SERIAL.encode())),
        (72, "0-1:24.1.0", 9, u8(0x03)),
        (4, "0-1:24.2.1", 2, u32(gas)),
        (4, "0-1:24.2.1", 4, u8(0)),
        (4, "0-1:24.2.1", 5, stamp),
        (1, "0-2:96.1.0", 2, octets(WATER_SERIAL.encode())),
        (72, "0-2:24.1.0", 9, u8(0x07)),
        (4, "0-2:24.2.1", 2, u32(water)),
        (4, "0-2:24.2.1", 3, scaler_unit(-3, 13)),
        (4, "0-2:24.2.1", 4, u8(0)),
        (4, "0-2:24.2.1", 5, stamp),
    ]


def swiss_submeters_body(state: MeterState, now: datetime) -> bytes:
    """The Swiss CII list followed by the M-Bus channels' sub-meters."""
    return swiss_body(state, now, _submeter_entries(now))


def burgenland_body(state: MeterState, now: datetime) -> bytes:
    """U L1-L3, I L1-L3 (0.01 A), +P, -P, +A, -A, three angles, meter number: 14 positions, no OBIS codes."""
    del now
    return structure(
        *(u16(round(volts)) for volts in state.voltages),
        *(u16(amps) for amps in _currents(state)),
        u32(round(sum(state.phase_power_kw) * 1000)),
        u32(0),
        u32(round(state.import_kwh * 1000)),
        u32(round(state.export_kwh * 1000)),
        u16(0),
        u16(120),
        u16(240),
        octets(METER_NUMBER.encode()),
    )


def wiener_netze_body(state: MeterState, now: datetime) -> bytes:
    """Date-time then +A, -A, +R, -R (Wh/varh) and +P, -P, +Q, -Q (W/var) as uint32."""
    power = round(sum(state.phase_power_kw) * 1000)
    return structure(
        octets(cosem_datetime(now, 0x00)),
        u32(round(state.import_kwh * 1000)),
        u32(round(state.export_kwh * 1000)),
        u32(round(state.reactive_import_kvarh * 1000)),
        u32(round(state.reactive_export_kvarh * 1000)),
        u32(power),
        u32(0),
        u32(power // 10),
        u32(0),
    )


def scaler_unit(scaler: int, unit: int) -> bytes:
    """``{scaler, unit}``: unit from the DLMS enumeration (27 W, 30 Wh, 33 A, 35 V, 255 none)."""
    return structure(i8(scaler), b"\x16" + bytes([unit]))


def _registers(state: MeterState) -> list[tuple[str, bytes, bytes]]:
    """(code, value, scaler_unit) of the registers a Kaifa or Aidon meter pushes, in their units."""
    power = round(sum(state.phase_power_kw) * 1000)
    return [
        ("1-0:1.8.0", u32(round(state.import_kwh * 1000)), scaler_unit(0, 30)),
        ("1-0:2.8.0", u32(round(state.export_kwh * 1000)), scaler_unit(0, 30)),
        ("1-0:1.7.0", u32(power), scaler_unit(0, 27)),
        ("1-0:2.7.0", u32(0), scaler_unit(0, 27)),
        *(
            (f"1-0:{c}.7.0", u16(round(volts * 10)), scaler_unit(-1, 35))
            for c, volts in zip((32, 52, 72), state.voltages, strict=True)
        ),
        *(
            (f"1-0:{c}.7.0", u16(amps), scaler_unit(-2, 33))
            for c, amps in zip((31, 51, 71), _currents(state), strict=True)
        ),
        ("1-0:13.7.0", u16(1000), scaler_unit(-3, 255)),
    ]


def kaifa_body(state: MeterState, now: datetime) -> bytes:
    """Netz NÖ's Kaifa MA309: date-time, then flat triples OBIS, value, scaler_unit, then the meter number."""
    triples = [part for code, value, unit in _registers(state) for part in (octets(obis(code)), value, unit)]
    return structure(octets(cosem_datetime(now)), *triples, octets(METER_NUMBER.encode()))


AIDON_LIST_ID = b"AIDON_V0001"
AIDON_METER_TYPE = b"6534"  # a three-phase Aidon, as the Norwegian capture names its own


def aidon_body(state: MeterState, now: datetime) -> bytes:
    """Aidon's lists: an array of {OBIS, value, scaler_unit}; the list version, the meter number and the meter type
    as {OBIS, value}, as the Norwegian list 2 opens (tests/fixtures/dlms/aidon_no_hdlc_obis_scaler_list3.txt)."""
    del now
    return array(
        structure(octets(obis("1-1:0.2.129")), octets(AIDON_LIST_ID)),
        structure(octets(obis("0-0:96.1.0")), octets(METER_NUMBER.encode())),
        structure(octets(obis("0-0:96.1.7")), octets(AIDON_METER_TYPE)),
        *(structure(octets(obis(code)), value, unit) for code, value, unit in _registers(state)),
    )


def aidon_lists_body(state: MeterState, now: datetime, counter: int) -> bytes:
    """Aidon's lists as the meter alternates them: list 1, its active power alone (one {OBIS, value, scaler_unit}),
    and every fourth push the full list with the meter number and the energies (lists 2 and 3 in one)."""
    if counter % 4:
        power = round(sum(state.phase_power_kw) * 1000)
        return array(structure(octets(obis("1-0:1.7.0")), u32(power), scaler_unit(0, 27)))
    return aidon_body(state, now)


def unknown_pairs_body(state: MeterState, now: datetime) -> bytes:
    """A Kamstrup-style list of OBIS/value pairs that names neither its maker nor its list version: energies in
    10 Wh steps, currents in 0.01 A, whole volts and watts, and no scaler anywhere (docs/scaling.md §7)."""
    del now
    power = round(sum(state.phase_power_kw) * 1000)
    pairs: list[tuple[str, bytes]] = [
        ("1-1:0.0.5", octets(b"5706567000000042")),
        ("1-1:1.7.0", u32(power)),
        ("1-1:2.7.0", u32(0)),
        *((f"1-1:{c}.7.0", u32(amps)) for c, amps in zip((31, 51, 71), _currents(state), strict=True)),
        *((f"1-1:{c}.7.0", u16(round(volts))) for c, volts in zip((32, 52, 72), state.voltages, strict=True)),
        ("1-1:1.8.0", u32(round(state.import_kwh * 100))),
        ("1-1:2.8.0", u32(round(state.export_kwh * 100))),
    ]
    return structure(*(part for code, value in pairs for part in (octets(obis(code)), value)))


def _czech_element(class_id: int, code: str, attribute: int, value: bytes) -> bytes:
    """``{class id | logical name | attribute, value}``, the descriptor without A-XDR tags."""
    return b"\x02\x02" + struct.pack(">H", class_id) + obis(code) + bytes([attribute]) + value


def czech_body(state: MeterState, now: datetime) -> bytes:
    """The Czech distributors' RS-485 push as EG.D's "Komunikační rozhraní RS485" lists it: logical device name,
    push setup, serial, disconnector, limiter, relays 1-6, tariff, +P and -P total and per phase (W), +A total and
    tariffs 1-4, -A (Wh), consumer message; no scaler anywhere."""
    del now
    phases = [round(kw * 1000) for kw in state.phase_power_kw]
    imported = round(state.import_kwh * 1000)
    rates = [imported * 3 // 10, imported - imported * 3 // 10, 0, 0]  # the high tariff, the low one
    elements = [
        _czech_element(1, "0-0:42.0.0", 2, octets(b"SAG0012345")),
        _czech_element(40, "0-2:25.9.0", 1, octets(obis("0-2:25.9.0"))),
        _czech_element(1, "0-0:96.1.0", 2, octets(METER_NUMBER.encode())),
        _czech_element(70, "0-0:96.3.10", 3, b"\x16\x01"),
        _czech_element(71, "0-0:17.0.0", 3, u32(0)),
        *(_czech_element(70, f"0-{relay}:96.3.10", 3, b"\x16\x00") for relay in range(1, 7)),
        _czech_element(1, "0-0:96.14.0", 2, octets(b"T1")),
        _czech_element(3, "1-0:1.7.0", 2, u32(sum(phases))),
        *(_czech_element(3, f"1-0:{c}.7.0", 2, u32(watts)) for c, watts in zip((21, 41, 61), phases, strict=True)),
        _czech_element(3, "1-0:2.7.0", 2, u32(0)),
        *(_czech_element(3, f"1-0:{c}.7.0", 2, u32(0)) for c in (22, 42, 62)),
        _czech_element(3, "1-0:1.8.0", 2, u32(imported)),
        *(_czech_element(3, f"1-0:1.8.{rate}", 2, u32(wh)) for rate, wh in enumerate(rates, start=1)),
        _czech_element(3, "1-0:2.8.0", 2, u32(round(state.export_kwh * 1000))),
        _czech_element(1, "0-0:96.13.0", 2, octets(b"")),
    ]
    return structure(b"\x16\x01", array(*elements))


# layouts that change from push to push: called with the push's invocation counter as well
CYCLING = {"aidon-lists": aidon_lists_body}
LAYOUTS = {
    "swiss": swiss_body,
    "swiss-submeters": swiss_submeters_body,
    "burgenland": burgenland_body,
    "wiener-netze": wiener_netze_body,
    "kaifa": kaifa_body,
    "aidon": aidon_body,
    "unknown-pairs": unknown_pairs_body,
    "czech": czech_body,
}
UNDATED = frozenset({"czech"})  # layouts whose header carries no date-time (00)
MBUS_SEGMENT = 0xF0  # APDU bytes per M-Bus frame, as the Kaifa meters split them


def data_notification(body: bytes, now: datetime, invoke_id: int, *, dated: bool = True) -> bytes:
    """``0F | invoke id | 0C + date-time | body`` (``00`` for the date-time where a meter sends none)."""
    stamp = b"\x0c" + cosem_datetime(now) if dated else b"\x00"
    return b"\x0f" + struct.pack(">I", invoke_id & 0x00FFFFFF) + stamp + body


def glo_ciphered(
    apdu: bytes,
    invocation_counter: int,
    *,
    tagged: bool = True,
    ek: bytes = EXAMPLE_EK,
    ak: bytes = EXAMPLE_AK,
    system_title: bytes = SYSTEM_TITLE,
) -> bytes:
    """general-glo-ciphering: SC 0x30 (encryption + 12-byte tag, AAD = SC ‖ AK) or SC 0x20 (encryption only)."""
    security_control = 0x30 if tagged else 0x20
    iv = system_title + struct.pack(">I", invocation_counter)
    sealed = AESGCM(ek).encrypt(iv, apdu, bytes([security_control]) + ak if tagged else b"")
    ciphertext, tag = sealed[:-16], sealed[-16:-4]  # GCM tags truncate to their first 12 bytes
    content = bytes([security_control]) + struct.pack(">I", invocation_counter) + ciphertext + (tag if tagged else b"")
    return b"\xdb\x08" + system_title + length(len(content)) + content


def framed(apdu: bytes, *, blocks: bool) -> bytes:
    """HDLC UI frames: one frame, or general-block-transfer blocks (LLC only before block 1)."""
    if not blocks:
        return build_hdlc_frame(LLC + apdu)
    pieces = [apdu[i : i + BLOCK_SIZE] for i in range(0, len(apdu), BLOCK_SIZE)]
    frames = []
    for number, piece in enumerate(pieces, start=1):
        control = 0x80 if number == len(pieces) else 0x00
        block = b"\xe0" + bytes([control | 0x40]) + struct.pack(">HH", number, 0) + length(len(piece)) + piece
        frames.append(build_hdlc_frame((LLC if number == 1 else b"") + block))
    return b"".join(frames)


def mbus_framed(apdu: bytes) -> bytes:
    """M-Bus long frames: CI = segment number, bit 4 on the last; source and destination TSAP before the bytes."""
    pieces = [apdu[i : i + MBUS_SEGMENT] for i in range(0, len(apdu), MBUS_SEGMENT)]
    return b"".join(
        build_mbus_frame(number | (0x10 if number == len(pieces) - 1 else 0), b"\x01\x67" + piece)
        for number, piece in enumerate(pieces)
    )


def push_frame(
    state: MeterState, now: datetime, counter: int, *, layout: str, security: str, framing: str = "hdlc"
) -> bytes:
    """The bytes of one push. ``security``: ``none``, ``encrypted`` (SC 0x20) or ``authenticated`` (SC 0x30);
    ``framing``: ``hdlc``, ``mbus`` or ``raw``."""
    body = CYCLING[layout](state, now, counter) if layout in CYCLING else LAYOUTS[layout](state, now)
    apdu = data_notification(body, now, counter, dated=layout not in UNDATED)
    if security != "none":
        title = SYSTEM_TITLES.get(layout, SYSTEM_TITLE)
        apdu = glo_ciphered(apdu, counter, tagged=security == "authenticated", system_title=title)
    if framing == "mbus":
        return mbus_framed(apdu)
    if framing == "raw":
        return apdu
    return framed(apdu, blocks=layout.startswith("swiss"))
