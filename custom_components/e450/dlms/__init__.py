"""DLMS/COSEM push decoding for E450-family customer interfaces: HDLC, block transfer, glo-ciphering, A-XDR.

Sans-IO (:class:`PushDecoder` is fed bytes), plus a thin serialx driver. Nothing here imports Home Assistant.
"""

from ..iec62056.models import PushInfo
from .decoder import Push, PushDecoder, readings_json
from .driver import capture_push, open_push_port
from .errors import DlmsError, NoPushError
from .layouts import PROFILES

__all__ = [
    "PROFILES",
    "DlmsError",
    "NoPushError",
    "Push",
    "PushDecoder",
    "PushInfo",
    "capture_push",
    "open_push_port",
    "readings_json",
]
