"""The built-in policy bundle, shipped as package data under ``steward/policy/builtin``."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from steward.policy._bundle import PolicyBundle

_PACKAGE = "steward.policy"
_FOLDER = "builtin"


def builtin_bundle() -> PolicyBundle:
    """The default rules (metric floors, fairness, documentation, lineage, ...) as a bundle."""
    files: dict[str, bytes] = {}
    _read(resources.files(_PACKAGE).joinpath(_FOLDER), "", files)
    return PolicyBundle.from_files(files)


def _read(folder: Traversable, prefix: str, files: dict[str, bytes]) -> None:
    for entry in folder.iterdir():
        if entry.name.startswith((".", "__")):
            continue
        if entry.is_dir():
            _read(entry, f"{prefix}{entry.name}/", files)
        else:
            files[f"{prefix}{entry.name}"] = entry.read_bytes()
