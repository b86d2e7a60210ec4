"""Who may use the gateway, over real loopback sockets with the anthropic SDK as the client:
client keys from `--client-key-file`, 401 refusals in the Anthropic shape logged once, the
refusal to listen beyond loopback without keys, and routing on the normalised path.

The upstream is the simulated OpenAI backend of tests/conftest.py (a TEST DOUBLE for
api.openai.com) with a `RequestRecorder`, so a test can tell which route's key paid."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from claude_gw.auth import read_client_keys
from claude_gw.cli.options import CliError
from claude_gw.cli.serve import check_exposure, client_line
from claude_gw.config import Listen, Secret, Settings
from claude_gw.server.runner import build_gateway, build_routes_gateway
from claude_gw.simulated import asgi_app
from claude_gw.testing import RequestRecorder
from claude_gw.testing import StrictSimulator as Simulator
from tests.sdk import text_of
from tests.servers import ServerThread
from tests.waiting import wait_for_lines

UPSTREAM_KEY = "sk-test-upstream-key-0123456789"  # the `simulator` fixture's key
KEYS = ("team-key-alpha-0123456789abcdef", "team-key-bravo-0123456789abcdef")
WRONG = "team-key-alpha-0123456789abcdeX"  # the first key with its last character changed
Start = Callable[..., tuple[str, Path]]


def hello(client: anthropic.Anthropic) -> anthropic.types.Message:
    return client.messages.create(
        model="gpt-4.1-mini",
        max_tokens=16,
        messages=[{"role": "user", "content": "[sim:reply hi]"}],
    )


def records(log_path: Path, count: int) -> list[dict[str, Any]]:
    """The log's records once it has `count` of them (the writer runs in its own thread)."""
    return [json.loads(line) for line in wait_for_lines(log_path, count)]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "client-keys"
    path.write_text(f"# one key per line\n{KEYS[0]}\n\n{KEYS[1]}\n")
    return path


@pytest.fixture
def serve(tmp_path: Path, fake_openai: str) -> Iterator[Start]:
    servers: list[ServerThread] = []

    def start(**options: object) -> tuple[str, Path]:
        log_path = tmp_path / f"claude-{len(servers)}.json"
        settings = Settings(
            upstream_url=fake_openai, api_key=Secret(UPSTREAM_KEY), log_path=log_path
        ).with_options(**options)
        servers.append(ServerThread(build_gateway(settings)).__enter__())
        return servers[-1].base_url, log_path

    yield start
    for server in servers:
        server.stop()


def test_each_configured_key_is_accepted_as_x_api_key_and_as_a_bearer_token(
    serve: Start, key_file: Path
) -> None:
    base, log_path = serve(client_auth=read_client_keys(key_file))
    for key in KEYS:
        with anthropic.Anthropic(base_url=base, api_key=key, max_retries=0) as client:
            assert text_of(hello(client)) == "hi"
        with anthropic.Anthropic(base_url=base, auth_token=key, max_retries=0) as client:
            assert text_of(hello(client)) == "hi"
    logged = records(log_path, 4)
    assert [r["response"]["status"] for r in logged] == [200] * 4
    assert not any(key in json.dumps(logged) for key in KEYS)
    # each record names the key's consumer (the file names none: `client-N`), never the key
    names = [r["consumer"]["username"] for r in logged]
    assert names == ["client-1", "client-1", "client-2", "client-2"]
    assert all(r["authenticated_entity"]["consumer_id"] == r["consumer"]["id"] for r in logged)


