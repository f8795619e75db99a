"""``steward check fairness|data-quality|documentation|lineage|list``: automated checks.

Fairness and data quality are measured here, from a CSV or Parquet file, with
:mod:`steward.checks`; the measured values are recorded on the version (or dataset version),
locally or on the server, as ``computed``, with the file's SHA-256, its row count and the columns
read, so that anyone with the file can compute them again. Documentation and lineage completeness
are computed by Steward from the record itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from steward import __version__, wire
from steward.checks import (
    DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE,
    DEFAULT_MIN_RATIO,
    RATE_METRICS,
    CheckOutcome,
    data_quality_check,
    expectations_from_dicts,
    fairness_check,
)
from steward.cli._app import app, state_of
from steward.cli._files import (
    file_digest,
    groups,
    positive_label,
    read_expectations,
    read_table,
    table_format,
)
from steward.cli._gate_ops import GateOps
from steward.cli._output import Json, emit_json, out, table
from steward.errors import InvalidInput

check_app = typer.Typer(
    help="Automated checks of a version, recorded with what they measured.", no_args_is_help=True
)
app.add_typer(check_app, name="check")

Data = Annotated[Path, typer.Option("--data", help="A CSV or Parquet file.", show_default=False)]


def _ops(ctx: typer.Context) -> GateOps:
    return GateOps(state_of(ctx).backend())


def _spec(outcome: CheckOutcome, provenance: wire.CheckProvenanceIn) -> wire.CheckCreate:
    return wire.CheckCreate(
        kind=outcome.kind,
        status=outcome.status,
        values=dict(outcome.values),
        messages=list(outcome.messages),
        provenance=provenance,
    )


def _computed_from(command: str, data: Path, rows: int, columns: dict[str, Any]) -> wire.CheckProvenanceIn:
    """The provenance of a check this command computed from ``data`` (read through ``columns``)."""
    return wire.CheckProvenanceIn(
        method="computed",
        tool=f"steward {__version__} check {command}",
        file=wire.SourceFileIn(
            sha256=file_digest(data), rows=rows, format=table_format(data), name=data.name
        ),
        columns=columns,
    )


def _summary(result: wire.CheckResultOut, subject: str) -> None:
    colour = "green" if result.status == "pass" else "red"
    out.print(
        f"{result.kind} check of {subject}: [{colour}]{result.status.upper()}[/{colour}] "
        f"(recorded as check {result.id})"
    )
    for message in result.messages:
        out.print(f"  ✗ {escape(message)}")


def fairness_from_file(
    data: Path,
    label: str,
    prediction: str,
    attributes: list[str],
    positive: str = "1",
    min_ratio: float = DEFAULT_MIN_RATIO,
    max_eod: float = DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE,
) -> tuple[CheckOutcome, wire.CheckProvenanceIn]:
    """The fairness check of the predictions in ``data``, and the provenance that lets anyone with
    the file compute it again (``steward check fairness``, and the demo's checks)."""
    columns = read_table(data, [label, prediction, *attributes])
    outcome = fairness_check(
        columns[label],
        columns[prediction],
        {name: groups(columns[name]) for name in attributes},
        min_ratio=min_ratio,
        max_equalized_odds_difference=max_eod,
        pos_label=positive_label(positive, columns[label]),
    )
    mapping = {"label": label, "prediction": prediction, "sensitive": attributes, "positive": positive}
    return outcome, _computed_from("fairness", data, int(columns[label].shape[0]), mapping)


@check_app.command("fairness")
def check_fairness(
    ctx: typer.Context,
    model: str,
    version: int,
    data: Data,
    label: Annotated[str, typer.Option(help="Column of true labels.")],
    prediction: Annotated[str, typer.Option(help="Column of predicted labels.")],
    sensitive: Annotated[
        str, typer.Option(help="Protected attribute columns, comma-separated (e.g. sex,age_band).")
    ],
    positive: Annotated[str, typer.Option(help="The positive label.")] = "1",
    min_ratio: Annotated[
        float, typer.Option(help="Least ratio (min/max across groups) of selection rate and TPR.")
    ] = DEFAULT_MIN_RATIO,
    max_eod: Annotated[
        float, typer.Option("--max-eod", help="Largest equalised-odds difference.")
    ] = DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE,
    as_json: Json = False,
) -> None:
    """Measure group fairness of MODEL VERSION's predictions in --data and record the check.

    Per protected attribute: selection rate, true- and false-positive rate per group, their ratios
    and differences across groups, and the equalised-odds difference. The policies apply their own
    thresholds to these values; --min-ratio and --max-eod set the check's own pass/fail.
    """
    attributes = list(dict.fromkeys(name.strip() for name in sensitive.split(",") if name.strip()))
    if not attributes:
        raise InvalidInput.field("--sensitive", "required", "name at least one protected attribute column")
    outcome, provenance = fairness_from_file(
        data, label, prediction, attributes, positive, min_ratio, max_eod
    )
    result = _ops(ctx).record_check(model, version, _spec(outcome, provenance))
    if as_json:
        emit_json(result)
        return
    for name, attribute in result.values["attributes"].items():
        rows = [{"group": group, **values} for group, values in attribute["groups"].items()]
        table(
            rows,
            [
                ("group", lambda r: r["group"]),
                ("rows", lambda r: r["count"]),
                ("positives", lambda r: r["positives"]),
                *[(metric.replace("_", " "), _rate(metric)) for metric in RATE_METRICS],
            ],
            title=f"{name}",
        )
        ratios = ", ".join(f"{m} ratio {attribute['metrics'][m]['ratio']:.4f}" for m in RATE_METRICS)
        out.print(f"  {ratios}; equalised-odds difference {attribute['equalized_odds_difference']:.4f}")
    _summary(result, f"{model} v{version}")
    _source(result)


def _source(result: wire.CheckResultOut) -> None:
    file = result.provenance.file
    if file is not None:
        out.print(f"  computed from {escape(file.name)} ({file.rows} rows, {file.sha256})")


def _rate(metric: str) -> Any:
    return lambda r: f"{r[metric]:.4f}"


@check_app.command("data-quality")
def check_data_quality(
    ctx: typer.Context,
    dataset: str,
    version: str,
    data: Data,
    expectations: Annotated[
        Path,
        typer.Option(
            help='A JSON file of expectations, e.g. [{"type": "value_range", "column": "age", "min": 18}].',
            show_default=False,
        ),
    ],
    as_json: Json = False,
) -> None:
    """Check the DATASET VERSION file --data against --expectations and record the result.

    Expectation types: required_columns, column_type, max_null_fraction, value_range,
    allowed_values. Every model version that uses the dataset version sees the result.
    """
    rules = expectations_from_dicts(read_expectations(expectations))
    table_columns = read_table(data)
    outcome = data_quality_check(table_columns, rules)
    provenance = _computed_from(
        "data-quality", data, int(outcome.values["rows"]), {"columns": sorted(table_columns)}
    )
    result = _ops(ctx).record_dataset_check(dataset, version, _spec(outcome, provenance))
    if as_json:
        emit_json(result)
        return
    table(
        result.values["expectations"],
        [
            ("expectation", lambda e: e["expectation"]),
            ("column", lambda e: e["column"]),
            ("passed", lambda e: "yes" if e["passed"] else "NO"),
            ("measured", lambda e: e["measured"]),
            ("required", lambda e: e["required"]),
        ],
    )
    _summary(result, f"{dataset}@{version}")
    _source(result)


def _computed(ctx: typer.Context, kind: str, model: str, version: int, as_json: bool) -> None:
    result = _ops(ctx).record_check(model, version, wire.CheckCreate(kind=kind))
    if as_json:
        emit_json(result)
        return
    _summary(result, f"{model} v{version}")


@check_app.command("documentation")
def check_documentation(ctx: typer.Context, model: str, version: int, as_json: Json = False) -> None:
    """Documentation completeness of MODEL VERSION (owner, intended use, limitations, risk tier,
    regulatory scope, training data), computed from the record and recorded."""
    _computed(ctx, "documentation", model, version, as_json)


@check_app.command("lineage")
def check_lineage(ctx: typer.Context, model: str, version: int, as_json: Json = False) -> None:
    """Lineage completeness of MODEL VERSION (artefact digest, code commit, digested and approved
    training datasets), computed from the record and recorded."""
    _computed(ctx, "lineage", model, version, as_json)


@check_app.command("list")
def check_list(
    ctx: typer.Context,
    model: str,
    version: int,
    kind: Annotated[str | None, typer.Option(help="Only checks of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="Most checks to show.", min=1, max=1000)] = 50,
    as_json: Json = False,
) -> None:
    """The checks recorded for MODEL VERSION, newest first."""
    found = _ops(ctx).list_checks(model, version, kind, limit)
    if as_json:
        emit_json(found)
        return
    table(
        found,
        [
            ("id", lambda c: c.id),
            ("time", lambda c: f"{c.created_at:%Y-%m-%d %H:%M:%S}"),
            ("kind", lambda c: c.kind),
            ("status", lambda c: c.status),
            ("provenance", lambda c: c.provenance.method),
            ("failures", lambda c: len(c.messages)),
            ("by", lambda c: c.created_by),
        ],
    )
