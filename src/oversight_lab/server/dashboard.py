"""The admin dashboard's numbers, read from the database (latest label revisions only).

Gold for an item is the majority of its experts' latest labels (mean canonical strength: negative A, positive
B; an exact tie gives no gold and the item is left out of accuracy). Expert accuracy is leave-one-out
agreement between experts on items with two or more expert labels; with a single expert per item it is 1 by
definition (the gold standard), and the dashboard says so. A non-expert's tie earns half credit.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight_lab.server.db import Assignment, ChatMessage, Event, Item, Label, Participant
from oversight_lab.server.service import latest_labels
from oversight_lab.server.stats import (
    bootstrap_gap,
    calibration,
    cohen_kappa,
    credit,
    krippendorff_alpha,
    poisson_rate,
    sandwich_gap,
    wilson,
)
from oversight_lab.server.study import Study
from oversight_lab.server.validation import has_bidi

__all__ = ["dashboard", "expert_agreement", "gold_choices", "text_flags"]


MIN_RATE_LABELS = 10  # fewer labels than this: "too few" instead of a rate
MIN_CALIBRATION = 20  # fewer confident labels on gold than this: "too few" instead of an ECE


def _choice(strength: float) -> int | None:
    return None if strength == 0 else int(strength > 0)


def gold_choices(expert_labels: list[Label]) -> dict[int, int | None]:
    """Per gold item, the experts' majority choice (0: A, 1: B; None: a tie)."""
    by_item: dict[int, list[int]] = defaultdict(list)
    for lab in expert_labels:
        by_item[lab.item_id].append(lab.strength)
    return {i: _choice(float(np.mean([np.sign(v) for v in vs]))) for i, vs in by_item.items()}


def expert_agreement(expert_labels: list[Label]) -> dict[int, tuple[float, int]]:
    """Per item with 2+ expert labels: (credit sum, count) of each expert against the others' majority."""
    by_item: dict[int, list[int]] = defaultdict(list)
    for lab in expert_labels:
        by_item[lab.item_id].append(lab.strength)
    out: dict[int, tuple[float, int]] = {}
    for item, vs in by_item.items():
        if len(vs) < 2:
            continue
        total, n = 0.0, 0
        for j, v in enumerate(vs):
            others = _choice(float(np.mean([np.sign(w) for k, w in enumerate(vs) if k != j])))
            if others is not None:
                total += credit(v, others)
                n += 1
        if n:
            out[item] = (total, n)
    return out


def _acc(total: float, n: int) -> dict[str, Any]:
    lo, hi = wilson(total, n)
    return {"n": n, "accuracy": (total / n) if n else None, "ci": [lo, hi] if n else None}


def _nan_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else x


def text_flags(s: Session) -> list[dict[str, Any]]:
    """Stored text holding bidirectional controls (which can make text display as something other than what is
    stored; participants see them as visible marks): where it is, for the admin to check."""
    fields = {Item: ("task_id", "prompt", "answer_a", "answer_b", "critique_a", "critique_b", "policy"),
              Label: ("rationale",), ChatMessage: ("text",), Participant: ("name",)}
    out = []
    for model, names in fields.items():
        for row in s.scalars(select(model).order_by(model.id)):
            out.extend({"table": model.__tablename__, "id": row.id, "field": f}
                       for f in names if has_bidi(getattr(row, f)))
    return out


