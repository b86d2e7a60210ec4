"""Anthropic Messages <-> OpenAI Chat Completions and Responses translation.

Invariant: pure. Only the standard library, `claude_gw.wire` and `claude_gw.errors` are
imported; ids, clocks and configuration arrive as arguments. Nothing here does I/O.
"""
