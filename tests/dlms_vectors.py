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
        return b"".join(self.lines)

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
