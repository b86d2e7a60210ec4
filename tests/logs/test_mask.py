"""`logs.mask`: known secrets masked in texts, bytes and streams split at every offset."""

from __future__ import annotations

import pytest

from claude_gw.logs.mask import Masker, printable

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
    out = [stream.feed(p.encode() if as_bytes else p) for p in pieces]
    joined = "".join(o.decode() if isinstance(o, bytes) else o for o in out)
    assert KEY[:8] not in joined and KEY[20:28] not in joined  # no prefix, no rest of one
    assert joined.startswith("ab ") and joined.endswith(" e")


def test_a_masker_without_secrets_returns_its_input_itself() -> None:
    text = "sk-proj-anything at all"
    assert Masker().text(text) is text and not Masker()


def test_printable_escapes_terminal_sequences_and_keeps_what_it_is_told() -> None:
    assert printable("a\nb\x1b[31mc\u202e", keep="\n") == "a\nb\\x1b[31mc\\u202e"
