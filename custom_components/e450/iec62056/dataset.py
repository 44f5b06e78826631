"""Data-set grammar (IEC 62056-21 6.5) as real meters send it.

``address(value*unit)(value)…`` with every deviation seen in the field (see PROTOCOL.md §1.8): several brackets
and several data sets per line, address-less continuation lines (P.01 rows), missing ``*`` before the unit
(``001.322kW``), empty units, ``&`` sub-values, padded and signed numbers, hex and text values, garbage bytes,
CR LF / LF / LF LF line ends. The parser is lenient — the BCC, not the grammar, decides whether a block is
intact — and never raises.
"""

from __future__ import annotations

from functools import lru_cache
import re

from .models import DataSet, DataValue

_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d*)?$|^[+-]?\.\d+$")
# Units seen without the "*" separator (Iskra MT382 "001.322kW"); a closed list, so that hex status words such
# as "0000E0F0" or "7F42" are never split into a number and a "unit".
_KNOWN_UNITS = frozenset(
    unit.lower()
    for unit in (
        "Wh",
        "kWh",
        "MWh",
        "GWh",
        "varh",
        "kvarh",
        "Mvarh",
        "VAh",
        "kVAh",
        "MVAh",
        "W",
        "kW",
        "MW",
        "var",
        "kvar",
        "Mvar",
        "VA",
        "kVA",
        "MVA",
        "V",
        "kV",
        "A",
        "mA",
        "Hz",
        "deg",
        "°",
        "m3",
        "m3ph",
        "m3/h",
        "l",
        "GJ",
        "MJ",
        "C",
        "K",
        "s",
        "h",
        "min",
    )
)
_NO_STAR = re.compile(r"^(?P<value>[+-]?\s*[\d.]+)\s*(?P<unit>[A-Za-z°][A-Za-z0-9°/]*)$")
_ADDRESS_BREAK = frozenset(b"()/! \t")


def numeric_value(text: str) -> float | None:
    """The number in a value field (``000219.252``, ``( 001.67``, ``-000.82``), or ``None`` if not a number."""
    compact = text.replace(" ", "")
    if not compact or _NUMBER.match(compact) is None:
        return None
    return float(compact)


@lru_cache(maxsize=4096)
def _split_value(content: str) -> tuple[DataValue, ...]:
    parts = content.split("&") if "&" in content else [content]
    values: list[DataValue] = []
    for part in parts:
        if "*" in part:
            value, unit = part.split("*", 1)
            values.append(DataValue(value.strip(), unit.strip() or None))
            continue
        match = _NO_STAR.match(part.strip())
        if match is not None and match.group("unit").lower() in _KNOWN_UNITS:
            values.append(DataValue(match.group("value").replace(" ", ""), match.group("unit")))
        else:
            values.append(DataValue(part.strip(), None))
    return tuple(values)


def parse_data_block(block: bytes) -> tuple[DataSet, ...]:
    """Parse a data block (the text between STX and ETX, or after an unframed identification)."""
    datasets: list[DataSet] = []
    address = bytearray()
    values: list[DataValue] = []
    current: str | None = None
    index, length = 0, len(block)

    def close_current() -> None:
        nonlocal current, values
        if current is not None:
            datasets.append(DataSet(current, tuple(values)))
        current, values = None, []

    while index < length:
        byte = block[index] & 0x7F
        if byte == 0x21:  # "!" outside brackets ends the data block (6.3.6)
            break
        if byte == 0x28:  # "("
            end = block.find(b")", index + 1)
            newline = block.find(b"\n", index + 1)
            if end < 0 or (0 <= newline < end):
                # unterminated bracket: the rest of this line is damaged, keep what was complete
                address.clear()
                index = length if newline < 0 else newline + 1
                continue
            content = bytes(b & 0x7F for b in block[index + 1 : end]).decode("ascii", "replace")
            if address:
                close_current()
                current = address.decode("ascii", "replace")
                address.clear()
            elif current is None:
                # a continuation with nothing to continue: keep it under an empty address
                current = ""
            values.extend(_split_value(content))
            index = end + 1
            continue
        if byte < 0x20 or byte == 0x7F or byte in _ADDRESS_BREAK:
            # control bytes, blanks, stray ")" and "/" break an address: what came before was noise
            address.clear()
        else:
            address.append(byte)
        index += 1
    close_current()
    return tuple(datasets)
