"""claude_gw: an Anthropic Messages API gateway in front of OpenAI-compatible servers.

Every request that reaches the gateway is answered in the Anthropic shape and logged exactly
once, as one NDJSON line in the record shape of Kong's File Log + AI Proxy plugins.
"""

__version__ = "0.3.0"

__all__ = ["__version__"]
