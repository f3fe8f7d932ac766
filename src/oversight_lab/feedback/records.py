"""Comparison records: the one feedback format every evaluator writes and every optimiser reads.

A ``Comparison`` says which of two answers to a task an evaluator preferred, with the evaluator's
probability, its configuration and the policy checkpoint the answers came from. It carries the task's
structured ``task_spec`` so the world can recompute gold for analysis, but never gold itself: the reward
model and the optimisers read comparisons, and the optimiser never sees gold.

Stored as JSONL (one record a line) or Parquet; exported to TRL's prompt/chosen/rejected format and to a
Hugging Face ``datasets.Dataset``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "Comparison",
    "FeedbackFormatError",
    "write_comparisons",
    "read_comparisons",
    "to_trl",
    "to_dataset",
]


class FeedbackFormatError(ValueError):
    """A feedback file or record is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Comparison:
    """One pairwise judgement. ``chosen`` is 0 if ``answer_a`` was preferred, 1 if ``answer_b`` was."""

    task_id: str
    prompt: str
    answer_a: str
    answer_b: str
    chosen: int
    prob_a: float
    evaluator: str
    policy: str
    task_spec: dict[str, Any] = field(default_factory=dict)
    evaluator_config: dict[str, Any] = field(default_factory=dict)
    rationale: str | None = None
    margin: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.chosen not in (0, 1):
            raise FeedbackFormatError(
                f"comparison {self.task_id!r}: chosen must be 0 or 1, got {self.chosen!r}"
            )
        if not 0.0 <= float(self.prob_a) <= 1.0:
            raise FeedbackFormatError(
                f"comparison {self.task_id!r}: prob_a must be in [0, 1], got {self.prob_a!r}"
            )

    @property
    def chosen_text(self) -> str:
        return self.answer_a if self.chosen == 0 else self.answer_b

    @property
    def rejected_text(self) -> str:
        return self.answer_b if self.chosen == 0 else self.answer_a

    @classmethod
    def from_dict(cls, row: dict[str, Any], where: str = "record") -> Comparison:
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        if not isinstance(row, dict):
            raise FeedbackFormatError(f"{where}: expected a JSON object, got {type(row).__name__}")
        missing = sorted(required - row.keys())
        if missing:
            raise FeedbackFormatError(f"{where}: missing field(s) {', '.join(missing)}")
        unknown = sorted(row.keys() - names)
        if unknown:
            raise FeedbackFormatError(f"{where}: unknown field(s) {', '.join(unknown)}")
        for key in ("task_id", "prompt", "answer_a", "answer_b", "evaluator", "policy"):
            if not isinstance(row[key], str):
                raise FeedbackFormatError(f"{where}: field {key!r} must be a string, got {row[key]!r}")
        if not isinstance(row["chosen"], int) or isinstance(row["chosen"], bool):
            raise FeedbackFormatError(f"{where}: field 'chosen' must be 0 or 1, got {row['chosen']!r}")
        if not isinstance(row["prob_a"], (int, float)) or isinstance(row["prob_a"], bool):
            raise FeedbackFormatError(f"{where}: field 'prob_a' must be a number, got {row['prob_a']!r}")
        try:
            return cls(**row)
        except FeedbackFormatError as e:
            raise FeedbackFormatError(f"{where}: {e}") from None


def write_comparisons(path: str | Path, records: Iterable[Comparison]) -> Path:
    """Write records to ``path`` (``.jsonl`` or ``.parquet``) atomically: a crash keeps the old file."""
    path = Path(path)
    rows = [asdict(r) for r in records]
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Nested dicts are stored as JSON strings: their keys differ between worlds and evaluators.
        flat = [{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in r.items()} for r in rows]
        pq.write_table(pa.Table.from_pylist(flat), tmp)
    elif path.suffix == ".jsonl":
        with open(tmp, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    else:
        raise FeedbackFormatError(f"{path}: unsupported extension {path.suffix!r} (use .jsonl or .parquet)")
    os.replace(tmp, path)
    return path


def read_comparisons(path: str | Path) -> list[Comparison]:
    """Read JSONL or Parquet; a malformed row raises ``FeedbackFormatError`` naming file and line."""
    path = Path(path)
    if not path.exists():
        raise FeedbackFormatError(f"{path}: no such file")
    out: list[Comparison] = []
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            for key in ("task_spec", "evaluator_config", "meta"):
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
            out.append(Comparison.from_dict(row, where=f"{path}: row {i}"))
        return out
    with open(path) as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise FeedbackFormatError(f"{path}:{i}: invalid JSON ({e.msg})") from None
            out.append(Comparison.from_dict(row, where=f"{path}:{i}"))
    return out


def to_trl(records: Iterable[Comparison], margin: bool = False) -> list[dict[str, Any]]:
    """TRL's explicit-prompt preference format: ``{"prompt", "chosen", "rejected"}`` (plus ``margin``)."""
    rows = []
    for r in records:
        row: dict[str, Any] = {"prompt": r.prompt, "chosen": r.chosen_text, "rejected": r.rejected_text}
        if margin:
            row["margin"] = float(r.margin if r.margin is not None else abs(2 * r.prob_a - 1))
        rows.append(row)
    return rows


def to_dataset(records: Iterable[Comparison], trl_format: bool = True):
    """A Hugging Face ``datasets.Dataset``: TRL's format by default, else every field (nested as JSON)."""
    import datasets

    if trl_format:
        return datasets.Dataset.from_list(to_trl(records))
    rows = [{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in asdict(r).items()} for r in records]
    return datasets.Dataset.from_list(rows)
