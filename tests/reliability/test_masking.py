"""No upstream secret leaves the gateway, whatever the upstream sends back.

Against `echo_upstream` (a TEST DOUBLE that quotes back the credential it received) on a real
loopback socket: the key, any 8+ prefix of it, its percent-encoded and JSON-escaped forms, and
URL credentials never reach the client's bytes (headers and body), the log file or the console,
on every path (a 200 with an error body, a 200 that is not JSON, an error chunk in a stream, a
stream line that is not JSON, that line cut in two reads inside the key, error answers and their
headers, the answer's own text streamed
in pieces, the `llm_format: openai` passthrough).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anthropic
import httpx
import pytest

from claude_gw.config import Secret, Settings
from claude_gw.kong import KongOptions
from claude_gw.server.runner import build_gateway
from tests.reliability.echo_upstream import EchoUpstream, written
from tests.servers import ServerThread
from tests.waiting import wait_for_lines

BEARER_KEY = "sk-proj-Zq81xWv3Lm0pTt7Rk2Ny5Ub9Hc4Jd6Fg1Se8Ao3Ki7Ql2Wm5Xn0Rb4Vz6Cy9Du1"
HEX_KEY = "9f3ac1e07b6d4a25e8c0f1b2d3e4a5968778695a4b3c2d1e0f9e8d7c6b5a4938"
PLACES = [
    "error_200",
    "not_json_200",
    "stream_error",
    "stream_not_json",
    "stream_split",
    "status_429",
    "content",
]
FORMS = ["whole", "prefix", "percent", "percent_lower", "json"]


def decoded_forms(text: str) -> list[str]:
    """`text`, percent-decoded, and with JSON escapes decoded: where a client would find a key."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
    return [text, unquote(text), unescaped, unquote(unescaped)]


def stream_texts(body: str) -> str:
    """The concatenated text deltas of an Anthropic or OpenAI SSE body, as a client assembles
    them."""
    texts = []
    for line in body.splitlines():
        if not line.startswith("data: "):
            continue
        try:
            doc = json.loads(line[6:])
        except ValueError:
            continue
        delta = doc.get("delta") if isinstance(doc, dict) else None
        if isinstance(delta, dict):
            texts.append(str(delta.get("text") or ""))
        for choice in doc.get("choices") or [] if isinstance(doc, dict) else []:
            texts.append(str((choice.get("delta") or {}).get("content") or ""))
    return "".join(texts)


def assert_no_key(data: str, key: str, where: str) -> None:
    for form in [*decoded_forms(data), *decoded_forms(stream_texts(data))]:
        assert key[:8] not in form, f"a prefix of the key reached the {where}: {form[:400]!r}"


@pytest.fixture
def echo() -> Iterator[tuple[EchoUpstream, str]]:
    upstream = EchoUpstream()
    with ServerThread(upstream) as server:
        yield upstream, f"{server.base_url}/v1"


@pytest.fixture
def gateway(tmp_path: Path, echo: tuple[EchoUpstream, str]) -> Iterator[Any]:
    started: list[ServerThread] = []

    def start(**options: Any) -> tuple[str, Path]:
        log_path = tmp_path / f"claude-{len(started)}.json"
        options.setdefault("upstream_url", echo[1])
        settings = Settings(log_path=log_path, **options)
        server = ServerThread(build_gateway(settings)).__enter__()
        started.append(server)
        return server.base_url, log_path

    yield start
    for server in started:
        server.stop()


def ask(place: str, form: str, *, stream: bool) -> dict[str, Any]:
    return {
        "model": "gpt-5-mini",
        "max_tokens": 16,
        "stream": stream,
        "messages": [{"role": "user", "content": f"[echo:{place}] [form:{form}]"}],
    }


