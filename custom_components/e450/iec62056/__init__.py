"""IEC 62056-21 (modes A-D) for electricity meters: sans-IO session, parsers and a serialx driver.

Nothing in this package imports Home Assistant.
"""

from .driver import read_meter
from .errors import (
    ChecksumError,
    DlmsPushDetectedError,
    FramingError,
    IEC62056Error,
    NoAnswerError,
    PortUnavailableError,
    ReadoutTimeoutError,
)
from .models import BccStatus, DataSet, DataValue, Identification, ProtocolMode, Reading, Readout, Timings
from .obis import normalize_address
from .session import Session, SessionConfig
from .transcript import parse_transcript

__all__ = [
    "BccStatus",
    "ChecksumError",
    "DataSet",
    "DataValue",
    "DlmsPushDetectedError",
    "FramingError",
    "IEC62056Error",
    "Identification",
    "NoAnswerError",
    "PortUnavailableError",
    "ProtocolMode",
    "Reading",
    "Readout",
    "ReadoutTimeoutError",
    "Session",
    "SessionConfig",
    "Timings",
    "normalize_address",
    "parse_transcript",
    "read_meter",
]
