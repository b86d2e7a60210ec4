"""`claude-gw serve --kong-config` with the Kong tutorial's decK files, and `claude-gw kong-config`.

The tutorial's three documents (service + route, then ai-proxy, then file-log) are built from
the shared fixture at test time. Two values change, because the tests run offline: the
ai-proxy gets `model.options.upstream_url` pointing at the simulated OpenAI backend (the test
double of tests/conftest.py), and the file-log path goes to a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.test_claude_cli import RunningGateway, launch_serve, run_claude

TUTORIAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "kong"
TUTORIAL = TUTORIAL / "ai-proxy-anthropic-openai.kong.yaml"
UPSTREAM_KEY = "sk-test-upstream-key-0123456789"


def tutorial_documents(tmp_path: Path, upstream: str) -> list[Path]:
    """The tutorial's three steps as three decK files."""
    merged = yaml.safe_load(TUTORIAL.read_text())
    ai_proxy, file_log = merged["plugins"]
    ai_proxy["config"]["model"]["options"] = {"upstream_url": f"{upstream}/chat/completions"}
    file_log["config"]["path"] = str(tmp_path / "claude.json")
    steps = {
        "1-service.yaml": {"_format_version": "3.0", "services": merged["services"]},
        "2-ai-proxy.yaml": {"_format_version": "3.0", "plugins": [ai_proxy]},
        "3-file-log.yaml": {"_format_version": "3.0", "plugins": [file_log]},
    }
    paths = []
    for name, document in steps.items():
        (tmp_path / name).write_text(yaml.safe_dump(document, sort_keys=False))
        paths.append(tmp_path / name)
    return paths


def Served(
    tmp_path: Path, *files: Path, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()
) -> RunningGateway:
    """`serve --kong-config FILE ...` with the tutorial's key variable set; the tutorial's
    file-log writes to tmp_path/claude.json."""
    args = [arg for path in files for arg in ("--kong-config", str(path))]
    return launch_serve(
        tmp_path / "claude.json",
        *args,
        *extra,
        env={"DECK_OPENAI_API_KEY": UPSTREAM_KEY, **(env or {})},
        cwd=tmp_path,
    )


@pytest.fixture
def tutorial(tmp_path, fake_openai) -> list[Path]:
    paths = tutorial_documents(tmp_path, fake_openai)
    text = paths[1].read_text()
    assert '${{ env "DECK_OPENAI_API_KEY" }}' in text
    return paths


def post(url: str, model: str = "gpt-5-mini", prompt: str = "[sim:reply hi]") -> httpx.Response:
    return httpx.post(
        url,
        timeout=30,
        headers={"x-api-key": "x"},
        json={
            "model": model,
            "max_tokens": 2000,
            "messages": [{"role": "user", "content": prompt}],
        },
    )


def records(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "claude.json").read_text().splitlines()]


def test_the_tutorials_three_files_serve_its_route_with_its_model_and_log(
    tmp_path, tutorial, simulator
):
    served = Served(tmp_path, *tutorial)
    try:
        assert "route example-route on /anything" in served.banner
        assert post(f"{served.url}/v1/messages?beta=true").status_code == 200
        # Kong would answer 400 "cannot use own model"; the CLI's haiku subagents need this to work.
        assert post(f"{served.url}/v1/messages", model="claude-haiku-5-5").status_code == 200
        missing = post(f"{served.base_url}/elsewhere/v1/messages")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    finally:
        served.stop()
    assert [body["model"] for body in simulator.recorder.bodies] == ["gpt-5-mini", "gpt-5-mini"]
    assert simulator.recorder.headers[-1]["authorization"] == f"Bearer {UPSTREAM_KEY}"
    lines = records(tmp_path)
    assert len(lines) == 3
    assert {line["route"]["name"] for line in lines} == {"example-route"}
    assert lines[0]["ai"]["proxy"]["meta"]["request_model"] == "gpt-5-mini"
    assert UPSTREAM_KEY not in (tmp_path / "claude.json").read_text()


