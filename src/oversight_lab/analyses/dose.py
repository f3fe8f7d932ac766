"""Dose–response of a story: its failure against the strength of its evaluator's blind spot.

A dose run (``oversight-lab run STORY --dose``) has one arm per value of the story's ``Dose`` (``dose-0`` …
in order from none to strong; ``dose-0`` is the imperfect human without the blind spot, control A). Reading
only the run directory, for every dose and every replicate (pretraining seed, RLHF seed) this takes the
story's primary measure and gold before and after the story's optimiser, as
:mod:`oversight_lab.analyses.stories` does, and estimates with :mod:`oversight_lab.metrics.stats`:

* the level after optimisation and the change, RLHF seeds averaged within their pretraining seed, a t-interval
  over pretraining seeds;
* the change against the no-dose arm's change, paired within replicates (every dose of a replicate starts from
  the same pretrained evaluatee and sees the same sampled pairs).

The *onset* is the weakest dose whose paired contrast with no dose is significant in the failure's direction
and at least the measure's minimum effect (:func:`~oversight_lab.analyses.stories.significant`); none if no
dose is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oversight_lab.analyses.stories import (
    estimate_dict,
    is_confirmatory,
    items_of,
    replicate_values,
    significant,
)
from oversight_lab.metrics.stats import cluster_estimate, paired_cluster_estimate
from oversight_lab.runs.rundir import read_rows
from oversight_lab.scenarios.stories import Measure, Story

__all__ = ["GOLD", "analyse_dose", "dose_arm", "dose_line"]

GOLD = Measure("gold/mean", "gold of sampled answers", "checkpoint", failure_up=False)


def dose_arm(i: int) -> str:
    """The arm name of the ``i``-th dose value."""
    return f"dose-{i}"


def _dose_measure(rows: list[dict], items: list[dict], story: Story, m: Measure) -> list[dict[str, Any]]:
    """Per dose value: after-level, change and change − no-dose change, each with a seed-level interval."""
    assert story.dose is not None
    lvl = m.bounds or (None, None)
    chg = (None, None) if m.bounds is None else (m.bounds[0] - m.bounds[1], m.bounds[1] - m.bounds[0])
    vs = (None, None) if chg[0] is None else (2 * chg[0], 2 * chg[1])
    changes: dict[int, dict[tuple, float]] = {}
    out = []
    for i, value in enumerate(story.dose.values):
        vals = replicate_values(rows, items, dose_arm(i), story, m)
        if not vals:
            out.append({"value": value, "arm": dose_arm(i), "n_replicates": 0})
            continue
        units = list(vals)
        changes[i] = {u: a - b for u, (b, a) in vals.items()}
        after = cluster_estimate([a for _, a in vals.values()], units, bounds=lvl, what="after")
        change = cluster_estimate(list(changes[i].values()), units, bounds=chg, what="change")
        rec = {"value": value, "arm": dose_arm(i), "n_replicates": len(vals),
               "before": float(sum(b for b, _ in vals.values()) / len(vals)),
               "after": estimate_dict(after), "change": estimate_dict(change)}
        if i > 0 and 0 in changes:
            rec["vs_none"] = estimate_dict(paired_cluster_estimate(
                changes[i], changes[0], bounds=vs, what=f"change at {value} − change at no dose"))
        out.append(rec)
    return out


def analyse_dose(story: Story, run_dir: str | Path) -> dict[str, Any]:
    """The dose–response of ``story``'s primary measure, with gold alongside, from a dose run directory."""
    if story.dose is None:
        raise ValueError(f"story {story.name!r} declares no dose")
    run_dir = Path(run_dir)
    rows = read_rows(run_dir / "metrics.jsonl")
    items = items_of(run_dir)
    m = story.primary
    failure = _dose_measure(rows, items, story, m)
    gold = _dose_measure(rows, items, story, GOLD)
    onset = next((d["value"] for d in failure[1:] if significant(m, d.get("vs_none"))), None)
    replicates = sorted({(int(r.get("pretrain_seed", 0)), int(r["seed"])) for r in rows})
    confirmatory, why = is_confirmatory(run_dir)
    out = {
        "kind": "dose",
        "name": story.name,
        "question": story.question,
        "failure": story.failure,
        "optimizer": story.optimizer,
        "dose": {"flaw": story.dose.flaw, "param": story.dose.param, "values": list(story.dose.values),
                 "label": story.dose.label},
        "measure": {"key": m.key, "label": m.label, "failure_up": m.failure_up, "min_effect": m.min_effect},
        "failure_by_dose": failure,
        "gold_by_dose": gold,
        "onset": onset,
        "replicates": [list(u) for u in replicates],
        "pretrain_seeds": sorted({p for p, _ in replicates}),
        "confirmatory": confirmatory,
        "status_reason": why,
    }
    out["verdict"] = dose_line(out)
    return out


def dose_line(a: dict[str, Any]) -> str:
    """One plain-language line: where the failure appears, and what happens at the strongest dose."""
    d = a["dose"]
    top = next((x for x in reversed(a["failure_by_dose"]) if x.get("n_replicates")), None)
    if top is None:
        return f"{a['name']} dose: no data."
    where = (f"appears at {d['param']} = {a['onset']}" if a["onset"] is not None else
             "does not appear significantly at any dose (against no dose, paired within replicates)")
    kind = "confirmatory" if a["confirmatory"] else "exploratory"
    line = f"{a['name']} dose [{kind}]: {a['failure']} {where}"
    if "vs_none" in top:
        v = top["vs_none"]
        line += (f"; at {d['param']} = {top['value']} the change in {a['measure']['key']} differs from no "
                 f"dose's by {v['value']:+.2f} [{v['lo']:+.2f}, {v['hi']:+.2f}]")
    g = next((x for x in a["gold_by_dose"] if x["value"] == top["value"] and x.get("n_replicates")), None)
    if g is not None:
        line += f"; gold after {g['after']['value']:.2f} there"
    n = len(a["pretrain_seeds"])
    k = len(a["replicates"])
    seeds = f"{k} RLHF seed{'s' if k > 1 else ''}"
    over = f"{n} pretraining seeds" if n > 1 else f"{seeds} of one pretraining seed"
    return line + f" (over {over})."