@pytest.mark.parametrize(
    ("credentials", "message"),
    [  # (no key at all: the SDK refuses to send that; see the next test)
        pytest.param({"api_key": WRONG}, "invalid API key", id="wrong_x_api_key"),
        pytest.param({"auth_token": WRONG}, "invalid API key", id="wrong_bearer_token"),
        pytest.param({"api_key": KEYS[0][:20]}, "invalid API key", id="a_prefix_of_a_key"),
    ],
)
def test_a_wrong_or_missing_key_gets_an_anthropic_401_logged_once(
    serve: Start, key_file: Path, simulator, credentials: dict[str, Any], message: str
) -> None:
    base, log_path = serve(client_auth=read_client_keys(key_file))
    with anthropic.Anthropic(base_url=base, max_retries=0, **credentials) as client:
        with pytest.raises(anthropic.AuthenticationError) as raised:
            hello(client)
    assert raised.value.status_code == 401
    assert raised.value.response.headers["www-authenticate"] == "Bearer"
    body = raised.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"
    assert body["error"]["message"].startswith(message)
    assert body["request_id"].startswith("req_")
    (record,) = records(log_path, 1)
    assert record["response"]["status"] == 401
    assert record["claude_gw"]["error_type"] == "authentication_error"
    assert "consumer" not in record and "authenticated_entity" not in record
    assert WRONG not in json.dumps(record) and KEYS[0] not in json.dumps(record)
    assert WRONG not in json.dumps(body)
    assert simulator.stats.requests == 0  # the upstream key paid for nothing


