"""Constants of the e450 integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .wire.iec62056.frames import BAUD_CHAR_C
from .wire.iec62056.session import DEFAULT_SWITCH_DELAY

DOMAIN: Final = "e450"

CONF_PORT: Final = "port"
CONF_MAX_BAUD: Final = "max_baud"
CONF_DEVICE_ADDRESS: Final = "device_address"
CONF_WAKE_UP: Final = "wake_up"
CONF_ADVANCED: Final = "advanced"

AUTO_DETECT: Final = "auto_detect"
DEFAULT_MAX_BAUD: Final = 9600
BAUD_CHOICES: Final = tuple(BAUD_CHAR_C)  # the mode C rates (IEC 62056-21:2002 §6.3.14)
DEFAULT_SCAN_INTERVAL: Final = timedelta(seconds=60)

# Consecutive good reads that must agree before a lower energy register counts as a real meter reset.
RESET_CONFIRMATIONS: Final = 3

# Options (all changeable without restarting Home Assistant).
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_SWITCH_DELAY: Final = "switch_delay"  # milliseconds
CONF_NOMINAL_VOLTAGE: Final = "nominal_voltage"
CONF_VOLTAGE_TOLERANCE: Final = "voltage_tolerance"
CONF_NOMINAL_FREQUENCY: Final = "nominal_frequency"
CONF_LINK_LOST_MINUTES: Final = "link_lost_minutes"
CONF_FUSE_CURRENT: Final = "fuse_current"  # A per phase; 0: no overload check on the currents
CONF_CONTRACT_POWER: Final = "contract_power"  # kVA; 0: no overload check on the power
CONF_CLOCK_DRIFT: Final = "clock_drift_minutes"  # the meter's clock may be this far off Home Assistant's
CONF_ACCEPTED_SERIAL: Final = "accepted_serial"  # a replacement meter the user chose to keep under this entry

DEFAULT_SWITCH_DELAY_MS: Final = round(DEFAULT_SWITCH_DELAY * 1000)
DEFAULT_NOMINAL_VOLTAGE: Final = 230
DEFAULT_VOLTAGE_TOLERANCE: Final = 10.0
DEFAULT_NOMINAL_FREQUENCY: Final = 50
DEFAULT_LINK_LOST_MINUTES: Final = 15
DEFAULT_CLOCK_DRIFT_MINUTES: Final = 5
MIN_SCAN_INTERVAL: Final = 5
MAX_SCAN_INTERVAL: Final = 86400
SCAN_MARGIN_SECONDS: Final = 2.0  # a scan interval must leave this much beyond the last read's duration

# DLMS/COSEM push meters (the E450's customer interfaces that never answer an IEC 62056-21 sign-on).
CONF_TRANSPORT: Final = "transport"
TRANSPORT_IEC: Final = "iec62056_21"  # the default: entries made before pushes were supported have no transport
TRANSPORT_DLMS: Final = "dlms_push"
CONF_DLMS_BAUD: Final = "dlms_baud"
CONF_DLMS_PARITY: Final = "dlms_parity"
CONF_DLMS_FRAMING: Final = "dlms_framing"  # hdlc, mbus or raw; entries made before it existed: auto
CONF_ENCRYPTION_KEY: Final = "encryption_key"  # GUEK, 32 hex digits
CONF_AUTHENTICATION_KEY: Final = "authentication_key"  # GAK, 32 hex digits, optional
CONF_DLMS_PROFILE: Final = "dlms_profile"  # option: positional layout, "auto" = chosen by the body's signature
# option: the user's scales, {OBIS code: exponent} (the number as the meter sends it × 10^exponent)
CONF_SCALES: Final = "scales"
# option: energy registers whose scale changed, held back until their statistics start again (rescale.py)
CONF_RESCALE_PENDING: Final = "rescale_pending"
DLMS_PROFILE_AUTO: Final = "auto"
DEFAULT_PUBLISH_INTERVAL: Final = timedelta(seconds=10)  # a 5 s push published every 10 s halves recorder load
DEFAULT_PUSH_INTERVAL: Final = 5.0  # seconds, until the meter's own rhythm has been measured
MISSED_PUSHES: Final = 3  # entities go unavailable after this many push intervals without a push
FIRST_PUSH_WAIT: Final = 20.0  # seconds: set-up and the config flow wait this long for a complete push

# DLMS/COSEM meters read by our client: mode E after an IEC 62056-21 sign-on, or direct HDLC (docs/dlms-client.md)
TRANSPORT_CLIENT: Final = "dlms_client"
CONF_PROTOCOL: Final = "protocol"  # advanced setting: how to talk to the meter
PROTOCOL_AUTO: Final = "auto"  # IEC 62056-21 readout, else DLMS in mode E when the meter announces it, else pushes
PROTOCOL_DLMS: Final = "dlms"  # the DLMS client over direct HDLC (9600 8N1), for meters without a sign-on
PROTOCOLS: Final = (PROTOCOL_AUTO, PROTOCOL_DLMS)
CONF_MODE_E: Final = "dlms_mode_e"  # sign on at 300 Bd first (IEC 62056-21 Annex E)
CONF_CLIENT: Final = "dlms_client_address"  # client SAP: 16 public client, 32, 48 …
CONF_LOGICAL: Final = "dlms_logical_address"
CONF_PHYSICAL: Final = "dlms_physical_address"
CONF_PASSWORD: Final = "dlms_password"  # low-level security (LLS)
CONF_ADDRESS_SIZE: Final = "dlms_address_size"  # bytes of the server address: 1, 2 or 4; absent or 0: smallest
ADDRESS_SIZES: Final = (0, 1, 2, 4)
CONF_SYSTEM_TITLE: Final = "dlms_system_title"  # HLS-GMAC: ours, 16 hex digits (empty: the default)
# the registers the meter's object list offered at set-up, [[class, "1-0:13.7.0"], …] (docs/dlms-client.md §4.1)
CONF_REGISTERS: Final = "dlms_registers"
# HLS-GMAC: the invocation counter reserved so far; a read starts above it, and never below it again
CONF_INVOCATION_COUNTER: Final = "dlms_invocation_counter"
INVOCATION_RESERVE: Final = 1000  # counters reserved per write of the entry (a read uses about ten)
DEFAULT_CLIENT: Final = 16
DEFAULT_LOGICAL: Final = 1
DEFAULT_PHYSICAL: Final = 17
# option: after a gap, fill the energy statistics from the meter's load profile (DLMS client meters; docs/backfill.md)
CONF_BACKFILL: Final = "load_profile_backfill"
DEFAULT_BACKFILL: Final = True
