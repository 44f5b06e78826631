"""Differences between the Home Assistant versions we support (2025.4 … current).

Home Assistant validated with ``voluptuous`` until 2026 and with ``probatio`` (an API-compatible successor) since;
flows must hand it schemas of the library it serialises. Use the one its own config validation uses.
"""

from __future__ import annotations

from typing import Any

from homeassistant.helpers import config_validation as cv

vol: Any = getattr(cv, "probatio", None) or getattr(cv, "vol")  # noqa: B009 - not re-exported for mypy