def test_a_missing_deck_variable_is_one_line_naming_it(tmp_path, tutorial):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_gw",
            "serve",
            "--port",
            "0",
            *[arg for path in tutorial for arg in ("--kong-config", str(path))],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 2
    assert "DECK_OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_export_then_serve_gives_the_same_behaviour_and_no_secret(tmp_path, tutorial, simulator):
    exported = tmp_path / "exported.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_gw",
            "kong-config",
            "-o",
            str(exported),
            *[arg for path in tutorial for arg in ("--kong-config", str(path))],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "DECK_OPENAI_API_KEY": UPSTREAM_KEY},
    )
    assert result.returncode == 0, result.stderr
    text = exported.read_text()
    assert UPSTREAM_KEY not in text and '${{ env "DECK_OPENAI_API_KEY" }}' in text
    document = yaml.safe_load(text)
    assert document["_format_version"] == "3.0"
    served = Served(tmp_path, exported)
    try:
        assert post(f"{served.url}/v1/messages").status_code == 200
    finally:
        served.stop()
    (line,) = records(tmp_path)
    assert line["route"]["name"] == "example-route"
    assert line["ai"]["proxy"]["meta"]["request_model"] == "gpt-5-mini"


def test_kong_config_from_flags_is_decK_yaml_with_the_key_as_a_reference():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_gw",
            "kong-config",
            "--model",
            "gpt-4.1",
            "--log",
            "/tmp/claude.json",
            "--max-body",
            "512KiB",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": os.environ["PATH"], "OPENAI_API_KEY": UPSTREAM_KEY},
    )
    assert UPSTREAM_KEY not in result.stdout
    document = yaml.safe_load(result.stdout)
    plugins = {plugin["name"]: plugin["config"] for plugin in document["plugins"]}
    assert plugins["ai-proxy"]["model"] == {"provider": "openai", "name": "gpt-4.1"}
    assert plugins["ai-proxy"]["llm_format"] == "anthropic"
    assert plugins["ai-proxy"]["max_request_body_size"] == 524288
    assert plugins["file-log"]["path"] == "/tmp/claude.json"


