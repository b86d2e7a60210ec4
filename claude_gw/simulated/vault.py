"""Opaque reasoning tokens the simulator hands out and later recognises.

A reasoning item's `encrypted_content` (Responses) and a thinking block's `signature`
(Anthropic) are self-verifying: they carry an HMAC of the item id (or of the message id and
thinking text) keyed by the Simulator's seed, padded with filler that grows with the hidden
reasoning. A token from another seed, another item or a forger does not verify, as OpenAI
rejects encrypted content from another organisation. Items stored with `store: true` are
remembered by id (bounded), so they may come back without their encrypted content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict

ENCRYPTED_PREFIX = "gAAAAAB"  # Fernet's version byte and timestamp, as OpenAI's tokens start
_MAC_BYTES = 24
_MAX_FILLER = 512
_STORED_ENTRIES = 4096


class Vault:
    """Issues and checks reasoning tokens for one Simulator (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"claude_gw.simulated.vault:{seed}".encode()).digest()
        self._stored: OrderedDict[str, None] = OrderedDict()

    def seal(self, item_id: str, reasoning_tokens: int) -> str:
        """The `encrypted_content` for reasoning item `item_id`."""
        mac = self._mac(item_id)
        filler = hashlib.shake_256(mac).digest(min(_MAX_FILLER, 48 + reasoning_tokens // 8))
        return ENCRYPTED_PREFIX + base64.urlsafe_b64encode(mac + filler).decode()

    def opens(self, item_id: str, encrypted: str) -> bool:
        """True when `encrypted` is what `seal` gave for `item_id`."""
        if not encrypted.startswith(ENCRYPTED_PREFIX):
            return False
        try:
            raw = base64.urlsafe_b64decode(encrypted[len(ENCRYPTED_PREFIX) :])
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(raw[:_MAC_BYTES], self._mac(item_id))

    def sign(self, text: str) -> str:
        """A thinking block's `signature` for `text` (base64, as Anthropic's look)."""
        mac = self._mac(f"thinking:{text}")
        return base64.b64encode(b"\x12\x8c" + mac + hashlib.shake_256(mac).digest(64)).decode()

    def store(self, item_id: str) -> None:
        self._stored[item_id] = None
        self._stored.move_to_end(item_id)
        if len(self._stored) > _STORED_ENTRIES:
            self._stored.popitem(last=False)

    def stored(self, item_id: str) -> bool:
        return item_id in self._stored

    def _mac(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
