"""The weak-to-strong report: the PGR table and plot, accuracies per size, imitation; renders the analysis
(:mod:`oversight_lab.analyses.weak_to_strong`) and computes nothing of its own."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from oversight_lab.report.page import COLORS, head, png

__all__ = ["headline_lines", "render_w2s_report", "write_w2s_report"]


def _ci(d: dict[str, Any] | None, digits: int = 2, sign: bool = False) -> str:
    if not d or d.get("mean") != d.get("mean"):
        return "–"
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    if d.get("lo") != d.get("lo"):
        return f.format(d["mean"])
    return f"{f.format(d['mean'])} [{f.format(d['lo'])}, {f.format(d['hi'])}]"


def headline_lines(a: dict[str, Any]) -> list[str]:
    """The primary verdict, then one line per task: PGR of every pair and the imitation gap."""
    lines = [a["primary"]["line"]]
    for task, t in a["tasks"].items():
        cells = [f"{pair} PGR {_ci(p['pgr']['from_seed_means'], sign=True)}, imitation "
                 f"{_ci(p['imitation_gap'], sign=True)}" for pair, p in t["pairs"].items()]
        lines.append(f"{task}: " + "; ".join(cells))
    return lines


def _figure(a: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(a["tasks"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    pairs = list(next(iter(a["tasks"].values()))["pairs"]) if tasks else []
    width = 0.8 / max(1, len(tasks))
    for i, task in enumerate(tasks):
        for j, pair in enumerate(pairs):
            est = a["tasks"][task]["pairs"].get(pair, {}).get("pgr", {}).get("from_seed_means", {})
            m, lo, hi = (est.get(k, float("nan")) for k in ("mean", "lo", "hi"))
            x = j + (i - (len(tasks) - 1) / 2) * width
            axes[0].bar(x, m if m == m else 0.0, width, color=COLORS[i % len(COLORS)],
                        label=task if j == 0 else None, alpha=0.8 if m == m else 0.15)
            if lo == lo:
                axes[0].errorbar(x, m, yerr=[[m - lo], [hi - m]], color="k", capsize=3)
    axes[0].axhline(0, color="#888", lw=0.8)
    axes[0].axhline(1, color="#888", lw=0.8, ls=":")
    axes[0].set_xticks(range(len(pairs)), pairs)
    axes[0].set_ylabel("PGR (from pretraining-seed means)")
    axes[0].set_title("performance gap recovered, weak → strong (95% CI over pretraining seeds)")
    axes[0].legend(fontsize=8)
    for i, task in enumerate(tasks):
        t = a["tasks"][task]
        xs = range(len(pairs))
        for key, style in (("weak", ":"), ("student", "-"), ("ceiling", "--")):
            ys = [t["pairs"][p][key]["mean"] for p in pairs]
            axes[1].plot(xs, ys, style, marker="o", color=COLORS[i % len(COLORS)],
                         label=f"{task} {key}" if i == 0 or key == "student" else None)
    axes[1].set_xticks(range(len(pairs)), pairs)
    axes[1].set_ylabel("test accuracy (gold)")
    axes[1].set_title("weak (dotted), student (solid), ceiling (dashed)")
    axes[1].legend(fontsize=7)
    return png(fig)


def render_w2s_report(a: dict[str, Any]) -> str:
    e = html.escape
    parts = [head(f"oversight-lab weak-to-strong: {a['scenario']}"),
             f"<h1>Weak-to-strong: {e(str(a['scenario']))}</h1>",
             f"<p class='v'>{e(a['primary']['line'])}</p>",
             f"<p>Sizes (weakest first): {e(', '.join(a['sizes']))}. The PGR column is "
             f"{e(a['table_shows'])}. PGR is undefined (–) where the ceiling beats the weak supervisor by "
             "less than min_gap. Imitation: the student's agreement with its supervisor's labels on the test "
             "questions the supervisor gets wrong minus where it is right (0: imitates its errors; "
             "negative: generalises past them).</p>",
             "<h2>Headlines</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in headline_lines(a)) + "</ul>",
             f"<img alt='PGR and accuracies' src='{_figure(a)}'>"]
    for task, t in a["tasks"].items():
        parts.append(f"<h2>{e(task)}</h2><table><tr><th>weak → strong</th><th>weak</th><th>student</th>"
                     "<th>ceiling</th><th>PGR (pretraining-seed means)</th><th>PGR per replicate</th>"
                     "<th>undefined (seeds / replicates)</th><th>agree on weak errors</th><th>agree elsewhere"
                     "</th><th>student on blind questions</th></tr>")
        for pair, p in t["pairs"].items():
            g = p["pgr"]
            parts.append(
                f"<tr><td>{e(pair)}</td><td>{_ci(p['weak'])}</td><td>{_ci(p['student'])}</td>"
                f"<td>{_ci(p['ceiling'])}</td><td>{_ci(g['from_seed_means'], sign=True)}</td>"
                f"<td>{_ci(g['per_replicate'], sign=True)}</td><td>{g['from_seed_means']['undefined']} / "
                f"{g['per_replicate']['undefined']}</td><td>{_ci(p['agree_on_weak_errors'])}</td>"
                f"<td>{_ci(p['agree_elsewhere'])}</td><td>{_ci(p['acc_blind'])}</td></tr>")
        parts.append("</table><table><tr><th>size</th><th>as weak supervisor</th><th>as ceiling</th></tr>")
        for size, d in t["sizes"].items():
            parts.append(f"<tr><td>{e(size)}</td><td>{_ci(d.get('weak'))}</td>"
                         f"<td>{_ci(d.get('ceiling'))}</td></tr>")
        parts.append("</table>")
    methods = sorted({p["pgr"]["from_seed_means"]["method"] for t in a["tasks"].values()
                      for p in t["pairs"].values()} | {p["student"]["method"] for t in a["tasks"].values()
                                                       for p in t["pairs"].values()})
    parts.append("<h2>Methods</h2><ul>" + "".join(f"<li>{e(m)}</li>" for m in methods) + "</ul>")
    parts.append(f"<h2>Analysis (analysis.json)</h2><pre>{e(json.dumps(a, indent=1, default=str))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_w2s_report(run_dir: str | Path, a: dict[str, Any]) -> Path:
    path = Path(run_dir) / "report.html"
    path.write_text(render_w2s_report(a))
    return path
