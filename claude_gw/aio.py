"""The event loop claude_gw runs on: uvloop's when it is installed, else asyncio's.

uvloop costs the gateway and the replay runner less CPU per request (`bench/README.md`).
Nothing in claude_gw depends on which loop runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop's event loop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
