"""The o200k tokenizer (130 MB) is loaded by `claude-gw serve` on its first count_tokens
request, not at start (claude_gw/server/runner.py `warm_up`), unless long-context routing
needs it from the start. Checked on the real process: its resident memory and its answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic

from claude_gw.tokens import count_anthropic_request
from tests.test_claude_cli import start_serve

GROWTH_MB = 60  # the loaded tokenizer adds ~130 MB


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


# The upstream is the `fake_openai` test double served from this process: a gateway on the
# built-in simulated backend would load the tokenizer itself (the simulator counts tokens).


def test_the_tokenizer_is_loaded_by_the_first_count_tokens_request(
    tmp_path: Path, fake_openai: str
) -> None:
    gateway = start_serve(tmp_path, fake_openai)
    try:
        client = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0)
        ask: dict[str, Any] = {
            "model": "claude-sonnet-5-5",
            "messages": [{"role": "user", "content": "hi"}],
        }
        client.messages.create(max_tokens=16, **ask)  # a model turn does not load it
        before = rss_mb(gateway.process.pid)
        counted = client.messages.count_tokens(**ask).input_tokens
        after = rss_mb(gateway.process.pid)
    finally:
        gateway.stop()
    assert counted == count_anthropic_request(ask)
    assert after - before > GROWTH_MB, (before, after)


def test_long_context_routing_loads_the_tokenizer_at_start(
    tmp_path: Path, fake_openai: str
) -> None:
    (tmp_path / "lazy").mkdir()
    (tmp_path / "eager").mkdir()
    lazy = start_serve(tmp_path / "lazy", fake_openai)
    eager = start_serve(tmp_path / "eager", fake_openai, "--long-context-model", "gpt-4.1")
    try:
        idle, loaded = rss_mb(lazy.process.pid), rss_mb(eager.process.pid)
    finally:
        lazy.stop()
        eager.stop()
    assert loaded - idle > GROWTH_MB, (idle, loaded)