@pytest.mark.cli
def test_the_claude_cli_with_the_tutorials_api_key_helper_works_through_the_kong_config(
    tmp_path, tutorial, claude_cli, simulator
):
    """The tutorial's Claude CLI set-up: settings.json with an apiKeyHelper script that echoes
    `x` (the CLI then sends both Authorization: Bearer and x-api-key)."""
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    helper = home / "anthropic_key.sh"
    helper.write_text("#!/bin/sh\necho x\n")
    helper.chmod(0o755)
    (home / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": str(helper)}))
    served = Served(tmp_path, *tutorial)
    try:
        out = run_claude(
            claude_cli,
            home,
            f"{served.url}",
            "[sim:reply via kong config]",
            api_key=None,
        )
    finally:
        served.stop()
    assert out["result"] == "via kong config"
    (line,) = [r for r in records(tmp_path) if r["claude_gw"]["endpoint"] == "messages"]
    headers = line["request"]["headers"]
    assert headers["authorization"] == "REDACTED" and headers["x-api-key"] == "REDACTED"


def test_model_options_allow_override_and_model_name_header_follow_kong(
    tmp_path, fake_openai, simulator
):
    paths = tutorial_documents(tmp_path, fake_openai)
    document = yaml.safe_load(paths[1].read_text())
    config = document["plugins"][0]["config"]
    config["model"]["name"] = "gpt-4.1"
    config["model"]["options"].update({"max_tokens": 321, "temperature": 0.5})
    config["auth"]["allow_override"] = True
    paths[1].write_text(yaml.safe_dump(document, sort_keys=False))
    # The gateway's own key is wrong: only the client's (allowed to override) is accepted.
    served = Served(
        tmp_path,
        *paths,
        env={"DECK_OPENAI_API_KEY": "sk-wrong-key-0000000000"},
        extra=("--no-check",),
    )
    try:
        url = f"{served.url}/v1/messages"
        body = {
            "model": "gpt-4.1",
            "max_tokens": 9999,
            "temperature": 1.0,
            "messages": [{"role": "user", "content": "[sim:reply ok]"}],
        }
        own = httpx.post(url, json=body, timeout=30, headers={"x-api-key": "x"})
        assert own.status_code == 502  # the upstream refused the gateway's key
        theirs = httpx.post(
            url, json=body, timeout=30, headers={"authorization": f"Bearer {UPSTREAM_KEY}"}
        )
        assert theirs.status_code == 200, theirs.text
        assert theirs.headers["x-kong-llm-model"] == "openai/gpt-4.1"
    finally:
        served.stop()
    sent = simulator.recorder.bodies[-1]
    assert sent["max_completion_tokens"] == 321 and sent["temperature"] == 0.5


def test_provider_anthropic_passes_requests_through_to_an_anthropic_upstream(
    tmp_path, fake_openai, simulator
):
    """`model.provider: anthropic`: no translation; usage logged in the same record shape."""
    paths = tutorial_documents(tmp_path, fake_openai)
    document = yaml.safe_load(paths[1].read_text())
    config = document["plugins"][0]["config"]
    config["model"] = {
        "provider": "anthropic",
        "name": "claude-sonnet-4-6",
        "options": {"upstream_url": f"{fake_openai}/messages"},
    }
    config["auth"] = {
        "header_name": "x-api-key",
        "header_value": '${{ env "DECK_OPENAI_API_KEY" }}',
    }
    paths[1].write_text(yaml.safe_dump(document, sort_keys=False))
    served = Served(tmp_path, *paths)
    try:
        answer = post(f"{served.url}/v1/messages", prompt="[sim:reply passed through]")
        assert answer.status_code == 200, answer.text
        assert answer.json()["content"][0]["text"] == "passed through"
    finally:
        served.stop()
    assert simulator.recorder.paths[-1] == "/v1/messages"
    assert simulator.recorder.headers[-1]["x-api-key"] == UPSTREAM_KEY
    assert simulator.recorder.bodies[-1]["model"] == "claude-sonnet-4-6"
    (line,) = records(tmp_path)
    assert line["ai"]["proxy"]["meta"]["provider_name"] == "anthropic"
    assert line["ai"]["proxy"]["usage"]["completion_tokens"] > 0


CONSUMER_KEY = "kong-consumer-key-0123456789"


def key_auth_document(tmp_path: Path) -> Path:
    """A fourth file: a global key-auth reading x-api-key (what the Claude CLI sends) and one
    consumer whose key comes from the environment, as decK writes secrets."""
    document = {
        "_format_version": "3.0",
        "plugins": [{"name": "key-auth", "config": {"key_names": ["x-api-key"]}}],
        "consumers": [
            {
                "username": "team-a",
                "keyauth_credentials": [{"key": '${{ env "DECK_TEAM_A_KEY" }}'}],
            }
        ],
    }
    path = tmp_path / "4-key-auth.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_key_auth_plugin_lets_only_consumers_keys_through(tmp_path, tutorial, simulator):
    import anthropic

    from tests.sdk import error_body, text_of

    served = Served(
        tmp_path, *tutorial, key_auth_document(tmp_path), env={"DECK_TEAM_A_KEY": CONSUMER_KEY}
    )
    try:
        assert "clients:  1 key from Kong key-auth (1 consumer keys)" in served.banner
        ask: dict[str, Any] = {"model": "gpt-5-mini", "max_tokens": 2000}
        messages: list[anthropic.types.MessageParam] = [
            {"role": "user", "content": "[sim:reply hi]"}
        ]
        # The SDK sends its api_key as a bearer token, which key-auth does not read (Kong's
        # rule); x-api-key is what the Claude CLI sends.
        as_the_cli = {"x-api-key": CONSUMER_KEY}
        with anthropic.Anthropic(
            base_url=served.url, api_key="unread", default_headers=as_the_cli, max_retries=0
        ) as c:
            assert text_of(c.messages.create(**ask, messages=messages)) == "hi"
        with anthropic.Anthropic(base_url=served.url, api_key=CONSUMER_KEY, max_retries=0) as c:
            with pytest.raises(anthropic.AuthenticationError) as raised:
                c.messages.create(**ask, messages=messages)
        assert error_body(raised.value)["error"]["message"] == "No API key found in request"
        wrong = httpx.post(
            f"{served.url}/v1/messages", json={}, headers={"x-api-key": "x" * 30}, timeout=30
        )
        assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "Unauthorized"
        missing = httpx.post(f"{served.url}/v1/messages", json={}, timeout=30)
        assert missing.status_code == 401
        assert missing.json()["error"]["message"] == "No API key found in request"
        # Kong 3.6+: every key-auth 401 has a challenge, `Key` while no `realm` is set
        assert wrong.headers["www-authenticate"] == missing.headers["www-authenticate"] == "Key"
    finally:
        served.stop()
    logged = records(tmp_path)
    assert [r["response"]["status"] for r in logged] == [200, 401, 401, 401]
    assert CONSUMER_KEY not in json.dumps(logged)
    # The file gives team-a no id: it is made from the name (and the key's id from its place)
    team_a = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:consumer:team-a"))
    credential = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:credential:kong:team-a:1"))
    assert logged[0]["consumer"] == {"id": team_a, "username": "team-a"}
    assert logged[0]["authenticated_entity"] == {"id": credential, "consumer_id": team_a}
    assert not any("consumer" in r or "authenticated_entity" in r for r in logged[1:])
    assert len(simulator.recorder.bodies) == 1  # the refused requests cost nothing upstream
