"""``steward db …``, ``user …``, ``token …`` and ``audit …``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._backend import follow_pages
from steward.cli._output import Json, Limit, emit_json, err, out, table
from steward.domain import Role
from steward.errors import IntegrityError
from steward.storage import make_engine, schema_status, upgrade

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
user_app = typer.Typer(
    help="Users and service accounts (works on the database directly).", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens (works on the database directly).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database schema up to date (Alembic migrations)."""
    url = state_of(ctx).settings().database_url
    engine = make_engine(url)
    try:
        before, _ = schema_status(engine)
        upgrade(engine, revision)
        after, head = schema_status(engine)
    finally:
        engine.dispose()
    out.print(f"schema at {after} (was {before or 'empty'}; newest is {head})")


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    name: str,
    role: Annotated[list[Role], typer.Option("--role", help="A role (repeatable).")],
    service: Annotated[bool, typer.Option("--service", help="A service account, not a person.")] = False,
    display_name: Annotated[str, typer.Option(help="A readable name.")] = "",
    as_json: Json = False,
) -> None:
    """Create a user (or service account) with roles."""
    spec = wire.parse(
        wire.PrincipalCreate,
        {
            "name": name,
            "roles": [r.value for r in role],
            "kind": "service" if service else "user",
            "display_name": display_name,
        },
    )
    principal = state_of(ctx).backend().create_principal(spec)
    if as_json:
        emit_json(principal)
    else:
        out.print(
            f"created {principal.kind.value} [bold]{principal.name}[/bold] with roles "
            f"{', '.join(r.value for r in principal.roles)}"
        )
        out.print(f"next: steward token create {principal.name}")


@user_app.command("list")
def user_list(ctx: typer.Context, limit: Limit = 1000, as_json: Json = False) -> None:
    """List users and service accounts, by name."""
    backend = state_of(ctx).backend()
    principals = follow_pages(
        lambda size, token: backend.list_principals(page_size=size, page_token=token), limit
    )
    if as_json:
        emit_json(principals)
        return
    table(
        principals,
        [
            ("name", lambda p: p.name),
            ("kind", lambda p: p.kind.value),
            ("roles", lambda p: ", ".join(r.value for r in p.roles)),
            ("disabled", lambda p: "yes" if p.disabled else ""),
            ("created", lambda p: f"{p.created_at:%Y-%m-%d}"),
        ],
    )


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    principal: Annotated[str, typer.Argument(help="The user or service account the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="A label for the token.")] = "default",
    expires_at: Annotated[
        datetime | None, typer.Option(help="When it stops working (UTC unless a zone is given).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Issue an API token. The secret is printed once and never stored."""
    if expires_at is not None and expires_at.tzinfo is None:
        from datetime import UTC

        expires_at = expires_at.replace(tzinfo=UTC)
    spec = wire.parse(wire.TokenCreate, {"principal": principal, "name": name, "expires_at": expires_at})
    token = state_of(ctx).backend().create_token(spec)
    if as_json:
        emit_json(token)
        return
    out.print(f"token {token.id} for [bold]{token.principal}[/bold] (shown once, keep it safe):")
    out.print(token.token)
    err.print("use it with: export STEWARD_TOKEN=<token>  (and --server URL)")


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    principal: Annotated[str | None, typer.Argument()] = None,
    limit: Limit = 1000,
    as_json: Json = False,
) -> None:
    """List tokens, oldest first (never their secrets)."""
    backend = state_of(ctx).backend()
    tokens = follow_pages(
        lambda size, token: backend.list_tokens(principal, page_size=size, page_token=token), limit
    )
    if as_json:
        emit_json(tokens)
        return
    table(
        tokens,
        [
            ("id", lambda t: t.id),
            ("principal", lambda t: t.principal),
            ("name", lambda t: t.name),
            ("prefix", lambda t: t.prefix + "…"),
            ("created", lambda t: f"{t.created_at:%Y-%m-%d}"),
            ("expires", lambda t: f"{t.expires_at:%Y-%m-%d}" if t.expires_at else ""),
            ("revoked", lambda t: f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else ""),
        ],
    )


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: int,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")] = "",
    as_json: Json = False,
) -> None:
    """Revoke a token by id; it stops working at once."""
    token = state_of(ctx).backend().revoke_token(token_id, reason)
    emit_json(token) if as_json else out.print(f"revoked token {token.id} of {token.principal}")


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    subject_type: Annotated[str | None, typer.Option(help="model, model_version, dataset, …")] = None,
    subject: Annotated[
        str | None, typer.Option(help="Subject id, e.g. credit-risk or credit-risk/3.")
    ] = None,
    actor: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="Event type, e.g. model.updated.")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this time (UTC unless a zone is given).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Json = False,
) -> None:
    """List audit events, oldest first."""
    from datetime import UTC

    page = (
        state_of(ctx)
        .backend()
        .list_events(
            subject_type=subject_type,
            subject_id=subject,
            actor=actor,
            action=action,
            since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
            until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
            page_size=limit,
            page_token=None,
        )
    )
    if as_json:
        emit_json(page.items)
        return
    table(
        page.items,
        [
            ("seq", lambda e: e.seq),
            ("time", lambda e: f"{e.time:%Y-%m-%d %H:%M:%S}"),
            ("actor", lambda e: e.actor),
            ("action", lambda e: e.action),
            ("subject", lambda e: f"{e.subject_type} {e.subject_id}"),
            ("reason", lambda e: e.reason[:40]),
        ],
    )


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="A verifier key (text or file) to trust instead of the log's own keys. Repeatable.",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Recompute the audit trail's hashes and Merkle tree and check every kept checkpoint's
    signature and root; exit 11 naming the first event that does not match."""
    from steward.cli._ledger import read_keys

    result = state_of(ctx).backend().verify_audit(read_keys(key))
    if as_json:
        emit_json(result)
    elif result.ok:
        out.print(
            f"ok: {result.events} events verify; head {result.head_hash}; every kept signed "
            "checkpoint matches"
        )
    if not result.ok:
        raise IntegrityError(
            f"audit trail does not verify at event {result.first_bad_seq}: {result.problem}",
            {"first_bad_seq": result.first_bad_seq, "verified_events": result.events},
        )
