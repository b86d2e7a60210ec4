"""The masking step's cost per request, on the bytes one Claude CLI request makes leave.

    python -m bench.masking

What one request sends through `server.masking` and `logs.redact.Masker` with a key configured:
the response headers, the answer body (one-shot: one write; streaming: one write per upstream
read, and the block's text mask over the deltas of each read) and the log line (the fixture's
Kong 3.13 record, 3-4 KB). Streams: 12 chunks in one read (bench.gateway's fake upstream sends
them at once) and in 12 reads (the worst case). Timed with `timeit`, best of 5, next to the
translation and encoding of the same stream measured in the same run (a machine's load changes
both alike); compare with the gateway's CPU per request in `python -m bench.gateway`.
"""

from __future__ import annotations

import inspect
import timeit
from pathlib import Path
from typing import Any

import orjson

from claude_gw.logs.mask import Masker
from claude_gw.server.masking import masked_send
from claude_gw.translate.sse import encode_event
from claude_gw.translate.stream import StreamTranslator
from claude_gw.wire import ChatCompletion

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "kong" / "claude.json"
KEY = "sk-proj-Zq81xWv3Lm0pTt7Rk2Ny5Ub9Hc4Jd6Fg1Se8Ao3Ki7Ql2Wm5Xn0Rb4Vz6Cy9Du1"


async def _sink(message: Any) -> None:
    return None


def request_cost(masker: Masker, writes: list[bytes], line: bytes, deltas: list[str]) -> None:
    send = masked_send(_sink, masker)
    start = {"type": "http.response.start", "status": 200, "headers": [(b"request-id", b"x")]}
    bodies = ({"type": "http.response.body", "body": d} for d in writes)
    # the sink never waits: each send runs to its end in one step, without an event loop
    messages: list[dict[str, Any]] = [start, *bodies]
    for message in messages:
        step = send(message)
        assert inspect.iscoroutine(step)
        try:
            step.send(None)
        except StopIteration:
            pass
    masks = masker.stream()  # as the stream pump makes it
    for text in deltas:  # the deltas of each upstream read, joined (see _mask_deltas)
        masks.feed(text)
    masker.data(line)


def translated_stream(chunks: list[ChatCompletion]) -> None:
    """The translation of one stream and its encoding: the reference the masking is put next
    to (both measured here, on the same machine at the same moment)."""
    translator = StreamTranslator(message_id="msg_bench", model="gpt-5-mini")
    events = [event for chunk in chunks for event in translator.feed(chunk)]
    events += translator.finish()
    b"".join(encode_event(event, dumps=orjson.dumps) for event in events)


def per_call_us(call: Any, number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def main() -> None:
    line = FIXTURE.read_bytes().splitlines()[0] + b"\n"
    text = "The function reads the log, groups by session and returns a frame. " * 12
    message = {"type": "message", "content": [{"type": "text", "text": text}]}
    oneshot = [orjson.dumps(message)]
    deltas = [text[i : i + 60] for i in range(0, len(text), 60)][:12]
    event = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    stream = [event + orjson.dumps({"text": d}) + b"}\n\n" for d in deltas]
    masker = Masker([KEY])
    chunks: list[ChatCompletion] = [
        {"id": "c", "model": "gpt-5-mini", "choices": [{"index": 0, "delta": {"content": d}}]}
        for d in deltas
    ]
    chunks.append({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    reference = per_call_us(lambda: translated_stream(chunks), 2000)
    print(f"reference: translating and encoding the stream {reference:7.1f} us")
    scenarios: tuple[tuple[str, list[bytes], list[str]], ...] = (
        ("one-shot", oneshot, []),
        ("streaming, one read", [b"".join(stream)], ["".join(deltas)]),  # bench.gateway's
        ("streaming, 12 reads", stream, deltas),  # one chunk per read: the worst case
    )
    for name, writes, texts in scenarios:
        for label, used in (("no key", Masker()), ("key", masker)):
            cost = per_call_us(lambda u=used, w=writes, t=texts: request_cost(u, w, line, t), 2000)
            print(f"{name:20} {label:7} {cost:7.1f} us per request")
    plain = timeit.repeat(lambda: masker.data(line), number=20000, repeat=5)
    print(f"log line ({len(line)} B) masked: {min(plain) / 20000 * 1e6:.2f} us")
    body = oneshot[0]
    best = min(timeit.repeat(lambda: masker.data(body), number=20000, repeat=5))
    print(f"answer ({len(body)} B) masked: {best / 20000 * 1e6:.2f} us")


if __name__ == "__main__":
    main()
