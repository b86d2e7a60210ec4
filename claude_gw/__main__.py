"""`python -m claude_gw` is the same as the `claude-gw` command."""

from claude_gw.cli import main

raise SystemExit(main())
