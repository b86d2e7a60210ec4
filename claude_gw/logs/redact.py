"""Secret redaction for log records: which headers and query keys are secret, and masking of
key-looking tokens in free text (URIs, error messages quoted from upstreams, payloads)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, AnyStr
from urllib.parse import quote, unquote, unquote_plus

REDACTED = "REDACTED"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
SECRET_QUERY_KEYS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token"})
# A header or query parameter whose name holds one of these (`x-goog-api-key`, `openai_key`,
# `x-amz-security-token`, `client_secret`, `x-custom-auth`) carries a credential.
SECRET_NAME_PARTS = ("key", "token", "secret", "auth", "password", "passwd", "credential")
SECRET_NAMES = frozenset({"sig", "signature", "pwd", "pass", "code"})

# (pattern, replacement, hints): each pattern starts at a word boundary with one of its hints
# (case-insensitively), so a text where no hint starts a word cannot match it. The hints are
# looked for first, with substring searches that cost a fraction of a regex scan: most texts
# (headers, URIs, request and response bodies, where "max_tokens" and "input_tokens" hold a
# hint but not at a word's start) then skip every pattern.
_SECRET_PATTERNS = (
    # OpenAI / Anthropic style keys: sk-..., sk-proj-..., sk-ant-api03-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), REDACTED, ("sk-",)),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), REDACTED, ("aiza",)),  # Google API keys
    (
        re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*"),
        rf"\1 {REDACTED}",
        ("bearer", "basic"),
    ),
    (
        re.compile(
            r"(?i)\b((?:api[_-]?)?key|token|secret|access[_-]?token|client[_-]?secret|password"
            r"|passwd|credentials?)([\"']?\s*[=:]\s*[\"']?)[A-Za-z0-9_\-./+]{16,}=*"
        ),
        rf"\1\2{REDACTED}",
        ("api", "key", "token", "secret", "access", "client", "pass", "credential"),
    ),
)


# Every pattern, case-insensitive and cut after its shortest match, in one scan: a text without
# a match (most header values, URIs and bodies) cannot match any pattern and is returned as it
# is; the hints below then pick which patterns to run on the rest. The lookahead lists every
# character that a pattern's first letter matches case-insensitively (the long s and the Kelvin
# sign included): it lets the scan skip other positions without the slow case-insensitive
# comparison (3x faster on the Claude CLI's anthropic-beta header).
FIRST_LETTERS = "sSaAbBkKtTcCpP\u017f\u212a"
_ANY_MATCH = re.compile(
    rf"(?=[{FIRST_LETTERS}])\b(?i:"
    r"sk-[a-z0-9_\-]{16}"
    r"|aiza[0-9a-z_\-]{30}"
    r"|(?:bearer|basic)\s+[a-z0-9\-._~+/]{8}"
    r"|(?:(?:api[_-]?)?key|token|secret|access[_-]?token|client[_-]?secret|password|passwd"
    r"|credentials?)[\"']?\s*[=:]\s*[\"']?[a-z0-9_\-./+]{16}"
    r")"
)

# Token shapes that their issuers document, case-sensitive, each masked whole: AWS access key
# ids, GitHub and GitLab tokens, Slack, Stripe and Hugging Face tokens, Google OAuth access
# tokens, JSON Web Tokens, PEM private keys, and the user:password of a URL. One scan finds
# them all: every alternative starts with a fixed character, so the regex engine skips the
# positions where none of those characters is.
_TOKEN_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36}"
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|gl(?:pat|dt|rt|ft)-[A-Za-z0-9_\-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|ya29\.[A-Za-z0-9_\-]{20,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"
    r")(?![A-Za-z0-9])"
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----(?:.*?-----END[A-Z ]*PRIVATE KEY-----|.*)"
    r"|(?<=://)[^\s/?#@\"'<>]+:[^\s/?#@\"'<>]*@",
    re.DOTALL,
)


def _token_shape(match: re.Match[str]) -> str:
    return f"{REDACTED}@" if match[0].endswith("@") else REDACTED


def starts_a_word(text: str, hint: str) -> bool:
    """Whether `hint` occurs in `text` at a word boundary (`\\b`: not after a word character)."""
    at = text.find(hint)
    while at != -1:
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
            return True
        at = text.find(hint, at + 1)
    return False


def scrub_secrets(text: str) -> str:
    """`text` with API-key-looking tokens masked: `sk-...`, `Bearer xxx`, `key=<long secret>`,
    the documented token shapes above, and the password of a `user:password@` URL."""
    if _TOKEN_SHAPES.search(text) is not None:
        text = _TOKEN_SHAPES.sub(_token_shape, text)
    if _ANY_MATCH.search(text) is None:
        return text
    folded = text.casefold()
    for pattern, replacement, hints in _SECRET_PATTERNS:
        if any(starts_a_word(folded, hint) for hint in hints):
            text = pattern.sub(replacement, text)
    return text


def scrub_secrets_everywhere(text: str) -> str:
    """`scrub_secrets` without the hints: every pattern applied (the reference it must equal)."""
    text = _TOKEN_SHAPES.sub(_token_shape, text)
    for pattern, replacement, _ in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def secret_name(name: str) -> bool:
    """Whether a header or query parameter of this name carries a credential."""
    lowered = name.lower()
    return (
        lowered in SECRET_HEADERS
        or lowered in SECRET_QUERY_KEYS
        or lowered in SECRET_NAMES
        or any(part in lowered for part in SECRET_NAME_PARTS)
    )


def scrub_query_pair(name: str, value: str | None) -> tuple[str, str | None]:
    """(name, value) of one decoded query parameter as logged: the value of a secret-named
    parameter is REDACTED, and either part that looks like a key (`?sk-...`) is scrubbed."""
    if value is not None and secret_name(name):
        return scrub_secrets(name), REDACTED
    return scrub_secrets(name), scrub_secrets(value) if value else value


def scrub_query(query: str) -> str:
    """A raw query string as logged: each `name=value` piece whose decoded form holds a secret
    becomes `name=REDACTED` (percent-encoded keys such as `sk%2D...` included); the others stay
    as they were sent."""
    pieces = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        plain_name, plain_value = unquote_plus(name), unquote_plus(value) if sep else None
        scrubbed = scrub_query_pair(plain_name, plain_value)
        if scrubbed == (plain_name, plain_value):
            pieces.append(piece)
        else:
            masked_name, masked_value = scrubbed
            name_part = name if masked_name == plain_name else quote(masked_name)
            pieces.append(name_part + (f"={quote(masked_value or '')}" if sep else ""))
    return "&".join(pieces)


def scrub_path(path: str) -> str:
    """A request path as logged: scrubbed, in its percent-decoded form too."""
    scrubbed = scrub_secrets(path)
    if "%" in scrubbed:
        plain = unquote(scrubbed)
        if (masked := scrub_secrets(plain)) != plain:
            return quote(masked, safe="/")
    return scrubbed


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
    # bytes.find, not `in`: `in` goes through the buffer protocol, twice as slow on short bytes
    if isinstance(text, bytes):
        return text.find(b"%") != -1 or text.find(b"\\u00") != -1
    return "%" in text or "\\u00" in text


class _Secret:
    """One secret and its precompiled patterns."""

    __slots__ = ("chars", "encoded_head", "head", "head_bytes", "short", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.head = text[:MIN_PREFIX]
        self.head_bytes = self.head.encode("utf-8")
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
        self._heads = tuple(s.head for s in self._secrets)
        self._heads_bytes = tuple(s.head_bytes for s in self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __or__(self, other: Masker) -> Masker:
        return Masker([*(s.text for s in self._secrets), *(s.text for s in other._secrets)])

    def may_hold(self, text: str | bytes) -> bool:
        """False when `text` surely holds no secret (the cheap test `text` and `data` run)."""
        heads: tuple[Any, ...] = self._heads_bytes if isinstance(text, bytes) else self._heads
        for head in heads:  # a loop, not any(): no generator on the hot path
            if text.find(head) != -1:
                return True
        return bool(heads) and _has_escape(text)

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

    def stream(self, *, escapes: bool = True) -> StreamMasker:
        """A masker for one stream of text chunks (see `StreamMasker`)."""
        return StreamMasker(self, escapes=escapes)


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


def _common_length(text: str | bytes, rest: str | bytes) -> int:
    n = 0
    limit = min(len(text), len(rest))
    while n < limit and text[n] == rest[n]:
        n += 1
    return n


class StreamMasker:
    """`Masker.text` over a stream of chunks (all `str` or all `bytes`), as if they were one.

    Contract: the concatenation of what `feed` returns holds no plain secret run of
    `MIN_PREFIX` characters, even one split over chunks; escaped runs are masked within a
    chunk. Nothing is held back: the start of a run sent before it was known to be one is at
    most `MIN_PREFIX - 1` characters, which reveal nothing; the rest of the run, in this chunk
    and the next ones, is masked.
    """

    __slots__ = ("_escapes", "_masker", "_run", "_tail")

    def __init__(self, masker: Masker, *, escapes: bool = True) -> None:
        """`escapes=False`: plain runs only, for texts whose escaped forms another masking
        sees (the text deltas of events whose encoded bytes are masked as well)."""
        self._masker = masker
        self._escapes = escapes
        self._tail: str | bytes = ""  # the last `MIN_PREFIX - 1` characters sent
        self._run: str | bytes | None = None  # the rest of a secret whose run reached the end

    def feed(self, chunk: AnyStr) -> AnyStr:
        masker = self._masker
        if not chunk or not masker._secrets:
            return chunk
        if self._run is not None:
            chunk = self._continue_run(chunk)
            if not chunk:
                return chunk
        tail: Any = self._tail if type(self._tail) is type(chunk) else chunk[:0]
        # inline, not may_hold(): this runs once per upstream read of every stream
        hit = self._escapes and _has_escape(chunk)
        if not hit:
            probe = tail + chunk[:_TAIL]
            heads: tuple[Any, ...] = (
                masker._heads_bytes if isinstance(chunk, bytes) else masker._heads
            )
            for head in heads:
                if chunk.find(head) != -1 or probe.find(head) != -1:
                    hit = True
                    break
        if hit:
            out: AnyStr = self._masked(tail, chunk)
            self._tail = (tail + out)[-_TAIL:]
            return out
        self._tail = chunk[-_TAIL:] if len(chunk) >= _TAIL else (tail + chunk)[-_TAIL:]
        return chunk

    @property
    def state(self) -> tuple[Any, Any]:
        """What the masker remembers of the chunks so far, to go back to (`state = ...`)."""
        return self._tail, self._run

    @state.setter
    def state(self, value: tuple[Any, Any]) -> None:
        self._tail, self._run = value

    def _continue_run(self, chunk: AnyStr) -> AnyStr:
        rest: Any = self._run
        if isinstance(chunk, bytes) != isinstance(rest, bytes):
            rest = rest.encode("latin-1") if isinstance(rest, str) else rest.decode("latin-1")
        n = _common_length(chunk, rest)
        self._run = rest[n:] if n == len(chunk) and n < len(rest) else None
        return chunk[n:]

    def _masked(self, tail: Any, chunk: Any) -> Any:
        as_bytes = isinstance(chunk, bytes)
        joined = tail + chunk
        window: str = joined.decode("latin-1") if as_bytes else joined
        offset = len(tail)
        parts: list[str] = []
        at = offset
        spans = self._masker.spans(window)
        for start, end, secret, matched in spans:
            if end <= offset:
                continue
            parts += [window[at : max(start, offset)], REDACTED]
            at = end
            if (
                end == len(window)
                and matched < len(secret.text)
                and secret.text[matched - 1] == window[-1]
            ):
                rest = secret.text[matched:]
                self._run = rest.encode("latin-1") if as_bytes else rest
        parts.append(window[at:])
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
