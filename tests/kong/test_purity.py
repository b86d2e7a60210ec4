"""claude_gw.kong is pure: it imports no I/O module and opens no file (callers read the files)."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "claude_gw" / "kong"
ALLOWED_OUTSIDE = {"yaml"}
FORBIDDEN = {"os", "io", "asyncio", "socket", "subprocess", "shutil", "time", "random"}


def imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_kong_modules_import_no_io_and_open_no_file(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = imports(tree)
    outside = {
        name
        for name in modules
        if name not in sys.stdlib_module_names and name not in ("claude_gw", *ALLOWED_OUTSIDE)
    }
    assert not outside and not (modules & FORBIDDEN), sorted(modules)
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & {"open", "read_text", "write_text", "read_bytes", "cwd", "absolute"}, (
        path.name
    )
