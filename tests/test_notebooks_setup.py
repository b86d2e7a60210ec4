"""What nbval does not check about the notebooks and their sample data.

`pytest --nbval-lax notebooks/` runs every cell and compares the outputs of the cells marked
`# NBVAL_CHECK_OUTPUT`; these tests hold the rest of the contract (STYLE.md, data/README.md):
notebooks are committed executed, without errors, on the `python3` kernel, open with an
explanation, use claude_gw, and every sample file is described in data/README.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
DATA = REPO / "data"
NOT_SAMPLES = {"README.md", "make_samples.py"}


def load(path: Path) -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return notebook


def source(cell: dict[str, Any]) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def code_cells(path: Path) -> list[dict[str, Any]]:
    return [cell for cell in load(path)["cells"] if cell["cell_type"] == "code"]


def by_notebook() -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in NOTEBOOKS]


def test_there_are_notebooks_to_run() -> None:
    assert len(NOTEBOOKS) >= 3, NOTEBOOKS


@pytest.mark.parametrize("path", by_notebook())
def test_notebook_runs_on_the_python3_kernel(path: Path) -> None:
    assert load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", by_notebook())
def test_notebook_opens_with_what_it_answers(path: Path) -> None:
    first = load(path)["cells"][0]
    assert first["cell_type"] == "markdown"
    assert "What this answers" in source(first)


@pytest.mark.parametrize("path", by_notebook())
def test_notebook_is_committed_executed_in_order_without_errors(path: Path) -> None:
    cells = code_cells(path)
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), "run it top to bottom on a fresh kernel"
    errors = [out for cell in cells for out in cell["outputs"] if out["output_type"] == "error"]
    assert errors == []


@pytest.mark.parametrize("path", by_notebook())
def test_notebook_uses_claude_gw_and_checks_some_output(path: Path) -> None:
    text = "\n".join(source(cell) for cell in code_cells(path))
    assert re.search(r"^from claude_gw[.\w]* import ", text, re.MULTILINE)
    assert "# NBVAL_CHECK_OUTPUT" in text


@pytest.mark.parametrize("path", by_notebook())
def test_notebook_draws_at_least_two_plots(path: Path) -> None:
    cells = code_cells(path)
    drawn = re.findall(r"\bplots\.(\w+)\(", "\n".join(source(cell) for cell in cells))
    images = [
        out for cell in cells for out in cell["outputs"] if "image/png" in out.get("data", {})
    ]
    assert len(drawn) >= 2, drawn
    assert images, "committed with the figures rendered"


@pytest.mark.parametrize("path", by_notebook())
def test_notebook_ends_by_printing_its_answer_from_its_own_data(path: Path) -> None:
    last = code_cells(path)[-1]
    printed = "".join(
        "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
        for out in last["outputs"]
        if out["output_type"] == "stream" and out["name"] == "stdout"
    )
    assert re.search(r"print\(\s*f\"", source(last)), "the answer is formatted from the data"
    assert len(printed.split()) >= 20, printed


@pytest.mark.parametrize("path", by_notebook())
def test_every_data_file_a_notebook_names_exists(path: Path) -> None:
    text = "\n".join(source(cell) for cell in code_cells(path))
    for name in re.findall(r"\.\./data/([\w.-]+)", text):
        assert (DATA / name).is_file(), name


@pytest.mark.parametrize(
    "name",
    [pytest.param(p.name, id=p.name) for p in sorted(DATA.iterdir()) if p.name not in NOT_SAMPLES],
)
def test_every_sample_file_is_described_in_the_data_readme(name: str) -> None:
    assert f"`{name}`" in (DATA / "README.md").read_text(encoding="utf-8")


def sample_records() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DATA.glob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # kong-older.json holds lines a reader must skip, on purpose
            if isinstance(record, dict) and "proxy" in (record.get("ai") or {}):
                found.append((path.name, record))
    return found


def test_no_sample_answered_by_the_simulator_claims_another_provider():
    simulated = [
        (name, record)
        for name, record in sample_records()
        if (record["ai"]["proxy"]["meta"].get("response_model") or "").endswith("-simulated")
    ]
    assert {name for name, _ in simulated} >= {"claude_gw-sessions.json", "replay.json"}
    for name, record in simulated:
        assert record["ai"]["proxy"]["meta"]["provider_name"] == "simulated", name
        assert record["claude_gw"]["simulated"] is True, name


def test_the_sample_replay_keeps_reasoning_tokens_and_prices_every_answer():
    replayed = [record for name, record in sample_records() if name == "replay.json"]
    usage = {record["replay"]["target"]: record["ai"]["proxy"]["usage"] for record in replayed}
    assert usage["gpt-5-nano"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert usage["gpt-5-mini-responses"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert all(record["claude_gw"]["cost_source"] == "genai-prices" for record in replayed)
    assert all(record["ai"]["proxy"]["usage"]["cost"] > 0 for record in replayed)
