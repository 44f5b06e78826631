"""OBIS code normalisation for addresses as real meters write them."""

from __future__ import annotations

from functools import lru_cache
import re

# value groups A-B: prefix ("1-0:", "0-0:", "1-1:")
_PREFIX = re.compile(r"^\d{1,3}-\d{1,3}:")
_HISTORY = re.compile(r"^(?P<code>[^*&]+)(?P<suffix>[*&]\d+)?$")


@lru_cache(maxsize=1024)
def normalize_address(address: str) -> tuple[str, str | None]:
    """Return ``(code, history)`` for a data-set address.

    ``1-0:1.8.0*255`` → ``("1.8.0", None)``; ``1.8.1*12`` → ``("1.8.1", "*12")``;
    ``32.7`` → ``("32.7.0", None)``. ``*255`` marks the current value (IEC 62056-61), any other ``*NN``
    or ``&NN`` a stored billing-period value that must never overwrite the current register.
    """
    text = _PREFIX.sub("", address.strip())
    match = _HISTORY.match(text)
    if match is None:
        return text, None
    code, suffix = match.group("code"), match.group("suffix")
    if suffix == "*255":
        suffix = None
    parts = code.split(".")
    # reduced numeric forms C.D ("32.7", "0.0") gain the implied E group 0; letter codes (F.F, C.7) stay
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        code = f"{code}.0"
    return code, suffix
