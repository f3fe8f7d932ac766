"""Self-contained HTML reports of a run directory (plots embedded as PNG; opens offline).

Reads only the run directory's files (config, metrics, summary, env), never live objects, so any finished run
can be re-rendered with ``oversight-lab report RUN_DIR``.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from oversight_lab.report.page import COLORS, fmt, head, png
from oversight_lab.runs.rundir import load_run
from oversight_lab.runs.summary import HEADLINES, curve

__all__ = ["render_report", "write_report"]

def _panel(
    ax: Any,
    rows: list[dict],
    arms: list[str],
    optimizer: str,
    metric: str,
    title: str,
    xlabel: str,
    relative: bool = False,
) -> bool:
    drawn = False
    for k, arm in enumerate(arms):
        c = curve(rows, arm, optimizer, metric, relative=relative)
        if not c["x"]:
            continue
        drawn = True
        color = COLORS[k % len(COLORS)]
        ax.plot(c["x"], c["mean"], "-o", ms=3, color=color, label=arm)
        lo = [m if math.isnan(v) else v for v, m in zip(c["lo"], c["mean"], strict=False)]
        hi = [m if math.isnan(v) else v for v, m in zip(c["hi"], c["mean"], strict=False)]
        ax.fill_between(c["x"], lo, hi, color=color, alpha=0.18, linewidth=0)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    return drawn


def _figures(rows: list[dict], arms: list[str]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = []
    for optimizer, name, xlabel in (
        ("bon", "Best-of-n", "√KL (analytic, log n − (n−1)/n)"),
        ("rl", "RL against the reward model", "√KL (Monte-Carlo, k1)"),
    ):
        if not any(r["optimizer"] == optimizer for r in rows):
            continue
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
        _panel(axes[0], rows, arms, optimizer, "gold/mean", "gold (expert, hidden)", xlabel)
        _panel(
            axes[1],
            rows,
            arms,
            optimizer,
            "proxy/mean",
            "proxy gain (reward model, vs initial)",
            xlabel,
            relative=True,
        )
        _panel(axes[2], rows, arms, optimizer, "fail/undisclosed_toxic", "undisclosed mercury", xlabel)
        fig.suptitle(
            f"{name}: gold vs proxy against optimisation pressure (mean, 95% CI over seeds)", fontsize=11
        )
        figs.append((name, png(fig)))
    from oversight_lab.optimize.base import optimiser_labels

    labels = optimiser_labels()
    others = {r["optimizer"] for r in rows if "gold/mean" in r}  # rows without gold (debate's) plot elsewhere
    for optimizer in sorted(others - {"initial", "bon", "rl", "dpo"}):
        # any other optimiser (optimize.base registry): its rows by name, titled by its own labels
        name = labels.get(optimizer, {}).get("label", optimizer)
        xlabel = labels.get(optimizer, {}).get("kl_label", "√KL")
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        _panel(axes[0], rows, arms, optimizer, "gold/mean", f"{name}: gold", xlabel)
        _panel(axes[1], rows, arms, optimizer, "proxy/mean", f"{name}: proxy gain", xlabel, relative=True)
        figs.append((name, png(fig)))
    if any(r["optimizer"] == "dpo" for r in rows):
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        _panel(axes[0], rows, arms, "dpo", "gold/mean", "DPO: gold", "√KL (Monte-Carlo, k1)")
        _panel(axes[1], rows, arms, "dpo", "fail/invalid", "DPO: malformed answers", "√KL (Monte-Carlo, k1)")
        figs.append(("DPO", png(fig)))
    return figs


def read_analysis(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "analysis.json"
    return json.loads(path.read_text()) if path.exists() else None


def render_report(run_dir: str | Path) -> str:
    run_dir = Path(run_dir)
    config, rows, summary = load_run(run_dir)
    env = json.loads((run_dir / "env.json").read_text()) if (run_dir / "env.json").exists() else {}
    arms = list(summary["arms"])
    e = html.escape
    parts = [
        head(f"oversight-lab: {summary.get('scenario', '')}")
    ]
    parts.append(f"<h1>oversight-lab run: {e(str(summary.get('scenario')))}</h1>")
    parts.append(
        f"<p>Replicates (pretraining seed, RLHF seed): {e(str(summary.get('replicates', summary['seeds'])))}. "
        f"Arms: {e(', '.join(arms))}. "
        "Gold is the world's expert judgement, never seen by any optimiser; proxy is the reward model "
        "trained on the arm's evaluator. Intervals: each replicate's value, RLHF seeds averaged within their "
        "pretraining seed, 95% Student-t over pretraining seeds (rates kept in [0, 1]); the best-of-n peak n "
        "is a median [min, max] over replicates.</p>"
    )
    analysis = read_analysis(run_dir)
    if analysis and analysis.get("kind") == "story":
        from oversight_lab.report.stories import story_section

        parts.append(story_section(analysis, run_dir))
    parts.append("<h2>Headlines</h2><ul>" + "".join(f"<li>{e(v)}</li>" for v in summary["verdicts"]) + "</ul>")
    parts.append(
        "<h2>Scorecard</h2><table><tr><th>metric</th>" + "".join(f"<th>{e(a)}</th>" for a in arms) + "</tr>"
    )
    headlines = summary.get("headlines", HEADLINES)
    for key, desc in headlines.items():
        cells = []
        for a in arms:
            s = summary["arms"][a]["aggregate"][key]
            ci = "" if math.isnan(s["lo"]) else f" [{fmt(s['lo'])}, {fmt(s['hi'])}]"
            cells.append(f"<td>{fmt(s['mean'])}{ci}</td>")
        parts.append(
            f"<tr><td title='{e(desc)}'>{e(key)}<br><small>{e(desc)}</small></td>{''.join(cells)}</tr>"
        )
    parts.append("</table>")
    for name, uri in _figures(rows, arms):
        parts.append(f"<h2>{e(name)}</h2><img alt='{e(name)}' src='{uri}'>")
    parts.append(
        "<h2>Per seed</h2><table><tr><th>arm</th><th>seed</th>"
        + "".join(f"<th>{e(k)}</th>" for k in headlines)
        + "</tr>"
    )
    for a in arms:
        for seed, h in summary["arms"][a]["per_seed"].items():
            parts.append(
                f"<tr><td>{e(a)}</td><td>{e(seed)}</td>"
                + "".join(f"<td>{fmt(h.get(k, float('nan')))}</td>" for k in headlines)
                + "</tr>"
            )
    parts.append("</table>")
    if "timings" in summary:
        parts.append(f"<h2>Timings</h2><pre>{e(json.dumps(summary['timings'], indent=1))}</pre>")
    parts.append(f"<h2>Config</h2><pre>{e(json.dumps(config, indent=1))}</pre>")
    parts.append(f"<h2>Environment</h2><pre>{e(json.dumps(env, indent=1))}</pre></body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path) -> Path:
    path = Path(run_dir) / "report.html"
    path.write_text(render_report(run_dir))
    return path
