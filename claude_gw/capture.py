"""Capture: run a command (normally `claude ...`) against a gateway and keep what it sent.

`run_capture(["claude", "-p", "hi"], settings)` starts a gateway on a free loopback port (or
uses one already running), runs the command with the Claude CLI pointed at it, labels every
log record with the capture's name, stops the gateway when the command ends, and returns the
command's exit status with the capture's records. The label rides in the base URL's path
(`<gateway>/capture/<name>`), so a claude_gw gateway in another process labels them too.

`run_capture(..., on_record=callback)` also hands each record to `callback` as the gateway logs
it, while the command still runs; `describe_record(record)` makes one line of it for people.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from claude_gw.apis import APIS
from claude_gw.config import Listen, Secret, Settings
from claude_gw.logs.mask import printable
from claude_gw.server.context_window import window_for
from claude_gw.server.runner import BackgroundGateway

NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The key the command gets when the gateway takes no client keys: the CLI insists on one.
PLACEHOLDER_KEY = "claude-gw-capture"
# The command runs model-written shell commands, so its environment is readable by whatever the
# model is talked into printing: it is built from an allow-list, not the gateway's environment
# minus a deny-list, because no deny-list knows every name a secret hides under (GITHUB_TOKEN,
# DATABASE_URL, a vendor's FOO_CREDENTIALS...). Passed: what a terminal program needs to run
# (search path, home, user, shell, terminal, locale, time zone, temporary and XDG directories)
# and the Claude CLI's own configuration; anything else only when named with --pass-env.
PASSED_NAMES = frozenset(
    {
        *("PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD"),
        *("TERM", "COLORTERM", "TERM_PROGRAM", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"),
        *("LANG", "LANGUAGE", "TZ", "TMPDIR", "TMP", "TEMP", "EDITOR", "VISUAL"),
        "CLAUDE_CONFIG_DIR",
    }
)
PASSED_PREFIXES = ("LC_", "XDG_", "CLAUDE_CODE_", "DISABLE_")
# A variable passed by prefix is still dropped when a word of its name says it holds a secret
# (CLAUDE_CODE_OAUTH_TOKEN is a login to Anthropic, not a setting; ..._MAX_OUTPUT_TOKENS is).
SECRET_NAME = re.compile(
    r"(?:^|_)(?:\w*KEY|\w*TOKEN|SECRET|PASSW\w*|CREDENTIALS?|\w*AUTH|COOKIE|SESSION)(?:_|$)",
    re.IGNORECASE,
)
# Never passed, even when named with --pass-env: the gateway's own keys and configuration.
GATEWAY_SECRET_NAMES = frozenset({*(api.key_env for api in APIS.values()), "ANTHROPIC_AUTH_TOKEN"})
GATEWAY_SECRET_PREFIXES = ("CLAUDE_GW_", "DECK_", "OPENAI_", "AWS_")
_MIN_SECRET_CHARS = 8  # shorter values could turn up in an unrelated variable by chance
FAMILIES = ("haiku", "sonnet", "opus")
# The Claude CLI reads it as the model's window (with it, it stops warning about an unknown model).
CONTEXT_WINDOW_VARIABLE = "CLAUDE_CODE_MAX_CONTEXT_TOKENS"
POLL_S = 0.1  # how often the log is read for new records while the command runs
# A gateway in another process writes a record just after the response it logs: after the
# command exits, wait this long before the last read of its log.
SETTLE_S = 0.5
STOP_S = 10.0  # a command left running by a failing `on_record` gets this long after SIGTERM

OnRecord = Callable[[dict[str, Any]], None]


def default_name(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now()).strftime("capture-%Y%m%d-%H%M%S")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"capture name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def is_gateway_secret(name: str) -> bool:
    """Variables that hold (or point at) the gateway's keys: never given to the command."""
    return name in GATEWAY_SECRET_NAMES or name.startswith(GATEWAY_SECRET_PREFIXES)


