"""The scales makers and utilities define for lists that carry no scaler: one table, data only, each row with its
source in docs/scaling.md (§2, under the row's ``doc`` anchor).

A row is chosen by what the push itself says about the meter: the list version identifier (``1-1:0.2.129.255``,
``Kamstrup_V0001``) or the manufacturer's flag id (the first three letters of the system title or of the logical
device name), then the meter type (``96.1.1``) and the layout where the row names them. The first row that
matches wins; a list no row matches
keeps the OBIS table's scalers as an assumption, which the physics checks confirm, correct or hold back
(:mod:`.judge`). Exponents are powers of ten on the OBIS table's units (W, Wh, var, varh, V, A, Hz), per group of
registers (:class:`.physics.Group`); a group a row does not name is not covered by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..models import Layout
from .physics import Group

# short names for the rows: voltage (U), current (A), total and phase power, energy, frequency, power factor
U, A, P, PP, E, F, PF = (
    Group.VOLTAGE,
    Group.CURRENT,
    Group.POWER,
    Group.PHASE_POWER,
    Group.ENERGY,
    Group.FREQUENCY,
    Group.POWER_FACTOR,
)


@dataclass(frozen=True, slots=True)
class Convention:
    """One maker's or utility's scales for the registers of its lists."""

    name: str  # what the user is shown: "Kamstrup convention"
    doc: str  # its section in docs/scaling.md
    # the exponent of each group; several: the meters under this row use one of them (the first is shown until
    # the checks tell which)
    exponents: Mapping[Group, tuple[int, ...]]
    list_ids: tuple[str, ...] = ()  # prefixes of the list version identifier (0.2.129)
    makers: tuple[str, ...] = ()  # flag ids
    meter_types: tuple[str, ...] = ()  # prefixes of the meter type (96.1.1): with makers, only these types
    layouts: frozenset[Layout] = field(default_factory=frozenset)  # empty: any layout


@dataclass(frozen=True, slots=True)
class ListIdentity:
    """What a push says about the meter that sent it."""

    list_id: str | None
    maker: str | None
    meter_type: str | None
    layout: Layout | None

    def matches(self, row: Convention) -> bool:
        if row.layouts and self.layout not in row.layouts:
            return False
        named = (bool(row.list_ids) and self.list_id is not None and self.list_id.startswith(row.list_ids)) or (
            self.maker in row.makers
        )
        if not named and (row.list_ids or row.makers):
            return False
        return not row.meter_types or (self.meter_type is not None and self.meter_type.startswith(row.meter_types))


_PUSHED: Final = frozenset({Layout.PUSH_LIST, Layout.OBIS_PAIRS, Layout.DESCRIBED})

CONVENTIONS: Final[tuple[Convention, ...]] = (
    # Kamstrup OMNIPOWER, list "Kamstrup_V0001" (OBIS/value pairs, no scaler_unit). The Norwegian HAN-NVE
    # description gives 10 Wh energies and whole volts; Swedish, Swiss and Danish meters count Wh, and some Danish
    # and Swedish ones were set to 0.01 V: the energy and the voltage take one of these, the checks say which.
    # Transformer meters (type 685…) count their current in mA.
    Convention(
        "Kamstrup convention (current transformer meter)",
        "kamstrup",
        {U: (0, -2), A: (-3,), P: (0,), PP: (0,), E: (1, 0)},
        list_ids=("Kamstrup_V",),
        makers=("KAM",),
        meter_types=("685",),
        layouts=_PUSHED,
    ),
    Convention(
        "Kamstrup convention",
        "kamstrup",
        {U: (0, -2), A: (-2,), P: (0,), PP: (0,), E: (1, 0)},
        list_ids=("Kamstrup_V",),
        makers=("KAM",),
        layouts=_PUSHED,
    ),
    # Kaifa, list "KFM_001" as OBIS/value pairs (Sweden; Norway's positional lists are a profile): mA, 0.1 V, W, Wh.
    Convention(
        "Kaifa convention",
        "kaifa",
        {U: (-1,), A: (-3,), P: (0,), PP: (0,), E: (0,)},
        list_ids=("KFM_",),
        makers=("KFM",),
        layouts=_PUSHED,
    ),
    # Landis+Gyr's customer interface push lists (Swiss VSE/CII, Cyprus, Graz pairs): the E450 sends whole volts
    # and 0.01 A, the E360 0.1 V, the transformer-connected E570 whole amperes; nothing in the push names the
    # model, so the voltage and the current take one of these, the checks say which.
    Convention(
        "Landis+Gyr convention",
        "landis-gyr",
        {U: (0, -1), A: (-2, 0), P: (0,), PP: (0,), E: (0,), PF: (-3,)},
        makers=("LGZ",),
        layouts=_PUSHED,
    ),
    # Iskraemeco AM550 and IE.5 push lists: 0.1 V, 0.01 A, W, Wh, power factor 0.001.
    Convention(
        "Iskraemeco convention",
        "iskraemeco",
        {U: (-1,), A: (-2,), P: (0,), PP: (0,), E: (0,), PF: (-3,)},
        makers=("ISK",),
        layouts=_PUSHED,
    ),
    # The Czech distributors' RS-485 push (ČEZ Distribuce, EG.D, PRE; Sagemcom XT211, ZPA AM175/AM375, Meter &
    # Control ST402D): powers in W, energies in Wh; the list carries no voltage or current.
    Convention(
        "Czech distributors' convention",
        "czech",
        {P: (0,), PP: (0,), E: (0,)},
        list_ids=(),
        layouts=frozenset({Layout.CZECH}),
    ),
)


def convention_for(identity: ListIdentity) -> Convention | None:
    """The first row of :data:`CONVENTIONS` that the push's identity matches."""
    return next((row for row in CONVENTIONS if identity.matches(row)), None)
