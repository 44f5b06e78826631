"""Fast construction of the frozen, slotted dataclasses that parsing makes by the thousand.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (that is what keeps it frozen),
which costs about twice a plain assignment; a readout makes 60 data sets, a push dozens of A-XDR values. The
constructor made here sets the same slots on a new instance directly — the instance is the same, equal and as
immutable as one the class makes — and is the class itself for any class it cannot do this for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from types import MemberDescriptorType
from typing import Any


def fast_constructor[T](cls: type[T]) -> Callable[..., T]:
    """``cls(*fields)`` (positional, every field given) without the frozen ``__init__``."""
    if not is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return cls
    names = [field.name for field in fields(cls)]
    slots = [cls.__dict__.get(name) for name in names]
    if not all(isinstance(slot, MemberDescriptorType) for slot in slots):
        return cls
    # generated, as dataclasses generate their own __init__: one call per slot, no loop
    lines = [f"def make({', '.join(names)}):", "    made = new(cls)"]
    lines += [f"    set_{index}(made, {name})" for index, name in enumerate(names)]
    lines.append("    return made")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    namespace.update({f"set_{index}": slot.__set__ for index, slot in enumerate(slots)})  # type: ignore[union-attr]
    exec("\n".join(lines), namespace)
    make: Callable[..., T] = namespace["make"]
    return make
