"""Kong-shaped log records: building them, writing them, and reading them back.

Invariant: every request that reaches the gateway yields exactly one record, written as one
whole NDJSON line, with no API key in it.

Reading: every claude.json line (claude_gw's own, and Kong's of every version) loads into one
documented column schema (`claude_gw.logs.schema`), the same for polars and pandas, and every
line read is either loaded or counted, by reason, in the `LoadReport`. Every row's `cost` has a
`cost_source` (`logged`, `computed`, `unpriced`, `none`), set by a cost mode
(`claude_gw.logs.cost_modes`: `auto`, `calculate`, `logged`; `with_cost_mode` re-resolves).
The readers need the
`analysis` extra (polars, pandas, pyarrow); they are imported on first use, so the gateway,
which imports this package to write logs, never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_gw.logs.cost_modes import COST_MODES, CostMode, token_costs, with_cost_mode
    from claude_gw.logs.read import (
        LoadResult,
        load_logs,
        read_logs,
        read_parquet,
        scan_logs,
        to_parquet,
    )
    from claude_gw.logs.report import LineIssue, LoadReport, LogFormatError, Problem
    from claude_gw.logs.schema import SCHEMA
    from claude_gw.logs.session_stats import sessions

# public name -> the module that defines it (imported when the name is first used)
_EXPORTS = {
    "COST_MODES": "claude_gw.logs.cost_modes",
    "CostMode": "claude_gw.logs.cost_modes",
    "token_costs": "claude_gw.logs.cost_modes",
    "with_cost_mode": "claude_gw.logs.cost_modes",
    "LoadResult": "claude_gw.logs.read",
    "load_logs": "claude_gw.logs.read",
    "read_logs": "claude_gw.logs.read",
    "read_parquet": "claude_gw.logs.read",
    "scan_logs": "claude_gw.logs.read",
    "to_parquet": "claude_gw.logs.read",
    "LineIssue": "claude_gw.logs.report",
    "LoadReport": "claude_gw.logs.report",
    "LogFormatError": "claude_gw.logs.report",
    "Problem": "claude_gw.logs.report",
    "SCHEMA": "claude_gw.logs.schema",
    "sessions": "claude_gw.logs.session_stats",
}

__all__ = [
    "COST_MODES",
    "SCHEMA",
    "CostMode",
    "LineIssue",
    "LoadReport",
    "LoadResult",
    "LogFormatError",
    "Problem",
    "load_logs",
    "read_logs",
    "read_parquet",
    "scan_logs",
    "sessions",
    "to_parquet",
    "token_costs",
    "with_cost_mode",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