def dashboard(s: Session, study: Study, now: datetime) -> dict[str, Any]:
    cfg = study.config
    conditions = [c.name for c in cfg.conditions]
    labels = latest_labels(s, "annotate")
    experts = latest_labels(s, "gold")
    gold = gold_choices(experts)
    people = {p.id: p for p in s.scalars(select(Participant))}
    n_items = len(s.scalars(select(Item.id)).all())
    n_gold_items = len(s.scalars(select(Item.id).where(Item.is_gold)).all())

    # -- accuracy against gold -------------------------------------------------------------------------
    per_person: dict[str, list[float]] = defaultdict(list)
    per_cond: dict[str, list[float]] = defaultdict(list)
    gold_items = sorted(i for i, g in gold.items() if g is not None)
    col = {c: j for j, c in enumerate(conditions)}
    row = {i: k for k, i in enumerate(gold_items)}
    sums = np.zeros((len(gold_items), len(conditions)))
    counts = np.zeros_like(sums)
    calib: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for lab in labels:
        g = gold.get(lab.item_id)
        if g is None:
            continue
        c = credit(lab.strength, g)
        per_person[lab.participant_id].append(c)
        per_cond[lab.condition].append(c)
        sums[row[lab.item_id], col[lab.condition]] += c
        counts[row[lab.item_id], col[lab.condition]] += 1
        if lab.strength != 0:
            for key in (lab.condition, "all"):
                calib[key][0].append(lab.confidence)
                calib[key][1].append(c)
    annotators = [{"participant_id": pid, "name": people[pid].name, **_acc(sum(v), len(v))}
                  for pid, v in sorted(per_person.items())]
    by_condition = {c: _acc(sum(per_cond.get(c, [])), len(per_cond.get(c, []))) for c in conditions}

    agree = expert_agreement(experts)
    e_sums = np.array([agree.get(i, (0.0, 0))[0] for i in gold_items])
    e_counts = np.array([agree.get(i, (0.0, 0))[1] for i in gold_items], dtype=float)
    if e_counts.sum() > 0:
        expert = {**_acc(float(e_sums.sum()), int(e_counts.sum())), "by_definition": False}
    else:
        expert = {"n": len(experts), "accuracy": 1.0 if experts else None, "ci": None, "by_definition": True}

    base = cfg.baseline_condition()
    gaps: dict[str, Any] = {}
    for c in conditions:
        if base is None or c == base:
            continue
        g = sandwich_gap(by_condition[c]["accuracy"], by_condition[base]["accuracy"], expert["accuracy"])
        ci = None
        if g is not None:
            ci = bootstrap_gap(sums, counts, e_sums, e_counts, col[c], col[base], seed=cfg.seed,
                               expert_fixed=1.0 if expert["by_definition"] else None)
        gaps[c] = {"gap": g, "ci": list(ci) if ci else None}

    # -- agreement on overlap items ----------------------------------------------------------------------
    cells: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for lab in labels:
        cells[(lab.item_id, lab.condition)][lab.participant_id] = lab.strength
    agreement: dict[str, Any] = {}
    for scope in ["all", *conditions]:
        chosen = {k: v for k, v in cells.items() if scope == "all" or k[1] == scope}
        units_nom = [[float(np.sign(x)) for x in v.values()] for v in chosen.values()]
        units_int = [[float(x) for x in v.values()] for v in chosen.values()]
        pair_k: list[tuple[float, int]] = []
        raters = sorted({p for v in chosen.values() for p in v})
        for i, a in enumerate(raters):
            for b in raters[i + 1:]:
                shared = [v for v in chosen.values() if a in v and b in v]
                if len(shared) >= 2:
                    k = cohen_kappa([np.sign(v[a]) for v in shared], [np.sign(v[b]) for v in shared])
                    if not math.isnan(k):
                        pair_k.append((k, len(shared)))
        agreement[scope] = {
            "overlap_units": sum(1 for v in chosen.values() if len(v) >= 2),
            "alpha_nominal": _nan_none(krippendorff_alpha(units_nom, "nominal")),
            "alpha_ordinal": _nan_none(krippendorff_alpha(units_int, "ordinal")),
            "alpha_interval": _nan_none(krippendorff_alpha(units_int, "interval")),
            "kappa_pairs": len(pair_k),
            "kappa_mean": (sum(k * n for k, n in pair_k) / sum(n for _, n in pair_k)) if pair_k else None,
        }

    # -- throughput ------------------------------------------------------------------------------------
    assignments = {a.id: a for a in s.scalars(select(Assignment).where(Assignment.kind == "annotate"))}
    first = {e.assignment_id: e.at for e in s.scalars(select(Event).where(Event.kind == "first_interaction"))}
    originals = list(s.scalars(select(Label).where(Label.kind == "annotate", Label.revision == 0)))
    secs = [(lab.submitted_at - assignments[lab.assignment_id].served_at).total_seconds()
            for lab in originals]
    to_first = [(first[a] - assignments[a].served_at).total_seconds() for a in first if a in assignments]
    labelled = {lab.assignment_id for lab in originals}
    expired = sum(1 for a in assignments.values() if a.id not in labelled and a.expires_at <= now)
    span = None
    if originals:
        start = min(a.served_at for a in assignments.values())
        span = (max(lab.submitted_at for lab in originals) - start).total_seconds()
    per_person_n: dict[str, int] = defaultdict(int)
    for lab in originals:
        per_person_n[lab.participant_id] += 1
    throughput = {
        "labels": len(originals), "edits": len(s.scalars(select(Label.id).where(Label.revision > 0)).all()),
        "annotators_active": len(per_person_n), "expired_assignments": expired,
        # no rate from a handful of labels (one label 1.3 s after serving once read as 2,789.5 per hour)
        "labels_per_hour": poisson_rate(len(originals), span or 0.0, MIN_RATE_LABELS, per=3600.0),
        "median_seconds_to_submit": statistics.median(secs) if secs else None,
        "n_submit": len(secs),
        "median_seconds_to_first_interaction": statistics.median(to_first) if to_first else None,
        "n_first_interaction": len(to_first),
        "per_annotator": dict(sorted(per_person_n.items())),
    }
    return {
        "study": {"name": cfg.name, "sha256": study.sha256, "conditions": conditions, "baseline": base,
                  "items": n_items, "gold_items": n_gold_items, "gold_labelled": len(gold_items),
                  "overlap": cfg.overlap},
        "annotators": annotators,
        "conditions": by_condition,
        "expert": expert,
        "sandwich_gap": gaps,
        "agreement": agreement,
        "calibration": {k: {**calibration(v[0], v[1]), "too_few": len(v[0]) < MIN_CALIBRATION,
                            "min_n": MIN_CALIBRATION} for k, v in sorted(calib.items())},
        "throughput": throughput,
        "text_flags": text_flags(s),
    }
