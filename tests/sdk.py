"""Typed reads of the anthropic SDK's answers: a content block is a union of a dozen block
types and an error's body is `object`, so a test asserts the kind it expects before reading."""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.types import Message, TextBlock


def text_of(message: Message, index: int = 0) -> str:
    """The text of the message's content block `index`, which must be a text block."""
    block = message.content[index]
    assert isinstance(block, TextBlock), block
    return block.text


def error_body(error: anthropic.APIStatusError) -> dict[str, Any]:
    """The JSON body of an error answer (the SDK types it `object`)."""
    assert isinstance(error.body, dict), error.body
    return error.body
