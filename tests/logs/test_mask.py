"""`logs.mask`: known secrets masked in texts, bytes and streams split at every offset."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import unquote

import pytest

from claude_gw.logs.mask import Masker, base64_forms, printable

KEY = "sk-proj-Zq81xWv3Lm0pTt7Rk2Ny5Ub9Hc4Jd6Fg1Se8Ao3Ki7Ql2Wm5Xn0Rb4Vz6Cy9Du1"
MASKER = Masker([KEY, "hunter2"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"key {KEY} end", "key REDACTED end", id="whole_key"),
        pytest.param(f"key {KEY[:40]}!", "key REDACTED!", id="forty_character_prefix"),
        pytest.param(f"{KEY[:8]}", "REDACTED", id="eight_character_prefix"),
        pytest.param(f"{KEY[:7]} ok", f"{KEY[:7]} ok", id="seven_characters_reveal_nothing"),
        pytest.param("sk%2Dproj%2DZq81xW", "REDACTED", id="percent_encoded"),
        pytest.param("\\u0073k-proj-Zq81", "REDACTED", id="json_escaped"),
        pytest.param("pw hunter2, password", "pw REDACTED, password", id="short_secret_as_a_word"),
        pytest.param("50% of 100", "50% of 100", id="a_percent_sign_alone"),
        pytest.param(KEY + KEY, "REDACTEDREDACTED", id="twice"),
        pytest.param("sk%2dproj%2dZq81xW", "REDACTED", id="percent_encoded_lower_case_hex"),
        pytest.param("%73%6B%2d%70roj-Zq81", "REDACTED", id="percent_encoded_mixed_case_hex"),
        pytest.param("\\u0073\\u006B-proj-Zq81", "REDACTED", id="json_escaped_upper_case_hex"),
    ],
)
def test_masker_masks_every_prefix_of_eight_or_more_in_any_writing(
    text: str, expected: str
) -> None:
    assert MASKER.text(text) == expected
    assert MASKER.data(text.encode()) == expected.encode()


@pytest.mark.parametrize("size", range(1, 20))
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_a_stream_split_at_every_size_never_shows_eight_characters_of_the_key(
    size: int, as_bytes: bool
) -> None:
    text = f"ab {KEY} cd {KEY[:30]} e"
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    stream = MASKER.stream()
    out = [stream.feed(p.encode()) if as_bytes else stream.feed(p) for p in pieces]
    joined = "".join(o.decode() if isinstance(o, bytes) else o for o in out)
    assert KEY[:8] not in joined and KEY[20:28] not in joined  # no prefix, no rest of one
    assert joined.startswith("ab ") and joined.endswith(" e")


def percent(text: str) -> str:
    return "".join(f"%{byte:02x}" for byte in text.encode())


def json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(char):04X}" for char in text)


def decoded(text: str) -> str:
    return unquote(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text))


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(percent(KEY), id="percent_encoded"),
        pytest.param(json_escaped(KEY), id="json_escaped"),
        pytest.param("\\u0073" + KEY[1:], id="first_character_escaped_only"),
        pytest.param(KEY[:4] + percent(KEY[4:12]) + KEY[12:], id="escaped_in_the_middle"),
    ],
)
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_an_encoded_key_split_at_every_offset_never_shows_eight_characters_of_it(
    written: str, as_bytes: bool
) -> None:
    text = f"ab {written} cd"
    for cut in range(1, len(text)):
        for second in sorted({cut + 1, (cut + len(text)) // 2, len(text)}):
            pieces = [text[:cut], text[cut:second], text[second:]]
            stream = MASKER.stream()
            out = [stream.feed(p.encode()) if as_bytes else stream.feed(p) for p in pieces]
            joined = decoded("".join(o.decode() if isinstance(o, bytes) else o for o in out))
            shown = [KEY[i : i + 8] for i in range(len(KEY) - 7) if KEY[i : i + 8] in joined]
            assert not shown, (cut, second, joined)
            assert joined.startswith("ab ") and joined.endswith(" cd"), joined


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11])
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_an_encoded_key_in_many_small_chunks_never_shows_eight_characters_of_it(
    size: int, as_bytes: bool
) -> None:
    # Many chunks: an escape seen chunks ago must still make the masker look back at it.
    forms = (
        percent(KEY),
        json_escaped(KEY),
        "\\u0073" + KEY[1:],
        KEY[:2] + percent(KEY[2:4]) + KEY[4:],
    )
    for written in forms:
        text = f"ab 100% {written} cd \\u0041 {KEY[:3]}{percent(KEY[3:10])} e"
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        stream = MASKER.stream()
        out = [stream.feed(p.encode()) if as_bytes else stream.feed(p) for p in pieces]
        joined = decoded("".join(o.decode() if isinstance(o, bytes) else o for o in out))
        shown = [KEY[i : i + 8] for i in range(len(KEY) - 7) if KEY[i : i + 8] in joined]
        assert not shown, (size, joined)
        assert joined.startswith("ab 100% ") and joined.endswith(" e"), joined


def test_a_masker_without_secrets_returns_its_input_itself() -> None:
    text = "sk-proj-anything at all"
    assert Masker().text(text) is text and not Masker()


def test_printable_escapes_terminal_sequences_and_keeps_what_it_is_told() -> None:
    assert printable("a\nb\x1b[31mc\u202e", keep="\n") == "a\nb\\x1b[31mc\\u202e"


def test_value_masks_every_string_of_a_json_value_and_copies_only_what_changed() -> None:
    doc: dict[str, Any] = {"content": [{"text": f"k {KEY}"}, {"text": "fine"}], KEY[:9]: 1, "n": 2}
    untouched = {"content": [{"text": "fine"}], "n": 2}
    assert MASKER.value(doc) == {
        "content": [{"text": "k REDACTED"}, {"text": "fine"}],
        "REDACTED": 1,
        "n": 2,
    }
    assert doc["content"][0]["text"] == f"k {KEY}"  # not changed in place
    assert MASKER.value(untouched) is untouched


@pytest.mark.parametrize("before", ["", "u", "us", "user:", "Basic tok:"])
@pytest.mark.parametrize("after", ["", "\n", "!!"])
@pytest.mark.parametrize("url_safe", [False, True], ids=["standard", "url_safe"])
def test_the_key_base64_encoded_at_any_offset_is_masked(
    before: str, after: str, url_safe: bool
) -> None:
    masker = Masker([KEY, *base64_forms(KEY)])
    encode = base64.urlsafe_b64encode if url_safe else base64.b64encode
    blob = encode((before + KEY + after).encode()).decode()
    masked = masker.text(f"token {blob} end")
    assert "REDACTED" in masked and masked.startswith("token ") and masked.endswith(" end")
    # what is left of the blob is its ends: before the key, the characters up to its first
    # own one (4 per 3 bytes before it, then 0, 2 or 3 by the offset); after it, at most the
    # encoded `after` and the group the key's last bytes share with it
    head, tail = masked.removeprefix("token ").removesuffix(" end").split("REDACTED")
    full, offset = divmod(len(before), 3)
    assert head == blob[: full * 4 + (0, 2, 3)[offset]]
    assert blob.endswith(tail) and len(tail) <= len(encode(after.encode())) + 4
    assert masker.data(f"token {blob} end".encode()) == masked.encode()


def test_base64_forms_are_the_characters_of_the_key_alone_at_each_offset() -> None:
    # "sk-proj-" at offset 0 encodes as c2stcHJvai0 (11 characters: 8 bytes are 10 whole
    # characters and 4 bits of an 11th, which depends on what follows), worked out by hand
    # from the table: s=0x73 k=0x6b -=0x2d -> 011100 110110 101100 101101 -> c 2 s t
    forms = base64_forms("sk-proj-")
    assert forms[0] == "c2stcHJvai"
    assert all(len(form) >= 8 for form in forms)
    assert base64_forms("short") == []  # its forms would be under 8 characters


LONG_FILLER = (
    "jokes, sk-proj " * 100
)  # over the anchored search's threshold; "j" (the anchor) common


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(LONG_FILLER, id="long_without_the_key"),
        pytest.param(LONG_FILLER + KEY, id="key_at_the_end_after_many_anchors"),
        pytest.param(KEY + LONG_FILLER, id="key_at_the_start"),
        pytest.param(LONG_FILLER[:40] + KEY[:8] + LONG_FILLER, id="head_alone_early"),
        pytest.param("x" * 2000 + KEY[:8], id="head_at_the_very_end"),
    ],
)
@pytest.mark.parametrize(
    "key",
    [
        pytest.param(KEY, id="head_with_a_rare_character"),
        pytest.param("sk-ant-a" + KEY[8:], id="head_of_common_characters_only"),
    ],
)
def test_long_texts_are_searched_by_a_rare_character_of_each_head_with_the_same_result(
    text: str, key: str
) -> None:
    text = text.replace(KEY[:8], key[:8])
    masker = Masker([key, f"Bearer {key}"])
    expected = key[:8] in text
    assert masker.may_hold(text) is expected
    assert masker.may_hold(text.encode()) is expected
    assert (key[:8] in masker.text(text)) is False
    assert (key[:8].encode() in masker.stream().feed(text.encode())) is False
