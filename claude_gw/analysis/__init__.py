"""Analysis of loaded logs: pure DataFrame -> DataFrame metrics (and, later, plots that take
and return a matplotlib Axes). Invariant: nothing here reads files or prints."""
