"""How the CLI prints: tables for people, ``--json`` for scripts, one sentence for errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from steward.errors import StewardError

# the options every listing and record command shares
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Limit = Annotated[int, typer.Option(help="Most items to show (pages are followed up to it).", min=1)]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(value: Any) -> None:
    """JSON on stdout: pydantic models as the API sends them, lists of them as arrays."""
    if isinstance(value, BaseModel):
        data: Any = value.model_dump(mode="json")
    elif isinstance(value, list):
        data = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    else:
        data = value
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def table(
    rows: Sequence[Any],
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    title: str | None = None,
) -> None:
    grid = Table(title=title, show_lines=False, header_style="bold")
    for header, _ in columns:
        grid.add_column(header)
    for row in rows:
        grid.add_row(*("" if (v := get(row)) is None else str(v) for _, get in columns))
    out.print(grid)


def record(fields: Sequence[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        elif isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value) or "-"
        out.print(f"[bold]{key.ljust(width)}[/bold]  {'-' if value in (None, '') else value}")


def fail(error: StewardError) -> int:
    """Print the error as one sentence (plus each field rule) and give its exit code."""
    err.print(f"[red]error[/red] ({error.code}): {error.message}")
    for item in error.details.get("errors", [])[1:] if isinstance(error.details.get("errors"), list) else []:
        err.print(f"  {item.get('field')}: {item.get('message')} [{item.get('rule')}]")
    return error.exit_code
