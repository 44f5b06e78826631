"""DLMS/COSEM data-notification pushes in HDLC frames, as E450 customer interfaces send them (DLMS.md §1)."""

from __future__ import annotations

from datetime import datetime
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custom_components.e450.iec62056.hdlc import build_hdlc_frame

from .profiles import MeterState

# The example keys Netz Burgenland publishes for its E450 documentation (DLMS.md §1.5).
EXAMPLE_EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
EXAMPLE_AK = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
SYSTEM_TITLE = b"LGZg" + bytes.fromhex("72A9A111")


def cosem_datetime(now: datetime) -> bytes:
    """12-byte COSEM date-time, deviation unspecified (0x8000), as the E450 sends it."""
    return struct.pack(
        ">HBBBBBBBhB",
        now.year,
        now.month,
        now.day,
        now.isoweekday(),
        now.hour,
        now.minute,
        now.second,
        0xFF,
        -0x8000,
        0x00,
    )


def data_notification(state: MeterState, now: datetime, invoke_id: int) -> bytes:
    """Wiener Netze layout: date-time then +A, -A, +R, -R (Wh/varh) and +P, -P, +Q, -Q (W/var) as uint32."""
    values = (
        round(state.import_kwh * 1000),
        round(state.export_kwh * 1000),
        round(state.reactive_import_kvarh * 1000),
        round(state.reactive_export_kvarh * 1000),
        round(sum(state.phase_power_kw) * 1000),
        0,
        round(sum(state.phase_power_kw) * 100),
        0,
    )
    stamp = cosem_datetime(now)
    body = b"\x02\x09" + b"\x09\x0c" + stamp + b"".join(b"\x06" + struct.pack(">I", v) for v in values)
    return b"\x0f" + struct.pack(">I", invoke_id) + b"\x0c" + stamp + body


def glo_ciphered(apdu: bytes, invocation_counter: int, ek: bytes = EXAMPLE_EK, ak: bytes = EXAMPLE_AK) -> bytes:
    """general-glo-ciphering with security control 0x30 (authenticated encryption, 12-byte tag)."""
    security_control = 0x30
    iv = SYSTEM_TITLE + struct.pack(">I", invocation_counter)
    sealed = AESGCM(ek).encrypt(iv, apdu, bytes([security_control]) + ak)
    ciphertext, tag = sealed[:-16], sealed[-16:-4]
    content = bytes([security_control]) + struct.pack(">I", invocation_counter) + ciphertext + tag
    length = len(content)
    length_bytes = bytes([length]) if length < 0x80 else bytes([0x81, length])
    return b"\xdb\x08" + SYSTEM_TITLE + length_bytes + content


def push_frame(state: MeterState, now: datetime, counter: int, *, encrypted: bool) -> bytes:
    """One HDLC UI frame carrying one push."""
    apdu = data_notification(state, now, counter)
    if encrypted:
        apdu = glo_ciphered(apdu, counter)
    return build_hdlc_frame(b"\xe6\xe7\x00" + apdu)
