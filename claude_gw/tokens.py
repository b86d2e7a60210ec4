"""Local token counting: o200k_base (OpenAI's GPT-4o/GPT-5 encoding) through `bpe_openai`.

`count_anthropic_request` answers Anthropic's `count_tokens` endpoint without a network call;
`count_openai_messages` gives the simulated upstream its `usage.prompt_tokens`. Both are
estimates: the text is counted exactly with o200k_base, and the framing each API adds around
messages and tools is a small documented constant (`*_OVERHEAD` below).

The encoding is loaded lazily, once, on first use and under a lock, so importing this module
costs nothing and parallel first calls (the CLI fires ~25 count_tokens at once) load it once.
To stay fast on large bodies, every text of a request is gathered first and encoded in one call.
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

T = TypeVar("T")

# Anthropic: framing per message (role markers), the system prompt counting as one message.
# The texts are joined with newlines before encoding, which adds about one token per text:
# that is part of the framing too. Calibrated so the docs' basic example ("You are a
# scientist" + "Hello, Claude") counts 14, as Anthropic answers.
ANTHROPIC_MESSAGE_OVERHEAD = 3
# Per tool definition (the wrapper around name, description and schema).
ANTHROPIC_TOOL_OVERHEAD = 8
# Anthropic's documented image estimate: width * height / 750, about 1600 at most (larger
# images are scaled down first); 1600 when the size cannot be read.
IMAGE_TOKENS_PER_PIXEL = 1 / 750
IMAGE_MAX_TOKENS = 1600

# OpenAI Chat: the cookbook's figures for gpt-4o-era models: 3 per message, 1 per `name`,
# 3 to prime the reply; functions cost a fixed preamble plus a wrapper per function.
OPENAI_MESSAGE_OVERHEAD = 3
OPENAI_NAME_OVERHEAD = 1
OPENAI_REPLY_OVERHEAD = 3
OPENAI_TOOLS_OVERHEAD = 12
OPENAI_TOOL_OVERHEAD = 8
OPENAI_TOOL_CALL_OVERHEAD = 3

# bpe_openai refuses inputs of 1M characters and results over 200k tokens: count in slices.
_SLICE_CHARS = 100_000
# Enough base64 to reach a JPEG's frame header past typical EXIF blocks.
_IMAGE_HEADER_B64_CHARS = 96_000


class Lazy(Generic[T]):
    """A value built on first `get()`, exactly once even when threads race for it."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None

    @property
    def ready(self) -> bool:
        """Whether the value is built (`get()` returns at once)."""
        return self._value is not None

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
                value = self._value
        return value


def _load_o200k() -> Any:
    # bpe_openai 0.1.4 reads its data with the deprecated importlib.resources.open_binary; the
    # warning is about its code, not ours, and must not reach users (or fail tests).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai  # imported here: it takes ~1 s, which `import claude_gw` must not pay

        return bpe_openai.get_encoding("o200k_base")


O200K: Lazy[Any] = Lazy(_load_o200k)


def preload() -> None:
    """Load the encoding now (about 0.5 s, mostly importing bpe_openai, and 130 MB). A server
    calls this in a worker thread before its first count, so that loading does not run on the
    event loop."""
    O200K.get()


def loaded() -> bool:
    """Whether the encoding is loaded (counting does not have to load it first)."""
    return O200K.ready


def count_text(text: str) -> int:
    """Number of o200k_base tokens in `text` (special-token text counts as plain text)."""
    if not text:
        return 0
    encoding = O200K.get()
    return sum(len(encoding.encode_ordinary(piece)) for piece in _slices(text))


