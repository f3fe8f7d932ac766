"""Exports of a study: every field in long format, the lab's ``Comparison`` records, TRL and HF datasets.

* ``long_rows`` — one row per label *revision* (edits included, ``is_latest`` marks the current one), with the
  item, the assignment (condition, left/right order, critique shown, server timestamps), the person, the
  experts' gold and the study's sha256: for CSV and Parquet (the frozen study text is in the Parquet schema
  metadata and in ``study.yaml`` beside every export).
* ``comparisons`` — the latest non-expert labels as ``Comparison`` records (``evaluator="human:<id>"``,
  ``prob_a`` from the stated confidence, ``margin`` = |strength| / 3). Ties (strength 0) are stored and appear
  in the long format but are skipped here and in the TRL export: a tie prefers neither answer. Expert labels
  are gold and are never exported as training comparisons: the optimiser never sees gold.
* ``to_trl`` / ``to_dataset`` of those comparisons, via ``oversight_lab.feedback``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight_lab.feedback import Comparison, to_dataset, to_trl, write_comparisons
from oversight_lab.server.dashboard import gold_choices
from oversight_lab.server.db import HEAD_REVISION, Assignment, ChatMessage, Event, Item, Label, Participant
from oversight_lab.server.service import latest_labels
from oversight_lab.server.stats import credit
from oversight_lab.server.study import Study
from oversight_lab.server.validation import csv_cell

__all__ = ["EXPORTS", "LONG_FIELDS", "comparisons", "export_study", "long_rows", "write_long"]

EXPORTS = {"labels.csv": "text/csv", "labels.parquet": "application/vnd.apache.parquet",
           "comparisons.jsonl": "application/jsonl", "trl.jsonl": "application/jsonl",
           "study.yaml": "application/yaml"}

LONG_FIELDS = [
    "label_id", "revision", "supersedes", "is_latest", "kind", "participant_id", "participant_role",
    "item_id", "task_id", "batch", "is_gold", "condition", "assistance", "flipped", "strength",
    "strength_shown", "chosen", "prob_a", "margin", "confidence", "rationale", "via", "served_at",
    "first_interaction_at", "submitted_at", "expires_at", "seconds_to_submit", "critique_shown", "chat_turns",
    "gold_choice", "credit", "prompt", "answer_a", "answer_b", "policy", "task_spec", "study_name",
    "study_sha256", "schema_revision",
]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat() + "Z"


def _prob_a(strength: int, confidence: float) -> float:
    if strength == 0:
        return 0.5
    return confidence if strength < 0 else 1.0 - confidence


def long_rows(s: Session, study: Study) -> list[dict[str, Any]]:
    cfg = study.config
    items = {i.id: i for i in s.scalars(select(Item))}
    assignments = {a.id: a for a in s.scalars(select(Assignment))}
    people = {p.id: p for p in s.scalars(select(Participant))}
    first = {e.assignment_id: e.at for e in s.scalars(select(Event).where(Event.kind == "first_interaction"))}
    said = select(ChatMessage).where(ChatMessage.speaker == "person")
    turns = Counter(m.assignment_id for m in s.scalars(said))
    gold = gold_choices(latest_labels(s, "gold"))
    latest = {lab.id for lab in latest_labels(s)}
    assist = {c.name: c.assistance for c in cfg.conditions}
    rows = []
    for lab in s.scalars(select(Label).order_by(Label.id)):
        a, it = assignments[lab.assignment_id], items[lab.item_id]
        g = gold.get(lab.item_id)
        rows.append({
            "label_id": lab.id, "revision": lab.revision, "supersedes": lab.supersedes,
            "is_latest": lab.id in latest, "kind": lab.kind, "participant_id": lab.participant_id,
            "participant_role": people[lab.participant_id].role, "item_id": lab.item_id,
            "task_id": it.task_id,
            "batch": it.batch, "is_gold": it.is_gold, "condition": lab.condition,
            "assistance": assist.get(lab.condition, "expert"), "flipped": a.flipped, "strength": lab.strength,
            "strength_shown": lab.strength_shown,
            "chosen": None if lab.strength == 0 else int(lab.strength > 0),
            "prob_a": _prob_a(lab.strength, lab.confidence), "margin": abs(lab.strength) / 3,
            "confidence": lab.confidence, "rationale": lab.rationale, "via": lab.via,
            "served_at": _iso(a.served_at), "first_interaction_at": _iso(first.get(a.id)),
            "submitted_at": _iso(lab.submitted_at), "expires_at": _iso(a.expires_at),
            "seconds_to_submit": (lab.submitted_at - a.served_at).total_seconds(),
            "critique_shown": a.critique, "chat_turns": turns.get(a.id, 0), "gold_choice": g,
            "credit": None if g is None else credit(lab.strength, g), "prompt": it.prompt,
            "answer_a": it.answer_a, "answer_b": it.answer_b, "policy": it.policy, "task_spec": it.task_spec,
            "study_name": cfg.name, "study_sha256": study.sha256, "schema_revision": HEAD_REVISION,
        })
    return rows


def comparisons(s: Session, study: Study) -> list[Comparison]:
    """Latest non-expert labels as ``Comparison`` records; ties are skipped (see the module docstring)."""
    items = {i.id: i for i in s.scalars(select(Item))}
    assist = {c.name: c.assistance for c in study.config.conditions}
    out = []
    for lab in sorted(latest_labels(s, "annotate"), key=lambda x: x.id):
        if lab.strength == 0:
            continue
        it = items[lab.item_id]
        out.append(Comparison(
            task_id=it.task_id, prompt=it.prompt, answer_a=it.answer_a, answer_b=it.answer_b,
            chosen=int(lab.strength > 0), prob_a=_prob_a(lab.strength, lab.confidence),
            evaluator=f"human:{lab.participant_id}", policy=it.policy, task_spec=json.loads(it.task_spec),
            evaluator_config={"name": "human", "study": study.config.name, "study_sha256": study.sha256,
                              "condition": lab.condition, "assistance": assist.get(lab.condition)},
            rationale=lab.rationale, margin=abs(lab.strength) / 3,
            meta={"label_id": lab.id, "item_id": it.id, "revision": lab.revision, "strength": lab.strength,
                  "confidence": lab.confidence, "submitted_at": _iso(lab.submitted_at)},
        ))
    return out


def write_long(rows: list[dict[str, Any]], path: Path, study: Study) -> Path:
    """CSV or Parquet (by suffix); Parquet carries the frozen study text in its schema metadata.

    CSV text cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a leading
    single quote (OWASP's advice against CSV injection); Parquet keeps every value exactly as stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=LONG_FIELDS)
            w.writeheader()
            w.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=_arrow_schema())
        meta = {b"oversight_lab.study_yaml": study.text.encode(), b"oversight_lab.study_sha256":
                study.sha256.encode()}
        pq.write_table(table.replace_schema_metadata(meta), path)
    else:
        raise ValueError(f"{path}: use .csv or .parquet")
    return path


