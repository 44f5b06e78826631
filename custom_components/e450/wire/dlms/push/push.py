"""The push decoder: bytes from the port in, decoded pushes out. Sans-IO: no port, no clock, no event loop.

A push flows one way through the layers, each entered once (docs/dlms.md):
framing (:mod:`...framing.hdlc` frames, segments and LLC, or :mod:`...framing.mbus` frames and segments, or
:mod:`.raw` APDUs) → blocks (:mod:`..apdu`: general-block-transfer) →
deciphering (:mod:`..cipher`) → notification (:mod:`..apdu`) → body (:mod:`.bodies`) → :class:`~...models.Readout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import logging
from typing import Any

from ...errors import DlmsError, PushProblem
from ...framing import Framing
from ...framing.hdlc import HdlcFrame, HdlcReader, strip_llc
from ...framing.mbus import MbusFrame, MbusReader
from ...models import UNPROTECTED, BccStatus, PushInfo, Readout, TagStatus
from ...scaling.judge import ScaleJudge
from ...submeters import submeters
from ..apdu import (
    CIPHERED,
    GENERAL_BLOCK_TRANSFER,
    MAX_APDU,
    BlockAssembler,
    DataNotification,
    parse_blocks,
    parse_notification,
)
from ..axdr import decode_all
from ..cipher import decrypt, parse_glo_ciphered
from .bodies import decode_body
from .raw import RawReader, apdu_end
from .shape import redacted

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Push:
    """One push: decoded into a :class:`Readout`, or ``error`` saying why not (then ``readout`` is ``None``)."""

    info: PushInfo
    readout: Readout | None
    error: DlmsError | None = None
    raw: bytes = field(default=b"", compare=False)  # the APDU as received (ciphered if it was)
    # an unknown body's structure with its strings redacted (described.redacted), for the user to report
    undecoded: object = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the ``decode`` command-line contract."""
        document = self.info.as_dict()
        if self.readout is not None:
            document["readings"] = self.readout.readings_json()
            if self.readout.withheld:
                document["uncertain"] = {code: held.as_dict() for code, held in self.readout.withheld.items()}
            if found := submeters(self.readout):
                document["submeters"] = [submeter.as_dict() for submeter in found]
        return document


def _failed(err: DlmsError, apdu: bytes = b"") -> Push:
    return Push(UNPROTECTED, None, err, apdu)


