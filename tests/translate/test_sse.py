"""SSE framing: the decoder against every recorded stream and every byte split; the encoder."""

from __future__ import annotations

import json
import random
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_gw.translate.sse import SSEDecoder, SSEEvent, encode_event

WIRE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "wire"
SSE_FIXTURES = sorted(WIRE.glob("*.sse"))


def decode(data: bytes, offsets: list[int] | tuple[int, ...] = ()) -> list[SSEEvent]:
    """Decode `data` fed in pieces cut at `offsets`, then flushed."""
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    start = 0
    for offset in [*sorted(offsets), len(data)]:
        events.extend(decoder.feed(data[start:offset]))
        start = offset
    events.extend(decoder.flush())
    return events


def fixture_id(path: Path) -> str:
    return path.name.removesuffix(".sse")


def test_every_wire_fixture_is_found() -> None:
    assert len(SSE_FIXTURES) >= 6


# --------------------------------------------------------------------------- recorded streams


@pytest.mark.parametrize("path", SSE_FIXTURES, ids=fixture_id)
def test_fixture_decodes_to_one_event_per_blank_line_separated_block(path: Path) -> None:
    data = path.read_bytes()
    events = decode(data)
    blocks = [block for block in data.decode("utf-8").split("\n\n") if block.strip()]
    assert len(events) == len(blocks)
    for event in events:
        if event.data == "[DONE]":
            continue
        doc = json.loads(event.data)
        # OpenAI chat streams carry no `event:` line; the others name the JSON's own type.
        assert event.event == doc.get("type")


@pytest.mark.parametrize("path", SSE_FIXTURES, ids=fixture_id)
def test_fixture_split_at_every_offset_decodes_like_the_whole(path: Path) -> None:
    data = path.read_bytes()
    whole = decode(data)
    for offset in range(len(data) + 1):
        assert decode(data, [offset]) == whole, offset


@pytest.mark.parametrize("path", SSE_FIXTURES, ids=fixture_id)
def test_fixture_split_at_two_sampled_offsets_decodes_like_the_whole(path: Path) -> None:
    data = path.read_bytes()
    whole = decode(data)
    rng = random.Random(path.name)
    for _ in range(300):
        offsets = sorted(rng.randrange(len(data) + 1) for _ in range(2))
        assert decode(data, offsets) == whole, offsets


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["crlf", "cr"])
@pytest.mark.parametrize("path", SSE_FIXTURES, ids=fixture_id)
def test_fixture_with_other_line_ends_split_anywhere_decodes_the_same(
    path: Path, line_end: bytes
) -> None:
    data = path.read_bytes()
    whole = decode(data)
    variant = data.replace(b"\n", line_end)
    assert decode(variant) == whole
    # Every split right after a `\r` (where `\r\n` can be torn apart), and a sample of others.
    after_cr = [i + 1 for i, byte in enumerate(variant) if byte == ord("\r")]
    for offset in sorted({*after_cr, *range(0, len(variant) + 1, 7)}):
        assert decode(variant, [offset]) == whole, offset


def test_crlf_split_between_cr_and_lf_dispatches_without_waiting_for_more_bytes() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n\r") == [SSEEvent(None, "a")]
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [SSEEvent(None, "b")]
    assert decoder.flush() == []


def test_multibyte_utf8_split_at_every_byte_decodes_the_same() -> None:
    data = "event: t\ndata: café 🎉 中文\n\n".encode()
    whole = decode(data)
    assert whole == [SSEEvent("t", "café 🎉 中文")]
    for offset in range(len(data) + 1):
        for second in range(offset, len(data) + 1):
            assert decode(data, [offset, second]) == whole, (offset, second)


