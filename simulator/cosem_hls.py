"""The simulated meter's side of HLS-GMAC (mechanism 5) and of glo-ciphering (Green Book §9.2.7.2, §9.2.7.4):
the ciphered InitiateRequest opened, the challenge StoC, the client's f(StoC) checked, f(CtoS) given back, and
every APDU after the AARE ciphered with security control 0x30.

Written for the meter from the standard, independently of the client's
:mod:`custom_components.e450.wire.dlms.client.hls` and :mod:`~custom_components.e450.wire.dlms.cipher`: AES-GCM
straight from ``cryptography``.

The management client (SAP 1) of IDIS meters is the one that authenticates this way (IDIS package 2: 16 public,
1 management with HLS mechanism 5); the keys are the simulator's push keys, its system title the push's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .dlms_push import EXAMPLE_AK, EXAMPLE_EK, SYSTEM_TITLE

MANAGEMENT_CLIENT: Final = 1
HLS_GMAC: Final = bytes.fromhex("60857405080205")
LN_CIPHERED_CONTEXT: Final = bytes.fromhex("60857405080103")
SC: Final = 0x30  # authenticated and encrypted, suite 0
SC_AUTH: Final = 0x10
TAG: Final = 12
# plain tag → glo- tag for the meter's responses, and the requests it opens
GLO_RESPONSE: Final = {0x08: 0x28, 0xC4: 0xCC, 0xC7: 0xCF}
PLAIN_REQUEST: Final = {0x21: 0x01, 0xC8: 0xC0, 0xCB: 0xC3}
ASSOCIATION_METHOD: Final = bytes.fromhex("000F0000280000FF01")  # class 15, 0-0:40.0.0.255, method 1


@dataclass(frozen=True)
class ServerKeys:
    """The keys of the meter's security setup (0-0:43.0.0.255) for one client."""

    ek: bytes = EXAMPLE_EK
    ak: bytes = EXAMPLE_AK
    system_title: bytes = SYSTEM_TITLE


def _length(size: int) -> bytes:
    return bytes([size]) if size < 0x80 else bytes([0x82]) + size.to_bytes(2, "big")


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if data[pos] < 0x80:
        return data[pos], pos + 1
    count = data[pos] & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


@dataclass
class SecureSession:
    """One HLS association: the client's title and challenge, ours, and both invocation counters."""

    keys: ServerKeys
    client_title: bytes
    ctos: bytes
    stoc: bytes = field(default_factory=lambda: os.urandom(16))
    authenticated: bool = False
    counter: int = 0x1000  # the meter's own invocation counter
    client_counter: int = -1  # the last the client used: it must go up

    def _gcm(self, title: bytes, counter: int, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext ‖ 12-byte tag."""
        sealed = AESGCM(self.keys.ek).encrypt(title + counter.to_bytes(4, "big"), plaintext, aad)
        return sealed[: len(plaintext) + TAG]

    def open(self, apdu: bytes) -> bytes | None:
        """The plain request of a glo-ciphered one from the client, ``None`` when it does not verify."""
        if not apdu or apdu[0] not in PLAIN_REQUEST or len(apdu) < 2:
            return None
        size, start = _read_length(apdu, 1)
        content = apdu[start:]
        if len(content) != size or size < 5 + TAG or content[0] != SC:
            return None
        counter = int.from_bytes(content[1:5], "big")
        if counter <= self.client_counter:
            return None  # a replay
        body, tag = content[5:-TAG], content[-TAG:]
        iv = self.client_title + counter.to_bytes(4, "big")
        # GCM's keystream starts at counter block IV ‖ 00000002 (NIST SP 800-38D with a 96-bit IV)
        decryptor = Cipher(algorithms.AES(self.keys.ek), modes.CTR(iv + b"\x00\x00\x00\x02")).decryptor()
        plain = decryptor.update(body) + decryptor.finalize()
        if self._gcm(self.client_title, counter, plain, bytes([SC]) + self.keys.ak)[-TAG:] != tag:
            return None
        if not plain or plain[0] != PLAIN_REQUEST[apdu[0]]:
            return None
        self.client_counter = counter
        return plain

    def seal(self, apdu: bytes) -> bytes:
        """The glo- form of the meter's response (a refusal in clear stays in clear)."""
        if apdu[0] not in GLO_RESPONSE:
            return apdu
        self.counter += 1
        payload = self._gcm(self.keys.system_title, self.counter, apdu, bytes([SC]) + self.keys.ak)
        content = bytes([SC]) + self.counter.to_bytes(4, "big") + payload
        return bytes([GLO_RESPONSE[apdu[0]]]) + _length(len(content)) + content

    def _gmac(self, title: bytes, counter: int, challenge: bytes) -> bytes:
        aad = bytes([SC_AUTH]) + self.keys.ak + challenge
        tag = AESGCM(self.keys.ek).encrypt(title + counter.to_bytes(4, "big"), b"", aad)[:TAG]
        return bytes([SC_AUTH]) + counter.to_bytes(4, "big") + tag

    def reply(self, action: bytes) -> bytes:
        """ACTION reply_to_HLS_authentication (plain): f(StoC) checked, f(CtoS) answered; any other ACTION is
        refused (object-undefined: this association has no other method)."""
        invoke = action[2]
        if action[:2] != b"\xc3\x01" or action[3:12] != ASSOCIATION_METHOD:
            return bytes([0xC7, 0x01, invoke, 0x04, 0x00])
        proof = action[15:] if action[12:15] == b"\x01\x09\x11" else b""
        if len(proof) != 17 or proof[0] != SC_AUTH:
            return bytes([0xC7, 0x01, invoke, 0xFA, 0x00])  # other-reason
        expected = self._gmac(self.client_title, int.from_bytes(proof[1:5], "big"), self.stoc)
        if proof != expected:
            return bytes([0xC7, 0x01, invoke, 0x03, 0x00])  # read-write-denied
        self.authenticated = True
        self.counter += 1
        answer = self._gmac(self.keys.system_title, self.counter, self.ctos)
        return bytes([0xC7, 0x01, invoke, 0x00, 0x01, 0x00, 0x09, len(answer)]) + answer
