"""``steward policy add|list|show|test|simulate|assignments|assign|unassign``: policy bundles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._files import bundle_text, read_bundle
from steward.cli._gate_ops import GateOps
from steward.cli._output import Json, emit_json, err, out, record, table
from steward.domain import DIGEST_PATTERN
from steward.errors import InvalidInput, PolicyTestFailed
from steward.policy import PolicyBundle, create_engine, validate_bundle
from steward.service import SIMULATION_PAGE, SimulationProgress

policy_app = typer.Typer(
    help="Policy bundles: register, test, assign, and simulate before switching on.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")

Folder = Annotated[
    Path,
    typer.Argument(help="A bundle folder: manifest.json, data.json and *.rego files.", show_default=False),
]


def _ops(ctx: typer.Context) -> GateOps:
    return GateOps(state_of(ctx).backend())


@policy_app.command("add")
def policy_add(ctx: typer.Context, folder: Folder, as_json: Json = False) -> None:
    """Register the bundle in FOLDER (name and version from its manifest.json).

    Every module must parse and compile; errors name the file and line. A registered version is
    never replaced: change the manifest's version to register new content.
    """
    stored = _ops(ctx).register_bundle(read_bundle(folder))
    if as_json:
        emit_json(stored)
        return
    out.print(f"registered policy bundle [bold]{stored.name} {stored.version}[/bold] ({stored.digest})")


@policy_app.command("list")
def policy_list(ctx: typer.Context, as_json: Json = False) -> None:
    """The built-in bundle and every registered bundle."""
    bundles = _ops(ctx).list_bundles()
    if as_json:
        emit_json(bundles)
        return
    table(
        bundles,
        [
            ("name", lambda b: b.name),
            ("version", lambda b: b.version),
            ("digest", lambda b: b.digest),
            ("built-in", lambda b: "yes" if b.builtin else ""),
            (
                "registered",
                lambda b: f"{b.registered_at:%Y-%m-%d %H:%M} by {b.registered_by}" if b.registered_at else "",
            ),
        ],
    )


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    name: str,
    version: str,
    files: Annotated[bool, typer.Option("--files", help="Print every file's content too.")] = False,
    as_json: Json = False,
) -> None:
    """One bundle: its manifest, digest and files."""
    bundle = _ops(ctx).get_bundle(name, version)
    if as_json:
        emit_json(bundle)
        return
    record(
        [
            ("name", bundle.name),
            ("version", bundle.version),
            ("digest", bundle.digest),
            ("description", bundle.description),
            ("built-in", "yes" if bundle.builtin else "no"),
            (
                "registered",
                f"{bundle.registered_at:%Y-%m-%d %H:%M:%S} by {bundle.registered_by}"
                if bundle.registered_at
                else None,
            ),
            ("files", sorted(bundle.files)),
        ]
    )
    if files:
        for path, text in sorted(bundle.files.items()):
            out.print(f"\n[bold]── {escape(path)}[/bold]")
            out.print(escape(text), end="" if text.endswith("\n") else "\n")


@policy_app.command("test")
def policy_test(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Argument(help="A bundle folder (default: the built-in bundle).", show_default=False),
    ] = None,
    bundle: Annotated[
        str | None, typer.Option("--bundle", help="A registered bundle, as NAME@VERSION.", show_default=False)
    ] = None,
    engine: Annotated[str | None, typer.Option(help="Rego engine: regorus (default) or regopy.")] = None,
    as_json: Json = False,
) -> None:
    """Run a bundle's Rego unit tests (rules named test_* in *_test.rego files).

    FOLDER is tested here, without a database or server; --bundle runs a registered bundle's tests
    where it is stored; with neither, the built-in bundle's. Exits 13 (policy_test_failed) when
    a test fails, after printing every result.
    """
    if folder is not None and bundle is not None:
        raise InvalidInput.field("--bundle", "exclusive", "give a FOLDER or --bundle, not both")
    if bundle is not None:
        name, sep, version = bundle.partition("@")
        if not sep or not name or not version:
            raise InvalidInput.field("--bundle", "ref", f"must be NAME@VERSION (got {bundle!r})")
        report = _ops(ctx).test_bundle(name, version)
    else:
        report = _test_here(folder)
    if as_json:
        emit_json(report)
    else:
        for result in report.results:
            mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
            why = f"  ({escape(result.message)})" if result.message else ""
            out.print(f"{mark} {escape(result.file)}: data.{result.package}.{result.name}{why}")
        out.print(
            f"{report.bundle.name} {report.bundle.version}: {report.passed} passed, {report.failed} failed"
        )
    if report.failed:
        failed = [f"data.{r.package}.{r.name}" for r in report.results if not r.passed]
        raise PolicyTestFailed(
            f"{report.failed} of {report.passed + report.failed} Rego test(s) of "
            f"{report.bundle.name} {report.bundle.version} failed: {', '.join(failed[:5])}"
            + (f" and {len(failed) - 5} more" if len(failed) > 5 else ""),
            {"bundle": report.bundle.model_dump(), "failed": failed},
        )


def _test_here(folder: Path | None) -> wire.PolicyTestReportOut:
    from steward.policy import builtin_bundle

    engine = create_engine()
    candidate = builtin_bundle() if folder is None else PolicyBundle.from_files(read_bundle(folder))
    validate_bundle(candidate, engine)
    results = engine.run_tests(candidate.all_modules, candidate.data)
    passed = sum(1 for r in results if r.passed)
    return wire.PolicyTestReportOut(
        bundle=wire.BundleRefOut(name=candidate.name, version=candidate.version, digest=candidate.digest),
        passed=passed,
        failed=len(results) - passed,
        results=[wire.RegoTestOut.model_validate(r) for r in results],
    )


@policy_app.command("simulate")
def policy_simulate(
    ctx: typer.Context,
    bundle: Annotated[
        str,
        typer.Argument(
            help="The candidate: a bundle folder, a registered bundle as NAME@VERSION, or its digest "
            "(sha256:...).",
            show_default=False,
        ),
    ],
    environment: Annotated[
        list[str] | None,
        typer.Option(
            "--environment",
            "-e",
            help="Environment versions not deployed yet are evaluated for (repeatable; default production).",
        ),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every version evaluated, not only changes.")
    ] = False,
    page_size: Annotated[
        int,
        typer.Option(
            help="Versions read per transaction (on the database; a server uses its own).", min=1, max=10_000
        ),
    ] = SIMULATION_PAGE,
    as_json: Json = False,
) -> None:
    """Evaluate the candidate BUNDLE, before switching it on, against every version deployed now
    and every version awaiting review or deployment, and list the decisions that would change.

    The versions are read a page at a time (--page-size), each page in its own transaction; a run
    of more than one page prints its progress on stderr.
    """
    spec = wire.parse(
        wire.SimulationCreate,
        {
            **_candidate(bundle),
            "environments": environment or ["production"],
            "changed_only": not (show_all or as_json),
        },
    )
    report = _ops(ctx).simulate(spec, page_size, _progress)
    if as_json:
        emit_json(report)
        return
    out.print(
        f"candidate {report.candidate.name} {report.candidate.version} ({report.candidate.digest[:19]}…): "
        f"{report.evaluated} decision(s) evaluated, {report.would_change} would change"
    )
    shown = report.items if show_all else [i for i in report.items if i.changed]
    if not shown:
        return
    table(
        shown,
        [
            ("model", lambda i: i.model),
            ("version", lambda i: i.version),
            ("target", lambda i: i.environment),
            ("why", lambda i: i.reason),
            ("now", lambda i: "allow" if i.current.allow else "deny"),
            ("candidate", lambda i: "allow" if i.candidate.allow else "deny"),
            ("new denials", lambda i: ", ".join(sorted({f.rule for f in i.added_denies})) or "-"),
            ("lifted denials", lambda i: ", ".join(sorted({f.rule for f in i.removed_denies})) or "-"),
        ],
    )


_DIGEST = re.compile(DIGEST_PATTERN)


def _candidate(bundle: str) -> dict[str, Any]:
    """The candidate of ``policy simulate``: a folder if there is one by that name, else a
    digest, else NAME@VERSION."""
    folder = Path(bundle)
    if folder.is_dir():
        return {"files": bundle_text(read_bundle(folder))}
    if _DIGEST.match(bundle):
        return {"digest": bundle}
    name, sep, version = bundle.partition("@")
    if sep and name and version:
        return {"bundle": {"name": name, "version": version}}
    raise InvalidInput.field(
        "bundle",
        "candidate",
        f"{bundle!r} is not a folder, a NAME@VERSION or a sha256:<64 hex digits> bundle digest",
    )


def _progress(done: SimulationProgress) -> None:
    """A line on stderr after each page, once a run needs more than one page."""
    if done.pages == 1 and done.versions >= done.total:
        return
    err.print(
        f"simulate: {done.versions}/{done.total} version(s) read, {done.evaluated} decision(s) "
        f"evaluated, {done.would_change} would change"
    )


@policy_app.command("assignments")
def policy_assignments(ctx: typer.Context, as_json: Json = False) -> None:
    """Which bundle applies to which risk tier and target environment."""
    current = _ops(ctx).assignments()
    if as_json:
        emit_json(current)
        return
    table(
        current.assignments,
        [
            ("risk tier", lambda a: a.risk_tier),
            ("environment", lambda a: a.environment),
            ("bundle", lambda a: f"{a.bundle_name} {a.bundle_version}"),
            ("digest", lambda a: a.bundle_digest),
            (
                "assigned",
                lambda a: f"{a.assigned_at:%Y-%m-%d %H:%M} by {a.assigned_by}" if a.assigned_at else "",
            ),
        ],
    )
    out.print(f"elsewhere: {current.default.name} {current.default.version} (built-in)")
    out.print(f"revision {current.revision}")


Tier = Annotated[str, typer.Argument(help="high, medium, low, or * for any tier.", show_default=False)]
Environment = Annotated[str, typer.Argument(help="An environment, or * for any.", show_default=False)]
Reason = Annotated[str, typer.Option(help="Why (recorded in the audit trail).")]
Revision = Annotated[
    str | None,
    typer.Option(
        help="The revision of the assignments you read (default: the one read now); a stale one is "
        "refused (exit 5, conflict).",
        show_default=False,
    ),
]


@policy_app.command("assign")
def policy_assign(
    ctx: typer.Context,
    tier: Tier,
    environment: Environment,
    name: str,
    version: str,
    reason: Reason = "",
    revision: Revision = None,
    as_json: Json = False,
) -> None:
    """Apply bundle NAME VERSION to risk tier TIER in ENVIRONMENT (replacing what applied there).

    The table is changed only if no one changed it since it was read (or since --revision).
    """
    ops = _ops(ctx)
    current = ops.assignments()
    rows = [_row(a) for a in current.assignments if (a.risk_tier, a.environment) != (tier, environment)]
    rows.append(
        {"risk_tier": tier, "environment": environment, "bundle_name": name, "bundle_version": version}
    )
    _update(ops, rows, reason, revision or current.revision, as_json)


@policy_app.command("unassign")
def policy_unassign(
    ctx: typer.Context,
    tier: Tier,
    environment: Environment,
    reason: Reason = "",
    revision: Revision = None,
    as_json: Json = False,
) -> None:
    """Remove the assignment of TIER in ENVIRONMENT (a less specific one, or the built-in, applies)."""
    ops = _ops(ctx)
    table = ops.assignments()
    current = table.assignments
    rows = [_row(a) for a in current if (a.risk_tier, a.environment) != (tier, environment)]
    if len(rows) == len(current):
        raise InvalidInput.field("tier", "assigned", f"nothing is assigned to {tier!r} in {environment!r}")
    _update(ops, rows, reason, revision or table.revision, as_json)


def _row(item: wire.AssignmentOut) -> dict[str, str]:
    return {
        "risk_tier": item.risk_tier,
        "environment": item.environment,
        "bundle_name": item.bundle_name,
        "bundle_version": item.bundle_version,
    }


def _update(ops: GateOps, rows: list[dict[str, str]], reason: str, revision: str, as_json: bool) -> None:
    spec = wire.parse(wire.AssignmentsUpdate, {"assignments": rows, "reason": reason, "revision": revision})
    result = ops.set_assignments(spec)
    if as_json:
        emit_json(result)
        return
    out.print(
        f"{len(result.assignments)} assignment(s) in force; elsewhere the built-in bundle applies "
        f"(revision {result.revision})"
    )
