"""Everything on the wire between a meter and Home Assistant, with no Home Assistant import.

Layers, each a package or module of its own (docs/architecture in the README):
``framing`` (HDLC), ``iec62056`` (IEC 62056-21 session), ``dlms`` (push decoding), ``port`` (serialx),
``detect`` (what is on a port), ``models`` (results, parsed once), ``obis`` (the code table), ``errors``.
Sans-IO machines are fed bytes and time and say what to do (:mod:`.actions`); :mod:`.port` does it.
"""

from .detect import DetectConfig, detect_meter
from .dlms.push.listen import capture_push, open_push_port, read_pushes
from .dlms.push.positional import PROFILES
from .dlms.push.push import Push, PushDecoder
from .errors import (
    KEY_PROBLEMS,
    ChecksumError,
    DlmsError,
    FramingError,
    MeterError,
    NoAnswerError,
    NoPushError,
    PortProblem,
    PortUnavailableError,
    PushProblem,
    ReadoutRefusedError,
    ReadoutTimeoutError,
)
from .iec62056.driver import read_meter, receive_telegram
from .iec62056.mode_d import ModeDConfig
from .iec62056.session import SessionConfig
from .iec62056.transcript import parse_transcript
from .models import (
    BccStatus,
    DataSet,
    DataValue,
    Identification,
    Layout,
    ProtocolMode,
    PushInfo,
    PushMeter,
    Reading,
    Readout,
    Security,
    TagStatus,
    Timings,
)
from .port import close_port

__all__ = [
    "KEY_PROBLEMS",
    "PROFILES",
    "BccStatus",
    "ChecksumError",
    "DataSet",
    "DataValue",
    "DetectConfig",
    "DlmsError",
    "FramingError",
    "Identification",
    "Layout",
    "MeterError",
    "ModeDConfig",
    "NoAnswerError",
    "NoPushError",
    "PortProblem",
    "PortUnavailableError",
    "ProtocolMode",
    "Push",
    "PushDecoder",
    "PushInfo",
    "PushMeter",
    "PushProblem",
    "Reading",
    "Readout",
    "ReadoutRefusedError",
    "ReadoutTimeoutError",
    "Security",
    "SessionConfig",
    "TagStatus",
    "Timings",
    "capture_push",
    "close_port",
    "detect_meter",
    "open_push_port",
    "parse_transcript",
    "read_meter",
    "read_pushes",
    "receive_telegram",
]
