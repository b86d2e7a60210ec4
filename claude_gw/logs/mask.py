"""Masking the secrets the gateway knows (the upstream key, URL credentials) in everything that
leaves it, and making text safe for a terminal.

`Masker(secrets)` masks any run of 8 or more leading characters of a secret, plainly written,
percent-encoded or JSON-escaped; `StreamMasker` does it over a stream of chunks; `printable`
shows terminal escapes instead of obeying them. Pure: stdlib only. `logs.redact` is the other
half: secrets the gateway does not know, recognised by their shape or their name.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Iterable
from typing import Any, AnyStr

from claude_gw.logs.redact import REDACTED

# --- Known secrets: the upstream key, URL credentials ------------------------------------------

MIN_PREFIX = 8  # this many leading characters of a secret are masked; fewer reveal nothing
_TAIL = MIN_PREFIX - 1
# Percent-escapes and JSON `\u` escapes of ASCII characters: the two ways a secret can be written
# without its own characters (`sk%2Dproj`, `\u0073k-proj`). Decoded only when their marker occurs.
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_JSON_ESCAPE = re.compile(r"\\u00([2-7][0-9A-Fa-f])")


def _hex_pattern(byte: int) -> str:
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{byte:02x}")


def _char_pattern(char: str) -> str:
    """A regex for every way `char` is written: as itself, percent-encoded, JSON-escaped."""
    forms = [re.escape(char), "".join("%" + _hex_pattern(b) for b in char.encode())]
    if ord(char) < 0x80:
        forms.append(r"\\u00" + _hex_pattern(ord(char)))
    if char == "/":
        forms.append(r"\\/")
    return "(?:" + "|".join(forms) + ")"


def _decode_escapes(text: str) -> str:
    """`text` with the percent-escapes and the JSON escapes of ASCII decoded (for detection)."""
    if "%" in text:
        text = _PERCENT_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    if "\\u00" in text:
        text = _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    return text


def _has_escape(text: str | bytes) -> bool:
    """Whether `text` holds a percent-escape or a JSON `\\u00` escape marker. A marker of one
    byte first (memchr-fast): the 4-byte search, several times slower, only runs on text that
    has a backslash at all."""
    # bytes.find, not `in`: `in` goes through the buffer protocol, twice as slow on short bytes
    if isinstance(text, bytes):
        return text.find(b"%") != -1 or (text.find(b"\\") != -1 and text.find(b"\\u00") != -1)
    return "%" in text or ("\\" in text and "\\u00" in text)


def base64_forms(secret: str) -> list[str]:
    """How `secret` reads inside base64 text (a Basic token, a data URL, an encoded blob), at
    each of the three byte offsets it can sit at, in the standard and the URL-safe alphabet:
    the characters that depend on the secret's bytes alone (a character that also holds bits of
    the bytes around it is left off each end). Masking these masks the secret, or its first
    `MIN_PREFIX` encoded characters and more, wherever it was encoded."""
    data = secret.encode("utf-8")
    forms: list[str] = []
    for shift, first in ((0, 0), (1, 2), (2, 3)):  # bytes before it; first character of its own
        encoded = b64encode(bytes(shift) + data).decode("ascii").rstrip("=")
        own = encoded[first : len(encoded) - (1 if (shift + len(data)) % 3 else 0)]
        forms += [own, own.replace("+", "-").replace("/", "_")]
    return list(dict.fromkeys(form for form in forms if len(form) >= MIN_PREFIX))


# Characters common in what the gateway masks (JSON, English, code): a head is searched for by
# its first character not among them, if it has one (see `_holds_any`).
_COMMON = ' etonisar"ldcumph,0:-fg\\\ny.bw12kv_5763x94/8`{}'
# After this many places where a head's anchor is not the start of the head, the
# rest of the text is searched for the whole head at once.
_ANCHOR_TRIES = 4
# Texts this long or longer are searched by each head's anchor (`_holds_any`).
_ANCHORED_MIN = 256


def _anchor(head: AnyStr) -> tuple[int, AnyStr]:
    """(offset, character) of `head`'s first character that `_COMMON` does not list; offset -1
    when it has none (such a head, `sk-ant-a` say, is searched for whole: in JSON an anchor such
    as the `k` of `tokens` would occur too often to save anything)."""
    for offset in range(len(head)):
        char = head[offset : offset + 1]
        if (char.decode("latin-1") if isinstance(char, bytes) else char) not in _COMMON:
            return offset, char
    return -1, head[:0]


def _holds_any(text: str | bytes, heads: tuple[tuple[Any, int, Any], ...]) -> bool:
    """Whether any of `heads` ((head, offset, anchor) each) occurs in `text`.

    A search for a whole head costs about 1 ns per byte of `text`; for one character (memchr),
    a tenth of that. So in a long text (a log line, a whole answer) a head with a rare
    character (`anchor`, at `offset` in the head) is looked for by it and compared where it is;
    after `_ANCHOR_TRIES` places where it is not the head, the rest of the text is searched
    for the whole head. A short text is searched for the whole heads: there the calls cost
    more than the bytes."""
    if len(text) < _ANCHORED_MIN:
        for head, _, _ in heads:  # a loop, not any(): no generator on the hot path
            if text.find(head) != -1:
                return True
        return False
    for head, offset, anchor in heads:
        if offset < 0:  # no rare character in this head
            if text.find(head) != -1:
                return True
            continue
        at = text.find(anchor, offset)
        tries = 0
        while at != -1:
            start = at - offset
            if text.startswith(head, start):
                return True
            tries += 1
            if tries == _ANCHOR_TRIES:
                if text.find(head, start + 1) != -1:
                    return True
                break
            at = text.find(anchor, at + 1)
    return False


class _Secret:
    """One secret and its precompiled patterns."""

    __slots__ = (
        "anchor",
        "anchor_byte",
        "chars",
        "encoded_head",
        "head",
        "head_bytes",
        "offset",
        "offset_bytes",
        "short",
        "text",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.head = text[:MIN_PREFIX]
        self.head_bytes = self.head.encode("utf-8")
        self.offset, self.anchor = _anchor(self.head)
        self.offset_bytes, self.anchor_byte = _anchor(self.head_bytes)
        self.short = len(text) < MIN_PREFIX
        self.chars = tuple(re.compile(_char_pattern(c)) for c in text)
        self.encoded_head = re.compile("".join(_char_pattern(c) for c in self.head))

    def plain_spans(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, characters of the secret matched) of each plain run in `text`."""
        found = []
        at = text.find(self.head)
        while at != -1:
            end, matched = at + len(self.head), len(self.head)
            if text.startswith(self.text, at):
                end, matched = at + len(self.text), len(self.text)
            else:
                while (
                    matched < len(self.text) and end < len(text) and text[end] == self.text[matched]
                ):
                    end, matched = end + 1, matched + 1
            if not self.short or self._stands_alone(text, at, end):
                found.append((at, end, matched))
            at = text.find(self.head, end)
        return found

    def encoded_spans(self, text: str) -> list[tuple[int, int, int]]:
        """Like `plain_spans`, each character written plainly, percent-encoded or escaped."""
        found = []
        for match in self.encoded_head.finditer(text):
            end, matched = match.end(), len(self.head)
            while matched < len(self.text) and (more := self.chars[matched].match(text, end)):
                end, matched = more.end(), matched + 1
            if not self.short or self._stands_alone(text, match.start(), end):
                found.append((match.start(), end, matched))
        return found

    @staticmethod
    def _stands_alone(text: str, start: int, end: int) -> bool:
        # A secret too short for its prefix to be masked (a URL password such as `hunter2`) is
        # masked where it is a whole word, so that `pass` does not mask `password`.
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        return not (before.isalnum() or after.isalnum())