def answer_text(response: httpx.Response) -> str:
    return repr(response.headers.raw) + response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("key", "auth_header"),
    [
        pytest.param(BEARER_KEY, None, id="bearer_sk_key"),
        pytest.param(HEX_KEY, "api-key", id="api_key_header_hex_key"),
    ],
)
def test_no_prefix_of_the_key_reaches_the_client_or_the_log_on_any_path(
    gateway: Any,
    echo: tuple[EchoUpstream, str],
    capfd: pytest.CaptureFixture[str],
    key: str,
    auth_header: str | None,
    form: str,
) -> None:
    base, log_path = gateway(api_key=Secret(key), auth_header=auth_header, log_payloads=True)
    answers = []
    with httpx.Client(timeout=10) as client:
        for place in PLACES:
            for stream in (False, True):
                response = client.post(f"{base}/v1/messages", json=ask(place, form, stream=stream))
                answers.append(answer_text(response))
    assert echo[0].seen and set(echo[0].seen) == {key}  # the double did get the key
    for answer in answers:
        assert_no_key(answer, key, "client")
    wait_for_lines(log_path, len(PLACES) * 2)
    log = log_path.read_text()
    assert log.count("\n") == len(PLACES) * 2  # every request logged, once
    assert_no_key(log, key, "log")
    out, err = capfd.readouterr()
    assert_no_key(out + err, key, "console")


@pytest.mark.parametrize("form", ["base64_0", "base64_1", "base64_2", "base64url_1", "base64url_2"])
def test_the_key_base64_encoded_at_any_offset_reaches_neither_the_client_nor_the_log(
    gateway: Any, echo: tuple[EchoUpstream, str], form: str
) -> None:
    base, log_path = gateway(api_key=Secret(BEARER_KEY), log_payloads=True)
    answers = []
    with httpx.Client(timeout=10) as client:
        for place in PLACES:
            for stream in (False, True):
                response = client.post(f"{base}/v1/messages", json=ask(place, form, stream=stream))
                answers.append(answer_text(response) + stream_texts(response.text))
    blob = written(BEARER_KEY, form)
    # every 8 characters of the encoded key, from the first one that holds none of the `:`s
    windows = [blob[at : at + 8] for at in range(4, len(blob) - 12)]
    wait_for_lines(log_path, len(PLACES) * 2)
    shown_all = [*answers, log_path.read_text()]
    assert sum("REDACTED" in shown for shown in shown_all) >= len(PLACES)  # the double did echo
    for shown in shown_all:
        assert not [w for w in windows if w in shown], shown[:400]


def test_a_key_streamed_in_three_character_pieces_never_assembles_in_the_anthropic_sdk(
    gateway: Any,
) -> None:
    base, _ = gateway(api_key=Secret(BEARER_KEY))
    body = ask("content", "whole", stream=True)
    with (
        anthropic.Anthropic(base_url=base, api_key="x", max_retries=0) as client,
        client.messages.stream(
            model=body["model"], max_tokens=16, messages=body["messages"]
        ) as stream,
    ):
        text = "".join(stream.text_stream)
    assert text.startswith("key: ") and "REDACTED" in text
    assert BEARER_KEY[:8] not in text


def test_the_passthrough_route_masks_the_key_in_answers_and_streams(
    gateway: Any, echo: tuple[EchoUpstream, str]
) -> None:
    base, log_path = gateway(
        api_key=Secret(BEARER_KEY), kong=KongOptions(llm_format="openai"), log_payloads=True
    )
    answers = []
    with httpx.Client(timeout=10) as client:
        for place in ("content", "error_200", "not_json_200", "status_429"):
            for form in ("whole", "prefix", "json"):
                body = {**ask(place, form, stream=False), "max_tokens": 16}
                answers.append(answer_text(client.post(f"{base}/v1/chat/completions", json=body)))
        for place in ("stream_not_json", "stream_error", "stream_split", "content"):
            for form in ("whole", "percent", "percent_lower"):
                streamed = ask(place, form, stream=True)
                answers.append(
                    answer_text(client.post(f"{base}/v1/chat/completions", json=streamed))
                )
    for answer in answers:
        assert_no_key(answer, BEARER_KEY, "client")
    wait_for_lines(log_path, len(answers))
    assert_no_key(log_path.read_text(), BEARER_KEY, "log")


