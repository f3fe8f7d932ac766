"""The report of a sweep: every cell's headline numbers (means with 95% CIs across seeds), gold and proxy
curves of every cell on one axis, and the sections of the grid's analysis (``gao``, ``coste``).

Reads only the sweep directory (``sweep.json`` and the cells' ``metrics.jsonl``), like every report here.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from oversight_lab.analyses.sweeps import SweepData, load_sweep
from oversight_lab.report.page import COLORS, png
from oversight_lab.runs.summary import HEADLINES, curve

__all__ = ["TABLE_HEADLINES", "curves_figure", "fmt_ci", "render_sweep_report", "write_sweep_report"]

TABLE_HEADLINES = (
    "gold_initial",
    "bon_gold_peak",
    "bon_n_peak",
    "bon_gold_max_n",
    "bon_proxy_gain",
    "rl_gold_peak",
    "rl_gold_final",
    "rl_kl_final",
    "rm_acc_evaluator",
    "rm_acc_gold",
)
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:12px;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px}"
    "th{background:#f4f4f4}img{max-width:100%}pre{background:#f7f7f7;padding:1em;font-size:12px;overflow:auto}"
    "td.num{text-align:right;white-space:nowrap}"
)


def fmt_ci(stat: dict[str, float] | None, digits: int = 3) -> str:
    """``mean [lo, hi]``; ``–`` for a missing or NaN mean; no interval with one seed."""
    if not stat or stat.get("mean") is None or (isinstance(stat["mean"], float) and math.isnan(stat["mean"])):
        return "–"
    m = stat["mean"]
    if isinstance(m, float) and math.isinf(m):
        return "∞"
    lo, hi = stat.get("lo", float("nan")), stat.get("hi", float("nan"))
    ci = "" if lo is None or math.isnan(lo) else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{m:.{digits}f}{ci}"


def curves_figure(
    data: SweepData,
    optimizer: str,
    metrics: tuple[str, ...] = ("gold/mean", "proxy/mean"),
    cells: list[dict[str, Any]] | None = None,
    title: str = "",
) -> str | None:
    """One panel per (arm, metric), one line per cell: mean over seeds with its 95% band, against √KL."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = cells if cells is not None else data.cells()
    arms: list[str] = []
    for c in cells:
        for r in data.rows[c["id"]]:
            if r["optimizer"] == optimizer and r["arm"] not in arms:
                arms.append(r["arm"])
    if not arms:
        return None
    fig, axes = plt.subplots(
        len(arms), len(metrics), figsize=(5.2 * len(metrics), 3.3 * len(arms)), squeeze=False
    )
    for a, arm in enumerate(arms):
        for m, metric in enumerate(metrics):
            ax = axes[a][m]
            for k, c in enumerate(cells):
                cv = curve(data.rows[c["id"]], arm, optimizer, metric)
                if not cv["x"]:
                    continue
                color = (
                    COLORS[k % len(COLORS)] if len(cells) <= len(COLORS) else plt.cm.viridis(k / len(cells))
                )
                ax.plot(cv["x"], cv["mean"], "-o", ms=2.5, color=color, label=c["label"])
                lo = [mu if math.isnan(v) else v for v, mu in zip(cv["lo"], cv["mean"], strict=True)]
                hi = [mu if math.isnan(v) else v for v, mu in zip(cv["hi"], cv["mean"], strict=True)]
                ax.fill_between(cv["x"], lo, hi, color=color, alpha=0.15, linewidth=0)
            ax.set_title(f"{arm}: {metric}", fontsize=9)
            ax.set_xlabel(
                "√KL" + (" (analytic, log n − (n−1)/n)" if optimizer == "bon" else " (Monte-Carlo)"),
                fontsize=8,
            )
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6.5)
    fig.suptitle(title or f"{optimizer}: mean over seeds, 95% band", fontsize=10)
    fig.tight_layout()
    return png(fig)


