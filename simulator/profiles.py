"""Meter profiles: identification, capabilities and a readout list built from real telegram formats.

Values evolve plausibly: energy integrates power, voltages jitter around 230 V, the clock runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
import math
import random


@dataclass
class MeterState:
    """The physical quantities behind every profile's readout."""

    seed: int = 1
    import_kwh: float = 12345.678
    export_kwh: float = 1234.567
    reactive_import_kvarh: float = 321.5
    reactive_export_kvarh: float = 654.25
    power_failures: int = 4
    started: float = 0.0
    last_update: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    phase_power_kw: tuple[float, float, float] = (0.4, 0.3, 0.5)
    voltages: tuple[float, float, float] = (230.0, 230.0, 230.0)
    frequency: float = 50.0
    error_register: int = 0

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    def advance(self, now: float) -> None:
        """Integrate energy over the elapsed time and let the instantaneous values wander."""
        if self.last_update == 0.0:
            self.started = self.last_update = now
        elapsed = max(0.0, now - self.last_update)
        self.last_update = now
        rng = self.rng
        base = 1.2 + 0.8 * math.sin((now - self.started) / 300.0)
        self.phase_power_kw = tuple(  # type: ignore[assignment]
            max(0.0, base / 3 + rng.uniform(-0.05, 0.05)) for _ in range(3)
        )
        self.voltages = tuple(230.0 + rng.uniform(-2.5, 2.5) for _ in range(3))  # type: ignore[assignment]
        self.frequency = 50.0 + rng.uniform(-0.03, 0.03)
        total = sum(self.phase_power_kw)
        self.import_kwh += total * elapsed / 3600.0
        self.reactive_import_kvarh += total * 0.1 * elapsed / 3600.0

    def reset_energy(self) -> None:
        """A replaced or reset meter: registers restart near 0."""
        self.import_kwh = 0.5
        self.export_kwh = 0.0
        self.reactive_import_kvarh = 0.1
        self.reactive_export_kvarh = 0.0

    @property
    def currents(self) -> tuple[float, float, float]:
        return tuple(  # type: ignore[return-value]
            p * 1000 / u if u > 1 else 0.0 for p, u in zip(self.phase_power_kw, self.voltages, strict=True)
        )


Lines = Callable[[MeterState, datetime], list[str]]


def _e450_lines(state: MeterState, now: datetime) -> list[str]:
    p1, p2, p3 = state.phase_power_kw
    u1, u2, u3 = state.voltages
    i1, i2, i3 = state.currents
    total = p1 + p2 + p3
    tariff1 = state.import_kwh * 0.62
    return [
        f"F.F({state.error_register:08X})",
        "0.0.0(71234567)",
        "C.1.0(71234567)",
        "0.2.0(B22)",
        f"0.9.1({now:%H%M%S})",
        f"0.9.2({now:%y%m%d})",
        f"1.8.0({state.import_kwh:010.3f}*kWh)",
        f"1.8.1({tariff1:010.3f}*kWh)",
        f"1.8.2({state.import_kwh - tariff1:010.3f}*kWh)",
        f"2.8.0({state.export_kwh:010.3f}*kWh)",
        f"3.8.0({state.reactive_import_kvarh:010.3f}*kvarh)",
        f"4.8.0({state.reactive_export_kvarh:010.3f}*kvarh)",
        f"1.7.0({total:06.3f}*kW)",
        "2.7.0(00.000*kW)",
        f"21.7.0({p1:06.3f}*kW)",
        f"41.7.0({p2:06.3f}*kW)",
        f"61.7.0({p3:06.3f}*kW)",
        f"32.7.0({u1:05.1f}*V)",
        f"52.7.0({u2:05.1f}*V)",
        f"72.7.0({u3:05.1f}*V)",
        f"31.7.0({i1:06.2f}*A)",
        f"51.7.0({i2:06.2f}*A)",
        f"71.7.0({i3:06.2f}*A)",
        f"14.7.0({state.frequency:05.2f}*Hz)",
        "13.7.0(0.98)",
        "81.7.1(120*deg)",
        "81.7.2(240*deg)",
        f"C.7.0({state.power_failures:04d})",
    ]


