"""HTML reports of eval logs and paired comparisons, rendered from the log files alone.

One self-contained page: what ran (model, tokenizer hash, sources, versions), the metrics grouped by namespace
with their direction, how each task's probabilities were obtained (method counts), how many answers were
unparsed (picked no choice), a reliability diagram per task with targets, and the first samples of each task
with their exact prompts.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from oversight_lab.evals.items import Scored
from oversight_lab.evals.logs import read_eval_log
from oversight_lab.evals.metrics import calibration_arrays
from oversight_lab.metrics.calibration import reliability

__all__ = ["DIRECTIONS", "reliability_svg", "render_compare_report", "render_eval_report"]

DIRECTIONS = {
    "syco": "higher = more sycophantic (agrees with the user, flips under push-back, praises their text)",
    "calib": "ECE, Brier, NLL: lower is better; AUROC: higher is better; temperature > 1: over-confident",
    "truth": "higher = more truthful",
    "sandbag": "gap: higher = accuracy depends more on who asks",
    "probe": "held-out probe accuracy; honesty gap: the probe's reading disagrees with the stated answer",
}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f3f3f3}
pre{white-space:pre-wrap;margin:0;max-width:520px;font-size:12px}
.num{text-align:right;font-variant-numeric:tabular-nums}.sig{color:#a00;font-weight:600}
.note{color:#555;font-size:13px}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:.4g}"
    return html.escape(str(v))


def reliability_svg(scored: list[Scored], n_bins: int = 10, size: int = 220) -> str:
    """An inline SVG reliability diagram (accuracy against confidence, bar width = bin, dot size ∝ count)."""
    _, probs, _, correct = calibration_arrays(scored)
    if not len(probs):
        return ""
    bins = reliability(probs.max(axis=1), correct, n_bins, "width")  # the non-empty bins
    pad, inner = 28, size - 36

    def x(v: float) -> float:
        return pad + v * inner

    def y(v: float) -> float:
        return size - pad + 8 - v * inner

    parts = [
        f'<svg width="{size}" height="{size}" xmlns="http://www.w3.org/2000/svg" font-size="10">',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" stroke-dasharray="3"/>',
        f'<rect x="{x(0)}" y="{y(1)}" width="{inner}" height="{inner}" fill="none" stroke="#444"/>',
    ]
    total = sum(b["n"] for b in bins)
    for b in bins:
        parts.append(
            f'<rect x="{x(b["lo"]):.1f}" y="{y(b["acc"]):.1f}" width="{inner / n_bins - 1:.1f}" '
            f'height="{b["acc"] * inner:.1f}" fill="#4a78c2" opacity="0.75"/>'
        )
        parts.append(
            f'<circle cx="{x(b["conf"]):.1f}" cy="{y(b["acc"]):.1f}" '
            f'r="{2 + 6 * math.sqrt(b["n"] / total):.1f}" fill="#c24a4a"/>'
        )
    parts += [
        f'<text x="{x(0.5)}" y="{size - 4}" text-anchor="middle">confidence</text>',
        f'<text x="10" y="{y(0.5)}" transform="rotate(-90 10 {y(0.5)})" text-anchor="middle">accuracy</text>',
        "</svg>",
    ]
    return "".join(parts)


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = []
    for ns in sorted({k.split("/")[0] for k in metrics}):
        rows.append(
            f'<tr><th colspan="2">{ns}/ <span class="note">{html.escape(DIRECTIONS.get(ns, ""))}</span>'
            "</th></tr>"
        )
        rows += [
            f'<tr><td>{html.escape(k)}</td><td class="num">{_fmt(v)}</td></tr>'
            for k, v in sorted(metrics.items())
            if k.startswith(ns + "/")
        ]
    return "<table>" + "".join(rows) + "</table>"


def _samples_table(samples: list[Scored], limit: int) -> str:
    rows = [
        "<tr><th>id / template / method</th><th>prompt</th><th>choices: probability</th><th>target</th></tr>"
    ]
    for s in samples[:limit]:
        choices = "<br>".join(
            f"{'<b>' if k == s.pred else ''}{html.escape(repr(c))}: {p:.3f}{'</b>' if k == s.pred else ''}"
            for k, (c, p) in enumerate(zip(s.item.choices, s.probs, strict=True))
        )
        if s.unparsed:
            choices += f"<br><i>unparsed: no choice picked</i> ({html.escape(repr(s.generated or ''))})"
        prompt = s.item.prompt if len(s.item.prompt) < 900 else "…" + s.item.prompt[-900:]
        target = "" if s.item.target is None else html.escape(repr(s.item.choices[s.item.target]))
        rows.append(
            f"<tr><td>{html.escape(s.item.id)}<br>{html.escape(s.item.template)}<br>{s.method}</td>"
            f"<td><pre>{html.escape(prompt)}</pre></td><td>{choices}</td>"
            f"<td>{target}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )


def render_eval_report(log_path: str | Path, out_html: str | Path, samples_per_task: int = 8) -> Path:
    """Render an eval log (its directory, ``eval.json`` or ``samples.jsonl``) as one HTML page."""
    log = read_eval_log(log_path)
    h = log.header
    backend = h.get("backend", {})
    body = [
        f"<h1>Eval: {html.escape(str(h.get('model')))}</h1>",
        (
            f"<p class='note'>tokenizer {html.escape(str(backend.get('tokenizer_hash')))} · created "
            f"{html.escape(str(h.get('created')))} · {h.get('seconds')} s · "
            f"{html.escape(json.dumps(h.get('environment', {})))}</p>"
        ),
        "<h2>Metrics</h2>",
        _metrics_table(h.get("metrics", {})),
    ]
    for task, samples in log.by_task().items():
        info = h.get("tasks", {}).get(task, {})
        methods = h.get("methods", {}).get(task, {})
        body.append(
            f"<h2>{html.escape(task)}</h2><p>{html.escape(str(info.get('description', '')))}<br>"
            f"<span class='note'>source {html.escape(str(info.get('source')))} · prompt format "
            f"{html.escape(str(info.get('prompt_format')))} · probability method per sample: "
            f"{html.escape(', '.join(f'{m}: {n}' for m, n in methods.items()))} · unparsed answers (no "
            f"choice picked): {sum(s.unparsed for s in samples)} of {len(samples)}"
            f"{' · notes ' + html.escape(json.dumps(info['notes'])) if info.get('notes') else ''}</span></p>"
        )
        if any(s.item.target is not None for s in samples):
            body.append(
                f"<p>Reliability (confidence of the chosen answer vs. hitting the target):<br>"
                f"{reliability_svg(samples)}</p>"
            )
        body.append(_samples_table(samples, samples_per_task))
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_page(f"eval {h.get('model')}", "".join(body)), encoding="utf-8")
    return out


def render_compare_report(compare_json: str | Path, out_html: str | Path, top_items: int = 10) -> Path:
    """Render a paired comparison (``compare.json`` and its ``items.jsonl``) as one HTML page."""
    path = Path(compare_json)
    path = path / "compare.json" if path.is_dir() else path
    result = json.loads(path.read_text())
    items: dict[str, list[dict[str, Any]]] = {}
    items_file = path.parent / "items.jsonl"
    if items_file.exists():
        for line in items_file.read_text().splitlines():
            rec = json.loads(line)
            items.setdefault(rec["task"], []).append(rec)
    body = [
        (
            f"<h1>Paired comparison</h1><p>A = {html.escape(str(result['a']['model']))}<br>"
            f"B = {html.escape(str(result['b']['model']))}<br><span class='note'>deltas are B − A; "
            f"{int(result['n_boot'])} cluster-bootstrap draws, clustered by "
            f"{html.escape(result['cluster'])}, "
            "95% percentile intervals</span></p>"
        )
    ]
    logs = {}
    for side in ("a", "b"):  # the two eval logs, when still where the comparison found them
        try:
            logs[side] = read_eval_log(result[side]["log"]).by_task()
        except (FileNotFoundError, ValueError):
            logs[side] = {}
    for task, r in result["tasks"].items():
        mc = r["mcnemar"]
        body.append(
            f"<h2>{html.escape(task)}</h2><p class='note'>{r['n_pairs']} paired samples in "
            f"{r['n_clusters']} clusters; McNemar on hits: A-only {mc['b']}, B-only {mc['c']}, exact p = "
            f"{_fmt(mc['p_exact'])}, χ² p = {_fmt(mc['p_chi2'])}; mean Δ P(target) = "
            f"{_fmt(r['delta_p_target']['mean'])} [{_fmt(r['delta_p_target']['ci'][0])}, "
            f"{_fmt(r['delta_p_target']['ci'][1])}]</p>"
        )
        rows = ["<tr><th>metric</th><th>A</th><th>B</th><th>Δ (B − A)</th><th>95% CI</th></tr>"]
        for k, m in r["metrics"].items():
            a, b, d = (m[x] if m[x] is not None else float("nan") for x in ("a", "b", "delta"))
            lo, hi = (v if v is not None else float("nan") for v in m["ci"])
            cls = " class='num sig'" if m["excludes_zero"] else " class='num'"
            rows.append(
                f"<tr><td>{html.escape(k)}</td><td class='num'>{_fmt(a)}</td><td class='num'>{_fmt(b)}</td>"
                f"<td{cls}>{_fmt(d)}</td><td class='num'>[{_fmt(lo)}, {_fmt(hi)}]</td></tr>"
            )
        body.append("<table>" + "".join(rows) + "</table>")
        if (
            task in logs["a"]
            and task in logs["b"]
            and any(s.item.target is not None for s in logs["a"][task])
        ):
            body.append(
                "<p>Reliability, A (left) and B (right):<br>"
                f"{reliability_svg(logs['a'][task])} {reliability_svg(logs['b'][task])}</p>"
            )
        moved = sorted(items.get(task, []), key=lambda it: -abs(it["delta_p_target"] or 0.0))[:top_items]
        if moved:
            body.append(
                "<table><tr><th>item</th><th>template</th><th>P(target) A</th><th>P(target) B</th></tr>"
                + "".join(
                    f"<tr><td>{html.escape(it['id'])}</td><td>{html.escape(it['template'])}</td>"
                    f"<td class='num'>{_fmt(it['p_target_a'])}</td>"
                    f"<td class='num'>{_fmt(it['p_target_b'])}</td></tr>"
                    for it in moved
                )
                + "</table>"
            )
    body.append(
        "<h2>Directions</h2><ul>"
        + "".join(f"<li><b>{ns}/</b> {html.escape(d)}</li>" for ns, d in DIRECTIONS.items())
        + "</ul>"
    )
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_page("paired comparison", "".join(body)), encoding="utf-8")
    return out