def _arrow_schema() -> Any:  # a pyarrow.Schema; pyarrow is imported lazily
    import pyarrow as pa

    ints = {"label_id", "revision", "supersedes", "item_id", "strength", "strength_shown", "chosen",
            "chat_turns", "gold_choice"}
    floats = {"prob_a", "margin", "confidence", "seconds_to_submit", "credit"}
    bools = {"is_latest", "is_gold", "flipped"}
    return pa.schema([(f, pa.int64() if f in ints else pa.float64() if f in floats else
                       pa.bool_() if f in bools else pa.string()) for f in LONG_FIELDS])


def export_study(s: Session, study: Study, out: str | Path, dataset: bool = True) -> dict[str, Any]:
    """Write every export into ``out``: labels.csv/.parquet, comparisons.jsonl, trl.jsonl, dataset/,
    study.yaml (the frozen text) and manifest.json (counts, sha256, what was skipped and why)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = long_rows(s, study)
    records = comparisons(s, study)
    write_long(rows, out / "labels.csv", study)
    write_long(rows, out / "labels.parquet", study)
    write_comparisons(out / "comparisons.jsonl", records)
    with open(out / "trl.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in to_trl(records, margin=True))
    if dataset:
        to_dataset(records).save_to_disk(str(out / "dataset"))
    (out / "study.yaml").write_text(study.text)
    latest_annot = [r for r in rows if r["is_latest"] and r["kind"] == "annotate"]
    manifest = {
        "study_name": study.config.name, "study_sha256": study.sha256, "schema_revision": HEAD_REVISION,
        "label_rows": len(rows), "latest_annotation_labels": len(latest_annot),
        "comparisons": len(records), "ties_skipped": sum(1 for r in latest_annot if r["strength"] == 0),
        "expert_labels_excluded": sum(1 for r in rows if r["is_latest"] and r["kind"] == "gold"),
        "files": sorted({p.name for p in out.iterdir()} | {"manifest.json"}),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