def _results_table(data: SweepData) -> str:
    e = html.escape
    results = data.meta.get("results") or {}
    cells = [c for c in data.meta["cells"] if c["id"] in results]
    if not cells:
        return "<p>No cell has finished every seed yet.</p>"
    arms = list(dict.fromkeys(a for c in cells for a in results[c["id"]]))
    head = "".join(f"<th title='{e(HEADLINES[k])}'>{e(k)}</th>" for k in TABLE_HEADLINES)
    parts = [f"<table><tr><th>cell</th><th>arm</th>{head}</tr>"]
    for c in cells:
        for arm in arms:
            agg = results[c["id"]].get(arm)
            if not agg:
                continue
            cols = "".join(f"<td class=num>{fmt_ci(agg.get(k))}</td>" for k in TABLE_HEADLINES)
            parts.append(
                f"<tr><td><a href='{e(c['dir'])}/'>{e(c['id'])}</a><br><small>{e(c['label'])}</small></td>"
                f"<td>{e(arm)}</td>{cols}</tr>"
            )
    parts.append("</table>")
    return "".join(parts)


def render_sweep_report(sweep_dir: str | Path) -> str:
    data = load_sweep(sweep_dir)
    meta = data.meta
    e = html.escape
    parts = [
        (
            f"<!doctype html><html><head><meta charset='utf-8'><title>sweep {e(meta['name'])}</title>"
            f"<style>{STYLE}</style></head><body>"
        ),
        f"<h1>oversight-lab sweep: {e(meta['name'])}</h1>",
    ]
    if meta.get("description"):
        parts.append(f"<p>{e(meta['description'])}</p>")
    jobs = meta.get("jobs", {})
    parts.append(
        f"<p>Scenario <b>{e(meta['scenario'])}</b>; {len(meta['cells'])} cells × seeds "
        f"{e(str(meta['seeds']))}; "
        f"status <b>{e(meta.get('status', '?'))}</b>; jobs: {jobs.get('total')} in all, "
        f"{jobs.get('skipped')} found finished, {jobs.get('run')} run now; engine "
        f"{e(json.dumps(meta.get('engine')))}. Every number is a mean over seeds with a 95% Student-t "
        "interval. Gold is the world's expert, never seen by an optimiser; proxy is the reward model.</p>"
    )
    if jobs.get("failed"):
        parts.append(
            "<h2>Failed jobs</h2><ul>"
            + "".join(
                f"<li>{e(f['cell'])} ({e(f['label'])}), {e(f['arm'])}, seed {f['seed']}: "
                f"<code>{e(f['error'])}</code></li>"
                for f in jobs["failed"]
            )
            + "</ul>"
        )
    result = meta.get("analysis_result") or {}
    if result.get("error"):
        parts.append(
            f"<h2>Analysis</h2><p>The {e(meta['analysis'])} analysis failed: "
            f"<code>{e(result['error'])}</code></p>"
        )
    elif meta.get("analysis") and result and meta["analysis"] in _renderers():
        for title, body in _renderers()[meta["analysis"]](data, meta["analysis_result"]):
            parts.append(f"<h2>{e(title)}</h2>{body}")
    parts.append("<h2>Every cell</h2>" + _results_table(data))
    for optimizer, name in (("bon", "Best-of-n"), ("rl", "RL against the reward model"), ("dpo", "DPO")):
        uri = curves_figure(data, optimizer) if data.rows else None
        if uri:
            parts.append(f"<h2>{e(name)}: every cell</h2><img alt='{e(name)}' src='{uri}'>")
    if meta.get("timings"):
        parts.append(f"<h2>Timings</h2><pre>{e(json.dumps(meta['timings'], indent=1))}</pre>")
    grid_file = Path(sweep_dir) / "grid.yaml"
    if grid_file.exists():
        parts.append(f"<h2>Grid</h2><pre>{e(grid_file.read_text())}</pre>")
    parts.append(
        f"<h2>Environment</h2><pre>{e(json.dumps(meta.get('environment', {}), indent=1))}</pre></body></html>"
    )
    return "\n".join(parts)


def write_sweep_report(sweep_dir: str | Path) -> Path:
    path = Path(sweep_dir) / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text(render_sweep_report(sweep_dir))
    tmp.replace(path)
    return path


def _renderers() -> dict[str, Any]:
    """The report section of each sweep analysis, by name."""
    from oversight_lab.report.overopt import render_coste, render_gao

    return {"gao": render_gao, "coste": render_coste}