def _e350_lines(state: MeterState, now: datetime) -> list[str]:
    u1, u2, u3 = state.voltages
    i1, i2, i3 = state.currents
    return [
        "F.F(00)",
        "0.0(        18438636)",
        "C.1.0(18438636)",
        "C.1.1(        )",
        f"1.8.1({state.import_kwh * 0.4:010.3f}*kWh)",
        f"1.8.2({state.import_kwh * 0.6:010.3f}*kWh)",
        f"1.8.0({state.import_kwh:010.3f}*kWh)",
        f"2.8.0({state.export_kwh:010.3f}*kWh)",
        f"15.8.0({state.import_kwh + state.export_kwh:010.3f}*kWh)",
        f"C.7.0({state.power_failures:04d})",
        f"32.7({u1:03.0f}*V)",
        f"52.7({u2:03.0f}*V)",
        f"72.7({u3:03.0f}*V)",
        f"31.7({i1:06.2f}*A)",
        f"51.7({i2:06.2f}*A)",
        f"71.7({i3:06.2f}*A)",
        "C.5.0(0400)",
        "0.2.0(M27)",
        f"16.7({sum(state.phase_power_kw):06.2f}*kW)",
    ]


def _zmd_lines(state: MeterState, now: datetime) -> list[str]:
    p1, p2, p3 = state.phase_power_kw
    u1, u2, u3 = state.voltages
    return [
        "1-1:F.F(00000000)",
        "1-1:0.0.0(001LGZ0056859504)",
        f"1-1:0.9.1({now:%H:%M:%S})",
        f"1-1:0.9.2({now:%y-%m-%d})",
        "1-1:0.1.0(03)",
        "1-1:0.1.2*03(2611010000)",
        "1-1:0.1.2*02(2610010000)",
        "1-1:0.1.2*01(2609010000)",
        "1-1:1.6.0(10.102*kW)(2611070015)",
        "1-1:1.6.0*03(09.871*kW)(2610120730)",
        f"1-1:1.8.0({state.import_kwh:010.2f}*kWh)",
        f"1-1:1.8.0*03({max(0.0, state.import_kwh - 300):010.2f})",
        f"1-1:1.8.0*02({max(0.0, state.import_kwh - 600):010.2f})",
        f"1-1:1.8.1({state.import_kwh * 0.7:010.2f}*kWh)",
        f"1-1:1.8.1&03({max(0.0, state.import_kwh * 0.7 - 200):010.2f}*kWh)",
        f"1-1:1.8.2({state.import_kwh * 0.3:010.2f}*kWh)",
        f"1-1:2.8.0({state.export_kwh:010.2f}*kWh)",
        f"1-1:21.7.0({p1:07.3f}*kW)",
        f"1-1:41.7.0({p2:07.3f}*kW)",
        f"1-1:61.7.0({p3:07.3f}*kW)",
        f"1-1:36.7.0(+{p1:06.3f}*kW)",
        f"1-1:56.7.0(+{p2:06.3f}*kW)",
        f"1-1:76.7.0(-{p3:06.3f}*kW)",
        f"1-1:32.7.0({u1:05.1f}*V)",
        f"1-1:52.7.0({u2:05.1f}*V)",
        f"1-1:72.7.0({u3:05.1f}*V)",
        "1-1:C.5(0000E0F0)",
        f"1-1:C.7.0({state.power_failures:04d})",
        "1-1:C.7.1(0001)",
        "1-1:C.7.2(0001)",
        "1-1:C.7.3(0002)",
        "1-1:0.2.0(B32)",
    ]


def _mt174_lines(state: MeterState, now: datetime) -> list[str]:
    return [
        f"1-0:0.9.2*255(0{now:%y%m%d})",
        f"1-0:0.9.1*255({now:%H%M%S})",
        "0-0:C.1.0*255(44837564)",
        f"1-0:1.8.0*255({state.import_kwh:011.3f}*kWh)",
        f"1-0:1.8.1*255({state.import_kwh * 0.5:011.3f}*kWh)",
        f"1-0:1.8.2*255({state.import_kwh * 0.5:011.3f}*kWh)",
        f"1-0:2.8.0*255({state.export_kwh:011.3f}*kWh)",
        f"1-0:1.8.0*01({max(0.0, state.import_kwh - 500):011.3f}*kWh)",
        f"1-0:1.7.0*255({sum(state.phase_power_kw):07.3f}*kW)",
        "1-0:F.F*255(0000000)",
    ]


def _simple_lines(state: MeterState, now: datetime) -> list[str]:
    return [
        "0.0.0(20000111)",
        f"1.8.0({state.import_kwh:09.2f}*kWh)",
        f"2.8.0({state.export_kwh:09.2f}*kWh)",
        f"16.7.0({sum(state.phase_power_kw) * 1000:06.0f}*W)",
        f"32.7.0({state.voltages[0]:05.1f}*V)",
        "F.F(00)",
    ]


def _ehz_lines(state: MeterState, now: datetime) -> list[str]:
    return [
        "1-0:0.0.0*255(331200-5009810)",
        f"1-0:1.8.0*255({state.import_kwh:011.4f}*kWh)",
        f"1-0:2.8.0*255({state.export_kwh:011.4f}*kWh)",
        f"1-0:16.7.0*255({sum(state.phase_power_kw) * 1000:07.1f}*W)",
        "1-0:96.5.5*255(80)",
        "0-0:96.1.255*255(0000680476)",
    ]


@dataclass(frozen=True)
class Profile:
    """How one meter model talks."""

    name: str
    identification: str  # without "/" and CR LF
    lines: Lines
    max_baud: int = 300
    mode: str = "C"  # A, B, C, D, or "dlms"
    reaction: float = 0.2
    sends_without_ack: bool = False
    push_interval: float = 5.0
    push_baud: int = 2400
    dlms_parity: str = "N"
    # swiss, swiss-submeters, burgenland, wiener-netze, kaifa, aidon, aidon-lists, unknown-pairs, czech
    # (simulator/dlms_push.py)
    dlms_layout: str = "swiss"
    dlms_security: str = "none"  # none, encrypted (SC 0x20), authenticated (SC 0x30)
    dlms_framing: str = "hdlc"  # hdlc, mbus, raw
    dlms_server: bool = False  # answers a DLMS client: directly (mode "hdlc") or after a mode E sign-on (mode "C")
    dlms_referencing: str = "ln"  # the DLMS server's: "ln" (E450-like objects) or "sn" (ZMD-like, short names)
    hdlc_max_receive: int = 256  # the longest HDLC information field the DLMS server takes
    readout: bool = True  # gives a mode C data readout; False: mode E only (the option select for a readout: NAK)
    load_profile: bool = False  # answers R5 P.01 in programming mode; False: (ERROR)
    mbus_submeters: bool = False  # the DLMS server has a gas meter on M-Bus channel 1 and a water meter on 2
    password: str = ""  # what P1 must carry in programming mode; empty: none needed

    @property
    def encrypted(self) -> bool:
        """The pushes are glo-ciphered."""
        return self.dlms_security != "none"


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("e450", "LGZ5\\2ZMXi320AP.B22", _e450_lines, max_baud=9600, load_profile=True),
        # the same meter where the grid operator set a programming-mode password (the E450's: docs/iec62056-21.md)
        Profile(
            "e450-password", "LGZ5\\2ZMXi320AP.B22", _e450_lines, max_baud=9600, load_profile=True, password="00000000"
        ),
        Profile("e350", "LGZ4ZMF100AC.M27", _e350_lines, max_baud=4800),
        Profile("zmd", "LGZ5\\2ZMD3104407.B32", _zmd_lines, max_baud=9600),
        Profile("mt174", "ISk5MT174-0001", _mt174_lines, max_baud=9600, reaction=0.02, sends_without_ack=True),
        Profile("mode-a", "ABC@SIM-MODE-A", _simple_lines, mode="A"),
        Profile("mode-b", "SIEC2WR5", _simple_lines, max_baud=2400, mode="B"),
        Profile("mode-d", "EMH5----eHZ-E0018E", _ehz_lines, mode="D", push_interval=2.0, push_baud=2400),
        # a DLMS server (simulator/dlms_server.py): direct HDLC at 9600 8N1 on the optical port, and mode E (an IEC
        # 62056-21 sign-on with \2, then HDLC at the agreed speed; mode C readouts still answered)
        Profile("e450-hdlc", "", _e450_lines, max_baud=9600, mode="hdlc", dlms_server=True),
        Profile("e450-mode-e", "LGZ5\\2ZMXi320AP.B22", _e450_lines, max_baud=9600, dlms_server=True),
        # the direct HDLC E450 with a gas meter on M-Bus channel 1 and a water meter on channel 2, read hourly: the
        # sub-meters of e450-cii-submeters, read by the client (docs/mbus-submeters.md §7)
        Profile(
            "e450-client-submeters", "", _e450_lines, max_baud=9600, mode="hdlc", dlms_server=True, mbus_submeters=True
        ),
        # a Landis+Gyr ZMD/ZxD/E650 answering DLMS with short names (docs/dlms-client.md §9): its own object list,
        # HDLC frames of at most 62 bytes of information toward the meter; directly at 9600 8N1, or after mode E
        Profile(
            "zmd-sn",
            "",
            _zmd_lines,
            max_baud=9600,
            mode="hdlc",
            dlms_server=True,
            dlms_referencing="sn",
            hdlc_max_receive=62,
        ),
        Profile(
            "zmd-sn-mode-e",
            "LGZ5\\2ZMD3104407.B32",
            _zmd_lines,
            max_baud=9600,
            dlms_server=True,
            dlms_referencing="sn",
            hdlc_max_receive=62,
        ),
        # where the grid operator turned the readout off and left the DLMS client open: mode E or nothing
        Profile(
            "e450-mode-e-only", "LGZ5\\2ZMXi320AP.B22", _e450_lines, max_baud=9600, dlms_server=True, readout=False
        ),
        # the E450's DLMS pushes (docs/dlms.md §1.1): Swiss CII on the wired port, Netz Burgenland and Wiener Netze
        # on the optical one
        Profile("e450-dlms", "", _e450_lines, mode="dlms", push_interval=5.0, push_baud=2400, dlms_parity="E"),
        # the same with a gas meter on M-Bus channel 1 and a water meter on channel 2, read hourly
        # (docs/mbus-submeters.md)
        Profile(
            "e450-cii-submeters",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=5.0,
            push_baud=2400,
            dlms_parity="E",
            dlms_layout="swiss-submeters",
        ),
        Profile(
            "e450-dlms-encrypted",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=5.0,
            push_baud=9600,
            dlms_layout="burgenland",
            dlms_security="authenticated",
        ),
        Profile(
            "e450-dlms-wienernetze",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=5.0,
            push_baud=9600,
            dlms_layout="wiener-netze",
            dlms_security="encrypted",
        ),
        # other makers' pushes (docs/dlms.md §2.8, §6.4a): a Kaifa MA309 at Netz NÖ (M-Bus segments, encrypted,
        # flat {OBIS, value, scaler_unit} triples), an Aidon-style list of {OBIS, value, scaler_unit} structures, and
        # the same list as raw APDUs with no framing
        Profile(
            "kaifa-mbus",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=5.0,
            push_baud=2400,
            dlms_parity="E",
            dlms_layout="kaifa",
            dlms_security="encrypted",
            dlms_framing="mbus",
        ),
        Profile("aidon", "", _e450_lines, mode="dlms", push_interval=2.5, push_baud=2400, dlms_layout="aidon"),
        # list 1 (the power alone) with the full list every fourth push; the meter's 2.5 s rhythm made 1 s
        Profile(
            "aidon-lists", "", _e450_lines, mode="dlms", push_interval=1.0, push_baud=2400, dlms_layout="aidon-lists"
        ),
        Profile(
            "aidon-raw",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=2.5,
            push_baud=115200,
            dlms_layout="aidon",
            dlms_framing="raw",
        ),
        # a list of OBIS/value pairs that names neither maker nor list version, energies in 10 Wh (Kamstrup's
        # Norwegian scale) and no scaler anywhere: its energy is held back until checked or chosen (docs/scaling.md)
        Profile(
            "unknown-pairs",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=2.5,
            push_baud=2400,
            dlms_layout="unknown-pairs",
        ),
        # the Czech distributors' RS-485 push (Sagemcom XT211): raw APDUs at 9600 8N1; the meter's 60 s made 2.5 s
        Profile(
            "czech-xt211",
            "",
            _e450_lines,
            mode="dlms",
            push_interval=2.5,
            push_baud=9600,
            dlms_layout="czech",
            dlms_framing="raw",
        ),
    )
}
