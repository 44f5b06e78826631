"""The DLMS push vectors in tests/fixtures/dlms: header fields and the bytes they carry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VECTORS = Path(__file__).parent / "fixtures" / "dlms"


@dataclass(frozen=True)
class Vector:
    name: str
    header: dict[str, str]
    lines: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        """The bytes, with the ``Errata`` header's corrections (``offset=byte`` in hex) applied: a document's
        example with a misprint is kept as printed, and read as corrected."""
        data = bytearray(b"".join(self.lines))
        for fix in self.header.get("Errata", "").split("(")[0].split():
            offset, _, value = fix.partition("=")
            data[int(offset)] = int(value, 16)
        return bytes(data)

    def key(self, name: str) -> bytes | None:
        text = self.header.get(name, "").split(" ")[0]
        return bytes.fromhex(text) if len(text) == 32 else None


def vector(name: str) -> Vector:
    header: dict[str, str] = {}
    lines: list[bytes] = []
    for line in (VECTORS / f"{name}.txt").read_text().splitlines():
        if line.startswith("#"):
            field, _, value = line[1:].partition(":")
            header[field.strip()] = value.strip()
        elif line.strip():
            lines.append(bytes.fromhex(line))
    return Vector(name, header, tuple(lines))


def all_vectors() -> list[str]:
    return sorted(path.stem for path in VECTORS.glob("*.txt"))
