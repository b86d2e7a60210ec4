"""The simulated Responses API's `web_search` tool: a made-up, deterministic search.

When a Responses request offers `web_search` (or `web_search_preview`), `max_tool_calls` is not
0, and the answer would otherwise be the default reply (no directive reply, no tool call), the
model "searches" once for the last user text (the Claude CLI's `Perform a web search for the
query: ` wording taken off). The search finds `RESULTS` pages, all labelled simulated, on
`SIMULATED_DOMAIN` (or on the first allowed domain of `filters.allowed_domains`), and the
answer is a sentence that says the results are made up, then one markdown link per page, each
with its `url_citation` annotation. The `web_search_call` item's action lists the pages as
`sources` only when the request includes `web_search_call.action.sources`, as OpenAI does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEARCH_TOOL_TYPES = ("web_search", "web_search_preview", "web_search_2025_08_26")
SOURCES_INCLUDE = "web_search_call.action.sources"
QUERY_PREFIX = "Perform a web search for the query: "
SIMULATED_DOMAIN = "simulated-search.example"  # .example: reserved, never a real site
RESULTS = 3
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Page:
    title: str
    url: str


@dataclass(frozen=True)
class Search:
    """One simulated search: its item id, query, pages, and the cited answer text."""

    item_id: str
    query: str
    pages: tuple[Page, ...]
    text: str
    citations: tuple[tuple[int, int, Page], ...]  # (start, end, page) in `text`
    sources: bool  # the item's action lists its pages


def search_tool(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The request's web search tool, if it offers one and allows a tool call."""
    if doc.get("max_tool_calls") == 0:
        return None
    for tool in doc.get("tools") or []:
        if isinstance(tool, Mapping) and tool.get("type") in SEARCH_TOOL_TYPES:
            return tool
    return None


def plan_search(
    doc: Mapping[str, Any], tool: Mapping[str, Any], prompt: str, item_id: str
) -> Search:
    """The search for `prompt` (the last user text) with `tool`'s allowed domains."""
    query = " ".join(prompt.removeprefix(QUERY_PREFIX).split())[:200] or "nothing"
    filters = tool.get("filters") if isinstance(tool.get("filters"), Mapping) else {}
    allowed = [d for d in (filters or {}).get("allowed_domains") or [] if isinstance(d, str)]
    domain = allowed[0] if allowed else SIMULATED_DOMAIN
    slug = _SLUG.sub("-", query.lower()).strip("-")[:60] or "query"
    pages = tuple(
        Page(f"Simulated result {n} for {query}", f"https://{domain}/{slug}/{n}")
        for n in range(1, RESULTS + 1)
    )
    text, citations = _cited_text(query, pages)
    include = doc.get("include") or []
    return Search(item_id, query, pages, text, citations, SOURCES_INCLUDE in include)


def _cited_text(query: str, pages: Sequence[Page]) -> tuple[str, tuple[tuple[int, int, Page], ...]]:
    text = (
        f'Simulated web search for "{query}": these results are made up by the simulator, not '
        "found on the web."
    )
    citations = []
    for page in pages:
        text += " "
        link = f"[{page.title}]({page.url})"
        citations.append((len(text), len(text) + len(link), page))
        text += link
    return text, tuple(citations)


def search_item(search: Search, *, done: bool = True) -> dict[str, Any]:
    """The `web_search_call` item: in progress (`done=False`, as `output_item.added`) or done."""
    action: dict[str, Any] = {"type": "search", "query": search.query}
    if search.sources:
        action["sources"] = [{"type": "url", "url": page.url} for page in search.pages]
    return {
        "id": search.item_id,
        "type": "web_search_call",
        "status": "completed" if done else "in_progress",
        "action": action if done else {"type": "search"},
    }


def citation_annotations(search: Search) -> list[dict[str, Any]]:
    """The answer text's `url_citation` annotations (character offsets into the text)."""
    return [
        {
            "type": "url_citation",
            "end_index": end,
            "start_index": start,
            "title": page.title,
            "url": page.url,
        }
        for start, end, page in search.citations
    ]
