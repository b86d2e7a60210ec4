"""The strict simulator: the product's `Simulator`, checking requests as the real APIs do,
recording them for a test that asks, and serving Anthropic's Messages API too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claude_gw.simulated import errors
from claude_gw.simulated.common import Request, SimResponse, json_response
from claude_gw.simulated.profiles import ModelProfile
from claude_gw.simulated.simulator import Simulator
from claude_gw.testing import anthropic_api
from claude_gw.testing.responses_checks import validate_responses
from claude_gw.testing.validate import validate_request


@dataclass
class RequestRecorder:
    """Every request a StrictSimulator answered, kept for a test to read: `headers` and `paths`
    have one entry per request (header names lowercased), `bodies` one per API request whose
    body was a JSON object. It grows with every request, so only a test that reads it makes
    one (`StrictSimulator(recorder=RequestRecorder())`)."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


class StrictSimulator(Simulator):
    """A test double of OpenAI (Chat Completions, Responses) and Anthropic (Messages,
    count_tokens, models): the simulated backend's answers, after the checks the real API makes
    (`validate`, `responses_checks`, `anthropic_request`: the first problem is a 400 in the
    API's own words), so a translation bug in the gateway fails here as it would there.
    Reasoning items sent back to `/responses` must be ones this simulator issued (its `vault`).

    With `recorder`, every request's path, headers and JSON body are kept in it."""

    def __init__(self, *, recorder: RequestRecorder | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.recorder = recorder

    async def respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> SimResponse:
        if self.recorder is not None:
            self.recorder.headers.append({name.lower(): value for name, value in headers.items()})
            self.recorder.paths.append(path.partition("?")[0])
        return await super().respond(method, path, headers, body)

    async def route(self, method: str, request: Request) -> SimResponse:
        if method == "POST" and anthropic_api.handles(request.path):
            return await anthropic_api.respond(self, request)
        if method == "GET" and request.path.endswith("/models") and "x-api-key" in request.headers:
            key = request.headers["x-api-key"]  # Anthropic's GET /v1/models
            if self.api_key is not None and key != self.api_key:
                raise errors.invalid_api_key(key or None)
            return json_response(200, self.model_list(), request.request_id, request.started)
        return await super().route(method, request)

    def admit(self, api: str, doc: dict[str, Any], profile: ModelProfile) -> None:
        if self.recorder is not None:
            self.recorder.bodies.append(doc)
        if api == "chat":
            validate_request(doc, profile)
        elif api == "responses":
            self.stats.reasoning_items_received += validate_responses(doc, profile, self.vault)
