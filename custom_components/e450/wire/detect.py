"""What is on this port? An IEC 62056-21 sign-on first; when no identification comes, listen for DLMS/COSEM pushes.

A sans-IO machine like the session it wraps: the IEC session runs until it reads the meter (``Done(Readout)``) or
ends with :class:`~.errors.NoAnswerError`; then the line is set, in turn, to each setting E450-family meters push
at, for longer than one push interval, until a checksum-valid HDLC frame arrives (``Done(PushMeter)``) or every
setting stayed silent or unintelligible (:class:`~.errors.NoAnswerError` again). HDLC and M-Bus frames are
recognised by their checksums; raw APDUs, which have none, only when a whole burst (silence before, silence
after) is nothing but complete APDUs back to back, which noise at a wrong speed practically never is. Used where
the user agreed to probe a port (docs/dlms.md §1.2): the config flow and the ``probe`` command.
:attr:`Detector.phase` says what is being tried, for a progress display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from .actions import Action, Configure, Done, Wait
from .dlms.apdu import CIPHERED, GENERAL_BLOCK_TRANSFER
from .dlms.push.raw import STARTS as RAW_STARTS, apdu_end
from .errors import NoAnswerError
from .framing import Framing
from .framing.hdlc import find_hdlc_frame, strip_llc
from .framing.mbus import START as MBUS_START, parse_long_frame
from .iec62056.frames import INITIAL_BAUD
from .iec62056.session import Session, SessionConfig
from .models import Identification, PushMeter, Readout
from .port import run_on_port

# Where meters push DLMS/COSEM: optical 9600 8N1 (Wiener Netze, Burgenland), wired CII and M-Bus 2400 8E1 (Swiss
# utilities; Kaifa/Sagemcom at EVN/Netz NÖ, TINETZ, Salzburg), 2400 8N1 (HAN readers), 9600 8E1, 115200 8N1 (P1
# ports of Austrian and Czech meters), 2400 8O1 (Romande Energie's E450 with an AD-FU module); docs/dlms.md §1.1.
PUSH_LINE_SETTINGS: Final[tuple[tuple[int, str], ...]] = (
    (9600, "N"),
    (2400, "E"),
    (2400, "N"),
    (9600, "E"),
    (115200, "N"),
    (2400, "O"),
)
PUSH_LISTEN_SECONDS: Final = 6.0  # per line setting: longer than the E450's 5 s push interval
# Silence that ends a burst of bytes: pushes come seconds apart, the frames of one push back to back.
PUSH_GAP: Final = 0.3
# The shortest burst taken for raw APDUs: a data-notification with a date-time and one value.
MIN_RAW_BURST: Final = 16


def peek_security(apdu: bytes) -> tuple[bool, bytes | None]:
    """``(encrypted, system title)`` of the APDU a frame starts, looking inside a general-block-transfer block."""
    if apdu[:1] == bytes([GENERAL_BLOCK_TRANSFER]) and len(apdu) > 7:
        # E0 | block control | block number (2) | acknowledged (2) | A-XDR length | block data
        size_byte = apdu[6]
        apdu = apdu[7 if size_byte < 0x80 else 7 + (size_byte & 0x7F) :]
    if not apdu or apdu[0] not in CIPHERED:
        return False, None
    title = apdu[2:10] if apdu[1:2] == b"\x08" and len(apdu) >= 10 else None
    return True, title


def find_push_frame(data: bytes) -> tuple[Framing, bytes] | None:
    """The first valid HDLC frame, or M-Bus long frame carrying DLMS, in ``data``: its framing and the start of
    the APDU it carries."""
    if (frame := find_hdlc_frame(data)) is not None:
        return Framing.HDLC, strip_llc(frame.information)
    position = 0
    while (start := data.find(MBUS_START, position)) >= 0:
        mbus, _ = parse_long_frame(data, start)
        if mbus is not None and mbus.carries_dlms and len(mbus.data) > 2:
            return Framing.MBUS, mbus.data[2:]  # after the source and destination TSAP
        position = start + 1
    return None


def find_raw_apdu(burst: bytes) -> bytes | None:
    """The first APDU of a burst that is nothing but complete APDUs back to back (raw framing, docs/dlms.md
    §2.9), or ``None``."""
    if len(burst) < MIN_RAW_BURST:
        return None
    position, first = 0, 0
    while position < len(burst):
        if burst[position] not in RAW_STARTS or (end := apdu_end(burst, position)) <= position:
            return None
        first, position = first or end, end
    return burst[:first]


@dataclass(frozen=True, slots=True)
class Phase:
    """What detection is trying now: an IEC 62056-21 sign-on (at 300 Bd) or readout (at the agreed speed), or
    listening for pushes at one line setting."""

    step: str  # "sign_on" | "read" | "listen"
    baud: int
    line: str  # data bits, parity, stop bits: "7E1", "8N1"


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """The sign-on's settings, and how long to listen for pushes at each line setting."""

    session: SessionConfig = field(default_factory=SessionConfig)
    listen: float = PUSH_LISTEN_SECONDS
    line_settings: tuple[tuple[int, str], ...] = PUSH_LINE_SETTINGS


