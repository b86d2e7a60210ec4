"""The dependency direction and the purity rules of STYLE.md, checked by parsing the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "claude_gw"

# module prefix -> the claude_gw modules it may import
ALLOWED = {
    "claude_gw.translate": ("claude_gw.wire", "claude_gw.errors", "claude_gw.translate"),
    "claude_gw.logs": ("claude_gw.wire", "claude_gw.errors", "claude_gw.logs", "claude_gw.tokens"),
    # logs.mask and logs.redact are pure: the senders mask their secrets in the errors they raise
    # the upstream APIs: pure translation and counting, one module each
    "claude_gw.apis": (
        "claude_gw.apis",
        "claude_gw.translate",
        "claude_gw.errors",
        "claude_gw.wire",
        "claude_gw.tokens",
    ),
    # the one sender, for the gateway and replay alike
    "claude_gw.upstream": (
        "claude_gw.apis",
        "claude_gw.errors",
        "claude_gw.translate",
        "claude_gw.wire",
        "claude_gw.logs.mask",
        "claude_gw.logs.redact",
    ),
    "claude_gw.server": (
        "claude_gw.server",
        "claude_gw.apis",
        "claude_gw.translate",
        "claude_gw.upstream",
        "claude_gw.logs",
        "claude_gw.config",
        "claude_gw.routing",
        "claude_gw.errors",
        "claude_gw.wire",
        "claude_gw.tokens",
        "claude_gw.simulated",  # the built-in backend, a transport like any other upstream
        "claude_gw",  # exactly the package, for __version__; not its subpackages
        "claude_gw.aio",
        "claude_gw.listener",
    ),
    "claude_gw.capture": (
        "claude_gw.apis",
        "claude_gw.config",
        "claude_gw.server",
        "claude_gw.logs",
    ),
    "claude_gw.kong": ("claude_gw.kong", "claude_gw.apis", "claude_gw.config", "claude_gw.auth"),
    "claude_gw.analysis": ("claude_gw.analysis", "claude_gw.logs"),
    # the session view: pure turns from records, its page; formats as the report has them
    "claude_gw.view": (
        "claude_gw.view",
        "claude_gw.logs.cost",
        "claude_gw.translate.request",
        "claude_gw.analysis.formats",
    ),
    # the replay engine speaks to upstreams the way the gateway does: through the API modules
    # and the one sender
    "claude_gw.replay": (
        "claude_gw.replay",
        "claude_gw.apis",
        "claude_gw.translate",
        "claude_gw.upstream",
        "claude_gw.logs",
        "claude_gw.errors",
        "claude_gw.wire",
        "claude_gw.tokens",
        "claude_gw.config",
        "claude_gw",
        "claude_gw.aio",
    ),
    "claude_gw.simulated": (
        "claude_gw.simulated",
        "claude_gw.tokens",
        "claude_gw.wire",
        "claude_gw.listener",
    ),
    "claude_gw.config": (
        "claude_gw.errors",
        "claude_gw.auth",
        "claude_gw.apis",
        "claude_gw.routing",
        # a route's Kong options: a pure leaf of kong/, imported when a route is made
        "claude_gw.kong.options",
    ),
    "claude_gw.routing": (),
    "claude_gw.auth": ("claude_gw.errors",),
    "claude_gw.tokens": ("claude_gw.wire",),
    "claude_gw.aio": (),
    "claude_gw.listener": ("claude_gw", "claude_gw.aio"),
}


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found.append((name, ast.parse(path.read_text(), filename=str(path))))
    return found


def allows(allowed: str, module: str) -> bool:
    if allowed == "claude_gw":
        return module == "claude_gw"
    return module == allowed or module.startswith(allowed + ".")


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(("name", "tree"), modules(), ids=[name for name, _ in modules()])
def test_imports_point_only_downward(name, tree):
    rule = next(
        (prefix for prefix in ALLOWED if name == prefix or name.startswith(prefix + ".")), None
    )
    if rule is None:
        return  # cli and __main__: free to import what they need
    ours = {module for module in imported(tree) if module.split(".")[0] == "claude_gw"}
    bad = {m for m in ours if not any(allows(ok, m) for ok in ALLOWED[rule])}
    assert not bad, f"{name} may not import {sorted(bad)}"


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


# the API modules own these facts; the simulated backend serves the same APIs (their paths),
# and the CLI names them in its help
OWNERS = ("claude_gw.apis", "claude_gw.simulated", "claude_gw.cli")


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
