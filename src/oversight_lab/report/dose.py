"""Render a story's dose–response analysis (:mod:`oversight_lab.analyses.dose`): the failure and gold against
the blind spot's strength, with seed-level intervals, and where the failure appears. Rendering only."""

from __future__ import annotations

import html
import math
from typing import Any

from oversight_lab.report.page import COLORS, fmt, png

__all__ = ["dose_figure", "dose_section"]


def _ci(d: dict[str, Any] | None) -> str:
    if not d:
        return "–"
    if math.isnan(d.get("lo", float("nan"))):
        return f"{d['value']:+.2f}"
    return f"{d['value']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]"


def dose_figure(a: dict[str, Any]) -> str | None:
    """Two panels: the primary measure before and after optimisation against the dose, gold after likewise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(a["failure_by_dose"], a["measure"]["key"]), (a["gold_by_dose"], "gold/mean")]
    if not any(d.get("n_replicates") for d in a["failure_by_dose"]):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2))
    x_all = list(range(len(a["dose"]["values"])))
    for ax, (recs, key) in zip(axes, panels, strict=True):
        recs = [(i, d) for i, d in enumerate(recs) if d.get("n_replicates")]
        xs = [i for i, _ in recs]
        after = [d["after"]["value"] for _, d in recs]
        lo = [d["after"]["lo"] if not math.isnan(d["after"]["lo"]) else d["after"]["value"] for _, d in recs]
        hi = [d["after"]["hi"] if not math.isnan(d["after"]["hi"]) else d["after"]["value"] for _, d in recs]
        ax.errorbar(xs, after, yerr=[[v - lo_ for v, lo_ in zip(after, lo, strict=True)],
                                     [hi_ - v for v, hi_ in zip(after, hi, strict=True)]],
                    fmt="-o", ms=4, capsize=3, color=COLORS[0], label=f"after {a['optimizer']}")
        ax.plot(xs, [d["before"] for _, d in recs], "--", color=COLORS[5], label="before")
        if a.get("onset") is not None and key == a["measure"]["key"]:
            i = a["dose"]["values"].index(a["onset"])
            ax.axvline(i, color=COLORS[1], alpha=0.5, label="onset")
        ax.set_xticks(x_all, [f"{v:g}" for v in a["dose"]["values"]])
        ax.set_xlabel(a["dose"]["param"], fontsize=8)
        ax.set_title(key, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(a["dose"]["label"], fontsize=8)
    fig.tight_layout()
    return png(fig)


def dose_section(a: dict[str, Any], level: int = 2) -> str:
    """The dose–response: question, verdict line, the plot, then the table of every dose; its heading at
    ``level`` (3 inside a story's report)."""
    e = html.escape
    kind = "confirmatory" if a.get("confirmatory") else "exploratory"
    parts = [
        f"<h{level}>{e(a['name'])}: dose–response of {e(a['failure'])}</h{level}>",
        f"<p><b>{e(a.get('question', ''))}</b></p>",
        f"<p class='v'><b>{kind}</b> ({e(a.get('status_reason', ''))}).<br>{e(a['verdict'])}</p>",
        f"<p>Dose: {e(a['dose']['flaw'])}.{e(a['dose']['param'])} — {e(a['dose']['label'])}. "
        f"Primary measure: {e(a['measure']['label'])} "
        f"({'↑' if a['measure']['failure_up'] else '↓'} = failure, "
        f"minimum effect {a['measure']['min_effect']}). Onset: the weakest dose whose change differs from no "
        "dose's (paired within replicates) significantly and by at least the minimum effect.</p>",
    ]
    uri = dose_figure(a)
    if uri:
        parts.append(f"<img alt='dose-response' src='{uri}'>")
    parts.append("<table><tr><th>dose</th><th>replicates</th><th>failure: before → after [95% CI]</th>"
                 "<th>failure Δ</th><th>Δ − Δ at no dose</th><th>gold after [95% CI]</th><th>gold Δ</th>"
                 "</tr>")
    for f, g in zip(a["failure_by_dose"], a["gold_by_dose"], strict=True):
        if not f.get("n_replicates"):
            parts.append(f"<tr><td>{f['value']:g}</td><td>0</td>" + "<td>–</td>" * 5 + "</tr>")
            continue
        fa, ga = f["after"], g.get("after")
        gold = "–" if not ga else f"{fmt(ga['value'])} [{fmt(ga['lo'])}, {fmt(ga['hi'])}]"
        parts.append(
            f"<tr><td>{f['value']:g}</td><td>{f['n_replicates']}</td>"
            f"<td>{fmt(f['before'])} → {fmt(fa['value'])} [{fmt(fa['lo'])}, {fmt(fa['hi'])}]</td>"
            f"<td>{e(_ci(f['change']))}</td><td>{e(_ci(f.get('vs_none')))}</td>"
            f"<td>{gold}</td>"
            f"<td>{e(_ci(g.get('change')))}</td></tr>")
    parts.append("</table>")
    parts.append("<p><small>Each replicate (pretraining seed, RLHF seed) gives one value per dose; "
                 "intervals: RLHF seeds averaged within their pretraining seed, 95% Student-t over "
                 "pretraining seeds (oversight_lab.metrics.stats).</small></p>")
    return "\n".join(parts)
