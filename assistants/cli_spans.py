"""`assistants spans`, `assistants spans prune` and `assistants trace`: spans in a terminal.

    assistants spans [--tag T] [--session-id S] [--user-id U] [--kind K] [--since 1h] [--limit N]
    assistants spans prune --older-than 30d
    assistants trace tr_...

`spans` prints a table of recent spans, newest first; `trace` prints a trace as a tree with
each span's status, duration, tokens and cost. Both read the database directly (the settings'
`database_url`, or `--database-url`), in one project (`--project`, default "default": the
in-process client's; a server's keys each have their own).
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.errors import APIError, ConfigurationError

if TYPE_CHECKING:
    from store.span_types import Span, Trace

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(value: str, flag: str) -> float:
    """`30d`, `12h`, `15m`, `90s` as seconds, or a `ConfigurationError` naming `flag`."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise ConfigurationError(
            f"{flag} {value!r} is not a duration: use a number and a unit, e.g. 30d, 12h, "
            "15m or 90s."
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _when(value: str, flag: str) -> float:
    """A time for `--since`/`--until`: an age (`1h`: an hour ago) or Unix seconds."""
    try:
        return float(value)
    except ValueError:
        return time.time() - parse_age(value, flag)


def add_commands(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add `spans` (with `prune`) and `trace` to the CLI's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="default: ASSISTANTS_DATABASE_URL or the settings")
    common.add_argument("--config", metavar="PATH", help="settings file (TOML)")
    common.add_argument("--project", default="default", help="whose spans (default: %(default)s)")
    spans = commands.add_parser(
        "spans",
        help="recent spans as a table (and `spans prune`)",
        description="Recent spans, newest first.",
        parents=[*parents, common],
    )
    spans.add_argument("--trace-id")
    spans.add_argument("--session-id")
    spans.add_argument("--user-id")
    spans.add_argument("--tag")
    spans.add_argument("--kind", choices=["run", "model", "tool", "completion"])
    spans.add_argument("--run-id")
    spans.add_argument("--since", help="an age (1h, 2d) or Unix seconds")
    spans.add_argument("--until", help="an age (1h, 2d) or Unix seconds")
    spans.add_argument("--limit", type=int, default=20, help="1 to 100 (default: %(default)s)")
    below = spans.add_subparsers(dest="spans_command", metavar="COMMAND")
    prune = below.add_parser(
        "prune",
        help="delete old spans",
        description="Delete the spans that started longer ago than --older-than.",
        parents=[*parents, common],
    )
    prune.add_argument("--older-than", required=True, help="an age: 30d, 12h, 15m, 90s")
    prune.add_argument(
        "--all-projects", action="store_true", help="every project's spans, not only --project"
    )
    trace = commands.add_parser(
        "trace",
        help="one trace as a tree, with durations, tokens and cost",
        parents=[*parents, common],
    )
    trace.add_argument("trace_id", help="tr_ followed by 32 hex digits")


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms"


def _tokens(span: dict[str, Any]) -> str:
    usage = span.get("usage")
    if not usage:
        return "-"
    return f"{usage['prompt_tokens']}+{usage['completion_tokens']}"


def _cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.6f}"


def span_table(spans: list[Span]) -> str:
    """The spans as an aligned text table."""
    header = ("STARTED", "SPAN", "KIND", "NAME", "STATUS", "DURATION", "TOKENS", "COST", "TRACE")
    rows = [header]
    for span in spans:
        data = span.to_dict()
        rows.append(
            (
                datetime.fromtimestamp(span.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                span.id,
                span.kind,
                span.name[:40],
                span.status,
                _ms(span.duration_ms),
                _tokens(data),
                _cost(span.cost),
                span.trace_id,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def trace_tree(trace: Trace) -> str:
    """The trace as an indented tree, one span a line, with its totals first."""
    lines = [
        f"{trace.id}  {trace.span_count} spans  {_ms(trace.duration_ms)}  "
        f"tokens {_tokens(trace.to_dict())}  cost {_cost(trace.cost)}"
        + ("  (truncated)" if trace.truncated else "")
    ]

    def walk(nodes: list[dict[str, Any]], prefix: str) -> None:
        for i, node in enumerate(nodes):
            last = i == len(nodes) - 1
            detail = [node["status"], _ms(node["duration_ms"])]
            if node.get("time_to_first_token_ms") is not None:
                detail.append(f"ttft {_ms(node['time_to_first_token_ms'])}")
            if node.get("usage"):
                detail.append(f"tokens {_tokens(node)}")
            if node.get("cost") is not None:
                detail.append(f"cost {_cost(node['cost'])}")
            if node.get("fallbacks"):
                failed = ", ".join(f["model"] for f in node["fallbacks"])
                detail.append(f"after {failed} failed")
            if node.get("error"):
                detail.append(f"error: {node['error'].get('message', '')[:80]}")
            lines.append(
                f"{prefix}{'└─ ' if last else '├─ '}{node['kind']} {node['name']} "
                f"[{node['id']}]  " + "  ".join(detail)
            )
            walk(node["children"], prefix + ("   " if last else "│  "))

    walk(trace.spans, "")
    return "\n".join(lines)


async def run_command(args: argparse.Namespace, database_url: str) -> None:
    """Run `spans`, `spans prune` or `trace` (after the settings are loaded); a bad id or filter
    is reported as the API words it."""
    from assistants._client import AsyncClient  # noqa: PLC0415  (the CLI starts light)

    before = None
    if getattr(args, "spans_command", None) == "prune":
        before = time.time() - parse_age(args.older_than, "--older-than")
    filters: dict[str, Any] = {}
    if args.command == "spans":
        filters = {
            name: getattr(args, name)
            for name in ("trace_id", "session_id", "user_id", "tag", "kind", "run_id")
            if getattr(args, name) is not None
        }
        for name in ("since", "until"):
            if getattr(args, name) is not None:
                filters[name] = _when(getattr(args, name), f"--{name}")
    problem: APIError | None = None
    async with AsyncClient(database_url=database_url, worker=False, project=args.project) as client:
        try:
            if args.command == "trace":
                print(trace_tree(await client.traces.retrieve(args.trace_id)))
            elif before is not None:
                store = await client.store()
                project = None if args.all_projects else args.project
                removed = await store.spans.prune(before, project=project)
                print(f"pruned {removed} span(s) started before {datetime.fromtimestamp(before)}")
            else:
                page = await client.spans.list(limit=args.limit, **filters)
                print(span_table(page.data) if page.data else "no spans")
        except APIError as exc:
            problem = exc
    if problem is not None:
        raise ConfigurationError(problem.message)