def passes(name: str) -> bool:
    """Whether variable `name` of the caller's environment is given to the command unasked."""
    if name in PASSED_NAMES:
        return True
    return name.startswith(PASSED_PREFIXES) and not SECRET_NAME.search(name)


def gateway_secrets(settings: Settings) -> list[str]:
    """The values the command must never see: the upstream key and the secret parts of the
    upstream headers and query (Kong's auth header or parameter)."""
    values = [settings.api_key or ""]
    values += [value for _, value in settings.upstream_headers if isinstance(value, Secret)]
    values += [value for _, value in settings.upstream_query if isinstance(value, Secret)]
    return [value for value in values if len(value) >= _MIN_SECRET_CHARS]


def check_pass_env(names: Sequence[str]) -> tuple[str, ...]:
    """`--pass-env` names, refusing the gateway's own secrets (ValueError names the variable)."""
    for name in names:
        if is_gateway_secret(name):
            raise ValueError(
                f"--pass-env {name}: the gateway's keys and settings are never passed to the "
                "command (it runs model-written shell commands)"
            )
    return tuple(names)


def client_env(
    base_url: str,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    pass_env: Sequence[str] = (),
) -> dict[str, str]:
    """The environment for a Claude CLI that should talk to the gateway at `base_url`.

    From `environ`, only the allow-listed variables (`passes`) and those named in `pass_env`
    (`check_pass_env` refuses the gateway's own), minus any whose value contains one of the
    gateway's secrets; then the base URL, `ANTHROPIC_API_KEY` (the first client key when the
    gateway takes client keys, else a placeholder; the caller's own Anthropic key or token
    never), the model variables following the gateway's model map, the model's context window
    when known (`cli_context_window`), and nonessential traffic off."""
    wanted = set(check_pass_env(pass_env))
    secrets = gateway_secrets(settings)
    env = {
        name: value
        for name, value in environ.items()
        if (passes(name) or name in wanted) and not any(secret in value for secret in secrets)
    }
    env["ANTHROPIC_BASE_URL"] = base_url
    env["ANTHROPIC_MODEL"] = settings.routing.model
    for family in FAMILIES:
        upstream_model = settings.routing.resolve(f"claude-{family}-5-5")
        env[f"ANTHROPIC_DEFAULT_{family.upper()}_MODEL"] = upstream_model
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    env["ANTHROPIC_API_KEY"] = settings.client_key or PLACEHOLDER_KEY
    window = cli_context_window(settings)
    if window is not None:
        env[CONTEXT_WINDOW_VARIABLE] = str(window)
    return env


def cli_context_window(settings: Settings) -> int | None:
    """The context window the Claude CLI should compact by: the gateway model's (its
    `--context-window`, else genai-prices'), or None to leave the CLI its own idea.

    The CLI assumes 1,000,000 tokens for a model name it does not know, warns about it on every
    run and compacts only near it; gpt-5-mini has 400,000. For an Anthropic upstream only a
    configured window is given: a Claude model's depends on the request's betas, which the CLI
    knows and the price table does not.
    """
    if settings.context_window is None and not settings.api.priced_window:
        return None
    return window_for(settings.routing.model, settings.provider, settings.context_window)


