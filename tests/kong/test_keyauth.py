"""Kong's key-auth plugin and consumers in decK files: read as Kong 3.13 serves them, turned into
the gateway's client keys, warned about where claude_gw differs, and written back by an export
without a key in clear."""

from __future__ import annotations

import uuid

import pytest
import yaml

from claude_gw.auth import read_client_keys
from claude_gw.config import Settings
from claude_gw.errors import ClientUnauthenticated
from claude_gw.kong import KongConfigError, behaviour_differences, export_deck, load_deck
from claude_gw.kong.keyauth import client_auth
from claude_gw.kong.settings import deck_from_settings, settings_for_route
from tests.kong.helpers import ENV, ai_proxy, route

ALICE_KEY = "alice-key-0123456789abcdef"
BOB_KEY = "bob-key-0123456789abcdef"
KEYS_ENV = {**ENV, "DECK_ALICE_KEY": ALICE_KEY}
CONSUMERS = [
    {"username": "alice", "keyauth_credentials": [{"key": '${{ env "DECK_ALICE_KEY" }}'}]},
    {"custom_id": "bob-42", "id": "b0b", "keyauth_credentials": [{"key": BOB_KEY, "id": "k1"}]},
]


def document(**sections: object) -> str:
    """A decK document as YAML (JSON would escape the quotes of a `${{ env "..." }}`)."""
    return yaml.safe_dump({"_format_version": "3.0", **sections}, sort_keys=False)


def key_auth(**config: object) -> dict[str, object]:
    return {"name": "key-auth", "config": {"key_names": ["x-api-key"], **config}}


def two_routes(**sections: object) -> str:
    """Route `open` on /open and route `team` on /team (key-auth nested in it)."""
    routes = [route("open", "/open"), route("team", "/team", plugins=[key_auth()])]
    service = {"name": "svc", "url": "http://upstream.invalid", "routes": routes}
    return document(services=[service], plugins=[ai_proxy()], consumers=CONSUMERS, **sections)


def test_consumers_keys_open_the_route_with_key_auth_and_only_that_one():
    config = load_deck([("kong.yaml", two_routes())], KEYS_ENV)
    routes = {r.key: r for r in config.routes}
    assert routes["open"].key_auth is None
    team = routes["team"].key_auth
    assert team is not None and team.key_names == ("x-api-key",)
    assert [(k.consumer, k.key) for k in team.credentials] == [
        ("alice", ALICE_KEY),
        ("bob-42", BOB_KEY),
    ]
    auth = client_auth(team)
    assert auth is not None
    assert auth.authenticate([("X-Api-Key", ALICE_KEY)]).consumer == "alice"
    bob = auth.authenticate([], f"x-api-key={BOB_KEY}")  # key_in_query, Kong's default
    assert (bob.consumer, bob.consumer_id, bob.credential_id) == ("bob-42", "b0b", "k1")
    with pytest.raises(ClientUnauthenticated, match="No API key found in request"):
        auth.authenticate([("authorization", f"Bearer {ALICE_KEY}")])  # not a key name
    with pytest.raises(ClientUnauthenticated, match="Unauthorized"):
        auth.authenticate([("x-api-key", "someone-else-0123456789")])


def test_the_log_names_each_consumer_as_kong_does_with_the_ids_the_file_gives():
    config = load_deck([("kong.yaml", two_routes())], KEYS_ENV)
    team = next(r for r in config.routes if r.key == "team")
    auth = client_auth(team.key_auth)
    assert auth is not None
    bob = auth.authenticate([("x-api-key", BOB_KEY)])
    assert bob.consumer_entity() == {"id": "b0b", "custom_id": "bob-42"}  # no username
    assert bob.authenticated_entity() == {"id": "k1", "consumer_id": "b0b"}
    alice = auth.authenticate([("x-api-key", ALICE_KEY)])
    alice_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:consumer:alice"))
    assert alice.consumer_entity() == {"id": alice_id, "username": "alice"}
    first_key = str(uuid.uuid5(uuid.NAMESPACE_URL, "claude-gw:credential:kong:alice:1"))
    assert alice.authenticated_entity() == {"id": first_key, "consumer_id": alice_id}
    assert ALICE_KEY not in repr(alice.consumer_entity()) + repr(alice.authenticated_entity())


@pytest.mark.parametrize(
    ("realm", "challenge"),
    [
        pytest.param(None, "Key", id="no_realm"),
        pytest.param("team", 'Key realm="team"', id="realm"),
    ],
)
def test_every_key_auth_refusal_carries_kongs_challenge(realm, challenge):
    text = two_routes()
    if realm:
        text = text.replace("key_names:", f"realm: {realm}\n        key_names:")
    team = next(r for r in load_deck([("k.yaml", text)], KEYS_ENV).routes if r.key == "team")
    auth = client_auth(team.key_auth)
    assert auth is not None
    refusals = [[], [("x-api-key", "someone-else-0123456789")], [("x-api-key", "a")] * 2]
    for headers in refusals:
        with pytest.raises(ClientUnauthenticated) as raised:
            auth.authenticate(headers)
        assert raised.value.headers == {"www-authenticate": challenge}


def test_route_settings_take_the_consumers_keys_and_keep_the_flags_keys_elsewhere():
    config = load_deck([("kong.yaml", two_routes())], KEYS_ENV)
    routes = {r.key: settings_for_route(r, Settings()) for r in config.routes}
    assert routes["open"].client_auth is None
    team = routes["team"].client_auth
    assert team is not None and len(team.credentials) == 2
    assert ALICE_KEY not in repr(routes["team"])