def test_url_credentials_are_sent_as_basic_auth_and_never_shown(
    gateway: Any, echo: tuple[EchoUpstream, str], capfd: pytest.CaptureFixture[str]
) -> None:
    upstream, url = echo
    password = "Pa55-w0rd-of-the-proxy"
    with_userinfo = url.replace("http://", f"http://gw-user:{password}@")
    base, log_path = gateway(upstream_url=with_userinfo, log_payloads=True)
    asked = [(place, form, stream) for place in PLACES for form in FORMS for stream in (0, 1)]
    with httpx.Client(timeout=10) as client:
        answers = [
            answer_text(client.post(f"{base}/v1/messages", json=ask(p, f, stream=bool(s))))
            for p, f, s in asked
        ]
    import base64

    token = base64.b64encode(f"gw-user:{password}".encode()).decode()
    wait_for_lines(log_path, len(asked))
    assert upstream.seen == [token] * len(asked)  # sent, as Authorization: Basic
    shown = "".join(answers) + log_path.read_text() + "".join(capfd.readouterr())
    for secret in (password, token):  # the Basic token echoed back, in every form and place
        assert_no_key(shown, secret, "client, log or console")
    assert "gw-user:" not in shown


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("openai_key=sk-abcdefghijklmnopqrstuvwxyz0123", id="named_parameter"),
        pytest.param("sk-abcdefghijklmnopqrstuvwxyz0123", id="bare_key"),
        pytest.param("note=sk%2Dabcdefghijklmnopqrstuvwxyz0123", id="percent_encoded"),
        pytest.param("x-goog-api-key=AIzaSyabcdefghijklmnopqrstuvwxyz01234", id="google_key"),
        pytest.param("auth=ghp_abcdefghijklmnopqrstuvwxyz0123456789", id="github_token"),
    ],
)
def test_query_string_secrets_are_not_logged(gateway: Any, query: str) -> None:
    base, log_path = gateway(upstream_url="simulated")
    response = httpx.post(f"{base}/v1/messages?{query}", json=ask("x", "whole", stream=False))
    assert response.status_code == 200
    wait_for_lines(log_path, 1)
    (line,) = log_path.read_text().splitlines()
    for form in decoded_forms(line):
        assert "abcdefghijklmnopqrstuvwxyz" not in form, form
    assert "REDACTED" in json.dumps(json.loads(line)["request"]["querystring"])


@pytest.mark.parametrize("stream", [False, True], ids=["oneshot", "stream"])
def test_a_usage_of_10_to_the_30_is_logged_as_zero_not_as_an_internal_error(
    gateway: Any, capfd: pytest.CaptureFixture[str], stream: bool
) -> None:
    base, log_path = gateway(api_key=Secret(BEARER_KEY), log_payloads=True)
    response = httpx.post(
        f"{base}/v1/messages", json=ask("huge_usage", "whole", stream=stream), timeout=10
    )
    assert response.status_code == 200
    assert b"internal error" not in response.content
    wait_for_lines(log_path, 1)
    (line,) = log_path.read_text().splitlines()
    record = json.loads(line)
    assert record["claude_gw"]["error_type"] is None
    assert record["ai"]["proxy"]["usage"]["prompt_tokens"] == 0
    assert "Traceback" not in "".join(capfd.readouterr())


def test_an_upstream_redirect_is_a_502_api_error_not_a_client_error(gateway: Any) -> None:
    base, log_path = gateway(api_key=Secret(BEARER_KEY))
    response = httpx.post(
        f"{base}/v1/messages", json=ask("redirect", "whole", stream=False), timeout=10
    )
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "api_error"
    wait_for_lines(log_path, 1)
    assert json.loads(log_path.read_text())["upstream_status"] == "302"


