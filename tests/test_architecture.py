"""The layout the code promises (README, Architecture): layers import downwards only, and nothing imports in a
circle. Read from the sources' import statements, so a new module is checked the day it is added."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "custom_components" / "e450"
ROOT_NAME = "custom_components.e450"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    name = ".".join((ROOT_NAME, *parts))
    return name.removesuffix(".__init__")


def imports(path: Path) -> set[str]:
    """Modules of the integration that ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith(ROOT_NAME):
                found.add(target)
                # "from .package import module" imports the module
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(ROOT_NAME))
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {target for target in imports(path) if target in modules} for name, path in modules.items()}


def test_the_iec_package_knows_nothing_of_dlms_or_hdlc() -> None:
    for name, targets in graph().items():
        if name.startswith(f"{ROOT_NAME}.wire.iec62056"):
            bad = {t for t in targets if ".wire.dlms" in t or ".wire.framing" in t or t.endswith(".wire.detect")}
            assert not bad, f"{name} imports {bad}"


def test_push_and_client_share_only_the_common_dlms_modules() -> None:
    """wire/dlms/push (the push decoder) and wire/dlms/client (the client) each have their own room over the
    shared A-XDR, APDU, cipher and units modules in wire/dlms: neither imports the other."""
    rooms = {"push": f"{ROOT_NAME}.wire.dlms.client", "client": f"{ROOT_NAME}.wire.dlms.push"}
    for name, targets in graph().items():
        for room, other in rooms.items():
            if name.startswith(f"{ROOT_NAME}.wire.dlms.{room}"):
                bad = {t for t in targets if t == other or t.startswith(f"{other}.")}
                assert not bad, f"{name} imports {bad}"
    shared = [name for name in graph() if name.startswith(f"{ROOT_NAME}.wire.dlms.") and name.count(".") == 4]
    assert sorted(shared) == [
        f"{ROOT_NAME}.wire.dlms.{m}" for m in ("apdu", "axdr", "cipher", "client", "push", "units")
    ]


def test_the_wire_package_never_imports_the_integration() -> None:
    for name, targets in graph().items():
        if name.startswith(f"{ROOT_NAME}.wire"):
            outside = {t for t in targets if not t.startswith(f"{ROOT_NAME}.wire")}
            assert not outside, f"{name} imports {outside}"


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports, or ``None``. An edge from a module into its own package (which re-exports it) and
    into a ``__main__`` is not one."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(edges[node]):
            if target == node or node.startswith(f"{target}.") or target.endswith("__main__"):
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node, [node])):
            return cycle
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"p.m": {"p"}, "p": {"p.m"}}) is None  # a package re-exporting its module


def test_no_import_cycles() -> None:
    assert find_cycle(graph()) is None


def test_no_module_is_two_concepts() -> None:
    """A file past ~400 lines is usually two concepts (translations and data tables aside)."""
    long = {
        path.relative_to(PACKAGE).as_posix(): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text().splitlines())) > 420
    }
    assert not long, long
