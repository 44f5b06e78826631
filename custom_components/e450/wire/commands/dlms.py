"""Command line: ``python -m custom_components.e450.dlms {decode,listen,read}``.

``decode FILE|-``  decode the bytes a port delivered (raw, or as a hex dump in any common form) and print JSON:
                   ``[--ek HEX] [--ak HEX] [--profile NAME] [--framing auto|hdlc|mbus|raw]``; exit 0 when at
                   least one push decoded
``listen PORT``    print pushes live, one JSON document per line:
                   ``[--baud 9600] [--parity N|E|O] [--framing …] [--ek] [--ak] [--json]``; a reading whose
                   scale the meter did not send says where it came from (``scale``, ``scale_source``), registers
                   held back for their scale are in ``uncertain`` (docs/scaling.md §5)
``read PORT``      read registers, clock and logical device name as a DLMS/COSEM client:
                   ``[--mode-e] [--baud N] [--client SAP] [--logical N] [--physical N] [--address-size 1|2|4]
                   [--password TEXT] [--ek HEX --ak HEX [--system-title HEX]] [--registers CODE,…|all]
                   [--referencing auto|ln|sn] [--json]``; ``auto`` (the default) proposes logical names and falls
                   back to short names when the meter refuses them; the JSON says which was used (``"referencing":
                   "ln"|"sn"``); with the keys, HLS-GMAC (mechanism 5) and ciphered APDUs (IDIS management client:
                   ``--client 1``; logical names only), the invocation counter one above the meter's frame counter
                   (0-0:43.1.0, read by the public client first); ``--registers all`` reads the association's object
                   list first (the SN association's over short names) and then every register it offers (JSON:
                   ``"object_count"``, the objects it lists); exit 0 on success, else the reason on stderr
``profile PORT``   read a load profile (class 7) by range, the same connection options as ``read``:
                   ``--from ISO --to ISO [--code OBIS] [--json]`` → ``{"profile": "1.0.99.1.0.255", "entries":
                   [{"time": ISO, "values": {"1.8.0": {"value": …, "unit": …}}}], "referencing": "ln"|"sn"}``;
                   times are meter time (an ISO
                   time with an offset is taken in this computer's time zone); exit 0, else the reason on stderr
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from dataclasses import replace
import json
import re
import sys
from typing import Any

from ..dlms.apdu import BARE_BODY
from ..dlms.axdr import obis_bytes
from ..dlms.client.association import Referencing
from ..dlms.client.config import ClientConfig
from ..dlms.client.cosem import DEFAULT_REGISTERS, meter_time
from ..dlms.client.driver import ClientRead, next_invocation_counter, read_client, read_profile
from ..dlms.client.hdlc_link import DEFAULT_PHYSICAL, HdlcLink, LinkSettings
from ..dlms.client.hls import DEFAULT_SYSTEM_TITLE, ClientKeys
from ..dlms.client.profile import LOAD_PROFILE
from ..dlms.client.reading import ObjectList
from ..dlms.push.listen import open_push_port, read_pushes
from ..dlms.push.positional import PROFILES
from ..dlms.push.push import Push, PushDecoder
from ..errors import MeterError, PushProblem
from ..framing import Framing
from ..models import LoadProfile, Readout
from ..obis import CLOCK_DATE, CLOCK_TIME, LOGICAL_DEVICE_NAME
from ..port import close_port
from .profiles import meter_moment, profile_output

_COMMENT = (b"#", b"//")
_C_ARRAY = re.compile(rb"\{([^{}]*)\}")
_C_BYTE = re.compile(rb"0[xX]([0-9A-Fa-f]{1,2})\b")
_SEPARATORS = re.compile(rb"0[xX]|[\s:,;]")
_HEX = re.compile(rb"(?:[0-9A-Fa-f]{2})+")


def as_bytes(raw: bytes) -> bytes:
    """The stream itself, or the bytes of a hex dump in any common form: spaces, colons (``7E:A0:8B``, as ESPHome
    logs print it), ``0x`` prefixes, commas, line breaks, a C array literal (``{0x7E, 0xA0, …}``); ``#`` and ``//``
    comment lines allowed, as in the test vectors."""
    text = b"\n".join(line for line in raw.splitlines() if not line.lstrip().startswith(_COMMENT))
    array = _C_ARRAY.search(text)
    values = _C_BYTE.findall(array.group(1)) if array is not None else []
    if array is not None and values and not _C_BYTE.sub(b"", array.group(1)).strip(b" \t\r\n,"):
        return bytes(int(value, 16) for value in values)
    digits = _SEPARATORS.sub(b"", text)
    if digits and _HEX.fullmatch(digits):
        return bytes.fromhex(digits.decode("ascii"))
    return raw


def key(text: str) -> bytes:
    """A 16-byte key from 32 hex digits (spaces and colons allowed)."""
    digits = re.sub(r"[\s:]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{32}", digits):
        raise argparse.ArgumentTypeError("a key is 32 hexadecimal digits")
    return bytes.fromhex(digits)


def describe_error(index: int, push: Push) -> str:
    """One line of the ``errors`` list."""
    assert push.error is not None
    counter = push.info.invocation_counter
    where = f"push {index}" + (f" (invocation counter {counter})" if counter is not None else "")
    return f"{where}: {push.error}"


def _feed_capture(data: bytes, decoder: PushDecoder) -> tuple[list[Push], PushDecoder]:
    """A whole capture's pushes. With ``auto`` framing and no HDLC or M-Bus frame in it, its bytes are APDUs
    with no framing (raw), or one APDU alone (a notification body without its header among them): a capture,
    unlike a live line, is known to hold pushes, so these are tried as well."""
    found = decoder.feed(data)
    if decoder.frames or not data or decoder.framing not in (Framing.AUTO, Framing.RAW):
        return found, decoder
    raw = (
        decoder if decoder.framing is Framing.RAW else PushDecoder(decoder.ek, decoder.ak, decoder.profile, Framing.RAW)
    )
    if raw is not decoder:
        found = raw.feed(data)
        if raw.frames:
            return found, raw
    if data[0] in BARE_BODY:
        return [raw.decode_apdu(data)], raw
    return found, decoder


def decode_document(data: bytes, decoder: PushDecoder) -> dict[str, Any]:
    """The JSON document of the ``decode`` contract."""
    pushes: list[dict[str, Any]] = []
    errors: list[str] = []
    found, decoder = _feed_capture(data, decoder)
    for index, push in enumerate(found, start=1):
        if push.error is not None:
            errors.append(describe_error(index, push))
            if push.info.system_title is None and push.error.reason in (PushProblem.INTERRUPTED, PushProblem.MALFORMED):
                continue  # a broken-off block transfer or a garbled APDU is not a push anyone sent whole
        pushes.append(push.as_dict())
    if not found and decoder.frames == 0:
        what = (
            "APDU"
            if decoder.framing is Framing.RAW
            else "HDLC or M-Bus frame, nor any APDU"
            if decoder.framing is Framing.AUTO
            else f"{decoder.framing.upper()} frame"
        )
        errors.append(f"no valid {what} in {len(data)} bytes")
    return {"pushes": pushes, "errors": errors}


def _cmd_decode(args: argparse.Namespace) -> int:
    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    decoder = PushDecoder(args.ek, args.ak, args.profile, Framing(args.framing))
    document = decode_document(as_bytes(raw), decoder)
    print(json.dumps(document, indent=2))
    return 0 if any("readings" in push for push in document["pushes"]) else 1


async def _listen(args: argparse.Namespace) -> int:
    decoder = PushDecoder(args.ek, args.ak, args.profile, Framing(args.framing))
    serial = await open_push_port(args.port, args.baud, args.parity)
    try:
        index = 0
        async for push in read_pushes(serial, decoder, port=args.port):
            index += 1
            document = push.as_dict()
            if push.error is not None:
                document["error"] = describe_error(index, push)
            print(json.dumps(document), flush=True)
    finally:
        await close_port(serial)
    return 0  # pragma: no cover - read_pushes only ends by raising


def _cmd_listen(args: argparse.Namespace) -> int:
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(_listen(args))
    except MeterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def registers(text: str) -> tuple[str, ...]:
    """``1.8.0,2.8.0`` → the codes; ``all``: every register the meter's object list offers (an empty tuple)."""
    if text.strip().lower() == "all":
        return ()
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    if not codes:
        raise argparse.ArgumentTypeError("name at least one register, or 'all'")
    return codes


