"""The long reliability run (`python -m tests.reliability.long`): its checks catch what they
are for, and a small run of it passes end to end."""

from __future__ import annotations

import json

import pytest

from tests.reliability import long
from tests.reliability.asgi_driver import UPSTREAM_KEY
from tests.reliability.faulty_upstream import FAULTS
from tests.reliability.test_load import ID_HEADER, Outcome

ANSWER = json.dumps({"type": "error", "error": {"type": "rate_limit_error", "message": "x"}})


def record(index: int) -> bytes:
    return json.dumps({"request": {"headers": {ID_HEADER: str(index)}}}).encode() + b"\n"


def answered(index: int) -> Outcome:
    return Outcome(index, "status_429", stream=False, status=429, body=ANSWER.encode())


def test_a_clean_round_has_no_problem() -> None:
    problems, logged = long.check_round(
        [answered(1), answered(2)], record(1) + record(2), logged_before=set()
    )
    assert problems == [] and logged == {1, 2}


@pytest.mark.parametrize(
    ("log", "before", "expected"),
    [
        pytest.param(
            record(1) + record(2) + record(2), set(), "request 2 is logged 2 times", id="twice"
        ),
        pytest.param(record(1), set(), "request 2 was answered but not logged", id="missing"),
        pytest.param(
            record(1) + record(2)[:-9], set(), "log line 2 is not a whole record", id="cut"
        ),
        pytest.param(
            record(1) + record(2), {2}, "request 2 was logged in an earlier round", id="again"
        ),
        pytest.param(
            record(1) + record(2) + UPSTREAM_KEY.encode() + b"\n",
            set(),
            "a key is in the log",
            id="key",
        ),
    ],
)
def test_a_broken_invariant_is_reported(log: bytes, before: set[int], expected: str) -> None:
    problems, _ = long.check_round([answered(1), answered(2)], log, logged_before=before)
    assert any(expected in problem for problem in problems), problems


def test_a_wrong_answer_is_reported() -> None:
    wrong = Outcome(3, "status_429", stream=False, status=500, body=ANSWER.encode())
    problems, _ = long.check_round([wrong], record(3), logged_before=set())
    assert problems and problems[0].startswith("request 3 (status_429)")


def left(index: int, *, reached: bool = True) -> Outcome:
    """A client that left on purpose, after its response's headers came (`reached`) or not;
    request 3 is a `stall`, request 10 an `ok` (`test_load.plan`)."""
    return Outcome(index, FAULTS[index % len(FAULTS)], stream=False, reached=reached)


def left_record(index: int, status: int, error_type: str | None) -> bytes:
    doc = {
        "request": {"headers": {ID_HEADER: str(index)}},
        "response": {"status": status},
        "claude_gw": {"error_type": error_type},
    }
    return json.dumps(doc).encode() + b"\n"


def test_a_client_that_left_early_logged_as_a_499_disconnect_is_no_problem() -> None:
    log = left_record(3, 499, "client_disconnected")
    problems, _ = long.check_round([left(3), left(10, reached=False)], log, logged_before=set())
    assert problems == []  # request 10 left before its headers: it may never have been sent


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        pytest.param(b"", "request 3 left after its headers, unlogged", id="unlogged"),
        pytest.param(
            left_record(3, 499, "api_error"), "logged as api_error", id="499_not_a_disconnect"
        ),
        pytest.param(left_record(3, 500, "api_error"), "logged as a 500", id="wrong_status"),
    ],
)
def test_a_client_that_left_early_and_is_logged_wrongly_is_reported(
    log: bytes, expected: str
) -> None:
    problems, _ = long.check_round([left(3)], log, logged_before=set())
    assert any(expected in problem for problem in problems), problems


def test_a_small_long_run_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert long.main(["--rounds", "2", "--requests", "40", "--examples", "0"]) == 0
    out = capsys.readouterr().out
    assert "round 1: 40 requests" in out and "round 2: 40 requests" in out
    assert "every invariant held: 80 requests in 2 rounds" in out
