"""Load the real telegrams in tests/fixtures/telegrams back into the bytes a port delivered.

Byte-exact files use tokens (<STX>, <0x0a>, <LF> …, see the fixtures' README). Text sources carry rendering
artefacts that their headers explain; they are undone here, per artefact, so the parser sees wire bytes.
"""

from __future__ import annotations

from pathlib import Path
import re

FIXTURES = Path(__file__).parent / "fixtures" / "telegrams"
MARKER = "# ---- telegram starts below this line ----\n"
TOKENS = {
    "STX": b"\x02",
    "ETX": b"\x03",
    "ACK": b"\x06",
    "SOH": b"\x01",
    "EOT": b"\x04",
    "NUL": b"\x00",
    "NAK": b"\x15",
    "LF": b"\n",
    "CR": b"\r",
}
_TOKEN = re.compile(rb"<(0x[0-9a-f]{2}|[A-Z]{2,3})>")
_TASMOTA_TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} : ")


def telegram_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.txt"))


def load(path: Path) -> bytes:
    """The telegram as bytes on the wire (CR LF line ends unless the file says otherwise)."""
    header, body = path.read_text(encoding="utf-8").split(MARKER, 1)
    if "Python source literal" in header:  # one line with \r\n escapes, shown as the source wrote it
        text = body.strip("\n").replace("\\r", "\r").replace("\\n", "\n")
        text = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)  # Python octal escape
        return text.encode("latin-1")
    out = bytearray()
    bcc_placeholder = False
    for line in body.split("\n")[:-1]:
        line = _TASMOTA_TIME.sub("", line).replace("\ufffd", "")
        line = line.removesuffix("\\\\")  # DokuWiki line-break markup
        if "<\\r>" in line or "<\\n>" in line:  # HTerm renders CR / LF as <\r> / <\n>
            out += line.replace("<\\r>", "\r").replace("<\\n>", "\n").encode("ascii")
            if not line.endswith("<\\n>"):
                out += b"\n"
            continue
        if "<BCC>" in line:  # a manual's placeholder: the example carries no real BCC
            bcc_placeholder = True
            line = line.replace("<BCC>", "")

        def token(match: re.Match[bytes]) -> bytes:
            name = match.group(1)
            return bytes([int(name, 16)]) if name.startswith(b"0x") else TOKENS[name.decode()]

        raw = _TOKEN.sub(token, line.encode("utf-8"))
        out += raw if (line.endswith("<LF>") or "<ETX>" in line) else raw + b"\r\n"
    if bcc_placeholder:
        stx = out.index(b"\x02")
        etx = out.index(b"\x03", stx)
        check = 0
        for byte in out[stx + 1 : etx + 1]:
            check ^= byte
        out = out[: etx + 1] + bytes([check & 0x7F])
    return bytes(out)
