"""Reliability suite (issue 8): bad input, faults, load, operations and secrets.

Every test here asserts the gateway's invariants under abuse: a client error is always a 4xx in
the Anthropic shape, an upstream failure a 5xx in the same shape, and every request is logged
exactly once as one valid NDJSON line, without a key.
"""
