"""Data-set grammar (IEC 62056-21:2002 §6.6) as real meters send it.

``address(value*unit)(value)…`` with every deviation seen in the field (docs/iec62056-21.md §5.2): several brackets
and several data sets per line, address-less continuation lines (P.01 rows), missing ``*`` before the unit
(``001.322kW``), empty units, ``&`` sub-values, padded and signed numbers, hex and text values, garbage bytes,
CR LF / LF / LF LF line ends. The parser is lenient — the BCC, not the grammar, decides whether a block is
intact — and never raises.
"""

from __future__ import annotations

from functools import lru_cache
import re

from ..frozen import fast_constructor
from ..models import DataSet, DataValue, number
from ..obis import normalize_address

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

# One pass over the whole block, on its bytes as latin-1 text (one character per byte). Each match is one token:
# blanks, control characters, stray ")" and "/" (which break an address), then an address (maybe empty), then
# a bracket, an unterminated bracket (the rest of its line, dropped) or the "!" that ends the block. The parity
# bit does not change a byte's role (0xA8 opens a bracket like "("), but a bracket ends only at a real ")" and
# is cut only by a real LF, exactly as the byte scanner this replaces did.
_TOKEN = re.compile(
    r"[\x00-\x20\x7f)/\x80-\xa0\xa9\xaf\xff]*+"  # breaks: what came before was noise
    r"([^\x00-\x20\x7f()/!\x80-\xa1\xa8\xa9\xaf\xff]*+)"  # 1: the address
    r"(?:[(\xa8](?:([^)\n]*+\))|[^)\n]*+)"  # 2: "value)"; an unterminated bracket leaves it empty
    r"|([!\xa1]))?"  # 3: "!" outside brackets ends the data block (§6.3.4)
)
_PARITY = {byte: byte & 0x7F for byte in range(0x80, 0x100)}  # str.translate table: drop bit 7


_make_dataset = fast_constructor(DataSet)
_make_value = fast_constructor(DataValue)


def _values(closed: str) -> tuple[tuple[DataValue, ...], int | float | None]:
    """The values of one bracket (``value*unit)``, closing bracket included) and the number of its first value."""
    content = closed[:-1]
    parts = content.split("&") if "&" in content else [content]
    values: list[DataValue] = []
    for part in parts:
        if "*" in part:
            value, unit = part.split("*", 1)
            values.append(_make_value(value.strip(), unit.strip() or None))
            continue
        match = _NO_STAR.match(part.strip())
        if match is not None and match.group("unit").lower() in _KNOWN_UNITS:
            values.append(DataValue(match.group("value").replace(" ", ""), match.group("unit")))
        else:
            values.append(DataValue(part.strip(), None))
    return tuple(values), number(values[0].value)


# a meter's unchanging brackets stay; a value that changes is seldom seen again
_bracket = lru_cache(maxsize=1024)(_values)


# A line that holds one data set and nothing else, "address(value*unit)", as nearly every line of a readout does;
# _MEASURED: one whose value is a plain number with a unit (what number() and _values() would make of it, directly)
_ALONE = re.compile(rb"([^\x00-\x20\x7f()/!\x80-\xff]+)\(([^()\n\x80-\xff]*\))\r?")
_MEASURED = re.compile(rb"([^\x00-\x20\x7f()/!\x80-\xff]+)\(([+-]?\d+(\.\d*)?)\*([^\x00-\x20\x7f()*&\x80-\xff]+)\)\r?")


def parse_data_block(block: bytes) -> tuple[DataSet, ...]:
    """Parse a data block (the text between STX and ETX, or after an unframed identification).

    Line by line while every line stands alone (an address opens the first data set on it), each line looked up
    in a cache: a line a meter sent last time as well gives back the very data sets made then, so a readout costs
    what changed in it, and an unchanged register is the same object as before (whoever compares two readouts finds
    it by identity). A block with a line that continues the one before (values without an address, a load
    profile's rows) or holds an ``!`` before its last line is parsed whole, in one pass."""
    datasets: list[DataSet] = []
    for line in block.split(b"\n"):
        found = _line(line)
        if found is None:
            if line.rstrip(b"\r") == b"!":
                break  # the end of the data block (§6.3.4)
            return _parse(block)
        datasets += found
    return tuple(datasets)


@lru_cache(maxsize=1024)
def _line(line: bytes) -> tuple[DataSet, ...] | None:
    """The data sets of one line, ``None`` when it does not stand alone (it continues the line before, or holds
    an ``!``)."""
    if (measured := _MEASURED.fullmatch(line)) is not None:
        name, text, point, unit = measured.groups()
        address = name.decode("ascii")
        code, history = normalize_address(address)
        reading = float(text) if point is not None else int(text)
        values = (_make_value(text.decode("ascii"), unit.decode("ascii")),)
        return (_make_dataset(address, values, code, history, reading),)
    if (alone := _ALONE.fullmatch(line)) is not None:
        address = alone.group(1).decode("ascii")
        found, value = _values(alone.group(2).decode("ascii"))  # a new line: most likely a new value
        code, history = normalize_address(address)
        return (_make_dataset(address, found, code, history, value),)
    if b"!" in line or b"\xa1" in line:
        return None
    datasets = _parse(line)
    return None if datasets and not datasets[0].address else datasets


def _parse(block: bytes) -> tuple[DataSet, ...]:
    """Parse a data block in one pass."""
    datasets: list[DataSet] = []
    parity = not block.isascii()
    address: str | None = None  # of the data set being built; "" for a continuation with nothing to continue
    values: tuple[DataValue, ...] = ()
    first: int | float | None = None
    for name, content, end in _TOKEN.findall(block.decode("latin-1")):
        if not content:
            if end:
                break
            continue  # an address without a bracket, or an unterminated bracket: the rest of its line is damaged
        if parity:
            name, content = name.translate(_PARITY), content.translate(_PARITY)
        found, value = _bracket(content)
        if name:
            if address is not None:
                code, history = normalize_address(address)
                datasets.append(_make_dataset(address, values, code, history, first))
            address, values, first = name, found, value
        elif address is None:
            address, values, first = "", found, value
        else:
            values += found
    if address is not None:
        code, history = normalize_address(address)
        datasets.append(_make_dataset(address, values, code, history, first))
    return tuple(datasets)