def _slices(text: str) -> Iterator[str]:
    start = 0
    while len(text) - start > _SLICE_CHARS:
        end = start + _SLICE_CHARS
        # Cut just before a space or newline, where the encoder starts a new token anyway.
        cut = max(text.rfind(" ", start + _SLICE_CHARS // 2, end), text.rfind("\n", start, end))
        end = cut if cut > start else end
        yield text[start:end]
        start = end
    yield text[start:]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# --------------------------------------------------------------------------- Anthropic


def count_anthropic_request(req: Mapping[str, Any]) -> int:
    """Estimated `input_tokens` of an Anthropic Messages (or count_tokens) request.

    Counts the system prompt (string or text blocks), every message (string or blocks: text,
    tool_use name + JSON input, tool_result content, thinking text, images by size,
    tool_reference by tool name; other blocks as their JSON), and every tool (name,
    description, JSON schema), plus the fixed overheads defined in this module.

    It estimates what the request costs on the OpenAI side, so it leaves out Anthropic's own
    hidden tool-use system prompt (~350 tokens whenever tools are present, which is why the
    docs' one-tool example answers 403).
    """
    tally = _Tally()
    if req.get("system"):
        tally.add_content(req["system"], ANTHROPIC_MESSAGE_OVERHEAD)
    for message in req.get("messages") or []:
        tally.add_content(message.get("content"), ANTHROPIC_MESSAGE_OVERHEAD)
    for tool in req.get("tools") or []:
        tally.add_tool(tool)
    return count_text("\n".join(tally.texts)) + tally.fixed


@dataclass
class _Tally:
    """Texts to encode in one call, plus tokens already known (overheads, images)."""

    fixed: int = 0
    texts: list[str] = field(default_factory=list)

    def add_content(self, content: Any, overhead: int = 0) -> None:
        self.fixed += overhead
        if isinstance(content, str):
            self.texts.append(content)
            return
        for block in content or []:
            self.add_block(block)

    def add_block(self, block: Mapping[str, Any]) -> None:
        kind = block.get("type")
        if kind == "text":
            self.texts.append(block.get("text") or "")
        elif kind == "tool_use":
            self.texts += [block.get("name") or "", _json(block.get("input") or {})]
        elif kind == "tool_result":
            self.add_content(block.get("content"))
        elif kind == "thinking":
            self.texts.append(block.get("thinking") or "")
        elif kind == "tool_reference":
            self.texts.append(block.get("tool_name") or "")
        elif kind == "image":
            self.fixed += anthropic_image_tokens(block.get("source") or {})
        else:
            self.texts.append(_json(block))

    def add_tool(self, tool: Mapping[str, Any]) -> None:
        self.fixed += ANTHROPIC_TOOL_OVERHEAD
        if "input_schema" not in tool:  # a server tool such as web_search: its JSON is all we know
            self.texts.append(_json(tool))
            return
        schema = _json(tool.get("input_schema"))
        self.texts += [tool.get("name") or "", tool.get("description") or "", schema]


def anthropic_image_tokens(source: Mapping[str, Any]) -> int:
    """Anthropic's estimate for an image block's `source`: ceil(w * h / 750), at most 1600;
    1600 when the size is unknown (URL sources, other formats)."""
    size = image_size(source.get("data") or "") if source.get("type") == "base64" else None
    if size is None:
        return IMAGE_MAX_TOKENS
    width, height = size
    return min(IMAGE_MAX_TOKENS, math.ceil(width * height * IMAGE_TOKENS_PER_PIXEL))


# --------------------------------------------------------------------------- image headers


def image_size(data_b64: str) -> tuple[int, int] | None:
    """(width, height) read from the header of a base64 PNG, GIF or JPEG; None otherwise."""
    head = data_b64[:_IMAGE_HEADER_B64_CHARS]
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.b64decode(head, validate=False)
    except (binascii.Error, ValueError):
        return None
    if raw.startswith(b"\x89PNG\r\n\x1a\n") and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if raw[:6] in (b"GIF87a", b"GIF89a") and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if raw.startswith(b"\xff\xd8"):
        return _jpeg_size(raw)
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_NO_LENGTH = frozenset([0x01, *range(0xD0, 0xDA)])


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(raw):
        if raw[pos] != 0xFF:
            return None
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            pos += 2
            continue
        if marker in _JPEG_SOF:
            height = int.from_bytes(raw[pos + 5 : pos + 7], "big")
            width = int.from_bytes(raw[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + int.from_bytes(raw[pos + 2 : pos + 4], "big")
    return None


# --------------------------------------------------------------------------- OpenAI chat


def count_openai_messages(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None
) -> int:
    """Estimated `prompt_tokens` of an OpenAI Chat Completions request (cookbook method)."""
    texts: list[str] = []
    fixed = OPENAI_REPLY_OVERHEAD
    images = 0
    for message in messages:
        fixed += OPENAI_MESSAGE_OVERHEAD + (OPENAI_NAME_OVERHEAD if message.get("name") else 0)
        texts.append(str(message.get("role") or ""))
        texts.extend(_openai_content_texts(message.get("content")))
        images += sum(_openai_image_tokens(part) for part in _openai_parts(message, "image_url"))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            texts.extend((function.get("name") or "", function.get("arguments") or ""))
            fixed += OPENAI_TOOL_CALL_OVERHEAD
    if tools:
        fixed += OPENAI_TOOLS_OVERHEAD + OPENAI_TOOL_OVERHEAD * len(tools)
        texts.extend(_openai_tool_texts(tools))
    return count_text("\n".join(texts)) + fixed + images


def _openai_content_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
        return
    for part in content or []:
        if part.get("type") in ("text", "refusal"):
            yield part.get("text") or part.get("refusal") or ""


def _openai_parts(message: Mapping[str, Any], kind: str) -> Iterator[Mapping[str, Any]]:
    content = message.get("content")
    if isinstance(content, list):
        yield from (part for part in content if part.get("type") == kind)


def _openai_tool_texts(tools: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for tool in tools:
        function = tool.get("function") or {}
        yield function.get("name") or ""
        yield function.get("description") or ""
        yield _json(function.get("parameters") or {})


def _openai_image_tokens(part: Mapping[str, Any]) -> int:
    """OpenAI's tile rule: 85 base + 170 per 512 px tile after scaling (85 for detail=low)."""
    image = part.get("image_url") or {}
    if image.get("detail") == "low":
        return 85
    url = str(image.get("url") or "")
    size = image_size(url.partition(",")[2]) if url.startswith("data:") else None
    width, height = size or (1024, 1024)
    fit = min(1.0, 2048 / max(width, height, 1))  # fit in 2048 x 2048 ...
    fit *= min(1.0, 768 / max(min(width, height) * fit, 1))  # ... then shortest side 768
    tiles = math.ceil(width * fit / 512) * math.ceil(height * fit / 512)
    return 85 + 170 * tiles
