"""The push decoder: bytes from the port in, decoded pushes out. Sans-IO: no port, no clock, no event loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import logging
from typing import Any

from ..iec62056.hdlc import GENERAL_BLOCK_TRANSFER, GLO_CIPHERING, strip_llc
from ..iec62056.models import BccStatus, PushInfo, Readout, Timings
from .apdu import (
    MAX_APDU,
    BlockAssembler,
    GloCiphered,
    decrypt,
    parse_block,
    parse_glo_ciphered,
    parse_notification,
)
from .errors import DUPLICATE, INTERRUPTED, MALFORMED, TAG_MISMATCH, DlmsError
from .hdlc import HdlcFrame, HdlcReader
from .layouts import decode_body

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Push:
    """One push: decoded into a :class:`Readout`, or ``error`` saying why not (then ``readout`` is ``None``)."""

    info: PushInfo
    readout: Readout | None
    error: DlmsError | None = None
    raw: bytes = field(default=b"", compare=False)  # the APDU as received (ciphered if it was)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the ``decode`` command-line contract."""
        info = self.info
        document: dict[str, Any] = {
            "system_title": info.system_title.hex() if info.system_title else None,
            "invocation_counter": info.invocation_counter,
            "security": info.security,
            "tag": info.tag,
            "datetime": info.time.isoformat() if info.time else None,
            "layout": info.layout,
            "profile": info.profile,
        }
        if self.readout is not None:
            document["readings"] = readings_json(self.readout)
        return document


def readings_json(readout: Readout) -> dict[str, dict[str, Any]]:
    """Every current numeric value by normalised code (first one wins), ``int`` when it is whole."""
    from ..iec62056.dataset import numeric_value

    readings: dict[str, dict[str, Any]] = {}
    for dataset in readout.datasets:
        first = dataset.first
        if first is None or dataset.history is not None or dataset.obis in readings:
            continue
        if dataset.obis in ("0.9.1", "0.9.2", "96.1.0", "96.1.1", "42.0.0"):
            continue  # clock and identifiers are text, not readings
        number = numeric_value(first.value)
        if number is None:
            continue
        value: int | float = int(number) if "." not in first.value and number.is_integer() else number
        readings[dataset.obis] = {"value": value, "unit": first.unit}
    return readings


class PushDecoder:
    """Decodes the pushes of one meter.

    ``ek``/``ak``: encryption and authentication keys (16 bytes) or ``None``; ``profile`` forces a positional
    layout by name (``None``: chosen by the body's signature). The decoder remembers the last invocation counter
    per system title and drops a push that repeats it.
    """

    def __init__(self, ek: bytes | None = None, ak: bytes | None = None, profile: str | None = None) -> None:
        for name, key in (("encryption", ek), ("authentication", ak)):
            if key is not None and len(key) != 16:
                raise ValueError(f"the {name} key must be 16 bytes (32 hex digits), not {len(key)}")
        self.ek = ek
        self.ak = ak
        self.profile = profile
        self._reader = HdlcReader()
        self._blocks = BlockAssembler()
        self._segments: list[bytes] = []
        self._counters: dict[bytes, int] = {}
        self.frames = 0
        self.bytes_received = 0

    @property
    def junk_bytes(self) -> int:
        """Bytes skipped because no valid HDLC frame started there."""
        return self._reader.junk_bytes

    def feed(self, data: bytes) -> list[Push]:
        """Pushes completed by ``data`` (decoded ones and failed ones alike)."""
        self.bytes_received += len(data)
        pushes: list[Push] = []
        for frame in self._reader.feed(data):
            self.frames += 1
            pushes.extend(self._frame(frame))
        return pushes

    def _frame(self, frame: HdlcFrame) -> list[Push]:
        if frame.segmented or self._segments:  # HDLC segmentation: join the information fields
            self._segments.append(frame.information)
            if frame.segmented:
                if sum(map(len, self._segments)) > MAX_APDU:  # a segment chain that never ends
                    self._segments = []
                    return [_failed(DlmsError(MALFORMED, f"segmented APDU longer than {MAX_APDU} bytes"))]
                return []
            information = b"".join(self._segments)
            self._segments = []
        else:
            information = frame.information
        apdu = strip_llc(information)
        if not apdu:
            return []
        if apdu[0] != GENERAL_BLOCK_TRANSFER:
            if self._blocks.reset():
                return [_failed(DlmsError(INTERRUPTED, "a block transfer broke off")), self.decode_apdu(apdu)]
            return [self.decode_apdu(apdu)]
        try:
            block = parse_block(apdu)
        except DlmsError as err:
            self._blocks.reset()
            return [_failed(err, apdu)]
        complete, dropped = self._blocks.add(block)
        result = [_failed(DlmsError(INTERRUPTED, "a block transfer broke off"))] if dropped else []
        if complete is not None:
            result.append(self.decode_apdu(complete))
        return result

    def decode_apdu(self, apdu: bytes) -> Push:
        """Decode one complete APDU (data-notification, possibly glo-ciphered). Never raises."""
        if apdu[:1] == bytes([GLO_CIPHERING]):
            try:
                ciphered = parse_glo_ciphered(apdu)
            except DlmsError as err:
                return _failed(err, apdu)
            return self._decrypted(ciphered, apdu)
        info = PushInfo(None, None, "none", None)
        try:
            notification = parse_notification(apdu)
        except DlmsError as err:
            return Push(info, None, err, apdu)
        return self._notification(info, notification.body, notification.datetime, apdu)

    def _decrypted(self, ciphered: GloCiphered, apdu: bytes) -> Push:
        title, counter = ciphered.system_title, ciphered.invocation_counter
        info = PushInfo(title, counter, ciphered.security, "unchecked" if ciphered.authenticated else None)
        last = self._counters.get(title)
        if last is not None and counter == last:
            return Push(info, None, DlmsError(DUPLICATE, f"invocation counter {counter} repeated"), apdu)
        try:
            plaintext, tag = decrypt(ciphered, self.ek, self.ak)
        except DlmsError as err:
            failed = PushInfo(title, counter, ciphered.security, "failed" if err.reason == TAG_MISMATCH else None)
            return Push(failed if err.reason == TAG_MISMATCH else info, None, err, apdu)
        info = PushInfo(title, counter, ciphered.security, tag)
        try:
            notification = parse_notification(plaintext, decrypted=ciphered.encrypted)
        except DlmsError as err:
            return Push(info, None, err, apdu)
        push = self._notification(info, notification.body, notification.datetime, apdu)
        if push.readout is not None:  # only a push that proved its key moves the counter
            if last is not None and counter < last:
                _LOGGER.warning(
                    "Invocation counter of %s went back from %d to %d: the meter was reset", title.hex(), last, counter
                )
            self._counters[title] = counter
        return push

    def _notification(self, info: PushInfo, body: Any, stamp: datetime | None, apdu: bytes) -> Push:
        try:
            decoded = decode_body(body, self.profile)
        except DlmsError as err:
            return Push(info, None, err, apdu)
        info = PushInfo(
            info.system_title,
            info.invocation_counter,
            info.security,
            info.tag,
            stamp or decoded.clock,
            decoded.layout,
            decoded.profile,
        )
        readout = Readout(None, decoded.datasets, BccStatus.ABSENT, raw=apdu, timings=Timings(), push=info)
        return Push(info, readout, None, apdu)


def _failed(err: DlmsError, apdu: bytes = b"") -> Push:
    return Push(PushInfo(None, None, "none", None), None, err, apdu)
