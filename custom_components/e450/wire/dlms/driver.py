"""Reading a meter with the DLMS/COSEM client over a port: :mod:`..port` runs the machine and always closes."""

from __future__ import annotations

from ..iec62056.frames import INITIAL_BAUD
from ..models import Readout
from ..port import run_on_port
from .client import ClientConfig, DlmsClient
from .get import Attribute
from .units import Scaling


async def read_dlms(
    port: str, config: ClientConfig | None = None, scalers: dict[Attribute, Scaling | None] | None = None
) -> Readout:
    """One association with the meter on ``port`` (a path or a URL such as ``socket://host:port``): mode E signs
    on at 300 Bd 7E1, direct HDLC opens at the configured speed, 8N1. ``scalers`` persists across reads."""
    config = config or ClientConfig()
    client = DlmsClient(config, scalers)
    if config.mode_e:
        result = await run_on_port(port, client, INITIAL_BAUD, 7, "E")
    else:
        result = await run_on_port(port, client, config.baud, 8, "N")
    assert isinstance(result, Readout)
    return result
