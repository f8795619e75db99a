"""``steward gate check|input|list|replay``: ask the policy gates about a version.

``gate check`` exits 0 when the bundle allows and 7 (``policy_violation``) when it denies, so a CI
pipeline can call it before every deploy.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._gate_ops import GateOps
from steward.cli._output import Json, emit_json, out, table
from steward.errors import IntegrityError, PolicyViolation

gate_app = typer.Typer(help="Policy gates: evaluate a version, read its decisions.", no_args_is_help=True)
app.add_typer(gate_app, name="gate")

Target = Annotated[
    str, typer.Option("--target", "-t", help="The environment the version is to be promoted to.")
]


def _ops(ctx: typer.Context) -> GateOps:
    return GateOps(state_of(ctx).backend())


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def print_findings(title: str, mark: str, findings: list[wire.FindingOut]) -> None:
    if not findings:
        return
    out.print(f"{title}:")
    for finding in findings:
        message = escape(finding.message.removeprefix(finding.rule + ": "))
        out.print(f"  {mark} [bold]{escape(finding.rule)}[/bold]: {message}")
        out.print(
            f"      measured {escape(_value(finding.measured))}; required {escape(_value(finding.required))}"
        )


@gate_app.command("check")
def gate_check(
    ctx: typer.Context,
    model: str,
    version: int,
    target: Target = "production",
    as_json: Json = False,
) -> None:
    """Evaluate the policy bundle for promoting MODEL VERSION to --target and record the decision.

    Exits 0 when the bundle allows, 7 (policy_violation) when it denies; prints every reason.
    """
    decision = _ops(ctx).evaluate(model, version, target)
    if as_json:
        emit_json(decision)
    else:
        verdict = "[green]ALLOWED[/green]" if decision.allow else "[red]DENIED[/red]"
        out.print(
            f"{verdict}: {model} v{version} to {target} (decision {decision.id}, bundle "
            f"{decision.bundle_name} {decision.bundle_version}, {decision.bundle_digest[:19]}…)"
        )
        print_findings("denied because", "✗", decision.denies)
        print_findings("warnings", "!", decision.warnings)
    if not decision.allow:
        raise typer.Exit(PolicyViolation.exit_code)


@gate_app.command("input")
def gate_input(ctx: typer.Context, model: str, version: int, target: Target = "production") -> None:
    """Print the policy input document (JSON, schema version 2) MODEL VERSION is evaluated on."""
    document = _ops(ctx).gate_input(model, version, target)
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@gate_app.command("list")
def gate_list(
    ctx: typer.Context,
    model: str,
    version: int,
    limit: Annotated[int, typer.Option(help="Most decisions to show.", min=1, max=1000)] = 50,
    as_json: Json = False,
) -> None:
    """The decisions recorded for MODEL VERSION, newest first."""
    decisions = _ops(ctx).list_decisions(model, version, limit)
    if as_json:
        emit_json(decisions)
        return
    table(
        decisions,
        [
            ("id", lambda d: d.id),
            ("time", lambda d: f"{d.created_at:%Y-%m-%d %H:%M:%S}"),
            ("target", lambda d: d.environment),
            ("allow", lambda d: "yes" if d.allow else "no"),
            ("denies", lambda d: ", ".join(sorted({f.rule for f in d.denies})) or "-"),
            ("bundle", lambda d: f"{d.bundle_name} {d.bundle_version}"),
            ("by", lambda d: d.created_by),
        ],
    )


@gate_app.command("replay")
def gate_replay(ctx: typer.Context, model: str, version: int, decision: int, as_json: Json = False) -> None:
    """Evaluate a recorded decision again, from its bundle digest and its stored input document.

    Exits 0 when the answer is the one recorded, 11 (integrity_error) when it is not.
    """
    replay = _ops(ctx).replay(model, version, decision)
    if as_json:
        emit_json(replay)
    else:
        recorded = replay.decision
        verdict = "[green]same answer[/green]" if replay.same else "[red]DIFFERENT answer[/red]"
        out.print(
            f"decision {recorded.id} ({'allow' if recorded.allow else 'deny'}, bundle "
            f"{recorded.bundle_digest[:19]}…, input {recorded.input_digest[:19]}…) replayed on "
            f"{replay.replayed.engine} {replay.replayed.engine_version}: {verdict}"
        )
        if not replay.same:
            print_findings("now denied because", "✗", replay.replayed.denies)
    if not replay.same:
        raise typer.Exit(IntegrityError.exit_code)
