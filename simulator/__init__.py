"""IEC 62056-21 / DLMS push meter simulator for tests, benchmarks and development (not shipped to users)."""

from .faults import FAULTS
from .meter import MeterSimulator
from .profiles import PROFILES

__all__ = ["FAULTS", "PROFILES", "MeterSimulator"]
