"""Upstream answers that try to exhaust the gateway: a 2 GB answer announced by its
content-length, a 50 MiB answer sent without one, the same streamed, and a 0.5 MB gzip that
expands to 512 MB. Each gets a 502 `api_error` naming the limit (or, once a stream has begun, an
`error` event), one log line, and the gateway neither reads nor holds the whole answer.
"""

from __future__ import annotations

import asyncio
import json
import resource
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from claude_gw.config import Listen, Secret, Settings
from claude_gw.errors import UpstreamError
from claude_gw.server.asgi import read_body
from claude_gw.server.runner import BackgroundGateway
from claude_gw.upstream import MAX_DECOMPRESSION_RATIO, RATIO_FLOOR, AnswerDecoder
from tests.servers import ServerThread
from tests.waiting import wait_for_lines

MIB = 1 << 20
KEY = "sk-test-upstream-key-0123456789"
ASK = {"model": "gpt-5-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
COMPLETION_HEAD = b'{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"m",'
COMPLETION_HEAD += b'"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant",'
COMPLETION_HEAD += b'"content":"'
COMPLETION_TAIL = b'"}}]}'


def sse_chunk(content: str) -> bytes:
    chunk = {
        "id": "chatcmpl-big",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def gzip_bomb(expanded: int) -> bytes:
    """A gzipped chat completion whose content is `expanded` bytes of "a", made 1 MiB at a time
    (512 MiB gives about 0.5 MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(COMPLETION_HEAD)]
    parts += [packer.compress(b"a" * MIB) for _ in range(expanded // MIB)]
    return b"".join([*parts, packer.compress(COMPLETION_TAIL), packer.flush()])


class HugeOpenAI:
    """TEST DOUBLE of OpenAI's Chat Completions that answers too much: the request's first user
    message names the answer (`huge`, `huge_declared`, `huge_stream`, `bomb`). It stops sending
    when the gateway goes away, and counts the bytes it sent (`sent`).

    Once the gateway has closed the connection, uvicorn drops each `send` silently, without
    suspending, and learns of the loss only on a later turn of its loop; so the double gives
    the loop a turn after every piece: without it, one failed write let it "send" the rest of
    its 50 MiB into nothing, without a pause, and count it (53 MB counted, 7 MB delivered)."""

    def __init__(self, bomb: bytes) -> None:
        self.bomb = bomb
        self.sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        doc = orjson.loads(await read_body(scope, receive, limit=MIB))
        kind = doc["messages"][-1]["content"]
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            await self.answer(kind, send, gone)
        finally:
            watcher.cancel()

    async def answer(self, kind: str, send: Any, gone: asyncio.Event) -> None:
        headers = [(b"content-type", b"application/json")]
        if kind == "bomb":
            headers += [(b"content-encoding", b"gzip"), (b"content-length", b"%d" % len(self.bomb))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await self.body(send, self.bomb, more=False)
            return
        if kind == "huge_declared":  # announces 2 GB, would send it 1 MiB at a time
            headers.append((b"content-length", b"%d" % (2 * 1024 * MIB + len(COMPLETION_HEAD))))
        if kind == "huge_stream":
            headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        first = b"" if kind == "huge_stream" else COMPLETION_HEAD
        piece = sse_chunk("a" * 65536) if kind == "huge_stream" else b"a" * MIB
        await self.body(send, first + piece)
        for _ in range(50 * MIB // len(piece)):  # 50 MiB at most
            if gone.is_set():
                return
            await self.body(send, piece)
        await self.body(send, b"" if kind == "huge_stream" else COMPLETION_TAIL, more=False)

    async def body(self, send: Any, data: bytes, *, more: bool = True) -> None:
        self.sent += len(data)
        await send({"type": "http.response.body", "body": data, "more_body": more})
        await asyncio.sleep(0)  # lets uvicorn and `watch` see a lost connection (see the class)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(512 * MIB)


@contextmanager
def gateway_before(
    double: HugeOpenAI, tmp_path: Path, **limits: Any
) -> Iterator[BackgroundGateway]:
    with ServerThread(double) as upstream:
        settings = Settings(
            upstream_url=f"{upstream.base_url}/v1",
            api_key=Secret(KEY),
            log_path=tmp_path / "claude.json",
            **limits,
        )
        with BackgroundGateway(settings, Listen(port=0)) as gw:
            yield gw


def ask(gw: BackgroundGateway, kind: str, *, stream: bool = False) -> httpx.Response:
    body = {**ASK, "stream": stream, "messages": [{"role": "user", "content": kind}]}
    return httpx.post(f"{gw.url}/v1/messages", json=body, timeout=30)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("kind", ["huge", "huge_declared"])
def test_an_answer_over_the_cap_is_a_502_naming_the_limit_and_is_not_read_to_its_end(
    tmp_path: Path, bomb: bytes, kind: str
) -> None:
    double = HugeOpenAI(bomb)
    with gateway_before(double, tmp_path, max_answer_bytes=4 * MIB) as gw:
        response = ask(gw, kind)
        wait_for_lines(gw.log_path, 1)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "api_error" and "--max-answer" in error["message"]
    # The gateway went away long before the 50 MiB (or 2 GB): 7 to 13 MiB measured, the cap
    # and what loopback buffers held when it closed.
    assert double.sent < 30 * MIB
    (record,) = [json.loads(line) for line in gw.log_path.read_text().splitlines()]
    assert record["response"]["status"] == 502


def test_a_stream_over_the_cap_ends_with_an_error_event_naming_the_limit(
    tmp_path: Path, bomb: bytes
) -> None:
    double = HugeOpenAI(bomb)
    with gateway_before(double, tmp_path, max_answer_bytes=4 * MIB) as gw:
        response = ask(gw, "huge_stream", stream=True)
        wait_for_lines(gw.log_path, 1)
    assert response.status_code == 200
    last = response.text.rstrip().rsplit("\n", 1)[-1]
    assert last.startswith("data: ")
    event = json.loads(last.removeprefix("data: "))
    assert event["type"] == "error" and "--max-answer" in event["error"]["message"]
    assert double.sent < 30 * MIB
    (record,) = [json.loads(line) for line in gw.log_path.read_text().splitlines()]
    assert record["claude_gw"]["error_type"] == "api_error"


def test_a_gzip_bomb_is_a_502_naming_the_ratio_limit_and_is_never_expanded(
    tmp_path: Path, bomb: bytes
) -> None:
    assert len(bomb) < MIB  # 512 MiB, gzipped
    double = HugeOpenAI(bomb)
    before = peak_rss_mb()
    with gateway_before(double, tmp_path) as gw:  # the default limits
        response = ask(gw, "bomb")
        wait_for_lines(gw.log_path, 1)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "api_error"
    assert "--max-decompression-ratio" in error["message"]
    # Expanded, the answer alone would have raised the peak by 512 MiB.
    assert peak_rss_mb() - before < 100


# ------------------------------------------------------------------ the decoder on its own


def decoder(encoding: str | None, **limits: Any) -> AnswerDecoder:
    defaults: dict[str, Any] = {"max_bytes": 64 * MIB, "max_ratio": 100.0}
    return AnswerDecoder(encoding, label="openai at http://127.0.0.1:1/v1", **defaults | limits)


@pytest.mark.parametrize("wbits", [16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_gzip_zlib_and_raw_deflate_decode_the_same_split_at_any_chunk_size(wbits: int) -> None:
    plain = b"".join(sse_chunk(f"word {i} ") for i in range(2000))
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    packed = packer.compress(plain) + packer.flush()
    for size in (1, 7, 4096, len(packed)):
        decoding = decoder("gzip" if wbits > zlib.MAX_WBITS else "deflate")
        out = b"".join(decoding.feed(packed[i : i + size]) for i in range(0, len(packed), size))
        assert out + decoding.flush() == plain


def test_a_stream_that_compresses_well_stays_under_the_default_ratio() -> None:
    # 20,000 OpenAI chunks of a few words each (3.6 MB): gzip -9 packs it 59-fold.
    plain = b"".join(sse_chunk(f"token {i} of the answer ") for i in range(20_000))
    packed = zlib.compress(plain, 9, wbits=16 + zlib.MAX_WBITS)
    assert len(plain) / len(packed) < MAX_DECOMPRESSION_RATIO / 2
    decoding = decoder("gzip")
    assert decoding.feed(packed) + decoding.flush() == plain


def test_the_ratio_is_checked_only_past_the_floor() -> None:
    # 1 MiB of zeros gzips 1000-fold: allowed, since the floor is 1 MiB decoded ...
    packed = zlib.compress(b"\0" * RATIO_FLOOR, 9, wbits=16 + zlib.MAX_WBITS)
    decoding = decoder("gzip")
    assert len(decoding.feed(packed) + decoding.flush()) == RATIO_FLOOR
    # ... one more MiB and it is refused (2 MiB from ~2 KB is ~1000x > 100x)
    packed = zlib.compress(b"\0" * 2 * RATIO_FLOOR, 9, wbits=16 + zlib.MAX_WBITS)
    with pytest.raises(UpstreamError, match="expands over 100 times"):
        decoder("gzip").feed(packed)


def test_an_identity_answer_one_byte_over_the_cap_is_refused() -> None:
    decoding = decoder(None, max_bytes=10)
    assert decoding.feed(b"0123456789") == b"0123456789"  # exactly the cap: fine
    with pytest.raises(UpstreamError, match=r"over 11 bytes.*limit of 10 bytes"):
        decoding.feed(b"x")


def test_an_encoding_the_gateway_did_not_ask_for_is_refused() -> None:
    with pytest.raises(UpstreamError, match="content-encoding 'br'"):
        decoder("br")


def test_an_upstream_made_without_settings_has_the_settings_default_limits() -> None:
    settings = Settings()
    assert upstream_defaults() == (settings.max_answer_bytes, settings.max_decompression_ratio)


def upstream_defaults() -> tuple[int, float]:
    from claude_gw.upstream import MAX_ANSWER_BYTES

    return MAX_ANSWER_BYTES, MAX_DECOMPRESSION_RATIO


def test_the_replay_sender_refuses_an_answer_over_its_cap(
    bomb: bytes,
) -> None:
    # the replay engine's sender: the gateway's own, on a pool shared by the run's targets
    from claude_gw.apis import CHAT
    from claude_gw.upstream import Pool, remote_upstream

    double = HugeOpenAI(bomb)
    with ServerThread(double) as server:

        async def call() -> None:
            pool = Pool()
            upstream = remote_upstream(
                CHAT, f"{server.base_url}/v1", KEY, pool=pool, max_answer_bytes=MIB
            )
            try:
                await upstream.complete({**ASK, "messages": [{"role": "user", "content": "huge"}]})
            finally:
                await pool.aclose()

        with pytest.raises(UpstreamError, match="--max-answer"):
            asyncio.run(call())
    assert double.sent < 30 * MIB  # 3 to 8 MiB measured: the cap, a piece, loopback buffers