# --------------------------------------------------------------------------- field rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("data:x\n\n", [SSEEvent(None, "x")], id="no_space_after_colon"),
        pytest.param("data: x\n\n", [SSEEvent(None, "x")], id="one_space_is_stripped"),
        pytest.param("data:  x\n\n", [SSEEvent(None, " x")], id="only_one_space_is_stripped"),
        pytest.param(
            'data: {"a":1}  \n\n', [SSEEvent(None, '{"a":1}  ')], id="trailing_spaces_are_kept"
        ),
        pytest.param("data: a\ndata: b\n\n", [SSEEvent(None, "a\nb")], id="data_lines_joined"),
        pytest.param("data\n\n", [SSEEvent(None, "")], id="field_without_colon_is_empty_data"),
        pytest.param("data:\n\n", [SSEEvent(None, "")], id="empty_data_is_still_an_event"),
        pytest.param("event: ping\n\n", [], id="event_without_data_is_not_dispatched"),
        pytest.param(
            "event: a\n\ndata: x\n\n", [SSEEvent(None, "x")], id="event_name_resets_at_blank_line"
        ),
        pytest.param(
            "event: message_stop \ndata: {}\n\n",
            [SSEEvent("message_stop", "{}")],
            id="trailing_space_in_event_name_is_dropped",
        ),
        pytest.param(": keep-alive\n\n", [], id="comment_is_ignored"),
        pytest.param(
            "id: 7\nretry: 10\nfoo: bar\ndata: x\n\n",
            [SSEEvent(None, "x")],
            id="id_retry_and_unknown_fields_are_ignored",
        ),
        pytest.param("\ufeffdata: x\n\n", [SSEEvent(None, "x")], id="leading_bom_is_dropped"),
        pytest.param(
            "data: x\n\n\n\ndata: y\n\n",
            [SSEEvent(None, "x"), SSEEvent(None, "y")],
            id="extra_blank_lines_are_harmless",
        ),
        pytest.param("data: [DONE]\n\n", [SSEEvent(None, "[DONE]")], id="done_is_plain_data"),
    ],
)
def test_field_rules_follow_the_sse_spec(text: str, expected: list[SSEEvent]) -> None:
    assert decode(text.encode()) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"data: x", [SSEEvent(None, "x")], id="unterminated_line"),
        pytest.param(b"data: x\n", [SSEEvent(None, "x")], id="missing_blank_line"),
        pytest.param(b"data: x\r", [SSEEvent(None, "x")], id="missing_blank_line_after_cr"),
        pytest.param(b"event: a\n", [], id="nothing_with_data"),
        pytest.param(b"", [], id="empty_stream"),
    ],
)
def test_flush_emits_the_event_a_cut_stream_left_pending(
    data: bytes, expected: list[SSEEvent]
) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(data) == []
    assert decoder.flush() == expected


def test_invalid_utf8_is_replaced_rather_than_raising() -> None:
    assert decode(b"data: \xff\xfe\n\n") == [SSEEvent(None, "\ufffd\ufffd")]


# --------------------------------------------------------------------------- encoder


def test_encode_event_writes_the_event_line_and_compact_json() -> None:
    event = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "é"},
    }
    assert encode_event(event) == (
        b"event: content_block_delta\n"
        b'data: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"\xc3\xa9"}}\n\n'
    )


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"type": "ping"}, id="ping"),
        pytest.param({"type": "message_stop"}, id="message_stop"),
        pytest.param(
            {"type": "content_block_delta", "index": 2, "delta": {"text": "a\nb\r\n\rc"}},
            id="line_ends_inside_text",
        ),
        pytest.param(
            {"type": "content_block_delta", "delta": {"text": "café 🎉 \u2028 中文"}},
            id="non_ascii_text",
        ),
        pytest.param(
            {"type": "error", "error": {"type": "api_error", "message": 'quote " and \\'}},
            id="escapes",
        ),
    ],
)
def test_encoded_event_round_trips_through_the_decoder(event: dict[str, object]) -> None:
    data = encode_event(event)
    assert decode(data) == [
        SSEEvent(str(event["type"]), json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    ]
    for offset in range(len(data) + 1):
        [decoded] = decode(data, [offset])
        assert json.loads(decoded.data) == event


def test_encoded_lone_surrogate_becomes_its_json_escape() -> None:
    event = {"type": "content_block_delta", "delta": {"text": "a\ud83d"}}
    data = encode_event(event)
    assert b"\\ud83d" in data
    [decoded] = decode(data)
    assert json.loads(decoded.data) == event


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits orjson refuses
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # any code point, lone surrogates and control characters included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1), JSON_VALUES)
def test_a_faster_json_encoder_gives_the_same_event(kind: str, value: object) -> None:
    # orjson's bytes may spell a float differently, never a different value; what it refuses
    # (lone surrogates, big integers) is encoded by the standard library
    event = {"type": kind, "value": value}
    fast, reference = encode_event(event, dumps=orjson.dumps), encode_event(event)
    [got], [expected] = decode(fast), decode(reference)
    assert got.event == expected.event == kind
    assert json.loads(got.data) == json.loads(expected.data) == json.loads(json.dumps(event))
