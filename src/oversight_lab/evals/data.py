"""Loading evaluation data: real Hugging Face dataset ids, or local JSONL/CSV files in the original formats.

Every row is returned with where it came from (``file:line`` or ``dataset[split]#row``) so a malformed row is
reported by name and line. The field checks here are the formats' contracts; tasks read rows through them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SHIPPED",
    "DataFormatError",
    "Row",
    "load_rows",
    "read_csv",
    "read_jsonl",
    "require",
    "shipped",
    "str_or_list",
]

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "evals"


class DataFormatError(ValueError):
    """A data row that does not have the fields its format requires; the message names file and line."""


@dataclass(frozen=True)
class Row:
    """One data row and where it came from (``path:line`` for files, ``id[split]#index`` for the hub)."""

    data: dict[str, Any]
    where: str


def shipped(name: str) -> Path:
    """Path of a sample file the project ships under ``oversight_lab/data/evals``."""
    path = SHIPPED / name
    if not path.exists():
        raise FileNotFoundError(f"no shipped eval file {name!r} under {SHIPPED}")
    return path


def read_jsonl(path: str | Path) -> list[Row]:
    """Rows of a JSON-lines file; a line that is not a JSON object is an error naming file and line."""
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise DataFormatError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            rows.append(Row(obj, f"{path}:{lineno}"))
    return rows


def read_csv(path: str | Path, fieldnames: list[str] | None = None) -> list[Row]:
    """Rows of a CSV file (header row unless ``fieldnames`` is given); ragged rows are errors."""
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = fieldnames
        for record in reader:
            lineno = reader.line_num
            if header is None:
                header = record
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise DataFormatError(
                    f"{path}:{lineno}: expected {len(header)} columns ({', '.join(header)}), "
                    f"got {len(record)}"
                )
            rows.append(Row(dict(zip(header, record, strict=True)), f"{path}:{lineno}"))
    return rows


def _load_hub(dataset_id: str, name: str | None, split: str, data_files: str | None) -> list[Row]:
    """Rows from the Hugging Face hub (or its local cache) by the dataset's real id."""
    import datasets  # heavy; imported only when a hub id is used

    kwargs: dict[str, Any] = {"split": split}
    if data_files is not None:
        kwargs["data_files"] = data_files
    ds = datasets.load_dataset(dataset_id, name, **kwargs)
    label = f"{dataset_id}{'/' + data_files if data_files else ''}[{split}]"
    return [Row(dict(r), f"{label}#{i}") for i, r in enumerate(ds)]


def load_rows(
    source: str | Path,
    *,
    hub: tuple[str, str | None, str, str | None],
    csv_fieldnames: Callable[[Path], list[str] | None] | None = None,
    limit: int | None = None,
) -> list[Row]:
    """Rows from ``source``: ``"hub"`` for the real dataset ``hub = (id, config, split, data_files)``,
    ``"hf:<id>"`` for another hub dataset with the same layout, or a local ``.jsonl``/``.json``/``.csv``
    path."""
    source = str(source)
    if source == "hub":
        rows = _load_hub(*hub)
    elif source.startswith("hf:"):
        _, name, split, files = hub
        rows = _load_hub(source[3:], name, split, files)
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"eval data file not found: {path}")
        if path.suffix == ".csv":
            rows = read_csv(path, csv_fieldnames(path) if csv_fieldnames else None)
        elif path.suffix in (".jsonl", ".json"):
            rows = read_jsonl(path)
        else:
            raise DataFormatError(f"{path}: unknown data file type {path.suffix!r} (use .jsonl or .csv)")
    return rows[:limit] if limit is not None else rows


def require(row: Row, key: str, kind: type | tuple[type, ...]) -> Any:
    """``row.data[key]``, checked to be of ``kind``; otherwise an error naming the row's file and line."""
    if key not in row.data:
        raise DataFormatError(f"{row.where}: missing field {key!r}")
    value = row.data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataFormatError(f"{row.where}: field {key!r} should be {names}, got {type(value).__name__}")
    return value


def str_or_list(row: Row, key: str) -> list[str]:
    """A field that the original format writes as a string or a list of strings."""
    value = require(row, key, (str, list))
    values = [value] if isinstance(value, str) else value
    if not values or not all(isinstance(v, str) for v in values):
        raise DataFormatError(f"{row.where}: field {key!r} should be a string or a non-empty list of strings")
    return values
