"""Usage counted locally when the upstream reports none (counts worked out with o200k by hand:
"Hello world" is 2 tokens, "Hello" and " world")."""

import orjson

from claude_gw.apis import ANTHROPIC, CHAT
from claude_gw.server.usage_estimate import estimate, estimated_usage, output_tokens
from claude_gw.tokens import count_openai_messages
from claude_gw.wire import AnthropicResponse


def test_output_counts_text_thinking_and_tool_calls():
    message: AnthropicResponse = {
        "content": [
            {"type": "thinking", "thinking": "Hello"},
            {"type": "text", "text": " world"},
        ]
    }
    assert output_tokens(message) == 2
    assert output_tokens({"content": []}) == 0
    tool: AnthropicResponse = {"content": [{"type": "tool_use", "name": "Bash", "input": {}}]}
    assert output_tokens(tool) == 3  # "Bash" is 2 tokens, "{}" 1


def test_estimate_counts_the_chat_body_sent_and_the_answer():
    messages = [{"role": "user", "content": "Hello world"}]
    body = orjson.dumps({"model": "m", "messages": messages, "max_tokens": 5})
    usage = estimate(body, CHAT, {"content": [{"type": "text", "text": "Hello world"}]})
    # "user\nHello world" is 4 tokens; the cookbook's overheads: 3 per message, 3 to prime
    # the reply
    assert count_openai_messages(messages) == 4 + 3 + 3
    assert usage == estimated_usage(10, 2)
    assert usage["total_tokens"] == 12


def test_estimate_counts_an_anthropic_body_as_count_tokens_does():
    body = orjson.dumps({"messages": [{"role": "user", "content": "Hello world"}]})
    usage = estimate(body, ANTHROPIC, {"content": []})
    assert usage["prompt_tokens"] > 2 and usage["completion_tokens"] == 0


class NoUsageChat:
    """TEST DOUBLE of an OpenAI-compatible server that leaves `usage` out of its one-shot
    answers (the field is optional in servers' own request models)."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "local",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Hello world"},
                }
            ],
        }
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(answer)})


def test_a_one_shot_answer_without_usage_gets_the_local_count(tmp_path):
    from tests.server.test_gateway import start_gateway
    from tests.servers import ServerThread

    with ServerThread(NoUsageChat()) as upstream:
        gateway = start_gateway(tmp_path, f"{upstream.base_url}/v1")
        message = gateway.client().messages.create(
            model="local", max_tokens=8, messages=[{"role": "user", "content": "Hello world"}]
        )
        records = gateway.records()
    # the prompt as in test_estimate_counts_the_chat_body_sent_and_the_answer: 10 tokens
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 2)
    (record,) = records
    assert record["claude_gw"]["usage_source"] == "estimated"
    usage = record["ai"]["proxy"]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (10, 2)
    assert record["claude_gw"]["cost_source"] == "unpriced"  # "local" has no price
