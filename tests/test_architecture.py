"""The dependency direction and the purity rules of STYLE.md, checked by parsing the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "claude_gw"

# The intended layers, lowest first: a unit (a top-level module, or a package with all its
# modules) imports only from its own unit and from units of lower layers, so nothing points
# upward and no two units import each other. A new unit must be given a layer here.
LAYERS: tuple[tuple[str, ...], ...] = (
    # the leaves: the version, the wire shapes, the error types, event-loop helpers, model rules
    ("claude_gw", "claude_gw.wire", "claude_gw.errors", "claude_gw.aio", "claude_gw.routing"),
    # pure functions of their arguments: translation, token counts, client-key checks; the
    # value object of Kong's route options, which a route's settings carry
    ("claude_gw.translate", "claude_gw.tokens", "claude_gw.auth", "claude_gw.kong.options"),
    # one module per upstream API; the log record, its writer and its readers
    ("claude_gw.apis", "claude_gw.logs"),
    # the one sender, the settings, the listening socket
    ("claude_gw.upstream", "claude_gw.config", "claude_gw.listener"),
    # the built-in backend: a transport like any other upstream
    ("claude_gw.simulated",),
    # the gateway, the replay engine, the analysis, Kong's files
    ("claude_gw.server", "claude_gw.replay", "claude_gw.analysis", "claude_gw.kong"),
    # what is built from those: capture runs a gateway, the view formats as the report does
    ("claude_gw.capture", "claude_gw.view"),
    # the command line; the test doubles, which nothing in the package imports
    ("claude_gw.cli", "claude_gw.testing"),
    ("claude_gw.__main__",),
)

# Narrower than their layer allows, because they are the pure cores STYLE.md names.
ONLY = {
    "claude_gw.translate": {"claude_gw.wire", "claude_gw.errors"},
    "claude_gw.logs": {"claude_gw.wire", "claude_gw.errors", "claude_gw.tokens"},
    "claude_gw.analysis": {"claude_gw.logs"},
}


# modules that are a unit of their own, apart from their package
OWN_UNITS = ("claude_gw.kong.options",)


def unit_of(module: str) -> str:
    if module in OWN_UNITS:
        return module
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def layer_of(unit: str) -> int | None:
    return next((level for level, units in enumerate(LAYERS) if unit in units), None)


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found.append((name, ast.parse(path.read_text(), filename=str(path))))
    return found


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_unit_has_a_layer():
    units = {unit_of(name.removesuffix(".__init__")) for name, _ in modules()}
    assert {unit for unit in units if layer_of(unit) is None} == set()


@pytest.mark.parametrize(("name", "tree"), modules(), ids=[name for name, _ in modules()])
def test_imports_point_only_downward(name, tree):
    unit = unit_of(name.removesuffix(".__init__"))
    level = layer_of(unit)
    assert level is not None, f"{unit} has no layer in LAYERS"
    ours = {unit_of(m) for m in imported(tree) if m.split(".")[0] == "claude_gw"} - {unit}
    upward = {other for other in ours if (layer_of(other) or 0) >= level}
    assert not upward, f"{name} imports {sorted(upward)}, which are not below it"
    if unit in ONLY:
        assert ours <= ONLY[unit], f"{name} imports {sorted(ours - ONLY[unit])}"


@pytest.mark.parametrize(("name", "tree"), modules(), ids=[name for name, _ in modules()])
def test_nothing_in_the_product_imports_the_test_doubles(name, tree):
    """`claude_gw.testing` is for tests and bench/ only: the product (cli included) never
    imports it, so the strict fakes can grow without the product carrying them."""
    if name == "claude_gw.testing" or name.startswith("claude_gw.testing."):
        return
    doubles = {m for m in imported(tree) if unit_of(m) == "claude_gw.testing"}
    assert not doubles, f"{name} imports the test doubles {sorted(doubles)}"


@pytest.mark.parametrize(
    ("name", "tree"),
    [(n, t) for n, t in modules() if n.startswith("claude_gw.translate")],
    ids=[n for n, _ in modules() if n.startswith("claude_gw.translate")],
)
def test_translation_is_pure_standard_library(name, tree):
    outside = {
        module
        for module in imported(tree)
        if module.split(".")[0] not in sys.stdlib_module_names
        and module.split(".")[0] != "claude_gw"
    }
    assert not outside, f"{name} imports {sorted(outside)}"
    forbidden = {"asyncio", "time", "uuid", "os", "random", "socket"}
    assert not (imported(tree) & forbidden), f"{name} does I/O or reads a clock"


@pytest.mark.parametrize(("name", "tree"), modules(), ids=[name for name, _ in modules()])
def test_only_the_cli_prints_or_reads_the_environment(name, tree):
    if name == "claude_gw.cli" or name.startswith("claude_gw.cli."):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "print", f"{name} prints (line {node.lineno})"
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            assert not (isinstance(node.value, ast.Name) and node.value.id == "os"), (
                f"{name} reads os.environ (line {node.lineno})"
            )


def api_facts() -> set[str]:
    from claude_gw.apis import APIS

    return {fact for api in APIS.values() for fact in (api.path, api.default_url)}


# the API modules own these facts; the simulated backend and the test doubles serve the same
# APIs (their paths),
# and the CLI names them in its help
OWNERS = ("claude_gw.apis", "claude_gw.simulated", "claude_gw.testing", "claude_gw.cli")


@pytest.mark.parametrize(("name", "tree"), modules(), ids=[name for name, _ in modules()])
def test_only_the_api_modules_know_an_api(name, tree):
    """No module outside `apis` spells an upstream API's path or vendor URL, or branches on
    which API it is (`upstream_api == "chat"`): it asks the API's module. (The key variables
    are not checked: ANTHROPIC_API_KEY is also the Claude CLI's own, which capture sets.)"""
    if any(name == owner or name.startswith(owner + ".") for owner in OWNERS):
        return
    facts = api_facts()
    spelled = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in facts
    }
    assert not spelled, f"{name} spells {sorted(spelled)}: take it from claude_gw.apis"
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = any(isinstance(s, ast.Attribute) and s.attr == "upstream_api" for s in sides)
            literal = any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides)
            assert not (named and literal), (
                f"{name} branches on the API's name (line {node.lineno})"
            )


def submodules_imported(tree: ast.Module, package: str) -> set[str]:
    """The modules of `package` that `tree` imports, `from package import module` included."""
    names = {m for m in imported(tree) if m.startswith(package + ".")}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == package and node.level == 0:
            names.update(f"{package}.{alias.name}" for alias in node.names)
    return names


def test_the_simulated_backend_has_no_import_circle():
    """`claude_gw.simulated`'s modules import one another in one direction only (type-only
    imports included): the API fronts ask the simulator for what they need through
    `common.Backend` instead of importing it back."""
    package = "claude_gw.simulated"
    graph = {
        name: submodules_imported(tree, package)
        for name, tree in modules()
        if name.startswith(package + ".")
    }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circular = sorted(name for name in graph if reaches(name, name, {name}))
    assert not circular, f"import circle through {circular}"
