"""claude_gw.tokens: o200k_base counts, Anthropic count_tokens estimates, OpenAI prompt counts."""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from claude_gw.tokens import (
    IMAGE_MAX_TOKENS,
    O200K,
    Lazy,
    count_anthropic_request,
    count_openai_messages,
    count_text,
    image_size,
)

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures"


def cli_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "claude-cli" / name).read_text())["body"]
    return body


def png(width: int, height: int) -> str:
    ihdr = b"\x00\x00\x00\x0dIHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return base64.b64encode(
        b"\x89PNG\r\n\x1a\n" + ihdr + b"\x08\x06\x00\x00\x00" + b"\0" * 40
    ).decode()


def gif(width: int, height: int) -> str:
    header = b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return base64.b64encode(header + b"\0" * 20).decode()


def jpeg(width: int, height: int) -> str:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return base64.b64encode(b"\xff\xd8" + app0 + sof0 + b"\x03" + b"\0" * 20).decode()


def image_block(data: str, media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": list(blocks)}]}


# --------------------------------------------------------------------------- count_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Token boundaries checked by decoding each id: "hello" + " world".
        pytest.param("hello world", 2, id="hello_world"),
        # "Hello" "," " world" "!"
        pytest.param("Hello, world!", 4, id="punctuation_is_its_own_token"),
        # "The" " quick" " brown" " fox" " jumps" " over" " the" " lazy" " dog" "."
        pytest.param("The quick brown fox jumps over the lazy dog.", 10, id="pangram"),
        # "token" "ization"
        pytest.param("tokenization", 2, id="word_split_in_two"),
        pytest.param("", 0, id="empty"),
        # "<" "|" "end" "of" "text" "|" ">": special-token text is plain text here
        pytest.param("<|endoftext|>", 7, id="special_token_text_counts_as_text"),
    ],
)
def test_count_text_matches_o200k_base(text: str, expected: int) -> None:
    assert count_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("word " * 60_000, id="spaces"),
        pytest.param("line\n" * 70_000, id="newlines"),
        pytest.param("ab" * 150_000, id="no_whitespace"),
    ],
)
def test_long_text_is_counted_in_slices_without_changing_the_count(text: str) -> None:
    assert count_text(text) == len(O200K.get().encode_ordinary(text))


def test_a_million_characters_can_be_counted() -> None:
    assert count_text("hello " * 200_000) > 190_000


def test_lazy_value_is_built_once_when_threads_race_for_it() -> None:
    calls: list[int] = []

    def slow_factory() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    lazy: Lazy[object] = Lazy(slow_factory)
    barrier = threading.Barrier(8)
    results: list[object] = []

    def worker() -> None:
        barrier.wait(timeout=5)
        results.append(lazy.get())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_counts_from_parallel_threads_equal_sequential_counts() -> None:
    texts = [f"thread {i} says " + "lorem ipsum " * (100 * i) for i in range(6)]
    expected = [count_text(t) for t in texts]
    got: dict[int, int] = {}

    def worker(index: int) -> None:
        got[index] = count_text(texts[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [got[i] for i in range(len(texts))] == expected


def test_importing_the_module_does_not_load_the_tokenizer() -> None:
    code = "import sys, claude_gw.tokens; print('bpe_openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


# --------------------------------------------------------------------------- Anthropic


@pytest.mark.parametrize(
    "fixture", ["count_tokens_read_check.json", "count_tokens_context_command.json"]
)
def test_count_tokens_fixtures_count_about_a_quarter_of_their_characters(fixture: str) -> None:
    body = cli_body(fixture)
    chars = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False))
    assert 0.5 * chars / 4 <= count_anthropic_request(body) <= 1.5 * chars / 4


def test_85_kb_count_tokens_body_is_counted_fast() -> None:
    body = cli_body("count_tokens_read_check.json")
    count_anthropic_request(body)  # the first call may load the encoding
    started = time.perf_counter()
    count_anthropic_request(body)
    assert time.perf_counter() - started < 0.25


def test_docs_basic_example_counts_what_anthropic_answers() -> None:
    doc = json.loads((FIXTURES / "wire" / "anthropic-count-tokens.json").read_text())["basic"]
    assert count_anthropic_request(doc["request"]) == doc["response"]["input_tokens"]


def test_string_content_and_one_text_block_count_the_same() -> None:
    as_string = {"messages": [{"role": "user", "content": "Hello, Claude"}], "system": "Be brief"}
    as_blocks = {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}],
        "system": [{"type": "text", "text": "Be brief"}],
    }
    assert count_anthropic_request(as_string) == count_anthropic_request(as_blocks)


LONG = "the quick brown fox " * 50


