"""The masking step of `server.masking`: what leaves through `send` and the serving loggers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from claude_gw.logs.mask import Masker
from claude_gw.server.masking import guard_console, masked_send

KEY = "sk-proj-Zq81xWv3Lm0pTt7Rk2Ny5Ub9Hc4Jd6Fg1Se8Ao3Ki7Ql2Wm5Xn0Rb4Vz6Cy9Du1"


def sent_through(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def run() -> None:
        masked = masked_send(send, Masker([KEY]))
        for message in messages:
            await masked(message)

    asyncio.run(run())
    return sent


def test_a_masked_body_gets_a_content_length_that_matches_it() -> None:
    body = f'{{"error": "key {KEY}"}}'.encode()
    start = {
        "type": "http.response.start",
        "status": 502,
        "headers": [(b"content-length", str(len(body)).encode()), (b"x-echo", KEY.encode())],
    }
    sent = sent_through([start, {"type": "http.response.body", "body": body}])
    headers = dict(sent[0]["headers"])
    assert sent[1]["body"] == b'{"error": "key REDACTED"}'
    assert headers[b"content-length"] == str(len(sent[1]["body"])).encode()
    assert headers[b"x-echo"] == b"REDACTED"


def test_a_key_split_over_two_body_writes_is_masked_from_the_write_that_completes_it() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": []}
    parts = [b"data: " + KEY[:5].encode(), KEY[5:].encode() + b" end\n\n"]
    sent = sent_through(
        [start, *({"type": "http.response.body", "body": p, "more_body": True} for p in parts)]
    )
    assert b"".join(m["body"] for m in sent[1:]) == b"data: sk-prREDACTED end\n\n"


def test_the_serving_loggers_mask_and_escape_messages_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    masker = Masker([KEY])
    guard_console(masker)
    logger = logging.getLogger("claude_gw.server")
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError(f"upstream said {KEY[:30]}")
        except ValueError:
            logger.exception("internal error while handling %s", "/v1/\x1b[2Jmessages")
    assert KEY[:8] not in caplog.text and "\x1b" not in caplog.text
    assert "\\x1b[2J" in caplog.text and "ValueError: upstream said REDACTED" in caplog.text
