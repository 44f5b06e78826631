"""Which listeners an update calls, and which registers changed between two readouts (dispatch.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from custom_components.e450.dispatch import LIVE_PROBLEMS, NEW_REGISTERS, Dispatcher, changed_codes
from custom_components.e450.wire import parse_transcript
from custom_components.e450.wire.iec62056.frames import build_data_message
from custom_components.e450.wire.models import BccStatus, DataSet, DataValue, Readout, RegisterScale, Scale


def readout(*lines: str) -> Readout:
    block = "".join(f"{line}\r\n" for line in lines).encode() + b"!\r\n"
    return parse_transcript(b"/LGZ5\\2ZMXi320AP.B22\r\n" + build_data_message(block)).readout()


class Calls:
    """Listeners that record their name when called."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.called: list[str] = []

    def listen(self, name: str, codes: tuple[str, ...] | None) -> object:
        return self.dispatcher.add(lambda: self.called.append(name), codes)

    def update(
        self, data: Readout | None, success: bool = True, holding: set[str] | None = None, live=None
    ) -> list[str]:  # type: ignore[no-untyped-def]
        self.called = []
        for listener in self.dispatcher.due(data, success, holding or set(), live or {}):
            listener()
        return self.called


def test_an_update_calls_the_listeners_of_the_registers_that_changed() -> None:
    calls = Calls(Dispatcher())
    calls.listen("import", ("1.8.0",))
    calls.listen("power", ("1.7.0",))
    calls.listen("clock", ("0.9.1", "0.9.2"))
    calls.listen("every", None)
    calls.listen("new", (NEW_REGISTERS,))
    first = readout("1.8.0(00100.000*kWh)", "1.7.0(01.000*kW)", "0.9.1(120000)", "0.9.2(261128)")
    assert calls.update(first) == ["import", "power", "clock", "every", "new"]  # the first update: everyone
    second = readout("1.8.0(00100.000*kWh)", "1.7.0(01.200*kW)", "0.9.1(120005)", "0.9.2(261128)")
    assert calls.update(second) == ["power", "clock", "every"]
    assert calls.update(second) == ["every"]  # the same readout again: nothing of it changed
    third = readout("1.8.0(00100.000*kWh)", "1.7.0(01.200*kW)", "0.9.1(120005)", "0.9.2(261128)", "2.8.0(1*kWh)")
    assert calls.update(third) == ["every", "new"]  # a register appeared
    gone = readout("1.7.0(01.200*kW)", "0.9.1(120005)", "0.9.2(261128)", "2.8.0(1*kWh)")
    assert calls.update(gone) == ["import", "every"]  # a register went: its entity goes unavailable


def test_availability_changes_call_everyone() -> None:
    calls = Calls(Dispatcher())
    calls.listen("import", ("1.8.0",))
    calls.listen("button", ())
    data = readout("1.8.0(00100.000*kWh)")
    calls.update(data)
    assert calls.update(data, success=False) == ["import", "button"]  # the read failed
    assert calls.update(data, success=True) == ["import", "button"]  # it works again
    assert calls.update(data) == []


def test_holding_live_problems_and_every_read() -> None:
    dispatcher = Dispatcher()
    calls = Calls(dispatcher)
    calls.listen("import", ("1.8.0",))
    calls.listen("export", ("2.8.0",))
    calls.listen("overload", (LIVE_PROBLEMS,))
    data = readout("1.8.0(00100.000*kWh)", "2.8.0(00001.000*kWh)")
    calls.update(data)
    assert calls.update(data, holding={"2.8.0"}) == ["export"]  # held unavailable while its scale changes
    assert calls.update(data, holding={"2.8.0"}) == []
    assert calls.update(data) == ["export"]  # shown again
    assert calls.update(data, live={"overload": True}) == ["overload"]
    assert calls.update(data, live={"overload": True}) == []
    dispatcher.every_read.add("1.8.0")  # a lower value waiting for its confirmations counts reads
    same = readout("1.8.0(00100.000*kWh)", "2.8.0(00001.000*kWh)")
    assert calls.update(same, live={"overload": True}) == ["import"]
    assert calls.update(same, live={"overload": True}) == []  # no new readout: no read to count


