"""Constants of the e450 integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "e450"

CONF_PORT: Final = "port"
CONF_MAX_BAUD: Final = "max_baud"
CONF_DEVICE_ADDRESS: Final = "device_address"
CONF_WAKE_UP: Final = "wake_up"
CONF_ADVANCED: Final = "advanced"

AUTO_DETECT: Final = "auto_detect"
DEFAULT_MAX_BAUD: Final = 9600
BAUD_CHOICES: Final = (300, 600, 1200, 2400, 4800, 9600, 19200)
DEFAULT_SCAN_INTERVAL: Final = timedelta(seconds=60)

# Consecutive good reads that must agree before a lower energy register counts as a real meter reset.
RESET_CONFIRMATIONS: Final = 3

# How long the config flow listens for DLMS pushes per line setting when no identification comes.
FLOW_DLMS_LISTEN_SECONDS: Final = 3.0