def read_document(readout: Readout, listed: ObjectList | None = None) -> dict[str, Any]:
    """The JSON document of the ``read`` contract (``object_count`` when the read began with the object list)."""
    clock = meter_time(readout.text(CLOCK_DATE), readout.text(CLOCK_TIME))
    return {
        "logical_device_name": readout.text(LOGICAL_DEVICE_NAME),
        "clock": clock.isoformat() if clock is not None else None,
        "readings": readout.readings_json(),
        "timing": {"total": round(readout.timings.total, 4), "baud": readout.timings.baud},
        "referencing": readout.referencing,
    } | ({"object_count": listed.objects} if listed is not None else {})


def _client_config(args: argparse.Namespace, registers: tuple[str, ...] = DEFAULT_REGISTERS) -> ClientConfig:
    physical = DEFAULT_PHYSICAL if args.physical is None else args.physical
    link = LinkSettings(client=args.client, logical=args.logical, physical=physical, address_size=args.address_size)
    keys = ClientKeys(args.ek, args.ak, args.system_title) if args.ek is not None else None
    return ClientConfig(
        link=link,
        password=args.password,
        keys=keys,
        registers=registers,
        mode_e=args.mode_e,
        baud=args.baud,
        referencing=Referencing(args.referencing),
    )


def address_problem(args: argparse.Namespace) -> str | None:
    """Why the server address options cannot make an HDLC address, or ``None``."""
    if args.address_size == 1:
        return "a 1-byte server address has no physical address: leave out --physical" if args.physical else None
    try:
        HdlcLink(_client_config(args).link)
    except ValueError as err:
        return str(err)
    return None


