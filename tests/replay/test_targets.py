"""Targets from TOML, YAML and the command line."""

from __future__ import annotations

import pytest

from claude_gw.replay import Target, TargetError, load_targets, parse_targets
from claude_gw.replay.send import base_url_of, upstream_body
from claude_gw.replay.targets import parse_target_option

TOML = """
[targets.gpt-5]
model = "gpt-5"
params = { reasoning_effort = "low" }

[targets.local]
kind = "responses"
base_url = "http://127.0.0.1:8080/v1"
model = "qwen"
api_key_env = "LOCAL_KEY"

[targets.gw]
kind = "gateway"
base_url = "http://127.0.0.1:8000"
"""

YAML = """
targets:
  claude:
    kind: anthropic
    model: claude-sonnet-4-5
"""


def test_toml_targets_take_the_kind_defaults_for_what_they_leave_out():
    targets = parse_targets(TOML)
    assert targets["gpt-5"] == Target(
        "gpt-5",
        kind="chat",
        base_url="https://api.openai.com/v1",
        model="gpt-5",
        api_key_env="OPENAI_API_KEY",
        params={"reasoning_effort": "low"},
    )
    assert targets["local"].kind == "responses" and targets["local"].api_key_env == "LOCAL_KEY"
    assert targets["gw"].api_key_env is None and targets["gw"].model == "gw"


def test_a_yaml_file_is_read_by_its_suffix(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(YAML)
    claude = load_targets(path)["claude"]
    assert claude.kind == "anthropic" and claude.api_key_env == "ANTHROPIC_API_KEY"
    assert claude.base_url == "https://api.anthropic.com/v1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('[targets.x]\nkind = "bard"\n', "kind must be one of", id="unknown_kind"),
        pytest.param('[targets.x]\nmodle = "m"\n', "unknown fields modle", id="typo_in_a_field"),
        pytest.param("[other]\nx = 1\n", "needs a `targets` table", id="no_targets_table"),
        pytest.param("[targets.x\n", "cannot parse", id="not_toml"),
    ],
)
def test_a_bad_targets_file_says_what_is_wrong(text, message):
    with pytest.raises(TargetError, match=message):
        parse_targets(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("gpt-5-nano", Target("gpt-5-nano"), id="bare_name_is_an_openai_chat_model"),
        pytest.param("local", parse_targets(TOML)["local"], id="name_of_a_file_target"),
        pytest.param(
            "name=fast,kind=responses,model=gpt-5-mini,params.reasoning_effort=minimal",
            Target(
                "fast", kind="responses", model="gpt-5-mini", params={"reasoning_effort": "minimal"}
            ),
            id="key_value_pairs",
        ),
        pytest.param("model=gpt-4.1", Target("gpt-4.1"), id="model_names_an_unnamed_target"),
    ],
)
def test_target_options_from_the_command_line(value, expected):
    assert parse_target_option(value, parse_targets(TOML)) == expected


def test_a_target_option_without_a_name_or_model_is_refused():
    with pytest.raises(TargetError, match="needs a name or a model"):
        parse_target_option("kind=chat", {})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://h:8000", "http://h:8000/anything/v1", id="gateway_root"),
        pytest.param("http://h:8000/anything", "http://h:8000/anything/v1", id="route_prefix"),
        pytest.param("http://h:8000/anything/v1/", "http://h:8000/anything/v1", id="full_url"),
    ],
)
def test_a_gateway_target_is_reached_on_its_anything_route(url, expected):
    assert base_url_of(Target("gw", kind="gateway", base_url=url)) == expected


def test_the_cache_fingerprint_ignores_the_name_but_not_the_parameters():
    a, b = Target("a", model="m"), Target("b", model="m")
    c = Target("a", model="m", params={"reasoning_effort": "high"})
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_a_streaming_request_is_replayed_without_streaming():
    request = {
        "model": "x",
        "max_tokens": 8,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    sent = upstream_body(Target("gpt-4.1"), request)
    assert "stream" not in sent and sent["model"] == "gpt-4.1"


def test_a_chat_target_gets_the_server_profile_its_url_implies():
    request = {"model": "x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    local = upstream_body(Target("llama", base_url="http://127.0.0.1:8080/v1"), request)
    assert local["max_tokens"] == 8 and "max_completion_tokens" not in local
    openai = upstream_body(Target("gpt-4.1"), request)  # api.openai.com by default
    assert openai["max_completion_tokens"] == 8 and "max_tokens" not in openai