def test_a_request_without_any_key_header_is_refused(serve: Start, key_file: Path) -> None:
    base, log_path = serve(client_auth=read_client_keys(key_file))
    response = httpx.post(f"{base}/v1/messages", json={}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["www-authenticate"] == "Bearer"
    assert len(records(log_path, 1)) == 1


def test_two_keys_in_one_request_are_refused(serve: Start, key_file: Path) -> None:
    base, _ = serve(client_auth=read_client_keys(key_file))
    headers = [("x-api-key", KEYS[0]), ("x-api-key", WRONG)]
    response = httpx.post(f"{base}/v1/messages", json={}, headers=headers, timeout=10)
    assert response.status_code == 401
    assert "more than one API key" in response.json()["error"]["message"]


def test_without_client_keys_the_gateway_takes_any_key(serve: Start) -> None:
    base, _ = serve()
    with anthropic.Anthropic(base_url=base, api_key="anything", max_retries=0) as client:
        assert text_of(hello(client)) == "hi"


# --------------------------------------------------------------------------- routing


@pytest.fixture
def any_key_upstream() -> Iterator[tuple[Simulator, str]]:
    """The simulated backend taking any upstream key, recording which one it was sent."""
    sim = Simulator(time_scale=0, recorder=RequestRecorder())
    with ServerThread(asgi_app(sim)) as server:
        yield sim, f"{server.base_url}/v1"


def team_gateway(tmp_path: Path, upstream: str) -> ServerThread:
    """Two routes on one port, as a Kong file with one route per team would give: each team's
    prefix, upstream key and client key."""
    routes = [
        Settings(
            name=f"team-{team}",
            paths=(f"/team-{team}",),
            upstream_url=upstream,
            api_key=Secret(f"sk-upstream-of-team-{team}-0123456789"),
            log_path=tmp_path / "claude.json",
            client_auth=read_client_keys(
                write(tmp_path / f"{team}.keys", f"client-of-team-{team}-0123456789")
            ),
        )
        for team in ("a", "b")
    ]
    return ServerThread(build_routes_gateway(routes))


def write(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    return path


def raw_post(base: str, target: bytes, key: str) -> tuple[int, bytes]:
    """POST a Messages request to `target` as written (an HTTP client would resolve the dot
    segments itself); (status, body)."""
    body = json.dumps(
        {"model": "gpt-5-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    ).encode()
    head = (
        b"POST " + target + b" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
        b"content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
        b"x-api-key: " + key.encode() + b"\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(b"/team-b/../team-a/v1/messages", id="dot_dot"),
        pytest.param(b"/team-b/%2e%2e/team-a/v1/messages", id="encoded_dot_dot"),
        pytest.param(b"/team-b/%2E%2E/team-a/v1/messages", id="upper_case_encoding"),
        pytest.param(b"/team-b/./../team-a//v1/messages", id="dot_and_double_slash"),
    ],
)
def test_a_dot_segment_path_is_routed_by_its_normalised_form(
    tmp_path: Path, any_key_upstream: tuple[Simulator, str], target: bytes
) -> None:
    """`/team-b/../team-a/...` is team A's route: team A's client key is needed and team A's
    upstream key pays; team B's client key is refused there, and team B's upstream key is
    never used."""
    simulator, upstream = any_key_upstream
    with team_gateway(tmp_path, upstream) as server:
        refused, _ = raw_post(server.base_url, target, "client-of-team-b-0123456789")
        accepted, body = raw_post(server.base_url, target, "client-of-team-a-0123456789")
    assert (refused, accepted) == (401, 200), body
    assert simulator.recorder is not None
    (sent,) = simulator.recorder.headers
    assert sent["authorization"] == "Bearer sk-upstream-of-team-a-0123456789"


def test_the_same_request_on_the_plain_path_goes_to_its_own_route(
    tmp_path: Path, any_key_upstream: tuple[Simulator, str]
) -> None:
    simulator, upstream = any_key_upstream
    with team_gateway(tmp_path, upstream) as server:
        status, _ = raw_post(server.base_url, b"/team-b/v1/messages", "client-of-team-b-0123456789")
    assert status == 200
    assert simulator.recorder is not None
    assert simulator.recorder.headers[-1]["authorization"].endswith("team-b-0123456789")


# --------------------------------------------------------------------------- serve's refusal


def serve_command(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`claude-gw serve ... --no-check` as a subprocess that must end on its own (a refusal)."""
    return subprocess.run(
        [sys.executable, "-m", "claude_gw", "serve", "--upstream", "simulated", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": os.environ["PATH"], **(env or {})},
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "gateway.example"])
def test_serve_refuses_a_non_loopback_address_without_client_keys(host: str) -> None:
    result = serve_command("--host", host, "--port", "0")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert f"refusing to listen on {host} without client keys" in line
    assert "--allow-unauthenticated" in line and "Traceback" not in result.stderr


def test_allow_unauthenticated_turns_the_refusal_into_a_warning(key_file: Path) -> None:
    """Checked without binding: tests listen on 127.0.0.1 only."""
    listen = Listen(host="0.0.0.0", allow_unauthenticated=True)
    warning = check_exposure(listen, [Settings()])
    assert warning is not None
    assert warning.startswith("claude-gw: warning: listening on 0.0.0.0 without client keys")


def test_client_keys_on_every_route_allow_any_address(key_file: Path) -> None:
    keys = read_client_keys(key_file)
    assert check_exposure(Listen(host="0.0.0.0"), [Settings(client_auth=keys)]) is None
    assert check_exposure(Listen(host="127.0.0.1"), [Settings()]) is None
    assert check_exposure(Listen(host="::1"), [Settings()]) is None


def test_one_open_route_among_protected_ones_is_named_in_the_refusal(key_file: Path) -> None:
    keys = read_client_keys(key_file)
    routes = [
        Settings(name="team-a", client_auth=keys),
        Settings(name="team-b"),
    ]
    with pytest.raises(CliError, match=r"without client keys \(routes team-b\)"):
        check_exposure(Listen(host="0.0.0.0"), routes)


def test_the_banner_counts_the_keys_and_never_shows_one(key_file: Path) -> None:
    line = client_line(Settings(client_auth=read_client_keys(key_file)))
    assert line == "  clients:  2 keys from --client-key-file"
    assert client_line(Settings()) == "  clients:  anyone who reaches the port (no client keys)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "no keys in it", id="empty"),
        pytest.param("short-key\n", "line 1: the key has 9 characters", id="short_key"),
        pytest.param(f"{KEYS[0]}\n{KEYS[0]}\n", "line 2: the same key appears twice", id="twice"),
        pytest.param("has a space in it 0123456789\n", "without spaces", id="space"),
    ],
)
def test_an_unusable_client_key_file_is_one_line_naming_it(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path / "keys", content) if content else tmp_path / "keys"
    if not content:
        path.write_text("# nothing yet\n")
    result = serve_command("--client-key-file", str(path))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert str(path) in line and message in line
    assert KEYS[0] not in line


def test_a_missing_client_key_file_is_one_line(tmp_path: Path) -> None:
    result = serve_command(env={"CLAUDE_GW_CLIENT_KEY_FILE": str(tmp_path / "nope")})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"claude-gw: cannot read the client key file {tmp_path / 'nope'}: No such file or directory"
    )
