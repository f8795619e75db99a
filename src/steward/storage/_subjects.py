"""Row ids of the records other rows point at, by the names callers use. One lookup each, shared
by every store, so a missing record is reported the same way everywhere: which model, and whether
it is the model or only its version that does not exist."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from steward.errors import NotFound
from steward.storage._tables import SqlModel, SqlModelVersion

_MODEL_ID = select(SqlModel.id).where(SqlModel.name == bindparam("name"))
_VERSION_IDS = (
    select(SqlModelVersion.model_id, SqlModelVersion.id)
    .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
    .where(SqlModel.name == bindparam("model"), SqlModelVersion.version == bindparam("version"))
)


def model_id(session: Session, name: str) -> int:
    """The row id of model ``name``, or ``NotFound`` naming it."""
    found = session.connection().execute(_MODEL_ID, {"name": name}).scalar()
    if found is None:
        raise NotFound(f"model {name!r} does not exist", {"model": name})
    return int(found)


class VersionIds(NamedTuple):
    model: int
    version: int


def version_ids(session: Session, model: str, version: int) -> VersionIds:
    """The row ids of ``model`` and of its version ``version``; ``NotFound`` says whether the model
    or only the version is missing."""
    found = session.connection().execute(_VERSION_IDS, {"model": model, "version": version}).one_or_none()
    if found is None:
        model_id(session, model)  # a missing model says so
        raise NotFound(f"model {model!r} has no version {version}", {"model": model, "version": version})
    return VersionIds(int(found[0]), int(found[1]))


def version_id(session: Session, model: str, version: int) -> int:
    """The row id of ``model`` version ``version`` (``NotFound`` as :func:`version_ids`)."""
    return version_ids(session, model, version).version
