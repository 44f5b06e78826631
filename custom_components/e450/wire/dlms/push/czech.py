"""The Czech distributors' push body: ČEZ Distribuce, EG.D and PRE meters (Sagemcom XT211, ZPA AM175/AM375,
Meter & Control ST402D) on their RS-485 customer port, raw APDUs at 9600 8N1 every 60 s (docs/dlms.md §6.6).

``structure{enum, array of structure{descriptor, value}}``: each element names its object by a capture-object
descriptor written without A-XDR tags — class id (2 bytes), logical name (6), attribute index (1) — and then
carries the tagged value. EG.D's "Komunikační rozhraní RS485" (2025, p. 1 object list and p. 2 example) and ČEZ
Distribuce's "Připojovací podmínky nn" (1. 2. 2025, §3.3.1.1) describe it; no scaler_unit travels with it (the
conventions table holds the distributors' units).
"""

from __future__ import annotations

from typing import Final

from ...errors import DlmsError
from ..axdr import ARRAY, ENUM, STRUCTURE, leaf

DESCRIPTOR: Final = 9  # class id (2) | logical name (6) | attribute index (1)
_OPENING: Final = bytes((STRUCTURE, 2, ENUM))
_ELEMENT: Final = bytes((STRUCTURE, 2))

# (class id, logical name, attribute, A-XDR tag, value)
Element = tuple[int, bytes, int, int, object]


def opens(data: bytes | bytearray, pos: int = 0) -> bool:
    """The body at ``pos`` has this layout's opening: ``02 02 16 xx 01 n`` and a first element ``02 02 00 …``
    (a class id below 256, as every COSEM interface class is)."""
    return (
        data[pos : pos + 3] == _OPENING
        and data[pos + 4 : pos + 5] == bytes((ARRAY,))
        and data[pos + 6 : pos + 9] == bytes((STRUCTURE, 2, 0))
    )


def elements(raw: bytes) -> list[Element] | None:
    """The body's elements, or ``None`` when it is not this layout (or its bytes run out)."""
    if not opens(raw):
        return None
    count, at = raw[5], 6
    found: list[Element] = []
    try:
        for _ in range(count):
            if raw[at : at + 2] != _ELEMENT or at + 2 + DESCRIPTOR > len(raw):
                return None
            descriptor = raw[at + 2 : at + 2 + DESCRIPTOR]
            tag, value, at = leaf(raw, at + 2 + DESCRIPTOR)
            found.append((int.from_bytes(descriptor[:2], "big"), descriptor[2:8], descriptor[8], tag, value))
    except DlmsError:
        return None
    return found