def test_removed_listeners_are_not_called() -> None:
    calls = Calls(Dispatcher())
    remove_import = calls.listen("import", ("1.8.0",))
    remove_also = calls.listen("also import", ("1.8.0",))
    remove_every = calls.listen("every", None)
    calls.update(readout("1.8.0(00100.000*kWh)"))
    remove_import()  # type: ignore[operator]
    remove_every()  # type: ignore[operator]
    assert calls.update(readout("1.8.0(00100.500*kWh)")) == ["also import"]
    assert calls.dispatcher._by_code.keys() == {"1.8.0"}
    remove_also()  # type: ignore[operator]
    assert calls.dispatcher._by_code == {}


def test_changes_of_a_readout() -> None:
    before = readout("1.8.0(00100.000*kWh)", "1.8.0*01(00090.000*kWh)", "1.7.0(01.000*kW)", "C.1.0(7)")
    after = readout("1.8.0(00100.000*kWh)", "1.8.0*01(00091.000*kWh)", "1.7.0(01.000*kW)", "C.1.0(8)", "F.F(0)")
    assert changed_codes(before, after) == {"C.1.0", "F.F"}  # history entries are not current values
    assert changed_codes(after, before) == {"C.1.0", "F.F"}
    assert changed_codes(after, after) == set()
    # values made anew (a DLMS push) are compared by value
    made = Readout(None, (DataSet.of("1.8.0", (DataValue("100.000", "kWh"),)),), BccStatus.OK)
    again = Readout(None, (DataSet.of("1.8.0", (DataValue("100.000", "kWh"),)),), BccStatus.OK)
    assert changed_codes(made, again) == set()


def test_changes_of_a_register_scale() -> None:
    dataset = DataSet.of("1.8.0", (DataValue("100", "kWh"),), 100)
    note = RegisterScale(Scale.ASSUMED, 100, 0, "kWh")
    plain = Readout(None, (dataset,), BccStatus.OK)
    noted = Readout(None, (dataset,), BccStatus.OK, scales={"1.8.0": note})
    renoted = Readout(None, (dataset,), BccStatus.OK, scales={"1.8.0": RegisterScale(Scale.ASSUMED, 100, 0, "kWh")})
    corrected = Readout(None, (dataset,), BccStatus.OK, scales={"1.8.0": RegisterScale(Scale.CORRECTED, 100, 0, "kWh")})
    assert changed_codes(plain, noted) == {"1.8.0"}
    assert changed_codes(noted, plain) == {"1.8.0"}
    assert changed_codes(noted, renoted) == set()
    assert changed_codes(noted, corrected) == {"1.8.0"}
    same_notes = Readout(None, (dataset,), BccStatus.OK, scales=noted.scales)  # a push's scales kept as they were
    assert changed_codes(noted, same_notes) == set()


def test_an_attribute_that_changed_calls_the_listeners_of_its_register() -> None:
    calls = Calls(Dispatcher())
    calls.listen("gas", ("24.2.1",))  # channel 1's sub-meter: its code drops the channel
    calls.listen("water", ("0-2:24.2.1",))
    calls.listen("import", ("1.8.0",))
    base = readout("1.8.0(00100.000*kWh)", "0-1:24.2.1(00012.000*m3)", "0-2:24.2.1(00034.000*m3)")
    six, seven = datetime(2026, 12, 6, 6), datetime(2026, 12, 6, 7)
    calls.update(replace(base, attributes={("0-1:24.2.1", 5): six, ("0-2:24.2.1*255", 5): six}))
    # a capture time moved, the readings did not
    assert calls.update(replace(base, attributes={("0-1:24.2.1", 5): seven, ("0-2:24.2.1*255", 5): six})) == ["gas"]
    assert calls.update(replace(base, attributes={("0-1:24.2.1", 5): seven, ("0-2:24.2.1*255", 5): six})) == []
    assert calls.update(replace(base, attributes={("0-1:24.2.1", 5): seven})) == ["water"]  # one went
    assert calls.update(replace(base, attributes={("0-1:24.2.1", 5): seven, ("0-2:24.2.1", 4): 0})) == ["water"]