class Detector:
    """Sign on, then listen. Create one per port and attempt."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.config = config or DetectConfig()
        self._session: Session | None = Session(self.config.session)
        self._baud = INITIAL_BAUD
        self._index = -1  # the line setting being listened at
        self._buffer = bytearray()
        self._deadline = 0.0
        self._started = 0.0
        self._last_rx: float | None = None  # last byte at this line setting
        self._burst_whole = False  # the current burst began after a silence: we see it from its start
        self._burst_start = 0  # where the current burst begins in the buffer
        self._answered = 0  # bytes the sign-on received
        self._identification: Identification | None = None

    @property
    def baud(self) -> int:
        """The baud rate the line is (to be) set to."""
        return self._session.baud if self._session is not None else self._baud

    @property
    def identification(self) -> Identification | None:
        """The identification the sign-on received, if any (also when no readout followed it)."""
        return self._identification

    @property
    def phase(self) -> Phase:
        """What is being tried now."""
        if self._session is not None:
            return Phase("sign_on" if self._session.baud == INITIAL_BAUD else "read", self._session.baud, "7E1")
        baud, parity = self.config.line_settings[max(0, min(self._index, len(self.config.line_settings) - 1))]
        return Phase("listen", baud, f"8{parity}1")

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes that arrived from the port."""
        if self._session is not None:
            self._session.receive_data(data, now)
            return
        if not data:
            return
        self._buffer += data
        last = self._last_rx if self._last_rx is not None else self._started
        if now - last >= PUSH_GAP:
            self._burst_whole = self._index >= 0
            self._burst_start = len(self._buffer) - len(data)
        self._last_rx = now

    def next_action(self, now: float) -> Action:
        """What the driver must do next; ``Done`` carries a :class:`Readout` or a :class:`PushMeter`."""
        if self._session is not None:
            try:
                return self._session.next_action(now)
            except NoAnswerError:
                self._answered, self._session = self._session.bytes_received, None
            finally:
                if self._session is not None:  # kept, also when the readout then fails (mode E meters)
                    self._identification = self._session.identification
        return self._listen(now)

    def _listen(self, now: float) -> Action:
        found = find_push_frame(bytes(self._buffer))
        burst_over = self._last_rx is not None and now >= self._last_rx + PUSH_GAP
        if found is None and self._burst_whole and burst_over:
            raw = find_raw_apdu(bytes(self._buffer[self._burst_start :]))
            found = (Framing.RAW, raw) if raw is not None else None
        if found is not None and self._index >= 0:
            baud, parity = self.config.line_settings[self._index]
            framing, apdu = found
            encrypted, title = peek_security(apdu)
            return Done(PushMeter(baud, parity, encrypted, title, framing))
        if self._index >= 0:
            if self._last_rx is None and now >= self._deadline:
                # not one byte in a whole push interval: nothing pushes (a wrong speed still delivers garbage)
                return self._give_up()
            # a burst seen whole, from silence to silence, without a valid frame: this is not the push's speed
            if now < self._deadline and not (self._burst_whole and burst_over):
                wake = self._deadline
                if self._burst_whole and self._last_rx is not None:
                    wake = min(wake, self._last_rx + PUSH_GAP)
                return Wait(wake)
        self._index += 1
        if self._index >= len(self.config.line_settings):
            return self._give_up()
        self._buffer.clear()
        self._started, self._last_rx, self._burst_whole, self._burst_start = now, None, False, 0
        self._deadline = now + self.config.listen
        baud, parity = self.config.line_settings[self._index]
        self._baud = baud
        return Configure(baud, 8, parity)

    def _give_up(self) -> Action:
        raise NoAnswerError(received_bytes=self._answered)


async def detect_meter(port: str, config: DetectConfig | None = None) -> Readout | PushMeter:
    """Sign on to ``port`` and, failing an answer, listen for pushes; the port is closed again either way."""
    result = await run_on_port(port, Detector(config))
    assert isinstance(result, Readout | PushMeter)  # detection never reads a load profile
    return result
