"""Typed errors of the DLMS/COSEM push decoder."""

from __future__ import annotations

from ..iec62056.errors import IEC62056Error

# Why a push could not be used; also the translation keys the integration shows.
NO_KEY = "no_key"  # encrypted, and no encryption key is configured
TAG_MISMATCH = "tag_mismatch"  # the GCM tag does not verify with the keys given
WRONG_KEY = "wrong_key"  # decrypted without a tag check, and the result is not a DLMS APDU at all
NOT_NOTIFICATION = "not_notification"  # a DLMS APDU, but not a complete data-notification
UNSUPPORTED = "unsupported"  # a security suite or APDU these meters do not use
MALFORMED = "malformed"  # A-XDR that does not parse
UNKNOWN_LAYOUT = "unknown_layout"  # a body that no layout or profile describes
DUPLICATE = "duplicate"  # the same invocation counter again: a repeated or replayed push
INTERRUPTED = "interrupted"  # a block transfer that broke off before its last block


class DlmsError(IEC62056Error):
    """A push that cannot be decoded; ``reason`` is one of the constants above."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class NoPushError(IEC62056Error):
    """No DLMS push arrived in time on the port."""

    def __init__(self, seconds: float, received_bytes: int = 0) -> None:
        self.seconds = seconds
        self.received_bytes = received_bytes
        super().__init__(f"No DLMS push in {seconds:g} s ({received_bytes} bytes received)")
