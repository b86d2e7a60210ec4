"""TEST DOUBLE: an OpenAI-compatible upstream that quotes back the credential it received.

It answers `POST /v1/chat/completions` (and `GET /v1/models`) the way OpenAI does, except that
it puts the credential of the request (`Authorization: Bearer K`, `Authorization: Basic K`,
`api-key: K` or `x-api-key: K`) wherever the request's text asks, the way a debugging proxy or
a careless error page does. The text chooses with two markers:

- `[echo:PLACE]`: `error_200` (a 200 whose body is an OpenAI error), `not_json_200` (a 200 in
  plain text), `stream_error` (an `error` chunk inside a stream), `stream_not_json` (a stream
  line that is not JSON), `stream_split` (that line sent in two writes 50 ms apart, cut in the
  middle of the written key: inside an escape when it is encoded), `status_429` (an error
  answer, the key in its message and in `retry-after`), `content` (the answer's text, streamed
  in 3-character pieces when streaming), `redirect` (a 302 to another host), `huge_usage` (a
  usage count of 10**30); and
  `[model:HEX]` names the answer's model (its UTF-8 in hex, so it can hold any character);
- `[form:FORM]`: how the key is written: `whole`, `prefix` (its first 40 characters), `percent`
  (every character percent-encoded, upper-case hex), `percent_lower` (the same in lower case)
  or `json` (every character a JSON `\\u` escape; raw JSON bodies only), `base64_N` /
  `base64url_N` (the key behind N bytes `:`, base64-encoded in the standard / URL-safe
  alphabet, so that it sits at byte offset N of the encoded data).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

ECHO = re.compile(rb"\[echo:(\w+)\]")
FORM = re.compile(rb"\[form:(\w+)\]")
MODEL = re.compile(rb"\[model:([0-9a-f]*)\]")
Send = Callable[[dict[str, Any]], Awaitable[None]]


def dumps(doc: Any) -> bytes:
    """JSON, with the `\\u` escapes of the `json` form kept as escapes (json.dumps would
    escape their backslash)."""
    return json.dumps(doc).replace("\\\\u", "\\u").encode()


def credential(headers: dict[bytes, bytes]) -> str:
    for name in (b"api-key", b"x-api-key", b"authorization"):
        if name in headers:
            value = headers[name].decode("latin-1")
            return value.partition(" ")[2] if name == b"authorization" else value
    return ""


def written(key: str, form: str) -> str:
    if form.startswith(("base64_", "base64url_")):
        kind, _, shift = form.partition("_")
        encode = base64.urlsafe_b64encode if kind == "base64url" else base64.b64encode
        return encode(b":" * int(shift) + key.encode()).decode()
    if form == "prefix":
        return key[:40]
    if form == "percent":
        return "".join(f"%{byte:02X}" for byte in key.encode())
    if form == "percent_lower":
        return "".join(f"%{byte:02x}" for byte in key.encode())
    if form == "json":
        return "".join(f"\\u{ord(char):04x}" for char in key)
    return key


def completion(text: str, model: str = "gpt-5-mini", prompt_tokens: Any = 5) -> dict[str, Any]:
    return {
        "id": "chatcmpl-echo",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 3, "total_tokens": 8},
    }


def chunk(delta: dict[str, Any], finish: str | None = None, model: str = "gpt-5-mini") -> bytes:
    doc = {
        "id": "chatcmpl-echo",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + dumps(doc) + b"\n\n"


class EchoUpstream:
    """The ASGI app of the double; `seen` holds the credential of each request received."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.lower(): value for name, value in scope["headers"]}
        key = credential(headers)
        self.seen.append(key)
        if scope["method"] == "GET":
            await respond(send, 200, b'{"object": "list", "data": []}')
            return
        place = (ECHO.search(body) or [b"", b"content"])[1].decode()
        form = (FORM.search(body) or [b"", b"whole"])[1].decode()
        found = MODEL.search(body)
        model = bytes.fromhex(found[1].decode()).decode() if found else "gpt-5-mini"
        stream = json.loads(body).get("stream") is True
        await answer(send, place, written(key, form), stream, model)


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type.encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def answer(send: Send, place: str, key: str, stream: bool, model: str) -> None:
    error = {"error": {"message": f"the key {key} is not valid", "type": "invalid_request_error"}}
    if place == "error_200":
        await respond(send, 200, dumps(error))
    elif place == "not_json_200":
        await respond(send, 200, f"upstream saw key {key}".encode(), "text/plain")
    elif place == "status_429":
        retry = [(b"retry-after", key.encode())]
        await respond(send, 429, dumps(error), extra=retry)
    elif place == "redirect":
        await respond(send, 302, b"", extra=[(b"location", b"http://127.0.0.1:9/v1")])
    elif not stream:
        usage = 10**30 if place == "huge_usage" else 5
        text = f"here is the key: {key}" if place == "content" else "all is well"
        await respond(send, 200, dumps(completion(text, model, usage)))
    else:
        await send_stream(send, place, key, model)


async def send_stream(send: Send, place: str, key: str, model: str) -> None:
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    parts = [chunk({"role": "assistant", "content": ""}, model=model)]
    if place == "content":
        pieces = [key[i : i + 3] for i in range(0, len(key), 3)]
        parts += [chunk({"content": piece}, model=model) for piece in ["key: ", *pieces]]
    else:
        parts.append(chunk({"content": "all is well"}, model=model))
    if place == "stream_error":
        parts.append(b'data: {"error": {"message": "the key ' + key.encode() + b' is bad"}}\n\n')
    elif place == "stream_not_json":
        parts.append(b"data: the key " + key.encode() + b" is bad\n\n")
    elif place == "stream_split":
        line = b"data: the key " + key.encode() + b" is bad\n\n"
        cut = line.index(key.encode()) + len(key) // 2 + 1
        parts += [line[:cut], line[cut:]]
    else:
        usage = 10**30 if place == "huge_usage" else 3
        parts.append(chunk({}, "stop", model=model))
        tail = {"id": "chatcmpl-echo", "choices": [], "usage": {"prompt_tokens": usage}}
        parts += [b"data: " + json.dumps(tail).encode() + b"\n\n", b"data: [DONE]\n\n"]
    for part in parts:
        await send({"type": "http.response.body", "body": part, "more_body": True})
        if place == "stream_split":
            await asyncio.sleep(0.05)  # the gateway reads each part on its own
    await send({"type": "http.response.body", "body": b"", "more_body": False})
