"""`claude_gw.auth`: where a request's key is read, and that every key is compared in constant
time, each one, every time."""

from __future__ import annotations

import hmac
import uuid

import pytest

from claude_gw.auth import ClientAuth, Credential, parse_client_keys
from claude_gw.errors import ClientUnauthenticated

KEYS = tuple(f"client-key-{n}-0123456789abcdef" for n in range(3))
AUTH = ClientAuth(tuple(Credential(key) for key in KEYS))


class CountingCompare:
    """hmac.compare_digest, counting its calls and the lengths it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, a: bytes, b: bytes) -> bool:
        self.calls.append((len(a), len(b)))
        return hmac.compare_digest(a, b)


@pytest.mark.parametrize("index", range(3), ids=["first_key", "second_key", "last_key"])
def test_every_key_is_compared_as_a_fixed_size_digest_whichever_matches(index: int) -> None:
    compare = CountingCompare()
    found = AUTH.authenticate([("x-api-key", KEYS[index])], compare=compare)
    assert found.key == KEYS[index]
    assert compare.calls == [(32, 32)] * 3  # no early exit, no length leak


def test_a_wrong_key_of_any_length_costs_the_same_comparisons() -> None:
    for guess in ("x", KEYS[0][:-1], KEYS[0] + "x", "y" * 500):
        compare = CountingCompare()
        with pytest.raises(ClientUnauthenticated, match=r"^invalid API key$"):
            AUTH.authenticate([("x-api-key", guess)], compare=compare)
        assert compare.calls == [(32, 32)] * 3


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("X-Api-Key", KEYS[1])], id="x_api_key_any_case"),
        pytest.param([("authorization", f"Bearer {KEYS[1]}")], id="bearer"),
        pytest.param([("Authorization", f"bearer  {KEYS[1]}")], id="bearer_lower_case"),
        pytest.param(
            [("x-api-key", KEYS[1]), ("authorization", "Bearer no")], id="x_api_key_first"
        ),
    ],
)
def test_the_key_is_read_from_x_api_key_or_a_bearer_token(headers: list[tuple[str, str]]) -> None:
    assert AUTH.authenticate(headers).key == KEYS[1]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param([], "no API key", id="nothing"),
        pytest.param([("authorization", f"Basic {KEYS[0]}")], "no API key", id="basic_scheme"),
        pytest.param([("x-api-key", "")], "no API key", id="empty"),
        pytest.param(
            [("x-api-key", KEYS[0]), ("x-api-key", KEYS[1])], "more than one API key", id="twice"
        ),
    ],
)
def test_requests_without_exactly_one_key_are_refused(
    headers: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ClientUnauthenticated, match=message) as raised:
        AUTH.authenticate(headers)
    assert raised.value.http_status == 401
    assert raised.value.error_type == "authentication_error"
    assert not any(key in raised.value.message for key in KEYS)


def test_kong_style_key_names_read_headers_then_the_query_string() -> None:
    kong = ClientAuth(
        AUTH.credentials, header_names=("apikey",), bearer=False, query_names=("apikey",)
    )
    assert kong.authenticate([("ApiKey", KEYS[0])]).key == KEYS[0]
    assert kong.authenticate([], f"beta=true&apikey={KEYS[2]}").key == KEYS[2]
    with pytest.raises(ClientUnauthenticated):
        kong.authenticate([("authorization", f"Bearer {KEYS[0]}")])  # not a key name here
    with pytest.raises(ClientUnauthenticated, match="more than one"):
        kong.authenticate([], f"apikey={KEYS[0]}&apikey={KEYS[1]}")


def test_a_credential_never_shows_its_key_in_a_repr() -> None:
    assert KEYS[0] not in repr(AUTH) and KEYS[0] not in repr(AUTH.credentials[0])


def test_a_key_file_skips_blank_lines_and_comments() -> None:
    text = f"# team keys\n\n  {KEYS[0]}  \n#{KEYS[1]}\n{KEYS[2]}\n"
    assert [c.key for c in parse_client_keys(text, "keys")] == [KEYS[0], KEYS[2]]


def test_a_key_file_names_each_key_client_n_unless_its_line_names_a_consumer() -> None:
    text = f"{KEYS[0]}\n# ci\n{KEYS[1]} ci-bot\n{KEYS[2]}\n"
    credentials = parse_client_keys(text, "keys")
    assert [c.consumer for c in credentials] == ["client-1", "ci-bot", "client-3"]
    bot = credentials[1]
    bot_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:consumer:ci-bot"))
    first = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:credential:client-key-file:ci-bot:1"))
    assert bot.consumer_entity() == {"id": bot_id, "username": "ci-bot"}
    assert bot.authenticated_entity() == {"id": first, "consumer_id": bot_id}


def test_two_keys_of_one_named_consumer_are_two_credentials_of_it() -> None:
    one, two = parse_client_keys(f"{KEYS[0]} ops\n{KEYS[1]} ops\n", "keys")
    assert one.consumer_entity() == two.consumer_entity()
    entities = [c.authenticated_entity() for c in (one, two)]
    assert entities[0] is not None and entities[1] is not None
    assert entities[0]["id"] != entities[1]["id"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="no_key"),
        pytest.param([("x-api-key", "wrong-key-0123456789abcdef")], id="wrong_key"),
        pytest.param([("x-api-key", KEYS[0]), ("x-api-key", KEYS[1])], id="two_keys"),
    ],
)
def test_every_refusal_says_how_to_authenticate(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ClientUnauthenticated) as raised:
        AUTH.authenticate(headers)
    assert raised.value.headers == {"www-authenticate": "Bearer"}
