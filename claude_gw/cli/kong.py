"""Kong decK files: reading them for `serve --kong-config`, and `claude-gw kong-config`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from claude_gw.cli.options import CliError, add_gateway_options, listen_from, settings_from
from claude_gw.config import Settings

EPILOG = """\
With --kong-config, the decK files are read (${{ env "DECK_..." }} substituted from the
environment, as decK does) and written back as one file. Without it, the gateway configured by
the other options is written as decK YAML. Secrets are written as ${{ env "DECK_..." }}
references, never in clear. The result is for `deck gateway sync` against Kong 3.13+.

examples:
  claude-gw kong-config --model gpt-5-mini --log /tmp/claude.json -o kong.yaml
  DECK_OPENAI_API_KEY=sk-... claude-gw kong-config --kong-config tutorial.yaml
"""


def add_kong_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kong-config",
        action="append",
        metavar="FILE",
        help="read routes, ai-proxy and file-log from Kong decK YAML (repeatable: files are "
        "merged as decK merges them); the other options become defaults",
    )


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "kong-config",
        help="write the gateway's configuration as Kong decK YAML",
        description="Write the running configuration (from options or from decK files) as "
        "decK YAML that Kong 3.13 accepts, so the same setup moves to a Kong cluster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_kong_config_option(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_gateway_options(parser)
    parser.set_defaults(run=run)


def read_files(paths: Sequence[str]) -> list[tuple[str, str]]:
    files = []
    for path in paths:
        try:
            files.append((path, Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise CliError(f"cannot read the Kong config {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CliError(f"the Kong config {path} is not UTF-8 text") from None
    return files


def load(paths: Sequence[str], environ: Mapping[str, str]) -> Any:
    from claude_gw.kong import load_deck

    config = load_deck(read_files(paths), environ)
    for warning in config.warnings:
        print(f"claude-gw: warning: {warning}", file=sys.stderr)
    return config


def routes_from_kong(
    paths: Sequence[str], base: Settings, environ: Mapping[str, str]
) -> list[Settings]:
    """One `Settings` per Kong route that has an ai-proxy plugin; the others are warned about."""
    from claude_gw.kong.settings import not_carried_over, settings_for_route

    routes = []
    for route in load(paths, environ).routes:
        if route.ai_proxy is None:
            print(
                f"claude-gw: warning: route {route.key}: no ai-proxy plugin, not served",
                file=sys.stderr,
            )
            continue
        for item in not_carried_over(route.ai_proxy):
            print(f"claude-gw: warning: route {route.key}: not supported: {item}", file=sys.stderr)
        routes.append(settings_for_route(route, base))
    if not routes:
        raise CliError("the Kong config has no route with an ai-proxy plugin: nothing to serve")
    return routes


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from claude_gw.kong import export_deck
    from claude_gw.kong.settings import deck_from_settings

    if args.kong_config:
        text = export_deck(load(args.kong_config, environ))
    else:
        settings = settings_from(args, environ)
        text = deck_from_settings(settings, listen=listen_from(args, environ))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
