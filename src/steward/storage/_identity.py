"""Principals and their API tokens, inside one transaction (``SqlTransaction.identity``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from steward.domain import ApiToken, Page, Principal
from steward.errors import AlreadyExists, NotFound
from steward.storage import _convert as convert
from steward.storage._pages import check_page_size, decode_token, page_of
from steward.storage._tables import SqlApiToken, SqlPrincipal


class SqlIdentity:
    """Principal and token queries inside one transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def _principal_row(self, name: str) -> SqlPrincipal:
        row = self.s.scalars(select(SqlPrincipal).where(SqlPrincipal.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"principal {name!r} does not exist", {"principal": name})
        return row

    def find_principal(self, name: str) -> Principal | None:
        row = self.s.scalars(select(SqlPrincipal).where(SqlPrincipal.name == name)).one_or_none()
        return None if row is None else convert.to_principal(row)

    def insert_principal(self, principal: Principal) -> Principal:
        if self.find_principal(principal.name) is not None:
            raise AlreadyExists(f"principal {principal.name!r} already exists", {"principal": principal.name})
        row = SqlPrincipal(
            name=principal.name,
            kind=principal.kind.value,
            display_name=principal.display_name,
            roles=sorted(r.value for r in principal.roles),
            disabled=principal.disabled,
            created_at=principal.created_at,
        )
        self.s.add(row)
        self.s.flush()
        return convert.to_principal(row)

    def list_principals(self, page_size: int, token: str | None) -> Page[Principal]:
        """Principals by name."""
        check_page_size(page_size)
        position = decode_token(token, "name")
        stmt = select(SqlPrincipal)
        if position:
            stmt = stmt.where(SqlPrincipal.name > position["name"])
        rows = self.s.scalars(stmt.order_by(SqlPrincipal.name).limit(page_size + 1)).all()
        kept, next_token = page_of(rows, page_size, lambda r: {"name": r.name})
        return Page(tuple(convert.to_principal(r) for r in kept), next_token)

    def count_principals(self) -> int:
        return int(self.s.scalar(select(func.count()).select_from(SqlPrincipal)) or 0)

    def insert_token(
        self,
        principal: str,
        name: str,
        prefix: str,
        token_hash: str,
        created_at: datetime,
        expires_at: datetime | None,
    ) -> ApiToken:
        owner = self._principal_row(principal)
        row = SqlApiToken(
            principal_id=owner.id,
            name=name,
            prefix=prefix,
            token_hash=token_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
        self.s.add(row)
        self.s.flush()
        return convert.to_token(row, principal)

    def find_token(self, token_hash: str) -> tuple[ApiToken, Principal] | None:
        found = self.s.execute(
            select(SqlApiToken, SqlPrincipal)
            .join(SqlPrincipal, SqlPrincipal.id == SqlApiToken.principal_id)
            .where(SqlApiToken.token_hash == token_hash)
        ).one_or_none()
        if found is None:
            return None
        token, principal = found
        return convert.to_token(token, principal.name), convert.to_principal(principal)

    def get_token(self, token_id: int) -> ApiToken:
        found = self.s.execute(
            select(SqlApiToken, SqlPrincipal.name)
            .join(SqlPrincipal, SqlPrincipal.id == SqlApiToken.principal_id)
            .where(SqlApiToken.id == token_id)
        ).one_or_none()
        if found is None:
            raise NotFound(f"token {token_id} does not exist", {"token": token_id})
        return convert.to_token(found[0], found[1])

    def revoke_token(self, token_id: int, at: datetime) -> ApiToken:
        self.get_token(token_id)
        self.s.execute(
            update(SqlApiToken)
            .where(SqlApiToken.id == token_id, SqlApiToken.revoked_at.is_(None))
            .values(revoked_at=at)
            .execution_options(synchronize_session=False)
        )
        return self.get_token(token_id)

    def list_tokens(self, page_size: int, token: str | None, principal: str | None = None) -> Page[ApiToken]:
        """Tokens (of one principal), oldest first; never their secrets, which are not stored."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        stmt = select(SqlApiToken, SqlPrincipal.name).join(
            SqlPrincipal, SqlPrincipal.id == SqlApiToken.principal_id
        )
        if principal is not None:
            stmt = stmt.where(SqlPrincipal.name == principal)
        if position:
            stmt = stmt.where(SqlApiToken.id > position["id"])
        rows = self.s.execute(stmt.order_by(SqlApiToken.id).limit(page_size + 1)).all()
        kept, next_token = page_of(rows, page_size, lambda r: {"id": r[0].id})
        return Page(tuple(convert.to_token(t, n) for t, n in kept), next_token)