def system_title(text: str) -> bytes:
    """An 8-byte system title from 16 hex digits."""
    digits = re.sub(r"[\s:]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{16}", digits):
        raise argparse.ArgumentTypeError("a system title is 16 hexadecimal digits")
    return bytes.fromhex(digits)


def obis_code(text: str) -> str:
    """An OBIS code the client can address (``1-0:99.1.0``, ``1.0.99.1.0.255`` is not one: use ``A-B:C.D.E``)."""
    try:
        obis_bytes(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _cmd_profile(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print(f"error: --to ({args.end.isoformat()}) is before --from ({args.start.isoformat()})", file=sys.stderr)
        return 2
    try:
        profile = asyncio.run(_profile(args))
    except MeterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(profile_output(profile, as_json=args.json))
    return 0


async def _counted(port: str, config: ClientConfig) -> ClientConfig:
    """With keys, the meter's frame counter first (a meter refuses a counter at or below the last it accepted)."""
    if config.keys is None:
        return config
    return replace(config, invocation_counter=await next_invocation_counter(port, config))


async def _profile(args: argparse.Namespace) -> LoadProfile:
    config = await _counted(args.port, _client_config(args))
    return await read_profile(args.port, args.start, args.end, config, args.code)


async def _read(port: str, config: ClientConfig) -> ClientRead:
    return await read_client(port, await _counted(port, config))


def _cmd_read(args: argparse.Namespace) -> int:
    config = _client_config(args, args.registers)
    try:
        read = asyncio.run(_read(args.port, config))
    except MeterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    readout = read.readout
    document = read_document(readout, read.object_list)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    print(f"{document['logical_device_name'] or 'meter'} at {readout.timings.baud} Bd, clock {document['clock']}")
    for code, reading in document["readings"].items():
        print(f"  {code:<10} {reading['value']} {reading['unit'] or ''}".rstrip())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.e450.dlms",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    decode = commands.add_parser("decode", help="decode pushes from a file or stdin")
    decode.add_argument("file")
    listen = commands.add_parser("listen", help="print pushes live from a serial port or URL")
    listen.add_argument("port")
    listen.add_argument("--baud", type=int, default=9600)
    listen.add_argument("--parity", choices=("N", "E", "O"), default="N")
    listen.add_argument("--json", action="store_true", help="one JSON document per push (what listen prints)")
    for command in (decode, listen):
        command.add_argument("--ek", type=key, help="encryption key (GUEK), 32 hex digits")
        command.add_argument("--ak", type=key, help="authentication key (GAK), 32 hex digits")
        command.add_argument("--profile", choices=sorted(PROFILES), help="force a positional layout")
        command.add_argument(
            "--framing",
            choices=[str(framing) for framing in Framing],
            default=str(Framing.AUTO),
            help=(
                "how APDUs travel: auto (HDLC or M-Bus; a capture with neither is read as raw APDUs), hdlc, "
                "mbus, raw (APDUs with no framing)"
            ),
        )
    read = commands.add_parser("read", help="read a meter as a DLMS/COSEM client (HDLC, mode E or direct)")
    profile = commands.add_parser("profile", help="read a load profile (class 7) between two times")
    for command in (read, profile):
        command.add_argument("port", help="a device path or a URL (socket://host:port)")
        command.add_argument("--mode-e", action="store_true", help="sign on at 300 Bd first (IEC 62056-21 mode E)")
        command.add_argument("--baud", type=int, default=9600, help="direct HDLC speed; mode E: the highest to agree")
        command.add_argument("--client", type=int, default=16, help="client SAP: 16 public, 32, 48 …")
        command.add_argument("--logical", type=int, default=1, help="server logical address (upper HDLC address)")
        command.add_argument(
            "--physical", type=int, help="server physical address (lower HDLC address; 17 when left out)"
        )
        command.add_argument(
            "--address-size",
            type=int,
            choices=(1, 2, 4),
            help="bytes of the server address: 1 (logical address only), 2 or 4 (default: the smallest that fits)",
        )
        command.add_argument("--password", help="low level security (LLS) password")
        command.add_argument("--ek", type=key, help="HLS-GMAC: global unicast encryption key, 32 hex digits")
        command.add_argument("--ak", type=key, help="HLS-GMAC: authentication key, 32 hex digits")
        command.add_argument(
            "--system-title", type=system_title, default=DEFAULT_SYSTEM_TITLE, help="HLS-GMAC: ours, 16 hex digits"
        )
        command.add_argument(
            "--referencing",
            choices=[str(item) for item in Referencing],
            default=str(Referencing.AUTO),
            help="logical names (ln), short names (sn), or ln falling back to sn (auto)",
        )
        command.add_argument("--json", action="store_true", help="print the JSON document")
    read.add_argument(
        "--registers", type=registers, default=DEFAULT_REGISTERS, help="OBIS codes, comma-separated, or 'all'"
    )
    profile.add_argument("--from", dest="start", type=meter_moment, required=True, help="first entry (ISO 8601)")
    profile.add_argument("--to", dest="end", type=meter_moment, required=True, help="last entry (ISO 8601)")
    profile.add_argument(
        "--code", type=obis_code, default=LOAD_PROFILE, help="the profile generic's OBIS code (1-0:99.1.0)"
    )
    decode.set_defaults(func=_cmd_decode)
    listen.set_defaults(func=_cmd_listen)
    read.set_defaults(func=_cmd_read)
    profile.set_defaults(func=_cmd_profile)
    args = parser.parse_args(argv)
    if args.command in ("read", "profile") and (args.ek is None) != (args.ak is None):
        parser.error("HLS-GMAC needs both --ek and --ak")
    if args.command in ("read", "profile") and args.ek is not None and args.referencing == Referencing.SN:
        parser.error("HLS-GMAC is offered over logical names only (--referencing ln or auto)")
    if args.command in ("read", "profile") and (problem := address_problem(args)) is not None:
        parser.error(problem)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