Span = tuple[int, int, _Secret, int]  # start, end, secret, characters of it matched


class Masker:
    """Masks known secrets in every text that leaves the gateway (answers, log lines, console).

    Contract: `text(s)` holds no run of `MIN_PREFIX` or more characters that a secret starts
    with (the whole secret included), written plainly, percent-encoded or JSON-escaped
    (character by character, in any mix); each run becomes `REDACTED`. A secret shorter than
    `MIN_PREFIX` is masked where it stands as a whole word. Prefixes are found with one
    substring search for each secret's first `MIN_PREFIX` characters (then extended in place):
    a text without any costs that search alone, about a microsecond per 10 KB; escapes are
    decoded and searched only when a `%` or `\\u00` occurs.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        unique = {str(s) for s in secrets if s and str(s).strip()}
        self._secrets = tuple(_Secret(s) for s in sorted(unique, key=len, reverse=True))
        # (head, offset, anchor) of each secret, for `_holds_any`
        self._heads = tuple((s.head, s.offset, s.anchor) for s in self._secrets)
        self._heads_bytes = tuple(
            (s.head_bytes, s.offset_bytes, s.anchor_byte) for s in self._secrets
        )

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __or__(self, other: Masker) -> Masker:
        return Masker([*(s.text for s in self._secrets), *(s.text for s in other._secrets)])

    def may_hold(self, text: str | bytes) -> bool:
        """False when `text` surely holds no secret (the cheap test `text` and `data` run)."""
        heads: tuple[Any, ...] = self._heads_bytes if isinstance(text, bytes) else self._heads
        return _holds_any(text, heads) or (bool(heads) and _has_escape(text))

    def text(self, text: str) -> str:
        """`text` with every secret run masked (see the class)."""
        if not self.may_hold(text) or not (spans := self.spans(text)):
            return text
        return self._masked(text, spans)

    def data(self, data: bytes) -> bytes:
        """`text` for bytes (UTF-8 or not: secrets are matched byte for byte)."""
        if not self.may_hold(data):
            return data
        text = data.decode("latin-1")  # one character per byte, both ways
        if not (spans := self.spans(text)):
            return data
        return self._masked(text, spans).encode("latin-1")

    def value(self, value: Any) -> Any:
        """`text` on every string of a JSON value (keys included); the value itself when no
        string changed, else a masked copy (the value is not changed in place)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            items = [(self.value(k), self.value(v)) for k, v in value.items()]
            pairs = zip(items, value.items(), strict=True)
            same = all(k is k0 and v is v0 for (k, v), (k0, v0) in pairs)
            return value if same else dict(items)
        if isinstance(value, list):
            masked = [self.value(item) for item in value]
            return value if all(m is v for m, v in zip(masked, value, strict=True)) else masked
        return value

    def spans(self, text: str) -> list[Span]:
        """Every secret run in `text`, sorted, overlapping runs merged."""
        escaped = _has_escape(text)
        decoded = _decode_escapes(text) if escaped else text
        found: list[Span] = []
        for secret in self._secrets:
            if secret.head not in decoded:
                continue
            runs = secret.encoded_spans(text) if escaped else secret.plain_spans(text)
            found += [(start, end, secret, matched) for start, end, matched in runs]
        return _merged(sorted(found, key=lambda span: (span[0], -span[1])))

    @staticmethod
    def _masked(text: str, spans: list[Span]) -> str:
        parts, at = [], 0
        for start, end, _, _ in spans:
            parts += [text[at:start], REDACTED]
            at = end
        parts.append(text[at:])
        return "".join(parts)

    def stream(self) -> StreamMasker:
        """A masker for one stream of text chunks (see `StreamMasker`)."""
        return StreamMasker(self)


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            last = merged[-1]
            if span[1] > last[1]:
                merged[-1] = (last[0], span[1], span[2], span[3])
            continue
        merged.append(span)
    return merged


