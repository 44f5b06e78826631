"""IEC 62056-21 / DLMS push meter simulator for tests, benchmarks and development (not shipped to users)."""

from .meter import FAULTS, MeterSimulator
from .profiles import PROFILES

__all__ = ["FAULTS", "PROFILES", "MeterSimulator"]