EVIL_MODEL = "gpt\x1b]0;owned\x07\x1b[2J\u202eevil"


def test_upstream_model_names_with_escape_sequences_reach_the_terminal_escaped(
    gateway: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from claude_gw.capture import describe_record
    from claude_gw.cli import main

    base, log_path = gateway(api_key=Secret(BEARER_KEY))
    body = {**ask("ok", "whole", stream=False), "model": EVIL_MODEL}  # the client's, and
    body["messages"][0]["content"] += f" [model:{EVIL_MODEL.encode().hex()}]"  # the upstream's
    assert httpx.post(f"{base}/v1/messages", json=body, timeout=10).status_code == 200
    wait_for_lines(log_path, 1)
    record = json.loads(log_path.read_text())
    assert record["ai"]["proxy"]["meta"]["response_model"] == EVIL_MODEL  # logged as it came
    line = describe_record(record)  # what `capture --follow` prints
    assert "\\x1b]0;owned\\x07" in line and "\x1b" not in line and "\u202e" not in line
    capfd.readouterr()
    assert main(["logs", "summary", "--by", "model", str(log_path)]) == 0
    out, err = capfd.readouterr()
    assert "\\x1b[2J" in out
    assert not any(c in out + err for c in ("\x1b", "\x07", "\u202e"))


def test_printable_keeps_what_it_is_told_and_escapes_every_control_character() -> None:
    from claude_gw.logs.mask import printable

    assert printable("plain text, ünïcode") == "plain text, ünïcode"
    assert printable("a\nb\x1b[31mc\x9bd\r", keep="\n") == "a\nb\\x1b[31mc\\x9bd\\r"


def serve_until_listening(args: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    """Run `claude-gw serve ARGS` until it says it listens (then stop it) or exits; its exit
    status (None when it was stopped) and everything it printed."""
    import os
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "claude_gw", "serve", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    listening = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not listening:
            line = process.stdout.readline()
            if not line:
                break  # it exited
            lines.append(line)
            listening = "use:" in line  # the last start-up line
    finally:
        if listening or time.monotonic() >= deadline:
            process.terminate()
        rest, _ = process.communicate(timeout=30)
    stopped = listening
    return (None if stopped else process.returncode), "".join(lines) + rest


def test_a_url_password_survives_start_up_without_a_traceback_and_is_never_printed(
    echo: tuple[EchoUpstream, str], tmp_path: Path
) -> None:
    upstream, url = echo
    password = "Pa55-w0rd-of-the-proxy"
    with_userinfo = url.replace("http://", f"http://gw-user:{password}@")
    log = str(tmp_path / "claude.json")
    status, printed = serve_until_listening(
        ["--upstream", with_userinfo, "--log", log], {"OPENAI_API_KEY": BEARER_KEY}
    )
    assert status is None, printed  # the start-up probe passed, and it served
    assert "listening on" in printed and "Traceback" not in printed
    assert upstream.seen == [BEARER_KEY]  # the probe sent the key (it takes Authorization)
    assert password not in printed and "gw-user" not in printed and BEARER_KEY[:8] not in printed
    assert url in printed  # the upstream is named, without its credentials


def test_an_unreachable_upstream_with_a_url_password_is_one_line_without_it(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://gw-user:Pa55-w0rd-of-the-proxy@127.0.0.1:{port}/v1"
    status, printed = serve_until_listening(
        ["--upstream", url, "--log", str(tmp_path / "claude.json")], {"OPENAI_API_KEY": "sk-x"}
    )
    assert status == 2, printed
    assert printed.startswith("claude-gw: cannot reach upstream openai at http://127.0.0.1:")
    assert printed.count("\n") == 1 and "Pa55" not in printed and "gw-user" not in printed
