"""How a DLMS/COSEM client read is set up: who we are to the meter, what to read, and how patient to be
(:class:`ClientConfig`, read by :mod:`.client`'s state machine and kept by the caller)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ...iec62056.session import SessionConfig
from .association import Referencing
from .cosem import DEFAULT_REGISTERS
from .hdlc_link import LinkSettings
from .hls import ClientKeys

DIRECT_BAUD: Final = 9600  # direct HDLC on an optical port: 9600 8N1 (IEC 62056-21 Annex E.1 / field practice)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Who we are to the meter, what to read, and how patient to be."""

    link: LinkSettings = field(default_factory=LinkSettings)
    password: str | None = None  # LLS (mechanism 1) when set; the public client 16 needs none
    keys: ClientKeys | None = None  # HLS-GMAC (mechanism 5) and ciphered APDUs when set (a password is then unused)
    challenge: bytes | None = None  # CtoS (8-32 bytes); None: a fresh random one per read
    invocation_counter: int = 0  # the first one our ciphered APDUs use (a meter wants it above the last it saw)
    registers: tuple[str, ...] = DEFAULT_REGISTERS  # empty: every register the object list offers
    # registers an earlier read found in the object list, (class, "1-0:13.7.0"): read exactly these (registers unused)
    offered: tuple[tuple[int, str], ...] = ()
    mode_e: bool = False  # sign on at 300 Bd first (IEC 62056-21 Annex E), else direct HDLC
    baud: int = DIRECT_BAUD  # direct HDLC: the line speed; mode E: the cap for the speed agreed
    session: SessionConfig = field(default_factory=SessionConfig)  # mode E's sign-on
    response_timeout: float = 1.5  # after a frame has left, for the first byte of the answer
    retries: int = 2  # a frame is sent again this many times before the meter counts as silent
    max_pdu: int = 0xFFFF  # client-max-receive-pdu-size proposed in the AARQ
    list_size: int = 10  # attributes per GET-Request-With-List (when the meter agreed to lists)
    disconnect_timeout: float = 0.5  # DISC is a courtesy: not waited for long
    referencing: Referencing = Referencing.AUTO  # auto: logical names, short names when the meter refuses them

    def __post_init__(self) -> None:
        if self.keys is not None and self.referencing is Referencing.SN:
            raise ValueError("HLS-GMAC is offered over logical name referencing only")