def test_header_and_query_places_follow_key_in_header_and_key_in_query():
    text = two_routes().replace("key_names:", "key_in_query: false\n        key_names:")
    team = next(r for r in load_deck([("k.yaml", text)], KEYS_ENV).routes if r.key_auth)
    auth = client_auth(team.key_auth)
    assert auth is not None and auth.query_names == ()
    with pytest.raises(ClientUnauthenticated):
        auth.authenticate([], f"x-api-key={ALICE_KEY}")


DEFAULT_NAMES = {"name": "key-auth", "config": {}}


@pytest.mark.parametrize(
    ("plugin", "path", "words"),
    [
        pytest.param(key_auth(key_in_body=True), "key_in_body", "not read", id="key_in_body"),
        pytest.param(key_auth(anonymous="guest"), "anonymous", "as open", id="anonymous"),
        pytest.param(DEFAULT_NAMES, "key_names", "add x-api-key", id="default_key_names"),
    ],
)
def test_what_claude_gw_reads_differently_is_warned_about(plugin, path, words):
    text = document(
        services=[{"name": "svc", "url": "http://u.invalid", "routes": [route("r", "/r")]}],
        plugins=[ai_proxy(), plugin],
        consumers=CONSUMERS,
    )
    config = load_deck([("f.yaml", text)], KEYS_ENV)
    matching = [w for w in config.warnings if w.path == f"plugins[1].config.{path}"]
    assert matching and words in matching[0].message, [str(w) for w in config.warnings]


def test_anonymous_key_auth_leaves_the_route_open():
    text = two_routes().replace("key_names:", "anonymous: guest\n        key_names:")
    team = next(r for r in load_deck([("k.yaml", text)], KEYS_ENV).routes if r.key == "team")
    assert client_auth(team.key_auth) is None


def test_key_auth_without_any_consumer_key_is_warned_about():
    service = {"name": "svc", "url": "http://u.invalid", "routes": [route("r", "/r")]}
    text = document(services=[service], plugins=[ai_proxy(), key_auth()])
    config = load_deck([("k.yaml", text)], {})
    assert any("answer every request 401" in w.message for w in config.warnings)


KEY_PATH = "consumers[0].keyauth_credentials[0].key"
NAMELESS = [{"keyauth_credentials": [{"key": ALICE_KEY}]}]
KEYLESS = [{"username": "a", "keyauth_credentials": [{}]}]
VAULT = [{"username": "a", "keyauth_credentials": [{"key": "{vault://env/k}"}]}]
SHARED_KEY = [
    {"username": "a", "keyauth_credentials": [{"key": ALICE_KEY}]},
    {"username": "b", "keyauth_credentials": [{"key": ALICE_KEY}]},
]


@pytest.mark.parametrize(
    ("consumers", "path", "words"),
    [
        pytest.param(NAMELESS, "consumers[0].username", "username or a custom_id", id="nameless"),
        pytest.param(KEYLESS, KEY_PATH, "cannot generate keys", id="no_key"),
        pytest.param(SHARED_KEY, "consumers", "holds too", id="same_key_twice"),
        pytest.param(VAULT, KEY_PATH, "vault", id="vault"),
    ],
)
def test_unusable_consumers_are_errors_naming_the_key_path(consumers, path, words):
    text = document(
        services=[{"name": "svc", "url": "http://u.invalid", "routes": [route("r", "/r")]}],
        plugins=[ai_proxy(), key_auth()],
        consumers=consumers,
    )
    with pytest.raises(KongConfigError) as raised:
        load_deck([("f.yaml", text)], {})
    assert raised.value.path == path and words in raised.value.message
    assert ALICE_KEY not in str(raised.value)


def test_an_export_writes_key_auth_and_consumers_without_a_key_in_clear():
    config = load_deck([("kong.yaml", two_routes())], KEYS_ENV)
    text = export_deck(config)
    assert ALICE_KEY not in text and BOB_KEY not in text
    assert '${{ env "DECK_ALICE_KEY" }}' in text  # as it was read
    assert '${{ env "DECK_BOB_42_KEY" }}' in text  # a new variable for the key in clear
    again = load_deck([("out.yaml", text)], {**KEYS_ENV, "DECK_BOB_42_KEY": BOB_KEY})
    assert behaviour_differences(config, again) == []
    other = {**KEYS_ENV, "DECK_BOB_42_KEY": "other-0123456789"}
    differences = behaviour_differences(config, load_deck([("out.yaml", text)], other))
    assert differences and all(line.startswith("routes[team].key_auth") for line in differences)
    assert not any(BOB_KEY in line or "other-0123456789" in line for line in differences)


def test_client_keys_from_the_flags_are_written_as_key_auth_and_consumers(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(f"{ALICE_KEY}\n{BOB_KEY}\n")
    settings = Settings(client_auth=read_client_keys(keys))
    text = deck_from_settings(settings)
    assert ALICE_KEY not in text and BOB_KEY not in text
    assert "Authorization: Bearer; Kong's key-auth reads x-api-key only" in text
    env = {**ENV, "DECK_CLIENT_1_KEY": ALICE_KEY, "DECK_CLIENT_2_KEY": BOB_KEY}
    (back,) = load_deck([("out.yaml", text)], env).routes
    assert back.key_auth is not None and back.key_auth.key_names == ("x-api-key",)
    assert [(k.consumer, k.key) for k in back.key_auth.credentials] == [
        ("client-1", ALICE_KEY),
        ("client-2", BOB_KEY),
    ]
    auth = settings_for_route(back, Settings()).client_auth
    assert auth is not None and auth.authenticate([("x-api-key", BOB_KEY)]).consumer == "client-2"