@pytest.mark.parametrize(
    "block",
    [
        pytest.param({"type": "text", "text": LONG}, id="text"),
        pytest.param(
            {"type": "tool_use", "id": "t", "name": "Bash", "input": {"c": LONG}}, id="tool_use"
        ),
        pytest.param(
            {"type": "tool_result", "tool_use_id": "t", "content": LONG}, id="tool_result_string"
        ),
        pytest.param(
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [{"type": "text", "text": LONG}],
            },
            id="tool_result_nested_text",
        ),
        pytest.param({"type": "thinking", "thinking": LONG, "signature": "s"}, id="thinking"),
        pytest.param(
            {"type": "document", "source": {"type": "text", "data": LONG}},
            id="unknown_block_as_json",
        ),
    ],
)
def test_every_block_kind_counts_its_text(block: dict[str, Any]) -> None:
    assert count_anthropic_request(user(block)) >= count_text(LONG)


def test_tool_reference_counts_the_tool_name() -> None:
    reference = {"type": "tool_reference", "tool_name": "NotebookEdit"}
    text = {"type": "text", "text": "NotebookEdit"}
    assert count_anthropic_request(user(reference)) == count_anthropic_request(user(text))


def test_tools_count_name_description_and_schema() -> None:
    tool = {"name": "get_weather", "description": LONG, "input_schema": {"type": "object"}}
    without = count_anthropic_request(user({"type": "text", "text": "hi"}))
    with_tool = count_anthropic_request({**user({"type": "text", "text": "hi"}), "tools": [tool]})
    assert with_tool - without >= count_text(LONG) + count_text("get_weather")


def image_tokens(block: dict[str, Any]) -> int:
    return count_anthropic_request(user(block)) - count_anthropic_request(user())


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param(image_block(png(200, 150)), 40, id="png_200x150"),
        pytest.param(image_block(gif(100, 75), "image/gif"), math.ceil(7500 / 750), id="gif"),
        pytest.param(image_block(jpeg(640, 480), "image/jpeg"), 410, id="jpeg_640x480"),
        pytest.param(image_block(png(4000, 3000)), IMAGE_MAX_TOKENS, id="large_png_capped"),
        pytest.param(image_block("bm90IGFuIGltYWdl"), IMAGE_MAX_TOKENS, id="unreadable_data"),
        pytest.param(
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            IMAGE_MAX_TOKENS,
            id="url_source",
        ),
        pytest.param(
            {"type": "tool_result", "tool_use_id": "t", "content": [image_block(png(75, 10))]},
            1,
            id="png_inside_tool_result",
        ),
    ],
)
def test_images_are_estimated_from_their_size_like_anthropic(
    block: dict[str, Any], expected: int
) -> None:
    assert image_tokens(block) == expected


@pytest.mark.parametrize(
    ("data", "size"),
    [
        pytest.param(png(1, 2), (1, 2), id="png"),
        pytest.param(gif(300, 200), (300, 200), id="gif"),
        pytest.param(jpeg(1920, 1080), (1920, 1080), id="jpeg"),
        pytest.param("", None, id="empty"),
        pytest.param("!!!not base64!!!", None, id="not_base64"),
    ],
)
def test_image_size_reads_the_header(data: str, size: tuple[int, int] | None) -> None:
    assert image_size(data) == size


# --------------------------------------------------------------------------- OpenAI


def test_openai_prompt_counts_text_plus_per_message_framing() -> None:
    messages = [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "hello world"},
    ]
    text = (
        count_text("system")
        + count_text("Be brief")
        + count_text("user")
        + count_text("hello world")
    )
    # joined with newlines (3 separators), 3 per message, 3 to prime the reply
    assert count_openai_messages(messages) == text + 3 + 2 * 3 + 3


def test_openai_tools_and_tool_calls_add_to_the_prompt() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "Bash", "arguments": '{"c":"ls"}'}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": "a.txt"},
    ]
    tool = {"type": "function", "function": {"name": "Bash", "description": LONG, "parameters": {}}}
    plain = count_openai_messages(messages[:1])
    assert count_openai_messages(messages) > plain
    assert count_openai_messages(messages[:1], [tool]) - plain >= count_text(LONG)


@pytest.mark.parametrize(
    ("image_url", "expected"),
    [
        pytest.param({"url": "https://example.com/x.png", "detail": "low"}, 85, id="low_detail"),
        pytest.param({"url": f"data:image/png;base64,{png(512, 512)}"}, 85 + 170, id="one_tile"),
        pytest.param(
            {"url": f"data:image/png;base64,{png(1024, 1024)}"}, 85 + 170 * 4, id="four_tiles"
        ),
        # 4096x2048 -> 2048x1024 -> 1536x768: 3 x 2 tiles
        pytest.param(
            {"url": f"data:image/png;base64,{png(4096, 2048)}"}, 85 + 170 * 6, id="scaled"
        ),
    ],
)
def test_openai_images_follow_the_tile_rule(image_url: dict[str, str], expected: int) -> None:
    with_image = [{"role": "user", "content": [{"type": "image_url", "image_url": image_url}]}]
    empty = [{"role": "user", "content": []}]
    assert count_openai_messages(with_image) - count_openai_messages(empty) == expected
