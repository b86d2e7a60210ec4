"""What a load found besides records: `LoadReport`, the `Problem` kinds, `LogFormatError`.

Contracts:
- Every line read is accounted for exactly once: `lines_read == records_loaded + lines_skipped`.
- A skipped line is counted under one `Problem`; the first `MAX_EXAMPLES` lines of each problem
  are kept as `LineIssue(file, line, problem, detail)`. A `detail` never quotes the line's
  content (log lines carry headers and payloads, so possibly secrets): it says what is wrong
  (a parse error's position, a JSON type, the top-level key names).
- `REPAIRED` is the one problem that does not skip the line: a field held a JSON value of an
  unexpected type (a header repeated as a list, a number written as a string, ...) and was
  converted or set to null; the rest of the record is loaded.
- `LogFormatError` (raised in strict mode) names the file, the 1-based line and the problem.

No third-party imports: the report is plain data, usable without the analysis extra.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

MAX_EXAMPLES = 5


class Problem(StrEnum):
    """Why a line was skipped (or, for `REPAIRED` only, changed)."""

    EMPTY_LINE = "empty_line"  # nothing but whitespace
    TRUNCATED_LINE = "truncated_line"  # last line of a file, no final newline, incomplete JSON
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"  # valid JSON, but an array, string, number, ...
    NO_AI = "no_ai"  # an object without `ai`: a non-AI route logged by the same File Log
    UNKNOWN_AI_SHAPE = "unknown_ai_shape"  # `ai` matches none of the known versions' layouts
    UNKNOWN_GATEWAY_VERSION = "unknown_gateway_version"  # `claude_gw.v` this reader cannot read
    REPAIRED = "repaired"  # loaded; a field of an unexpected JSON type was converted or nulled

    @property
    def skips(self) -> bool:
        return self is not Problem.REPAIRED


@dataclass(frozen=True)
class LineIssue:
    """One line with a problem: where it is (1-based line number) and what is wrong."""

    file: str
    line: int
    problem: Problem
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: {self.problem.value}"
        return f"{where} ({self.detail})" if self.detail else where


class LogFormatError(ValueError):
    """A line that strict mode refuses: `file`, `line` (1-based), `problem`, `detail`."""

    def __init__(self, issue: LineIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue
        self.file = issue.file
        self.line = issue.line
        self.problem = issue.problem
        self.detail = issue.detail


@dataclass
class LoadReport:
    """Counts for one load; see the module docstring for the invariants."""

    files: list[str] = field(default_factory=list)
    lines_read: int = 0
    records_loaded: int = 0
    problems: Counter[Problem] = field(default_factory=Counter)
    examples: list[LineIssue] = field(default_factory=list)

    @property
    def skipped(self) -> dict[Problem, int]:
        """Skipped lines by reason (`REPAIRED` lines are loaded, so they are not here)."""
        return {p: n for p, n in sorted(self.problems.items()) if p.skips and n}

    @property
    def lines_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def lines_repaired(self) -> int:
        return self.problems[Problem.REPAIRED]

    def add(self, issue: LineIssue) -> None:
        """Count one issue, keeping it as an example while its problem has fewer than five."""
        if self.problems[issue.problem] < MAX_EXAMPLES:
            self.examples.append(issue)
        self.problems[issue.problem] += 1

    def summary(self) -> str:
        """One line: files, lines, records, and skipped lines by reason."""
        text = (
            f"{len(self.files)} file(s), {self.lines_read} line(s) read, "
            f"{self.records_loaded} record(s) loaded"
        )
        if skipped := self.skipped:
            reasons = ", ".join(f"{n} {p.value}" for p, n in skipped.items())
            text += f", {self.lines_skipped} skipped ({reasons})"
        if self.lines_repaired:
            text += f", {self.lines_repaired} repaired"
        return text

    def __str__(self) -> str:
        lines = [self.summary(), *(f"  {issue}" for issue in self.examples)]
        return "\n".join(lines)
