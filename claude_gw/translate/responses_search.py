"""Anthropic's web search server tool <-> the Responses API's `web_search` tool.

Contract: pure; `search_parameters` raises nothing but `InvalidRequest` (path first), the
answer side raises nothing.

Request: each `web_search_*` tool becomes `{"type": "web_search"}` with
`filters.allowed_domains` from `allowed_domains` and `user_location` (`type: approximate`, city,
region, country, timezone) from the same fields; the smallest `max_uses` becomes
`max_tool_calls`, the Responses limit on built-in tool calls (the only ones the gateway sends
with it); `include` asks for `web_search_call.action.sources`, the URLs each search returned.
Responses has no blocked list: `blocked_domains` (`SearchOptions`) are applied to the answer,
whose results from those domains (or their subdomains) are left out.

Answer: a `web_search_call` item whose action is a `search` becomes a `server_tool_use` block
(`input: {"query"}`) and a `web_search_tool_result` block listing one `web_search_result` per
URL: the `url_citation` annotations of the message that follows the search first (they carry
titles), then the action's other sources (titled by their URL). Other actions (`open_page`,
`find_in_page`) are steps of a search, not searches, and give no blocks. The message's text is
the text block, unchanged (its citations are already links in it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from claude_gw.errors import InvalidRequest
from claude_gw.translate.web_search import SERVER_TOOL_NAME, search_tools, server_tool_use_id
from claude_gw.wire import JSON

SOURCES_INCLUDE = "web_search_call.action.sources"
LOCATION_FIELDS = ("city", "region", "country", "timezone")


@dataclass(frozen=True)
class SearchOptions:
    """What the answer's translation needs to know of the request's search tools."""

    blocked_domains: tuple[str, ...] = ()


def search_options(doc: Mapping[str, Any]) -> SearchOptions | None:
    """The request's search options; None when it offers no web search tool."""
    tools = search_tools(doc)
    if not tools:
        return None
    blocked = [d for tool in tools for d in _domains(tool, "blocked_domains", "tools")]
    return SearchOptions(tuple(dict.fromkeys(d.lower() for d in blocked)))


def search_parameters(doc: Mapping[str, Any]) -> JSON:
    """`tools` (the web_search tools), `max_tool_calls` and `include` entries for Responses."""
    tools = search_tools(doc)
    if not tools:
        return {}
    out: JSON = {"tools": [_responses_tool(tool, f"tools.{i}") for i, tool in enumerate(tools)]}
    limits = [_max_uses(tool, f"tools.{i}") for i, tool in enumerate(tools)]
    given = [limit for limit in limits if limit is not None]
    if given:
        out["max_tool_calls"] = min(given)
    out["include"] = [SOURCES_INCLUDE]
    return out


def _responses_tool(tool: Mapping[str, Any], path: str) -> JSON:
    out: JSON = {"type": "web_search"}
    allowed = _domains(tool, "allowed_domains", path)
    if allowed:
        out["filters"] = {"allowed_domains": allowed}
    location = tool.get("user_location")
    if location is not None:
        if not isinstance(location, Mapping):
            raise InvalidRequest(f"{path}.user_location: must be an object")
        fields = {k: location[k] for k in LOCATION_FIELDS if isinstance(location.get(k), str)}
        out["user_location"] = {"type": "approximate", **fields}
    return out


def _domains(tool: Mapping[str, Any], key: str, path: str) -> list[str]:
    value = tool.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
        raise InvalidRequest(f"{path}.{key}: must be a list of domain names")
    return list(value)


def _max_uses(tool: Mapping[str, Any], path: str) -> int | None:
    value = tool.get("max_uses")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(f"{path}.max_uses: must be a positive integer, not {value!r}")
    return value


# --------------------------------------------------------------------------- the answer


def is_search_call(item: Any) -> bool:
    """Whether an output item is a web search that ran a query (not a page step)."""
    if not isinstance(item, Mapping) or item.get("type") != "web_search_call":
        return False
    action = item.get("action")
    return not isinstance(action, Mapping) or action.get("type") in (None, "search")


def search_query_of(item: Mapping[str, Any]) -> str:
    action = item.get("action")
    action = action if isinstance(action, Mapping) else {}
    query = action.get("query")
    if isinstance(query, str):
        return query
    queries = action.get("queries")
    texts = [q for q in queries if isinstance(q, str)] if isinstance(queries, list) else []
    return "; ".join(texts)


def search_use_block(item: Mapping[str, Any], message_id: str, number: int) -> JSON:
    """The `server_tool_use` block for the message's `number`-th search (from 0)."""
    return {
        "type": "server_tool_use",
        "id": server_tool_use_id(message_id, number),
        "name": SERVER_TOOL_NAME,
        "input": {"query": search_query_of(item)},
    }


def search_result_block(
    tool_use_id: str,
    item: Mapping[str, Any],
    citations: Sequence[tuple[str, str]],
    options: SearchOptions | None,
) -> JSON:
    """The `web_search_tool_result` for a search item, its cited `(url, title)` pairs first."""
    blocked = options.blocked_domains if options is not None else ()
    titles: dict[str, str] = {}
    for url, title in [*citations, *((url, url) for url in _sources(item))]:
        if url not in titles and not is_blocked(url, blocked):
            titles[url] = title or url
    results = [_result(url, title) for url, title in titles.items()]
    return {"type": "web_search_tool_result", "tool_use_id": tool_use_id, "content": results}


def _result(url: str, title: str) -> JSON:
    # Anthropic's encrypted_content lets its API cite a result later; there is none here.
    return {
        "type": "web_search_result",
        "title": title,
        "url": url,
        "encrypted_content": "",
        "page_age": None,
    }


def _sources(item: Mapping[str, Any]) -> list[str]:
    action = item.get("action")
    sources = action.get("sources") if isinstance(action, Mapping) else None
    entries = sources if isinstance(sources, list) else []
    urls = [entry.get("url") for entry in entries if isinstance(entry, Mapping)]
    return [url for url in urls if isinstance(url, str) and url]


def citations_of(item: Any) -> list[tuple[str, str]]:
    """The `(url, title)` of every `url_citation` annotation in a message item, in order."""
    content = item.get("content") if isinstance(item, Mapping) else None
    found: list[tuple[str, str]] = []
    for part in content if isinstance(content, list) else []:
        annotations = part.get("annotations") if isinstance(part, Mapping) else None
        for note in annotations if isinstance(annotations, list) else []:
            citation = citation_of(note)
            if citation is not None:
                found.append(citation)
    return found


def citation_of(annotation: Any) -> tuple[str, str] | None:
    if not isinstance(annotation, Mapping) or annotation.get("type") != "url_citation":
        return None
    url, title = annotation.get("url"), annotation.get("title")
    if not isinstance(url, str) or not url:
        return None
    return url, title if isinstance(title, str) else ""


def is_blocked(url: str, blocked: Sequence[str]) -> bool:
    """Whether the URL's host is one of `blocked` or a subdomain of one."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith("." + domain) for domain in blocked)


def search_usage(requests: int) -> JSON:
    """Anthropic's `usage.server_tool_use` for that many searches."""
    return {"web_search_requests": requests}
