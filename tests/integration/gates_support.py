"""Builders for the gate tests: a fully governed version, with one gap at a time on request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from steward import wire
from steward.checks import data_quality_check, expectations_from_dicts, fairness_check
from steward.domain import CheckProvenance, Severity, SourceFile
from steward.policy import builtin_bundle
from steward.service import Assignments, AssignmentSpec, Caller, Steward
from tests.integration.support import digest

BUILTIN = builtin_bundle()


def passing_fairness() -> dict[str, Any]:
    """Fairness values of a model that treats both groups alike (every ratio 1, no odds gap)."""
    labels = np.tile([1, 0, 1, 0], 50)
    groups = np.repeat(np.array(["F", "M"]), 100)
    return dict(fairness_check(labels, labels.copy(), {"sex": groups}).values)


def planted_fairness() -> dict[str, Any]:
    """Fairness values with a planted disparity: group F is selected about half as often."""
    rng = np.random.default_rng(7)
    rows = 4000
    sex = rng.choice(np.array(["F", "M"]), size=rows)
    labels = (rng.random(rows) < 0.4).astype(np.int64)
    score = rng.random(rows) + 0.35 * labels - 0.3 * (sex == "F")
    outcome = fairness_check(labels, (score > 0.7).astype(np.int64), {"sex": sex})
    return dict(outcome.values)


def computed(kind: str, values: dict[str, Any]) -> CheckProvenance:
    """The provenance ``steward check fairness|data-quality`` records for ``values`` computed
    from a CSV file (label ``y``, prediction ``p``, the attributes the values measure)."""
    if kind == "fairness":
        columns: dict[str, Any] = {
            "label": "y",
            "prediction": "p",
            "sensitive": sorted(values.get("attributes") or {}),
            "positive": "1",
        }
    else:
        columns = {"columns": list(values.get("columns") or [])}
    source = SourceFile(digest(f"{kind}.csv"), int(values.get("rows") or 0), "csv", f"{kind}.csv")
    return CheckProvenance("computed", "steward check (tests)", source, columns)


def quality(passing: bool = True) -> tuple[str, dict[str, Any], list[str]]:
    """A data-quality outcome as (status, values, messages)."""
    table = {"age": np.array([25.0, 40.0, 61.0 if passing else 17.0])}
    outcome = data_quality_check(
        table, expectations_from_dicts([{"type": "value_range", "column": "age", "min": 18, "max": 65}])
    )
    return outcome.status, dict(outcome.values), list(outcome.messages)


@dataclass
class Governed:
    """What :func:`governed` builds; every field can be changed to leave one gap."""

    model: dict[str, Any] = field(default_factory=dict)
    version: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    role: str = "training"
    fairness: dict[str, Any] | None = field(default_factory=passing_fairness)
    fairness_status: str = "pass"
    fairness_method: str = "computed"  # or "reported": recorded by hand, not from a file
    quality_passes: bool | None = True
    incident: Severity | None = None


def governed(steward: Steward, admin: Caller, name: str, setup: Governed | None = None) -> int:
    """A high-risk model with one version that passes every built-in rule (unless ``setup`` says
    otherwise): documented, approved training data with digests, a run, metrics above the floors,
    environment captured, a fair fairness check and a passing data-quality check, both computed
    from a file (as ``steward check`` records them)."""
    setup = setup or Governed()
    model = {
        "name": name,
        "owner": "risk-analytics",
        "risk_tier": "high",
        "use_case": "consumer lending",
        "intended_use": "Rank applications for manual underwriting review.",
        "limitations": "Not validated for small-business lending.",
        "regulatory_scopes": ["eu-ai-act-high-risk"],
        **setup.model,
    }
    steward.registry.create_model(admin, wire.ModelCreate(**model))
    dataset = f"{name}-applications"
    steward.registry.create_dataset(
        admin,
        wire.DatasetCreate(**{"name": dataset, "source": "warehouse", "approved": True, **setup.dataset}),
    )
    steward.registry.add_dataset_version(
        admin,
        dataset,
        wire.DatasetVersionCreate(version="2024-06", uri=f"s3://data/{dataset}", digest=digest(dataset)),
    )
    run = f"{name}-run"
    steward.registry.record_run(
        admin, wire.TrainingRunCreate(run_id=run, platform="mlflow", experiment="credit", user="alice")
    )
    version = {
        "artifact_uri": f"s3://models/{name}/model.pkl",
        "artifact_digest": digest(name),
        "training_run": run,
        "metrics": {"accuracy": 0.91, "auc": 0.87},
        "code_repository": "https://git.example.com/risk/credit",
        "code_commit": "4f2a9c1",
        "environment": {"python_version": "3.11.7", "dependency_lock_digest": digest(f"{name}-lock")},
        "datasets": [{"dataset": dataset, "version": "2024-06", "role": setup.role}],
        **setup.version,
    }
    number = steward.registry.register_version(
        admin, name, wire.VersionCreate(**{k: v for k, v in version.items() if v is not None})
    ).version
    if setup.fairness is not None:
        provenance = computed("fairness", setup.fairness) if setup.fairness_method == "computed" else None
        steward.checks.record(
            admin, name, number, "fairness", setup.fairness_status, setup.fairness, (), provenance
        )
    if setup.quality_passes is not None:
        status, values, messages = quality(setup.quality_passes)
        steward.checks.record_dataset(
            admin,
            dataset,
            "2024-06",
            "data_quality",
            status,
            values,
            messages,
            computed("data_quality", values),
        )
    if setup.incident is not None:
        steward.incidents.open(
            admin, wire.IncidentCreate(model=name, severity=setup.incident, title="wrong scores")
        )
    return number


def write_bundle(folder: Path, files: dict[str, str]) -> Path:
    """Write bundle files into ``folder`` (a bundle folder as ``steward policy add`` reads it)."""
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder


def bundle_files(
    name: str,
    version: str,
    *,
    data: Any = None,
    extra: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> dict[str, str]:
    """A copy of the built-in bundle's files, renamed, with its data and modules changed."""
    files = {path: content.decode() for path, content in BUILTIN.files.items() if path not in drop}
    files["manifest.json"] = json.dumps({"name": name, "version": version})
    if data is not None:
        files["data.json"] = json.dumps(data)
    files.update(extra or {})
    return files


def assign(steward: Steward, admin: Caller, specs: list[AssignmentSpec], reason: str = "") -> Assignments:
    """Replace the assignment table, at the revision read just before."""
    current = steward.policies.assignments(admin).revision
    return steward.policies.set_assignments(admin, specs, reason, revision=current)


def builtin_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(dict(BUILTIN.data)))
    return data
