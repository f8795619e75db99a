"""Reading files for the gates: policy bundle folders, tables (CSV or Parquet), expectations.

The policy and checks packages never touch a file; the CLI reads here and hands them plain values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from steward.errors import InvalidInput

BUNDLE_FILES = ("manifest.json", "data.json")
TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
NULL_GROUP = "(null)"


def read_bundle(folder: Path) -> dict[str, bytes]:
    """The bundle files of ``folder`` (``manifest.json``, ``data.json``, every ``*.rego`` below it,
    hidden folders skipped) by path relative to the folder."""
    if not folder.is_dir():
        raise InvalidInput.field("bundle", "folder", f"{folder} is not a folder")
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix == ".rego" or relative.as_posix() in BUNDLE_FILES:
            files[relative.as_posix()] = path.read_bytes()
    return files


def bundle_text(files: dict[str, bytes]) -> dict[str, str]:
    """Bundle files as text (what the REST API takes); a file that is not UTF-8 is named."""
    text = {}
    for path, content in files.items():
        try:
            text[path] = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"policy bundle: {path}: not UTF-8 text (byte {exc.start})",
                {"errors": [{"field": path, "rule": "utf8", "message": "not UTF-8 text", "file": path}]},
            ) from exc
    return text


def table_format(path: Path) -> str:
    """``csv`` or ``parquet``, by the file's suffix (anything else is refused)."""
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput.field(
            "--data", "format", f"{path.name}: use a .csv or .parquet file (got {path.suffix or 'no suffix'})"
        )
    return kind


def file_digest(path: Path) -> str:
    """``sha256:`` + the SHA-256 of the file's bytes, read in chunks (what ``sha256sum`` prints)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InvalidInput.field("--data", "read", f"cannot read {path.name}: {exc}") from exc
    return "sha256:" + digest.hexdigest()


def read_table(path: Path, columns: Sequence[str] | None = None) -> dict[str, npt.NDArray[Any]]:
    """Columns of a CSV or Parquet file as numpy arrays (all of them, or ``columns``).

    Nulls become ``NaN`` in numeric columns and ``None`` in text columns.
    """
    kind = table_format(path)
    if not path.is_file():
        raise InvalidInput.field("--data", "file", f"{path} does not exist")
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.csv as pcsv  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        if kind == "parquet":
            available = list(pq.read_schema(path).names)
        else:
            with pcsv.open_csv(path) as reader:
                available = list(reader.schema.names)
        wanted = list(dict.fromkeys(columns)) if columns is not None else available
        missing = [c for c in wanted if c not in available]
        if missing:
            raise InvalidInput.field(
                "--data", "columns", f"{path.name} has no column(s) {missing}; it has {available}"
            )
        if kind == "parquet":
            table = pq.read_table(path, columns=wanted)
        else:
            table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(include_columns=wanted))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InvalidInput.field("--data", "read", f"cannot read {path.name}: {exc}") from exc
    return {name: _numpy(table.column(name)) for name in wanted}


def _numpy(column: Any) -> npt.NDArray[Any]:
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return np.asarray(column.to_numpy())


def groups(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A sensitive attribute's values with nulls named, so they form a group of their own."""
    if values.dtype.kind == "O":
        missing = np.equal(values, np.asarray(None, dtype=object))
        if missing.any():
            values = values.copy()
            values[missing] = NULL_GROUP
    return values


def positive_label(text: str, column: npt.NDArray[Any]) -> Any:
    """``--positive`` in the label column's type (``1`` for numbers, ``true`` for booleans)."""
    kind = column.dtype.kind
    if kind == "b":
        return text.strip().lower() in ("1", "true", "yes")
    try:
        if kind in "iu":
            return int(text)
        if kind == "f":
            return float(text)
    except ValueError:
        raise InvalidInput.field(
            "--positive", "type", f"the label column holds numbers; {text!r} is not one"
        ) from None
    return text


def read_expectations(path: Path) -> list[dict[str, Any]]:
    """Data-quality expectations from a JSON file: a list, or ``{"expectations": [...]}``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput.field("--expectations", "file", f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput.field("--expectations", "json", f"{path.name} is not JSON: {exc}") from exc
    items = raw.get("expectations") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput.field(
            "--expectations", "shape", f"{path.name}: give a list of expectations (objects with a type)"
        )
    return items
