"""A scriptable fake OpenAI Chat Completions upstream, served on loopback by the tests.

It counts calls and the requests in flight, answers after `delay` seconds, and fails the
first `failures` calls of each distinct prompt with `status` (and `retry-after`, when set);
a prompt containing `ALWAYS_FAIL` always fails with 500.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

ALWAYS_FAIL = "always-fail"


class FakeChat:
    def __init__(
        self,
        *,
        delay: float = 0.0,
        failures: int = 0,
        status: int = 429,
        retry_after: str | None = None,
    ) -> None:
        self.delay = delay
        self.failures = failures
        self.status = status
        self.retry_after = retry_after
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.seen: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each call's Authorization header

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls += 1
        auth = dict(scope["headers"]).get(b"authorization")
        self.authorizations.append(auth.decode() if auth is not None else None)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            status, headers, answer = self.answer(json.loads(body))
        finally:
            self.in_flight -= 1
        raw = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), *headers]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

    def answer(self, doc: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], Any]:
        self.bodies.append(doc)
        prompt = json.dumps(doc["messages"])
        self.seen[prompt] += 1
        if ALWAYS_FAIL in prompt:
            return 500, [], {"error": {"message": "boom", "type": "server_error"}}
        if self.seen[prompt] <= self.failures:
            headers = [(b"retry-after", self.retry_after.encode())] if self.retry_after else []
            return self.status, headers, {"error": {"message": "slow down", "type": "x"}}
        return 200, [], completion(doc["model"])


def completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": f"{model}-fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "fake answer"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }
