"""The gateway as an ASGI app: routes, passthrough, the limits on clients, the masking step,
and the runner that serves it with uvicorn; the upstream APIs are `claude_gw.apis`.

Invariant: every request that reaches the app is answered in the Anthropic error or message
shape (the OpenAI shape on an `llm_format: openai` route) and logged exactly once, whatever the
client or the upstream does; every byte that leaves for a client, the log or the console has
passed the masking step (`masking`). Only `runner` opens sockets and starts servers; upstream
calls go through `claude_gw.upstream`.
"""
