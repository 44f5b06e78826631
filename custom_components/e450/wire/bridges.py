"""What a port's name says about the line: a local serial device, or a network bridge in front of the head.

A raw TCP bridge (``socket://``, ``tcp://``: ESPHome's ``stream_server``, Tasmota's TCP bridge, ser2net in raw
mode) passes bytes at serial settings fixed on the bridge: it cannot follow a speed switch. An RFC 2217 bridge
(``rfc2217://``: ser2net with ``telnet(rfc2217)``) sets the serial side as the client asks.
"""

from __future__ import annotations

RAW_SCHEMES = frozenset({"socket", "tcp"})
RFC2217_SCHEME = "rfc2217"


def _scheme(port: str) -> str | None:
    scheme, separator, _ = port.partition("://")
    return scheme.lower() if separator else None


def bridge_of(port: str) -> str | None:
    """``host:port`` of a network bridge's URL; ``None`` for a local port."""
    scheme = _scheme(port)
    if scheme not in RAW_SCHEMES and scheme != RFC2217_SCHEME:
        return None
    return port.partition("://")[2].split("/", 1)[0].split("?", 1)[0]


def is_raw_bridge(port: str) -> bool:
    """A raw TCP bridge: serial settings fixed on the bridge, whatever the client asks."""
    return _scheme(port) in RAW_SCHEMES


def is_rfc2217(port: str) -> bool:
    """An RFC 2217 bridge: the client sets the serial side through the connection."""
    return _scheme(port) == RFC2217_SCHEME
