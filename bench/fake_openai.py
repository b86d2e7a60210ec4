"""A fast fake OpenAI Chat Completions upstream: a TEST DOUBLE for benchmarks, not a model.

    python -m bench.fake_openai [--delay 0.02] [--chunks 8] [--chunk-interval 0]

It binds 127.0.0.1 on a free port and prints `PORT <n>` as its first stdout line, then serves
until SIGINT/SIGTERM:

- `POST .../chat/completions`: after `delay` seconds, a `chat.completion` (non-streaming) or,
  when the body asks for `"stream": true`, an SSE stream shaped like OpenAI's (see
  `../shared/fixtures/wire/openai-chat-stream-text.sse`): a role chunk, `chunks` content
  chunks (`chunk_interval` seconds apart), a finish chunk, a usage chunk with `choices: []`
  (only when `stream_options.include_usage` is true, as OpenAI does) carrying
  `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`, then
  `data: [DONE]`. The body is not otherwise read: every answer is the same text.
- `GET /stats`: JSON counts (`requests`, `chat`, `stream`, `non_stream`, `bytes_in`).
- `POST /config`: a JSON object with any of `delay`, `chunks`, `chunk_interval` changes them
  for the requests that follow (a benchmark slows streams down without a restart); the answer
  is the configuration now in force.
- `GET .../models`: a one-model list; anything else is a 404 in OpenAI's error shape.

It is built to cost the benchmark as little CPU as possible: a raw asyncio `Protocol` with
`httptools` as the HTTP parser and `uvloop` when installed (bench-only dependencies), answers
prebuilt as bytes, keep-alive connections, no pipelining.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import socket
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import httptools
import orjson

STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
INCLUDE_USAGE_RE = re.compile(rb'"include_usage"\s*:\s*true')
MODEL = "gpt-5-mini-2025-08-07"
COMPLETION_ID = "chatcmpl-fakeopenai0000000000000001"
CREATED = 1764000000
TEXT = "The benchmark double answers every request with this same short sentence, word by word."
USAGE = {
    "prompt_tokens": 12000,
    "completion_tokens": 96,
    "total_tokens": 12096,
    "prompt_tokens_details": {"cached_tokens": 11264, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 64,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


@dataclass
class Config:
    """What every answer looks like; `POST /config` changes it at run time."""

    delay: float = 0.0
    chunks: int = 8
    chunk_interval: float = 0.0


@dataclass
class Stats:
    requests: int = 0
    chat: int = 0
    stream: int = 0
    non_stream: int = 0
    bytes_in: int = 0


def split_text(text: str, parts: int) -> list[str]:
    """`text` cut into `parts` consecutive pieces (words kept whole when there are enough)."""
    words = text.split(" ")
    parts = max(1, parts)
    if parts > len(words):
        return [text] + [""] * (parts - 1)
    size, extra = divmod(len(words), parts)
    pieces, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        piece = " ".join(words[start:end])
        pieces.append(piece if start == 0 else " " + piece)
        start = end
    return pieces


def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
    doc = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": None,
        "choices": choices,
        "usage": usage,
        "obfuscation": "",
    }
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def delta(content: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
    return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]


def stream_events(chunks: int, include_usage: bool) -> list[bytes]:
    """The SSE events of one streamed answer, each `data: ...\\n\\n`."""
    events = [chunk(delta({"role": "assistant", "content": "", "refusal": None}))]
    events += [chunk(delta({"content": piece})) for piece in split_text(TEXT, chunks)]
    events.append(chunk(delta({}, "stop")))
    if include_usage:
        events.append(chunk([], USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


def completion() -> bytes:
    return orjson.dumps(
        {
            "id": COMPLETION_ID,
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": TEXT,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
            "service_tier": "default",
            "system_fingerprint": None,
        }
    )


def http_chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk of a `Transfer-Encoding: chunked` body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def head(status: int, headers: list[tuple[str, str]]) -> bytes:
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}.get(status, "OK")
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_response(status: int, body: bytes) -> bytes:
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    return head(status, headers) + body


SSE_HEAD = head(
    200,
    [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
        ("transfer-encoding", "chunked"),
    ],
)
END_CHUNK = b"0\r\n\r\n"
NOT_FOUND = json_response(
    404,
    orjson.dumps(
        {
            "error": {
                "message": "not found",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    ),
)


@dataclass
class Answers:
    """Prebuilt answer bytes for one configuration (rebuilt when `/config` changes it)."""

    config: Config
    oneshot: bytes = b""
    stream_parts: dict[bool, list[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.oneshot = json_response(200, completion())
        for include_usage in (False, True):
            events = stream_events(self.config.chunks, include_usage)
            self.stream_parts[include_usage] = [http_chunk(e) for e in events]


class Upstream:
    """The shared state of the double: configuration, prebuilt answers, counters."""

    def __init__(self, config: Config) -> None:
        self.answers = Answers(config)
        self.stats = Stats()

    @property
    def config(self) -> Config:
        return self.answers.config

    def reconfigure(self, changes: dict[str, Any]) -> None:
        current = asdict(self.config)
        for key in ("delay", "chunks", "chunk_interval"):
            if key in changes:
                current[key] = type(current[key])(changes[key])
        self.answers = Answers(Config(**current))


class Connection(asyncio.Protocol):
    """One keep-alive client connection: parse with httptools, answer from prebuilt bytes."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []
        self.pending: list[asyncio.TimerHandle] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream server is given a Transport (the stub types it BaseTransport)
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.write(json_response(400, b'{"error":{"message":"bad request"}}'))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for handle in self.pending:
            handle.cancel()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        stats = self.upstream.stats
        stats.requests += 1
        body = b"".join(self.body)
        stats.bytes_in += len(body)
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if method == b"POST" and path.endswith(b"/chat/completions"):
            self.chat(body)
        elif method == b"GET" and path == b"/stats":
            self.write(json_response(200, orjson.dumps(asdict(stats))))
        elif method == b"POST" and path == b"/config":
            self.configure(body)
        elif method == b"GET" and path.endswith(b"/models"):
            models = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
            self.write(json_response(200, orjson.dumps(models)))
        else:
            self.write(NOT_FOUND)
        if not self.parser.should_keep_alive():
            self.close_when_done()

    def chat(self, body: bytes) -> None:
        stats = self.upstream.stats
        stats.chat += 1
        answers = self.upstream.answers
        config = answers.config
        if STREAM_RE.search(body):
            stats.stream += 1
            parts = answers.stream_parts[bool(INCLUDE_USAGE_RE.search(body))]
            self.after(config.delay, lambda: self.stream(parts, config.chunk_interval))
        else:
            stats.non_stream += 1
            self.after(config.delay, lambda: self.write(answers.oneshot))

    def stream(self, parts: list[bytes], interval: float) -> None:
        if interval <= 0:
            self.write(SSE_HEAD + b"".join(parts) + END_CHUNK)
            return
        self.write(SSE_HEAD + parts[0])
        for i, part in enumerate([*parts[1:], END_CHUNK], start=1):
            self.after(i * interval, lambda part=part: self.write(part))

    def configure(self, body: bytes) -> None:
        try:
            changes = orjson.loads(body or b"{}")
            self.upstream.reconfigure(changes)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            error = {"error": {"message": f"bad configuration: {exc}"}}
            self.write(json_response(400, orjson.dumps(error)))
            return
        self.write(json_response(200, orjson.dumps(asdict(self.upstream.config))))

    # helpers
    def after(self, delay: float, action: Any) -> None:
        if delay <= 0:
            action()
        else:
            self.pending.append(self.loop.call_later(delay, action))

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def close_when_done(self) -> None:
        # Answers may still be scheduled: close once they are written (bounded wait).
        delay = self.upstream.config.delay
        interval = self.upstream.config.chunk_interval * (self.upstream.config.chunks + 4)
        self.loop.call_later(delay + interval + 0.01, self.close)


def bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


async def serve(config: Config, sock: socket.socket) -> None:
    """Serve on `sock` until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    upstream = Upstream(config)
    server = await loop.create_server(lambda: Connection(upstream), sock=sock, backlog=4096)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def run(config: Config) -> None:
    """Bind, print `PORT <n>`, serve (on uvloop when it is installed)."""
    sock = bind()
    sys.stdout.write(f"PORT {sock.getsockname()[1]}\n")
    sys.stdout.flush()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(config, sock))
    else:
        uvloop.run(serve(config, sock))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    p.add_argument("--chunks", type=int, default=8, help="content chunks per streamed answer")
    p.add_argument(
        "--chunk-interval", type=float, default=0.0, help="seconds between streamed chunks"
    )
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run(Config(delay=args.delay, chunks=args.chunks, chunk_interval=args.chunk_interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