class PushDecoder:
    """Decodes the pushes of one meter.

    ``ek``/``ak``: encryption and authentication keys (16 bytes) or ``None``; ``profile`` forces a positional
    layout by name (``None``: chosen by the body's signature); ``scales``: the user's exponents by code. The
    decoder remembers the last invocation counter per system title and drops a push that repeats it. Registers
    sent without their scaler go through the scale judge (:mod:`...scaling.judge`): a push's readout holds the
    right values, and holds back (``Readout.withheld``) those whose scale is not settled.
    """

    def __init__(
        self,
        ek: bytes | None = None,
        ak: bytes | None = None,
        profile: str | None = None,
        framing: Framing = Framing.AUTO,
        scales: Mapping[str, int] | None = None,
    ) -> None:
        for name, key in (("encryption", ek), ("authentication", ak)):
            if key is not None and len(key) != 16:
                raise ValueError(f"the {name} key must be 16 bytes (32 hex digits), not {len(key)}")
        self.ek = ek
        self.ak = ak
        self.profile = profile
        self.framing = framing
        self._hdlc = HdlcReader() if framing in (Framing.AUTO, Framing.HDLC) else None
        self._mbus = MbusReader() if framing in (Framing.AUTO, Framing.MBUS) else None
        self._raw = RawReader() if framing is Framing.RAW else None
        self._blocks = BlockAssembler()
        self._segments: list[bytes] = []
        self._mbus_segments: list[bytes] = []
        self._counters: dict[bytes, int] = {}
        self._shapes_seen: set[str] = set()
        self.frames = 0
        self.bytes_received = 0
        self.judge = ScaleJudge(dict(scales or {}))
        self._now: float | None = None

    @property
    def junk_bytes(self) -> int:
        """Bytes skipped because no valid frame (or, raw, no APDU) started there."""
        reader = self._hdlc or self._mbus or self._raw
        return reader.junk_bytes if reader is not None else 0

    def feed(self, data: bytes, now: float | None = None) -> list[Push]:
        """Pushes completed by ``data`` (decoded ones and failed ones alike). ``now``: seconds on a steady clock,
        for the checks that span several pushes (without it, the time each push carries, if any)."""
        self._now = now
        self.bytes_received += len(data)
        pushes: list[Push] = []
        if self._hdlc is not None:
            for frame in self._hdlc.feed(data):
                self._settle(Framing.HDLC)
                self.frames += 1
                pushes.extend(self._frame(frame))
        if self._mbus is not None:
            for mbus in self._mbus.feed(data):
                self._settle(Framing.MBUS)
                self.frames += 1
                pushes.extend(self._mbus_frame(mbus))
        if self._raw is not None:
            for apdu in self._raw.feed(data):
                self.frames += 1
                pushes.extend(self._blocks_of(apdu))
        return pushes

    def _settle(self, framing: Framing) -> None:
        """In auto mode, the first valid frame decides the framing for good: the other reader goes."""
        if self.framing is Framing.AUTO:
            self.framing = framing
            if framing is Framing.HDLC:
                self._mbus = None
            else:
                self._hdlc = None

    # --- framing: M-Bus segments (CI field: sequence number, last-segment bit) ---------------------------------

    def _mbus_frame(self, frame: MbusFrame) -> list[Push]:
        if not frame.carries_dlms or len(frame.data) < 2:
            return []  # another application on the bus (or an M-Bus status frame)
        if frame.ci & 0x0F == 0:
            dropped = bool(self._mbus_segments)
            self._mbus_segments = []
        elif not self._mbus_segments:
            return []  # listening began in the middle of a push: its tail means nothing alone
        else:
            dropped = False
        self._mbus_segments.append(frame.data[2:])  # after the source and destination TSAP
        result = [_failed(DlmsError(PushProblem.INTERRUPTED, "an M-Bus segment chain broke off"))] if dropped else []
        apdu = b"".join(self._mbus_segments)
        # the last segment says so in its CI field; some meters never set that bit, but an APDU says where it ends
        if frame.last_segment or (apdu and apdu_end(apdu, 0) == len(apdu)):
            self._mbus_segments = []
            if apdu:
                result.extend(self._blocks_of(apdu))
        elif sum(map(len, self._mbus_segments)) > MAX_APDU:
            self._mbus_segments = []
            result.append(_failed(DlmsError(PushProblem.MALFORMED, f"segmented APDU longer than {MAX_APDU} bytes")))
        return result

    # --- framing: HDLC segments and the LLC header ------------------------------------------------------------

    def _frame(self, frame: HdlcFrame) -> list[Push]:
        if frame.segmented or self._segments:  # HDLC segmentation: join the information fields
            self._segments.append(frame.information)
            if frame.segmented:
                if sum(map(len, self._segments)) > MAX_APDU:  # a segment chain that never ends
                    self._segments = []
                    return [_failed(DlmsError(PushProblem.MALFORMED, f"segmented APDU longer than {MAX_APDU} bytes"))]
                return []
            information = b"".join(self._segments)
            self._segments = []
        else:
            information = frame.information
        apdu = strip_llc(information)
        return self._blocks_of(apdu) if apdu else []

    # --- blocks: general-block-transfer -----------------------------------------------------------------------

    def _blocks_of(self, apdu: bytes) -> list[Push]:
        if apdu[0] != GENERAL_BLOCK_TRANSFER:
            if self._blocks.reset():
                return [
                    _failed(DlmsError(PushProblem.INTERRUPTED, "a block transfer broke off")),
                    self.decode_apdu(apdu),
                ]
            return [self.decode_apdu(apdu)]
        try:
            blocks = parse_blocks(apdu)
        except DlmsError as err:
            self._blocks.reset()
            return [_failed(err, apdu)]
        result = []
        for block in blocks:
            complete, dropped = self._blocks.add(block)
            if dropped:
                result.append(_failed(DlmsError(PushProblem.INTERRUPTED, "a block transfer broke off")))
            if complete is not None:
                result.append(self.decode_apdu(complete))
        return result

    # --- deciphering ------------------------------------------------------------------------------------------

    def decode_apdu(self, apdu: bytes) -> Push:
        """Decode one complete APDU (data-notification, possibly glo- or ded-ciphered). Never raises."""
        if apdu[0] not in CIPHERED:
            return self._notification(UNPROTECTED, apdu, apdu, decrypted=False)
        try:
            ciphered = parse_glo_ciphered(apdu)
        except DlmsError as err:
            return _failed(err, apdu)
        title, counter, security = ciphered.system_title, ciphered.invocation_counter, ciphered.security
        last = self._counters.get(title)
        if last is not None and counter == last:
            info = PushInfo(title, counter, security, TagStatus.UNCHECKED if ciphered.authenticated else None)
            return Push(info, None, DlmsError(PushProblem.DUPLICATE, f"invocation counter {counter} repeated"), apdu)
        try:
            plaintext, tag = decrypt(ciphered, self.ek, self.ak)
        except DlmsError as err:
            if err.reason is PushProblem.TAG_MISMATCH:
                status: TagStatus | None = TagStatus.FAILED
            else:
                status = TagStatus.UNCHECKED if ciphered.authenticated else None
            return Push(PushInfo(title, counter, security, status), None, err, apdu)
        push = self._notification(PushInfo(title, counter, security, tag), plaintext, apdu, decrypted=True)
        if push.readout is not None:  # only a push that proved its key moves the counter
            if last is not None and counter < last:
                _LOGGER.warning(
                    "Invocation counter of %s went back from %d to %d: the meter was reset", title.hex(), last, counter
                )
            self._counters[title] = counter
        return push

    # --- notification, body, readout --------------------------------------------------------------------------

    def _notification(self, info: PushInfo, plaintext: bytes, apdu: bytes, *, decrypted: bool) -> Push:
        try:
            notification = parse_notification(plaintext, decrypted=decrypted)
        except DlmsError as err:
            return Push(info, None, err, apdu)
        return self._body(info, notification, apdu, decrypted=decrypted)

    def _body(self, info: PushInfo, notification: DataNotification, apdu: bytes, *, decrypted: bool) -> Push:
        body, stamp = notification.body, notification.datetime
        try:
            decoded = decode_body(body, self.profile)
        except DlmsError as err:
            if err.reason is PushProblem.MALFORMED and decrypted:  # deciphered, yet no well-formed body
                if notification.invoke_id is None:  # nor any header: what came out is noise, the key is wrong
                    err = DlmsError(PushProblem.WRONG_KEY, f"decrypted APDU is no notification: {err.detail}")
                else:
                    err = DlmsError(PushProblem.NOT_NOTIFICATION, err.detail)
            if err.reason is PushProblem.UNKNOWN_LAYOUT and err.detail not in self._shapes_seen:
                self._shapes_seen.add(err.detail)  # once per distinct shape, not on every push
                _LOGGER.warning("A push body of a layout this version does not know; please report it: %s", err.detail)
            undecoded = redacted(decode_all(body)) if err.reason is PushProblem.UNKNOWN_LAYOUT else None
            return Push(info, None, err, apdu, undecoded)
        info = PushInfo(
            info.system_title,
            info.invocation_counter,
            info.security,
            info.tag,
            stamp or decoded.clock,
            decoded.layout,
            decoded.profile,
        )
        readout = Readout(
            None,
            decoded.datasets,
            BccStatus.ABSENT,
            raw=apdu,
            push=info,
            scales=decoded.scales,
            attributes=decoded.attributes,
        )
        now = self._now if self._now is not None else info.time.timestamp() if info.time is not None else None
        return Push(info, self.judge.judge(readout, now), None, apdu)
