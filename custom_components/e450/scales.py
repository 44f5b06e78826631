"""The size of the units meters transmit: each unit's family and its factor to the family's base unit. Pure: the
sensors (through :mod:`.units`) and the anomaly rules convert with this one table."""

from __future__ import annotations

from typing import Final

# unit as transmitted, lower case -> (family, factor to the family's base unit)
SCALES: Final[dict[str, tuple[str, float]]] = {
    "wh": ("energy", 1.0),
    "kwh": ("energy", 1e3),
    "mwh": ("energy", 1e6),
    "w": ("power", 1.0),
    "kw": ("power", 1e3),
    "mw": ("power", 1e6),
    "var": ("reactive_power", 1.0),
    "kvar": ("reactive_power", 1e3),
    "varh": ("reactive_energy", 1.0),
    "kvarh": ("reactive_energy", 1e3),
    "va": ("apparent_power", 1.0),
    "kva": ("apparent_power", 1e3),
    "mva": ("apparent_power", 1e6),
    "vah": ("apparent_energy", 1.0),
    "kvah": ("apparent_energy", 1e3),
    "v": ("voltage", 1.0),
    "kv": ("voltage", 1e3),
    "a": ("current", 1.0),
    "ma": ("current", 1e-3),
}


def scale(unit: str | None, target: str | None) -> float | None:
    """What a value in ``unit`` is multiplied by to be in ``target`` (same family only); ``None``: not convertible."""
    source, wanted = (unit or "").lower(), (target or "").lower()
    if source == wanted:
        return 1.0
    have, want = SCALES.get(source), SCALES.get(wanted)
    if have is None or want is None or have[0] != want[0]:
        return None
    return have[1] / want[1]


def in_base(value: float, unit: str | None, *families: str) -> float | None:
    """``value`` in its family's base unit (Wh, W, VA, A …) when ``unit`` belongs to one of ``families``."""
    known = SCALES.get((unit or "").lower())
    return value * known[1] if known is not None and known[0] in families else None
