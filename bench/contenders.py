"""One contender, measured in this process: `python -m bench.contenders NAME PATH [--cap BYTES]`.

Prints one JSON object on stdout: wall time of the read alone (imports excluded), `ru_maxrss`
after the imports (`baseline_kb`) and after the read (`peak_kb`), and the shape of the result.
The address space is capped with RLIMIT_AS before anything is imported, so a contender that
would exhaust the machine fails with MemoryError (reported as `"oom": true`) or, for Rust code
that aborts on a failed allocation, dies with SIGABRT, which the parent reports the same way.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

Reader = Callable[[str], Any]


def duckdb_threads() -> int:
    """DuckDB's threads: as many as `read_logs` decodes with (`frames.WORKERS`, the machine's
    cores up to 4, as many as polars' own thread pool has up to 4 cores)."""
    from claude_gw.logs.frames import WORKERS

    return WORKERS


def read_logs_polars(path: str) -> Any:
    from claude_gw.logs.read import read_logs

    return read_logs(path, engine="polars")


def read_logs_pandas(path: str) -> Any:
    from claude_gw.logs.read import read_logs

    return read_logs(path, engine="pandas")


def read_logs_logged(path: str) -> Any:
    """`read_logs` with the log's own costs (`cost="logged"`), as DuckDB extracts them."""
    from claude_gw.logs.read import read_logs

    return read_logs(path, cost="logged")


def read_logs_columns(path: str) -> Any:
    """`read_logs` asked for the twelve columns DuckDB extracts (`bench.duck.COLUMNS_12`),
    with the log's own costs."""
    from bench.duck import COLUMNS_12
    from claude_gw.logs.read import read_logs

    return read_logs(path, columns=list(COLUMNS_12), cost="logged")


def duckdb_columns(path: str) -> Any:
    """DuckDB's `read_ndjson`, the twelve columns, as a polars frame (`bench/duck.py`)."""
    from bench import duck

    return duck.read(path, duck.COLUMNS_12, threads=duckdb_threads())


def duckdb_full(path: str) -> Any:
    """DuckDB's `read_ndjson`, every column of the schema (`bench/duck.py`)."""
    from bench import duck

    return duck.read(path, threads=duckdb_threads())


def pandas_baseline(path: str) -> Any:
    """What one writes without a reader: parse the lines, then flatten the nested records."""
    pd: Any = importlib.import_module("pandas")  # Any: pandas ships no type stubs here

    frame = pd.read_json(path, lines=True)
    return pd.json_normalize(frame.to_dict(orient="records"))


def polars_read_ndjson(path: str) -> Any:
    """Polars' own reader, schema inferred from every line (the default looks at 100 lines
    and silently drops the fields it did not see there, e.g. `payload`)."""
    import polars as pl

    return pl.read_ndjson(path, infer_schema_length=None)


def polars_read_ndjson_default(path: str) -> Any:
    import polars as pl

    return pl.read_ndjson(path)


def polars_read_ndjson_ignore_errors(path: str) -> Any:
    import polars as pl

    return pl.read_ndjson(path, infer_schema_length=None, ignore_errors=True)


READERS: dict[str, Reader] = {
    "read_logs_polars": read_logs_polars,
    "read_logs_logged": read_logs_logged,
    "read_logs_columns": read_logs_columns,
    "duckdb_columns": duckdb_columns,
    "duckdb_full": duckdb_full,
    "read_logs_pandas": read_logs_pandas,
    "pandas_baseline": pandas_baseline,
    "read_ndjson": polars_read_ndjson,
    "read_ndjson_default": polars_read_ndjson_default,
    "read_ndjson_dirty": polars_read_ndjson_ignore_errors,
}
# what each reader imports, done before the baseline reading so imports are not counted
IMPORTS = {
    "read_logs_polars": ("polars", "claude_gw.logs.read"),
    "read_logs_logged": ("polars", "claude_gw.logs.read"),
    "read_logs_columns": ("polars", "claude_gw.logs.read"),
    "duckdb_columns": ("polars", "duckdb", "pyarrow", "claude_gw.logs.frames"),
    "duckdb_full": ("polars", "duckdb", "pyarrow", "claude_gw.logs.frames"),
    "read_logs_pandas": ("pandas", "claude_gw.logs.read"),
    "pandas_baseline": ("pandas",),
    "read_ndjson": ("polars",),
    "read_ndjson_default": ("polars",),
    "read_ndjson_dirty": ("polars",),
}


def cpu_s() -> float:
    """CPU seconds (user + system) of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_rss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def describe(result: Any) -> dict[str, Any]:
    """The type, rows and columns of what came back (collected first if it is lazy)."""
    frame = result
    info: dict[str, Any] = {"type": type(result).__name__}
    if isinstance(result, tuple):
        frame = next((x for x in result if hasattr(x, "shape")), None)
    elif not hasattr(result, "shape"):
        frame = next(
            (getattr(result, a) for a in ("frame", "df", "data") if hasattr(result, a)), None
        )
    if frame is not None and hasattr(frame, "collect"):
        frame = frame.collect()  # a LazyFrame: the read is not done until collected
    if frame is not None and hasattr(frame, "shape"):
        info["rows"], info["columns"] = frame.shape
    return info


class Summaries(logging.Handler):
    """Keeps what `read_logs` logs about the load (its report's summary: skipped lines)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def measure(name: str, path: str) -> dict[str, Any]:
    for module in IMPORTS[name]:
        __import__(module)
    summaries = Summaries()
    reader_log = logging.getLogger("claude_gw.logs.read")
    reader_log.addHandler(summaries)
    reader_log.setLevel(logging.INFO)
    gc.collect()
    baseline = max_rss_kb()
    cpu_before, started = cpu_s(), time.perf_counter()
    result = READERS[name](path)
    info = describe(result)  # materialises a lazy result inside the timed region
    wall, cpu = time.perf_counter() - started, cpu_s() - cpu_before
    if summaries.messages:
        info["log"] = summaries.messages[-1]
    return {
        "ok": True,
        "wall_s": wall,
        "cpu_s": cpu,
        "baseline_kb": baseline,
        "peak_kb": max_rss_kb(),
        **info,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(READERS))
    parser.add_argument("path")
    parser.add_argument("--cap", type=int, default=0, help="RLIMIT_AS in bytes (0: none)")
    args = parser.parse_args(argv)
    if args.cap:
        resource.setrlimit(resource.RLIMIT_AS, (args.cap, args.cap))
    try:
        report = measure(args.name, args.path)
    except MemoryError:
        report = {"ok": False, "oom": True, "error": "MemoryError", "peak_kb": max_rss_kb()}
    except Exception as exc:  # reported as the contender's result, not a crash of the bench
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    sys.stdout.write(orjson.dumps({"name": args.name, **report}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
