"""Generate N realistic Kong / claude_gw log lines as NDJSON, deterministically from a seed.

    python -m bench.gen_logs OUT --records 100000 [--seed 0] [--files 4] [--gzip]

N counts lines, bad ones included. The mix of record shapes (share of the good lines):

| shape                | share | what it is                                                  |
| -------------------- | ----- | ----------------------------------------------------------- |
| claude_gw            | 60 %  | `build_record`'s Kong 3.13 shape + `claude_gw` v1 key        |
| kong-3.13            | 25 %  | `ai.proxy` with details, ttft, request_mode                  |
| kong-3.13-advanced   |  4 %  | 3.13 + `ai.proxy.tried_targets` (ai-proxy-advanced)          |
| kong-3.10            |  4 %  | `ai.proxy`, float time_per_token, no details                 |
| kong-3.8             |  3 %  | `ai["ai-proxy"]`, llm_latency, int time_per_token, cost, cache |
| kong-3.7             |  2 %  | `ai["ai-proxy"]`, singular prompt_token / completion_token    |
| kong-3.6             |  2 %  | flat `ai.meta` / `ai.usage`                                  |

1 % of the lines are bad, spread at random through the file, in equal numbers of each kind:
`not_json` (Kong error-log text, half a record), `array` (a JSON array), `scalar` (a JSON number,
`null`, `true` or a string), `no_ai` (a Kong record of a non-AI route: valid, but no `ai`), plus
always exactly one `truncated` line: the very last one, cut mid-record with no newline. With
several files, lines are split evenly in order and only the last file ends truncated.

`generate()` returns a `Manifest` (also written next to the output as `*.manifest.json`) with
the shape and outcome counts and the 1-based line number of every bad line.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import IO, Any, cast

import orjson

from bench.gw_shape import GatewayRenderer
from bench.kong_shapes import fixture_lines, kong_renderer
from bench.traffic import Draw, Traffic

GENERATOR_VERSION = 1  # bump when the output for a given (N, seed) changes
SHAPE_MIX: list[tuple[str, str, float]] = [  # (shape, origin, weight)
    ("claude_gw", "claude_gw", 60),
    ("kong-3.13", "kong", 25),
    ("kong-3.13-advanced", "kong", 4),
    ("kong-3.10", "old_kong", 4),
    ("kong-3.8", "old_kong", 3),
    ("kong-3.7", "old_kong", 2),
    ("kong-3.6", "old_kong", 2),
]
BAD_SHARE = 0.01
BAD_KINDS = ("not_json", "array", "scalar", "no_ai")
TRUNCATED = "truncated"
GZIP_LEVEL = 1  # speed over ratio: what is measured is reading
FLUSH_BYTES = 8 << 20

NOT_JSON = (
    b"2025/12/10 15:25:14 [error] 1281#0: *53 [kong] handler.lua:96 [file-log] failed to open "
    b'the file: Permission denied, client: 192.168.65.1, server: kong, request: "POST '
    b'/anything/v1/messages?beta=true HTTP/1.1", host: "localhost:8000"',
    b'nginx: [warn] the "user" directive makes sense only if the master process runs with '
    b"super-user privileges, ignored in /usr/local/kong/nginx.conf:7",
)
ARRAYS = (b"[]", b'[{"queued":3,"plugin":"file-log"}]', b"[1,2,3]")
SCALARS = (b"42", b"-1.5", b"null", b"true", b'"file-log: reopened"')


@dataclass
class Manifest:
    """What a generated data set holds; `bad_lines` maps kind -> 1-based line numbers."""

    records: int
    seed: int
    paths: list[str]
    file_lines: list[int]
    size: int  # bytes, all files
    gzip: bool
    generator: int = GENERATOR_VERSION
    seconds: float = 0.0
    shapes: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    bad_lines: dict[str, list[int]] = field(default_factory=dict)

    @property
    def bad_count(self) -> int:
        return sum(len(v) for v in self.bad_lines.values())

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**orjson.loads(data))


def bad_plan(n: int, rng: random.Random) -> dict[int, str]:
    """0-based line index -> bad kind: 1 % of `n`, one kind each in turn, the last truncated."""
    count = max(len(BAD_KINDS) + 1, round(n * BAD_SHARE))
    positions = sorted(rng.sample(range(n - 1), count - 1))
    kinds = [BAD_KINDS[i % len(BAD_KINDS)] for i in range(count - 1)]
    rng.shuffle(kinds)
    plan = dict(zip(positions, kinds, strict=True))
    plan[n - 1] = TRUNCATED
    return plan


class NoAiRoute:
    """Kong records of a non-AI route (a health check): valid JSON objects without `ai`."""

    def __init__(self) -> None:
        tpl = dict(fixture_lines()[11])
        del tpl["ai"]
        tpl["request"] = {
            **tpl["request"],
            "uri": "/status",
            "url": "http://localhost:8000/status",
            "method": "GET",
            "querystring": {},
            "headers": {"host": "localhost:8000", "user-agent": "kube-probe/1.31", "accept": "*/*"},
            "size": 98,
        }
        tpl["upstream_uri"] = "/status"
        self.template = tpl

    def encode(self, d: Draw) -> bytes:
        rec = dict(self.template)
        rec["request"] = {**self.template["request"], "id": d.request_id}
        rec["started_at"] = d.started_ms
        rec["response"] = {**self.template["response"], "status": 200}
        return orjson.dumps(rec).replace(b"/", b"\\/")


class LineMaker:
    """Good and bad lines, from one seeded `Traffic`."""

    def __init__(self, seed: int) -> None:
        self.traffic = Traffic(seed)
        self.rng = self.traffic.rng
        gateway = GatewayRenderer()
        self.encoders: list[Callable[[Draw], bytes]] = [
            gateway.encode if shape == "claude_gw" else kong_renderer(shape).encode
            for shape, _, _ in SHAPE_MIX
        ]
        self.cum = list(accumulate(w for _, _, w in SHAPE_MIX))
        self.no_ai = NoAiRoute()
        self.shapes: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.last = b"{}"

    def good(self, *, counted: bool = True) -> bytes:
        i = bisect.bisect(self.cum, self.rng.random() * self.cum[-1])
        shape, origin, _ = SHAPE_MIX[i]
        d = self.traffic.draw(origin, shape)
        if counted:
            self.shapes[shape] += 1
            self.outcomes[d.scenario] += 1
        self.last = self.encoders[i](d)
        return self.last

    def bad(self, kind: str) -> bytes:
        rng = self.rng
        if kind == "not_json":
            if rng.random() < 0.5:
                return self.last[: len(self.last) // 2]  # a writer killed mid-line, then restarted
            return NOT_JSON[int(rng.random() * len(NOT_JSON))]
        if kind == "array":
            return ARRAYS[int(rng.random() * len(ARRAYS))]
        if kind == "scalar":
            return SCALARS[int(rng.random() * len(SCALARS))]
        if kind == "no_ai":
            return self.no_ai.encode(self.traffic.draw("kong", "status-route"))
        line = self.good(counted=False)  # truncated: a real record, cut
        return line[: int(len(line) * 0.6)]


def split(n: int, files: int) -> list[int]:
    """Line counts of `files` files holding `n` lines in order, as even as possible."""
    return [n // files + (1 if i < n % files else 0) for i in range(files)]


def output_paths(out: Path, files: int, compress: bool) -> list[Path]:
    """`out` itself for one file; else `files` numbered files in the directory `out`."""
    suffix = ".json.gz" if compress else ".json"
    if files == 1:
        return [out]
    return [out / f"claude-{i:03d}{suffix}" for i in range(files)]


def open_out(path: Path, compress: bool) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        return cast(IO[bytes], gzip.open(path, "wb", compresslevel=GZIP_LEVEL))
    return path.open("wb")


def lines(n: int, seed: int, plan: dict[int, str]) -> Iterator[tuple[bytes, LineMaker]]:
    maker = LineMaker(seed)
    for i in range(n):
        kind = plan.get(i)
        yield (maker.good() if kind is None else maker.bad(kind)), maker


def generate(
    out: str | Path, n: int, *, seed: int = 0, files: int = 1, compress: bool = False
) -> Manifest:
    """Write `n` lines (see the module docstring) and return their manifest."""
    if n < 10 or files < 1 or files > n:
        raise ValueError("need at least 10 lines and between 1 and n files")
    started = time.perf_counter()
    out = Path(out)
    plan = bad_plan(n, random.Random(f"bad-lines:{seed}"))
    counts = split(n, files)
    paths = output_paths(out, files, compress)
    stream = lines(n, seed, plan)
    maker: LineMaker | None = None
    for path, count in zip(paths, counts, strict=True):
        with open_out(path, compress) as f:
            buffer: list[bytes] = []
            size = 0
            for _ in range(count):
                line, maker = next(stream)
                buffer.append(line)
                size += len(line)
                if size > FLUSH_BYTES:
                    f.write(b"\n".join(buffer) + b"\n")
                    buffer, size = [], 0
            last_file = path == paths[-1]
            f.write(b"\n".join(buffer) + (b"" if last_file else b"\n"))
    assert maker is not None
    bad: dict[str, list[int]] = {kind: [] for kind in (*BAD_KINDS, TRUNCATED)}
    for i, kind in sorted(plan.items()):
        bad[kind].append(i + 1)
    manifest = Manifest(
        records=n,
        seed=seed,
        paths=[str(p) for p in paths],
        file_lines=counts,
        size=sum(p.stat().st_size for p in paths),
        gzip=compress,
        seconds=round(time.perf_counter() - started, 2),
        shapes=dict(sorted(maker.shapes.items())),
        outcomes=dict(sorted(maker.outcomes.items())),
        bad_lines=bad,
    )
    manifest_path(out, files).write_bytes(manifest.to_json())
    return manifest


def manifest_path(out: Path, files: int) -> Path:
    return out / "manifest.json" if files > 1 else out.with_name(out.name + ".manifest.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output file (a directory with --files > 1)")
    parser.add_argument("--records", type=int, default=100_000, help="lines, bad ones included")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--gzip", action="store_true", help=f"gzip each file (level {GZIP_LEVEL})")
    args = parser.parse_args(argv)
    m = generate(args.out, args.records, seed=args.seed, files=args.files, compress=args.gzip)
    report: dict[str, Any] = {
        "lines": m.records,
        "bytes": m.size,
        "MB": round(m.size / 1e6, 1),
        "bytes_per_line": round(m.size / m.records),
        "seconds": m.seconds,
        "bad": {k: len(v) for k, v in m.bad_lines.items()},
        "shapes": m.shapes,
    }
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
