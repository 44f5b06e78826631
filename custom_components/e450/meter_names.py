"""The names users know for a type designation: ``ZMXi320AP`` is a Landis+Gyr E450. No Home Assistant import.

An IEC 62056-21 identification carries the maker's flag id and the meter's type designation, for Landis+Gyr with
its firmware after a dot (``/LGZ5\\2ZMXi320AP.B22``). The rows below give the commercial name for the designation's
prefix; each row's source is in docs/meter-names.md. A designation no row covers keeps today's display: the
identification as sent. Only what a source states is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
import re


@dataclass(frozen=True, slots=True)
class Family:
    """A commercial name and the type designations it is sold under."""

    name: str  # commercial name, e.g. "E450"
    prefixes: tuple[str, ...]  # designation prefixes (case-sensitive: "ZMXi")
    source: str  # the document that ties them (docs/meter-names.md has the address)
    energy_letter: bool = False  # the letter after the digits says what is measured (A or C, docs §2)
    customer_push: bool = False  # a source says the utility enables a push interface for the customer


# Keyed by the flag id (upper case). Longest prefix wins, so "ZCX1" and "ZCX3" can name different families.
FAMILIES: dict[str, tuple[Family, ...]] = {
    "LGZ": (
        Family("E230", ("ZMR1", "ZCR1"), "E230 user manual D000044352 (ZxR100xC/ZMR100xR)"),
        Family(
            "E350",
            ("ZMF1", "ZFF1", "ZCF1"),
            "E350 series 2 user manuals D000027979 (ZxF100Ax/Cx) and D000030875 (ZCF100Ax/Cx)",
            energy_letter=True,
        ),
        Family(
            "E450",
            ("ZMX", "ZCX1"),
            "E450 user manuals D000029326 (ZCX100Px) and D000030640 (ZMX300Px)",
            customer_push=True,
        ),
        Family("E470", ("ZCX3",), "E470 Series 3 SMETS2 user manual D000058620 (ZCX310)"),
        Family("E550", ("ZMG", "ZFG"), "E550 Series 2 functional description D000029785 (ZMG310AR/CR, ZxG400AR/CR)"),
        Family(
            "E650",
            ("ZMD3", "ZMD4", "ZFD4"),
            "E650 user manuals D000030108 (ZMD300AT/CT) and D000062026 (ZMD400AT/CT, ZFD400AT/CT)",
            energy_letter=True,
        ),
        Family("E850", ("ZMQ", "ZFQ", "ZCQ"), "E850 functional description (Qualigrid ZMQ200, ZFQ200, ZCQ200)"),
    ),
}

# A push's list version identifier (1-1:0.2.129) names its maker where no flag id does (docs/meter-names.md §3).
LIST_MAKERS: dict[str, str] = {"AIDON_": "AMT", "KFM_": "KFM", "Kamstrup_": "KAM"}

# Type numbers a push sends (Kamstrup's 1-1:96.1.1) that are not the name users know; keyed by the flag id, longest
# prefix wins, each row's source in docs/meter-names.md §3. Aidon (6534) and Kaifa (MA304H3E) send the name itself.
PUSHED_FAMILIES: dict[str, tuple[Family, ...]] = {
    "KAM": (
        Family(
            "OMNIPOWER",
            ("684", "685"),
            "Kamstrup OMNIPOWER push captures (type 6841…); transformer meters 685… (toreamun/amshan han/kamstrup.py)",
        ),
    ),
}


def list_maker(list_id: str | None) -> str | None:
    """The flag id a list version identifier names (``AIDON_V0001`` → ``AMT``); ``None`` when none does."""
    if not list_id:
        return None
    return next((flag for prefix, flag in LIST_MAKERS.items() if list_id.startswith(prefix)), None)


def pushed_type(flag: str, text: str) -> MeterType | None:
    """The type behind a meter type a push sends (``6841131BN245101092`` → OMNIPOWER); ``None`` when no row
    covers it: the text as sent is then the model."""
    families = PUSHED_FAMILIES.get(flag.upper())
    designation = text.strip()
    family = _family(families, designation) if families else None
    return None if family is None else MeterType(family, designation, None, None, None)


# Second letter of a Landis+Gyr designation: the network (E350 manual D000027979 "range of validity", E350
# technical data D000030926; the same letters name the E650, E550 and E850 variants).
NETWORKS = {"M": "three-phase four-wire", "F": "three-phase three-wire", "C": "single-phase"}
# The letter after the digits, where the family's manual defines it (E350 D000027979: ZMF100AC "for active energy
# (import and export)", ZMF100CC "for active and reactive energy"; E650 D000062026 §2.3: ZxD400AT / ZxD400CT).
ENERGY = {"A": "active energy", "C": "active and reactive energy"}

_LGZ = re.compile(r"^(?P<designation>Z[A-Za-z0-9]+?)(?:\.(?P<firmware>[A-Z][0-9A-Z]{2}))?$")
_ENERGY = re.compile(r"^Z[A-Z]{2}[a-z]?\d{3}(?P<letter>[AC])")


@dataclass(frozen=True, slots=True)
class MeterType:
    """What a type designation says: the family's commercial name and the fields a source decodes."""

    family: Family
    designation: str  # without the firmware: "ZMXi320AP"
    firmware: str | None  # the identification's suffix: "B22"
    network: str | None
    energy: str | None

    @property
    def name(self) -> str:
        """The commercial name: ``E450``."""
        return self.family.name

    @property
    def model(self) -> str:
        """Name and designation, for the device's model: ``E450 (ZMXi320AP)``."""
        return f"{self.family.name} ({self.designation})"


def meter_type(flag: str, model: str) -> MeterType | None:
    """The type behind an identification's flag id and model text; ``None`` when no row covers it."""
    families = FAMILIES.get(flag.upper())
    if not families or (match := _LGZ.match(model.strip())) is None:
        return None
    designation = match["designation"]
    family = _family(families, designation)
    if family is None:
        return None
    energy = _ENERGY.match(designation) if family.energy_letter else None
    return MeterType(
        family=family,
        designation=designation,
        firmware=match["firmware"],
        network=NETWORKS.get(designation[1]),
        energy=ENERGY[energy["letter"]] if energy else None,
    )


def stored_type(flag: str, model: str) -> MeterType | None:
    """The type from a model the device registry kept: ``E450 (ZMXi320AP)`` as this module writes it, or the bare
    identification text (``ZMXi320AP.B22``) that older versions stored."""
    text = model.strip()
    if (wrapped := re.fullmatch(r"(?P<name>[^()]+?) \((?P<designation>[^()]+)\)", text)) is not None:
        found = meter_type(flag, wrapped["designation"])
        return found if found is not None and found.name == wrapped["name"] else None
    return meter_type(flag, text)


def _family(families: tuple[Family, ...], designation: str) -> Family | None:
    best: tuple[int, Family] | None = None
    for family in families:
        for prefix in family.prefixes:
            if designation.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), family)
    return best[1] if best else None
