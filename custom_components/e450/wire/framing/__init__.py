"""Framing that several protocols share: HDLC (IEC 62056-46) and M-Bus long frames (EN 13757-2)."""

from enum import StrEnum


class Framing(StrEnum):
    """How APDUs travel on a push meter's line."""

    AUTO = "auto"  # HDLC or M-Bus, whichever shows a valid frame first
    HDLC = "hdlc"
    MBUS = "mbus"
    RAW = "raw"  # APDUs with no framing at all: chosen, never guessed
