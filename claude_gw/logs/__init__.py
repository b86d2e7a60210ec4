"""Kong-shaped log records: building them, writing them, and (later) reading them back.

Invariant: every request that reaches the gateway yields exactly one record, written as one
whole NDJSON line, with no API key in it.
"""
