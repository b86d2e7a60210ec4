"""Results back as a DataFrame, and each replayed answer next to its original.

    results = load_results("replay.json")                  # read_logs + the replay columns
    paired = pair_with_originals(results, read_logs("claude.json", payloads=True))

`load_results` adds `replay_run_id`, `replay_source_id`, `replay_target`, `replay_attempts` and
`replay_cached` to the loaded log (payloads included). `pair_with_originals` adds the original's
`ORIGINAL_COLUMNS`, prefixed `original_`, matched on the original's `request_id`; a result
whose original is not in the frame keeps nulls there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from claude_gw.logs.read import Engine, read_logs
from claude_gw.logs.schema import to_pandas

REPLAY_FIELDS = {
    "run_id": pl.String(),
    "source_id": pl.String(),
    "target": pl.String(),
    "attempts": pl.Int64(),
    "cached": pl.Boolean(),
}
ORIGINAL_COLUMNS = (
    "request_id",
    "time",
    "session_id",
    "requested_model",
    "response_model",
    "status",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "stop_reason",
    "response_payload",
)


def replay_parts(path: Path) -> pl.DataFrame:
    """The `replay` part of each line of a result file, by 1-based line number."""
    rows: list[dict[str, Any]] = []
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                part = orjson.loads(line).get("replay")
            except (orjson.JSONDecodeError, AttributeError):
                continue
            if isinstance(part, dict):
                rows.append({"source_line": number, **{k: part.get(k) for k in REPLAY_FIELDS}})
    schema = {"source_line": pl.Int64(), **REPLAY_FIELDS}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.rename({k: f"replay_{k}" for k in REPLAY_FIELDS})


def load_results(path: str | os.PathLike[str], *, engine: Engine = "polars") -> Any:
    """A result file as a frame: the log's columns with payloads, plus the replay columns
    the log schema does not already carry (`replay_target` and `replay_source_id` are log
    columns, read from the same `replay` part)."""
    frame = read_logs(path, payloads=True)
    parts = replay_parts(Path(path))
    extra = [name for name in parts.columns if name not in frame.columns]
    frame = frame.join(parts.select("source_line", *extra), on="source_line", how="left")
    return to_pandas(frame) if engine == "pandas" else frame


def pair_with_originals(results: Any, originals: Any) -> Any:
    """`results` (from `load_results`) with each original's columns alongside (see above);
    pandas in, pandas out."""
    pandas = not isinstance(results, pl.DataFrame)
    left = pl.from_pandas(results) if pandas else results
    right = originals if isinstance(originals, pl.DataFrame) else pl.from_pandas(originals)
    kept = [c for c in ORIGINAL_COLUMNS if c in right.columns]
    right = right.select(kept).unique("request_id", keep="first")
    right = right.rename({c: f"original_{c}" for c in kept})
    paired = left.join(
        right, left_on="replay_source_id", right_on="original_request_id", how="left"
    )
    return to_pandas(paired) if pandas else paired