# How much of the end of a stream a `StreamMasker` keeps, to see a secret written over two chunks:
# the characters before a run's `MIN_PREFIX`th plainly, and with escapes `MIN_PREFIX - 1`
# characters at their longest (`%E2%82%AC` is 3 bytes of UTF-8 percent-encoded: 12 characters)
# and a cut escape after them (`\\u00` with one digit: 5).
_KEPT = _TAIL * 12 + 5
# A run ending this near the end of what came may go on in the next chunk (a cut escape).
_OPEN_END = 11


class StreamMasker:
    """`Masker.text` over a stream of chunks (all `str` or all `bytes`), as if they were one.

    Contract: the concatenation of what `feed` returns holds no secret run of `MIN_PREFIX`
    characters, plain or escaped, even one split over chunks, escapes cut in
    two included; nor any part of such a run past its first `MIN_PREFIX - 1` characters.
    Nothing is held back: the start of a run sent before it was known to be one is at most
    `MIN_PREFIX - 1` characters, which reveal nothing; the rest of the run, in this chunk and
    the next ones, is masked. To see runs across chunks the masker keeps the end of the stream
    as it came (unmasked): a few dozen characters, or the whole of a run still going on.
    """

    __slots__ = ("_escaped", "_masker", "_open", "_tail")

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._tail: str | bytes = ""  # the end of the stream as it came (see the class)
        self._open = False  # the tail holds a run that may go on in the next chunk
        self._escaped = False  # the tail may hold an escape marker

    def feed(self, chunk: AnyStr) -> AnyStr:
        masker = self._masker
        if not chunk or not masker._secrets:
            return chunk
        tail: Any = self._tail if type(self._tail) is type(chunk) else chunk[:0]
        # The window, not may_hold(): this runs once per upstream read of every stream. A run can
        # only begin in the chunk or in the last characters before it (a plain head, a cut
        # escape marker), unless the tail holds an escape: that case is remembered.
        hit = self._open or self._escaped
        if not hit:
            window: Any = tail[-_TAIL:] + chunk
            as_bytes = isinstance(window, bytes)
            if len(window) >= _ANCHORED_MIN:
                hit = _holds_any(window, masker._heads_bytes if as_bytes else masker._heads)
            elif as_bytes:
                for head, _, _ in masker._heads_bytes:  # a loop, not any(): no generator here
                    if window.find(head) != -1:
                        hit = True
                        break
            else:
                for text_head, _, _ in masker._heads:
                    if text_head in window:
                        hit = True
                        break
            if not hit and as_bytes:
                hit = window.find(b"%") != -1 or (
                    window.find(b"\\") != -1 and window.find(b"\\u00") != -1
                )
            elif not hit:
                hit = "%" in window or ("\\" in window and "\\u00" in window)
        if hit:
            out: AnyStr = self._masked(tail, chunk)
            self._escaped = _has_escape(self._tail)
            return out
        keep = _KEPT
        self._tail = chunk[-keep:] if len(chunk) >= keep else (tail + chunk)[-keep:]
        return chunk

    @property
    def state(self) -> tuple[Any, ...]:
        """What the masker remembers of the chunks so far, to go back to (`state = ...`)."""
        return self._tail, self._open, self._escaped

    @state.setter
    def state(self, value: tuple[Any, ...]) -> None:
        self._tail, self._open, self._escaped = value[0], bool(value[1]), bool(value[2])

    def _masked(self, tail: Any, chunk: Any) -> Any:
        as_bytes = isinstance(chunk, bytes)
        joined = tail + chunk
        window: str = joined.decode("latin-1") if as_bytes else joined
        offset = len(tail)
        parts: list[str] = []
        at = offset
        kept = max(len(window) - _KEPT, 0)  # where the next tail starts
        self._open = False
        for start, end, secret, matched in self._masker.spans(window):
            if end > len(window) - _OPEN_END and matched < len(secret.text):
                kept, self._open = min(kept, start), True
            if end <= offset:
                continue
            parts += [window[at : max(start, offset)], REDACTED]
            at = end
        parts.append(window[at:])
        self._tail = joined[kept:]
        out = "".join(parts)
        return out.encode("latin-1") if as_bytes else out


# --- Terminal output ----------------------------------------------------------------------------

_SHOWN_AS_IS = frozenset("\t")


def printable(text: str, *, keep: str = "") -> str:
    """`text` safe to print on a terminal: every control character (ESC, CR, BEL, the C1 range)
    and every invisible format character (the bidirectional overrides) written as a Python
    escape, `\\x1b[31m` instead of red. Characters in `keep` (e.g. newlines) stay."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char in keep or char in _SHOWN_AS_IS else repr(char)[1:-1]
        for char in text
    )
