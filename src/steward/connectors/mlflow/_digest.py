"""The SHA-256 digest of an MLflow model artefact, from its files (no MLflow import here).

The digest covers the artefact's content, not its packaging: every file under the model directory
is hashed, listed with its relative path in sorted order, and the list is hashed. ``MLmodel`` is
hashed in a canonical form without the fields MLflow writes per logging call (``run_id``,
``model_uuid``, ``model_id``, ``utc_time_created``, ``artifact_path``, ``mlflow_version``), so the
same trained model logged twice (a retrain with the same data and seed, pushed to two experiments)
has one digest, and Steward links both sources to one version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

VOLATILE_MLMODEL_KEYS = frozenset(
    {"run_id", "model_uuid", "model_id", "utc_time_created", "artifact_path", "mlflow_version", "prompts"}
)
LOCK_FILES = ("requirements.txt", "python_env.yaml", "conda.yaml")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mlmodel(path: Path) -> dict[str, Any]:
    import yaml  # type: ignore[import-untyped]  # mlflow-skinny depends on PyYAML

    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return loaded if isinstance(loaded, dict) else {}


def tree_digest(root: Path) -> tuple[str, dict[str, Any]]:
    """``("sha256:…", MLmodel as read)`` over every file under ``root``."""
    lines: list[str] = []
    mlmodel: dict[str, Any] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == "MLmodel":
            mlmodel = _mlmodel(path)
            stable = {k: v for k, v in mlmodel.items() if k not in VOLATILE_MLMODEL_KEYS}
            canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"), default=str)
            lines.append(f"{relative}\t{hashlib.sha256(canonical.encode()).hexdigest()}")
        else:
            lines.append(f"{relative}\t{_file_digest(path)}")
    if not lines:
        raise FileNotFoundError(f"no files under {root}")
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest(), mlmodel


def python_version(mlmodel: dict[str, Any]) -> str | None:
    flavor = (mlmodel.get("flavors") or {}).get("python_function") or {}
    value = flavor.get("python_version")
    return str(value) if value else None


def lock_digest(root: Path) -> str | None:
    """The digest of the dependency list the model was logged with (``requirements.txt`` first)."""
    for name in LOCK_FILES:
        path = root / name
        if path.is_file():
            return "sha256:" + _file_digest(path)
    return None


def metadata_digest(source: str) -> str:
    """When the files cannot be read: the digest of MLflow's own description of the artefact (its
    source URI, which names one logged model or run artefact), so the same artefact registered
    twice still has one digest."""
    canonical = json.dumps({"mlflow_source": source}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