@dataclass
class CaptureSummary:
    requests: int = 0  # /v1/messages requests (model turns)
    token_counts: int = 0  # /v1/messages/count_tokens requests
    errors: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    unpriced: int = 0  # requests whose model has no known price

    def add(self, record: Mapping[str, Any]) -> None:
        ours = record.get("claude_gw") or {}
        if ours.get("endpoint") == "count_tokens":
            self.token_counts += 1
            return
        self.requests += 1
        self.errors += ours.get("error_type") is not None
        usage = ((record.get("ai") or {}).get("proxy") or {}).get("usage") or {}
        self.prompt_tokens += usage.get("prompt_tokens") or 0
        self.cached_tokens += (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        self.completion_tokens += usage.get("completion_tokens") or 0
        details = usage.get("completion_tokens_details") or {}
        self.reasoning_tokens += details.get("reasoning_tokens") or 0
        self.cost += usage.get("cost") or 0.0
        self.unpriced += ours.get("cost_source") == "unpriced"


@dataclass
class CaptureResult:
    name: str
    returncode: int
    log_path: Path | None
    records: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> CaptureSummary:
        summary = CaptureSummary()
        for record in self.records:
            summary.add(record)
        return summary

    def to_frame(self, engine: Literal["polars", "pandas"] = "polars") -> Any:
        """The capture's records as a DataFrame (the `claude_gw.logs` schema)."""
        from claude_gw.logs import read_logs

        text = "".join(json.dumps(record) + "\n" for record in self.records)
        return read_logs(io.StringIO(text), engine=engine)


def read_records(log_path: Path, offset: int, name: str) -> list[dict[str, Any]]:
    """The records labelled `name` appended to the log after byte `offset`."""
    follower = RecordFollower(log_path, offset, name)
    follower.poll(final=True)
    return follower.records


def labelled(line: bytes, name: str) -> dict[str, Any] | None:
    """The record on `line` when it is a JSON object labelled with capture `name`."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and (record.get("claude_gw") or {}).get("capture") == name:
        return record
    return None


class RecordFollower:
    """Follows a log from byte `offset`: each `poll()` reads the lines appended since the last
    one and keeps the records labelled `name`, in file order, each exactly once.

    Only whole lines are read (a line still being written waits for the next poll) unless
    `poll(final=True)` says no more will come. A log that shrank below the position read so
    far was replaced (rotated): it is read again from its start.
    """

    def __init__(
        self, log_path: Path, offset: int, name: str, on_record: OnRecord | None = None
    ) -> None:
        self.log_path = log_path
        self.offset = offset
        self.name = name
        self.on_record = on_record
        self.records: list[dict[str, Any]] = []

    def poll(self, *, final: bool = False) -> list[dict[str, Any]]:
        """Read what was appended; return the new records, after passing each to `on_record`.
        An exception from `on_record` propagates, and the rest of this batch is not delivered."""
        new = [r for line in self._new_lines(final) if (r := labelled(line, self.name))]
        for record in new:
            self.records.append(record)
            if self.on_record is not None:
                self.on_record(record)
        return new

    def _new_lines(self, final: bool) -> list[bytes]:
        try:
            with self.log_path.open("rb") as log:
                if log.seek(0, io.SEEK_END) < self.offset:
                    self.offset = 0
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return []
        end = len(data) if final else data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].splitlines()


def exit_status(returncode: int) -> int:
    """A command killed by signal N exits 128+N, as a shell reports it."""
    return 128 - returncode if returncode < 0 else returncode


@contextmanager
def forwarding_signals(process_holder: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """While the command runs, Ctrl-C goes to it (the terminal sends it to both of us: we
    ignore ours) and a SIGTERM sent to us is passed on to it."""

    def on_interrupt(signum: int, frame: object) -> None:
        pass  # a Python handler, unlike SIG_IGN, is reset in the child at exec

    def on_terminate(signum: int, frame: object) -> None:
        for process in process_holder:
            process.send_signal(signal.SIGTERM)

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. not in some kernels)
        return
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, on_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_terminate),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_command(
    command: Sequence[str], env: Mapping[str, str], on_tick: Callable[[], object] | None = None
) -> int:
    """Run `command` to its end and return its exit status; `on_tick()` runs every `POLL_S`
    seconds meanwhile. If `on_tick` raises, the command is stopped (SIGTERM, then SIGKILL
    after `STOP_S`) and the exception propagates."""
    holder: list[subprocess.Popen[bytes]] = []
    with forwarding_signals(holder):
        process = subprocess.Popen(list(command), env=dict(env))
        holder.append(process)
        try:
            return exit_status(wait_ticking(process, on_tick))
        except BaseException:
            stop(process)
            raise


def wait_ticking(process: subprocess.Popen[bytes], on_tick: Callable[[], object] | None) -> int:
    if on_tick is None:
        return process.wait()
    while True:
        try:
            return process.wait(POLL_S)
        except subprocess.TimeoutExpired:
            on_tick()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_capture(
    command: Sequence[str],
    settings: Settings,
    *,
    name: str | None = None,
    gateway_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    on_record: OnRecord | None = None,
    pass_env: Sequence[str] = (),
    listen: Listen | None = None,
) -> CaptureResult:
    """Run `command` against a gateway and return its exit status and labelled records.

    Without `gateway_url`, a gateway with `settings` runs for the duration of the command on a free
    loopback port, under `listen`'s limits (default `Listen()`'s). With it, the command talks to
    that gateway; records are then read from `settings.log_path` when that file is the other
    gateway's log.

    `on_record(record)` is called on the calling thread with each labelled record as it
    reaches the log (checked every `POLL_S` seconds while the command runs), then with the
    ones written as it ended: every record of `CaptureResult.records` exactly once, in that
    order. If it raises, the command is stopped and the exception propagates.

    The command's environment is `client_env` of `environ` (allow-listed variables, those
    named in `pass_env`, never the gateway's secrets).
    """
    label = check_name(name or default_name())
    check_pass_env(pass_env)
    env_in = dict(environ or {})
    log_path = settings.log_path
    offset = log_path.stat().st_size if log_path.exists() else 0
    follower = RecordFollower(log_path, offset, label, on_record)
    tick = follower.poll if on_record is not None else None
    if gateway_url:
        url = f"{gateway_url.rstrip('/')}/capture/{label}"
        env = client_env(url, settings, env_in, pass_env=pass_env)
        status = run_command(command, env, tick)
        time.sleep(SETTLE_S)
    else:
        local = replace(listen or Listen(), host="127.0.0.1", port=0)
        with BackgroundGateway(settings, local) as gateway:
            env = client_env(f"{gateway.url}/capture/{label}", settings, env_in, pass_env=pass_env)
            status = run_command(command, env, tick)
    follower.poll(final=True)  # the local gateway has stopped and flushed its log
    return CaptureResult(label, status, log_path, follower.records)


def describe_record(record: Mapping[str, Any]) -> str:
    """One line for people about a logged record: UTC time, response (else requested) model,
    status, tokens (prompt, cached, completion, reasoning), stop reason, tool calls, error.

    `12:03:04.512 gpt-5-mini-simulated 200 1310 in (0 cached) 1732 out (1708 reasoning)
    tool_use, 1 tool call`; a count_tokens request reads `... 200 count_tokens`. Control
    characters (terminal escapes) are shown escaped."""
    ours = record.get("claude_gw") or {}
    proxy = (record.get("ai") or {}).get("proxy") or {}
    meta = proxy.get("meta") or {}
    started = dt.datetime.fromtimestamp((record.get("started_at") or 0) / 1000, tz=dt.UTC)
    model = meta.get("response_model") or meta.get("request_model") or "?"
    status = (record.get("response") or {}).get("status", "?")
    head = f"{started:%H:%M:%S}.{started.microsecond // 1000:03d} {model} {status}"
    if ours.get("endpoint") == "count_tokens":
        return printable(f"{head} count_tokens")
    parts = [head + " " + token_text(proxy.get("usage") or {})]
    if ours.get("stop_reason"):
        calls = ours.get("tool_calls") or 0
        parts.append(f"{ours['stop_reason']}, {calls} tool call{'' if calls == 1 else 's'}")
    if ours.get("error_type"):
        parts.append(f"error {ours['error_type']}: {ours.get('error_message') or ''}".rstrip())
    return printable(" ".join(parts))  # model names and messages come from upstreams


def token_text(usage: Mapping[str, Any]) -> str:
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return (
        f"{usage.get('prompt_tokens') or 0} in ({cached} cached) "
        f"{usage.get('completion_tokens') or 0} out ({reasoning} reasoning)"
    )
