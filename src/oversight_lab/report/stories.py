"""Render story analyses (:mod:`oversight_lab.analyses.stories`): one story's section of its run report, and the
combined page of ``oversight-lab run --all-stories``. Rendering only: every number comes from ``analysis.json``
(curves and reliability points are read from the run directory's logs)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from oversight_lab.report.page import fmt, head
from oversight_lab.runs.rundir import read_rows

__all__ = ["render_stories", "story_section", "write_stories_report"]

METHOD = (
    "Each replicate (pretraining seed, RLHF seed) gives one value before (the initial policy) and one after (the "
    "story's optimiser at its last checkpoint); item measures average the replicate's fixed items (items of one "
    "trained model are one measurement). Intervals: RLHF seeds averaged within their pretraining seed, 95% "
    "Student-t over pretraining seeds (the independent unit), kept in the measure's range. <i>Difference</i> is "
    "the flawed arm's change minus the control's, paired within replicates. The first measure is the "
    "pre-registered primary measure, tested alone; the others are secondary, with Holm-adjusted p-values."
)


def _ci(d: dict[str, Any]) -> str:
    if math.isnan(d.get("lo", float("nan"))):
        return f"{d['value']:+.2f}"
    return f"{d['value']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]"


def _table(a: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<table><tr><th>measure</th><th>source</th>"
        + "".join(f"<th>{e(arm)}: before → after</th><th>{e(arm)}: Δ [95% CI]</th>" for arm in a["arms"])
        + "<th>difference (flawed − control) [95% CI]</th><th>p (Holm for secondary)</th><th>status</th>"
        + ("<th>flawed − expert [95% CI]</th>" if "expert" in a["arms"] else "") + "</tr>"
    ]
    for m in a["measures"]:
        cells = []
        for arm in a["arms"]:
            d = m["arms"].get(arm)
            cells.append("<td>–</td><td>–</td>" if d is None else
                         f"<td>{fmt(d['before'])} → {fmt(d['after'])}</td><td>{e(_ci(d['change']))}</td>")
        did = m.get("did")
        p = "–" if did is None else f"{did.get('p_holm', did['p']):.2g}"
        arrow = "↑" if m["failure_up"] else "↓"
        role = "<b>primary</b>, " if m.get("primary") else ""
        parts.append(
            f"<tr><td>{e(m['label'])} <small>({role}{arrow} = failure, min effect {m['min_effect']})</small></td>"
            f"<td>{e(m['source'])}</td>{''.join(cells)}<td>{e(_ci(did)) if did else '–'}</td><td>{p}</td>"
            f"<td>{e(m['status'])}</td>"
            + (f"<td>{e(_ci(m['did_expert'])) if m.get('did_expert') else '–'}</td>"
               if "expert" in a["arms"] else "")
            + "</tr>"
        )
    parts.append("</table>")
    return "".join(parts)


def _figure(a: dict[str, Any], run_dir: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from oversight_lab.report.page import COLORS, png
    from oversight_lab.runs.summary import curve

    rows = read_rows(run_dir / "metrics.jsonl")
    keys = ["gold/mean"] + [m["key"] for m in a["measures"] if m["source"] == "checkpoint" and m["key"] != "gold/mean"]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.0), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for k, arm in enumerate(a["arms"]):
            c = curve(rows, arm, a["optimizer"], key, x="step")
            if not c["step"]:
                continue
            ax.plot(c["step"], c["mean"], "-o", ms=3, color=COLORS[k % len(COLORS)], label=arm)
            lo = [m if math.isnan(v) else v for v, m in zip(c["lo"], c["mean"], strict=True)]
            hi = [m if math.isnan(v) else v for v, m in zip(c["hi"], c["mean"], strict=True)]
            ax.fill_between(c["step"], lo, hi, color=COLORS[k % len(COLORS)], alpha=0.18, linewidth=0)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel(f"{a['optimizer']} step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return png(fig)


ARM_ROLES = {"flawed": "the imperfect human with the story's blind spot",
             "control": "control A: the same imperfect human without the blind spot (the primary contrast)",
             "expert": "control B: the expert (gold) with the same choice noise and fatigue"}


def _flaws(spec: dict[str, Any]) -> str:
    return ", ".join(
        f"{f.get('kind')}(" + ", ".join(f"{k}={v}" for k, v in f.items() if k != "kind") + ")"
        for f in spec.get("flaws", [])) or "none"


def _arms_table(a: dict[str, Any], run_dir: Path) -> str:
    """Every arm: who evaluates, then the primary measure, gold and proxy before → after (Δ [95% CI])."""
    e = html.escape
    cfg_path = run_dir / "config.json"
    arms_cfg = json.loads(cfg_path.read_text()).get("arms", {}) if cfg_path.exists() else {}
    primary = a["measures"][0]
    cols = [(primary, f"{primary['label']} (primary)")] + [
        (o, o["label"]) for o in a.get("outcomes", []) if o["key"] in ("gold/mean", "proxy/mean")]
    parts = ["<table><tr><th>arm</th><th>evaluator</th>"
             + "".join(f"<th>{e(label)}: before → after, Δ [95% CI]</th>" for _, label in cols) + "</tr>"]
    for arm in a["arms"]:
        spec = arms_cfg.get(arm, {})
        who = f"{ARM_ROLES.get(arm, arm)}<br><small>{e(str(spec.get('kind', '')))}: {e(_flaws(spec))}</small>"
        cells = []
        for m, _ in cols:
            d = m["arms"].get(arm)
            cells.append("<td>–</td>" if d is None else
                         f"<td>{fmt(d['before'])} → {fmt(d['after'])}, {e(_ci(d['change']))}</td>")
        parts.append(f"<tr><td><b>{e(arm)}</b></td><td>{who}</td>{''.join(cells)}</tr>")
    parts.append("</table>")
    return "".join(parts)


def _samples(a: dict[str, Any]) -> str:
    """A few sampled answers per arm, before and after optimisation, with gold and proxy beside each."""
    e = html.escape
    samples = a.get("samples") or {}
    if not samples:
        return ""
    # the failure indicators beside each answer: the story's own measures first, then the world's others
    present = {k for arm in samples.values() for r in arm["before"] + arm["after"] for k in r}
    own = [m["key"] for m in a["measures"] if m["source"] == "checkpoint" and m["key"] in present]
    counts = ("syco/n_", "sandbag/n_")
    others = sorted((k for k in present if k.startswith(("fail/", "syco/", "sandbag/", "calib/"))
                     and not k.endswith("_n") and not k.startswith(counts) and k not in own),
                    key=lambda k: (k == "fail/invalid", k))
    fails = list(dict.fromkeys(own + others))[:3]
    parts = ["<h3>Sampled answers, before and after optimisation</h3>"
             "<p><small>The first sampled answer to each of the first held-out tasks, from each arm's first "
             "replicate (pretraining seed, RLHF seed), at the initial policy and at the optimiser's last "
             "checkpoint.</small></p>"
             "<table><tr><th>arm</th><th>when</th><th>prompt</th><th>answer</th><th>gold</th><th>proxy</th>"
             + "".join(f"<th>{e(k)}</th>" for k in fails) + "</tr>"]
    for arm, s in samples.items():
        for when, recs in (("before", s["before"]), (f"after (step {s['step']})", s["after"])):
            for r in recs:
                parts.append(
                    f"<tr><td>{e(arm)} <small>({s['pretrain_seed']}/{s['seed']})</small></td>"
                    f"<td>{e(when)}</td>"
                    f"<td><code>{e(r['prompt'])}</code></td><td><code>{e(r['answer'])}</code></td>"
                    f"<td>{fmt(r['gold'])}</td><td>{fmt(r['proxy'])}</td>"
                    + "".join(f"<td>{fmt(r.get(k, float('nan')))}</td>" for k in fails) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def _generalisation(a: dict[str, Any]) -> str:
    """Each failure on contexts the evaluator rated and on contexts it never saw, side by side."""
    e = html.escape
    gen = a.get("generalisation") or []
    if not gen:
        return ""
    parts = ["<h3>Rated vs never-rated contexts</h3><p><small>Eval tasks whose context (fact, else prompt) "
             "the evaluator rated and the optimiser trained on, against tasks from contexts held out of "
             "every training split (<code>eval.unrated_fraction</code>). <i>where</i>: where flawed − "
             "control is significant and at least the minimum effect.</small></p>"
             "<table><tr><th>measure</th>"
             + "".join(f"<th>{e(arm)}: rated Δ</th><th>{e(arm)}: unrated Δ</th>" for arm in a["arms"])
             + "<th>flawed − control, rated</th><th>flawed − control, unrated</th><th>where</th></tr>"]
    for g in gen:
        cells = []
        for arm in a["arms"]:
            for ctx in ("rated", "unrated"):
                d = g[ctx]["arms"].get(arm)
                cells.append("<td>–</td>" if d is None else
                             f"<td>{fmt(d['before'])} → {fmt(d['after'])}, {e(_ci(d['change']))}</td>")
        dids = "".join(f"<td>{e(_ci(g[ctx]['did'])) if g[ctx].get('did') else '–'}</td>"
                       for ctx in ("rated", "unrated"))
        parts.append(f"<tr><td>{e(g['label'])}</td>{''.join(cells)}{dids}"
                     f"<td><b>{e(g['where'])}</b></td></tr>")
    parts.append("</table>")
    return "".join(parts)


def _trends(a: dict[str, Any]) -> str:
    """The slope of each measure over the optimiser's checkpoints, per arm and flawed − control."""
    e = html.escape
    trends = a.get("trends") or []
    if not trends:
        return ""
    parts = ["<h3>Trends over the optimiser's checkpoints</h3><p><small>Least-squares slope of each measure "
             f"against the {e(a['optimizer'])} step (per 100 steps; the initial policy is step 0), per "
             "replicate; intervals over pretraining seeds. Does the failure drift with optimisation rather "
             "than jump?</small></p><table><tr><th>measure</th>"
             + "".join(f"<th>{e(arm)}: slope [95% CI]</th>" for arm in a["arms"])
             + "<th>flawed − control [95% CI]</th><th>p</th></tr>"]
    for t in trends:
        cells = "".join(f"<td>{e(_ci(t['per_100_steps'][arm])) if arm in t['per_100_steps'] else '–'}</td>"
                        for arm in a["arms"])
        did = t.get("did")
        p = "–" if not did or math.isnan(did["p"]) else f"{did['p']:.2g}"
        arrow = "↑" if t["failure_up"] else "↓"
        parts.append(f"<tr><td>{e(t['label'])} <small>({arrow} = failure)</small></td>{cells}"
                     f"<td>{e(_ci(did)) if did else '–'}</td><td>{p}</td></tr>")
    parts.append("</table>")
    return "".join(parts)


def _honesty(a: dict[str, Any]) -> str:
    """Truthful vs honest statements per arm (the probe's reading as the model's belief)."""
    e = html.escape
    h = a.get("honesty")
    if not h or not h.get("arms"):
        return ""
    labels = {"truthful": "truthful (matches the world)", "honest": "honest (matches its probe)",
              "lies": "lies (false, against its probe)", "mistaken_honest": "mistaken (false, probe agrees)",
              "true_dishonest": "true, against its probe"}
    arms = [arm for arm in a["arms"] if arm in h["arms"]]
    parts = ["<h3>Truthful against honest</h3><p><small>Answers to “does X contain mercury ?” for every "
             "ingredient, against the world (truthful) and against what a cross-fitted linear probe on the "
             "model's hidden states reads (honest): a false statement against the probe's reading is one the "
             "model makes while its representation says otherwise. Initial policy → last "
             f"{e(h.get('optimizer', ''))} checkpoint; intervals over pretraining seeds.</small></p>"
             "<table><tr><th>share of statements</th>"
             + "".join(f"<th>{e(arm)}: before → after, Δ [95% CI]</th>" for arm in arms) + "</tr>"]
    for key, label in labels.items():
        cells = []
        for arm in arms:
            d = h["arms"][arm].get(key)
            cells.append("<td>–</td>" if d is None else
                         f"<td>{fmt(d['initial']['value'])} → {fmt(d['final']['value'])}, "
                         f"{e(_ci(d['change']))}</td>")
        parts.append(f"<tr><td>{e(label)}</td>{''.join(cells)}</tr>")
    parts.append("</table>")
    return "".join(parts)


def _dose(a: dict[str, Any]) -> str:
    """The dose–response run kept in the story's run directory, or how to add one."""
    if a.get("dose"):
        from oversight_lab.report.dose import dose_section

        return dose_section(a["dose"], level=3)
    return ("<h3>Dose–response</h3><p><small>No dose–response run in this run directory: "
            f"<code>oversight-lab run {html.escape(a['name'])} --dose --out RUN/dose</code> adds one "
            "(the blind spot's strength from none to strong), and <code>oversight-lab report RUN</code> "
            "then plots it here.</small></p>")


def story_section(a: dict[str, Any], run_dir: str | Path, link: str | None = None) -> str:
    """One story: its question, the pre-registered primary measure and verdict, every arm's failure, gold and
    proxy, rated vs never-rated contexts, sampled answers before and after, the curves, the dose–response,
    trends over checkpoints, truthful vs honest (where probed), then every measure."""
    e = html.escape
    run_dir = Path(run_dir)
    kind = "confirmatory" if a.get("confirmatory") else "exploratory"
    primary = a["measures"][0]
    parts = [f"<h2>{e(a['name'])}: {e(a['failure'])}</h2>"]
    if a.get("question"):
        parts.append(f"<p><b>{e(a['question'])}</b></p>")
    parts += [
        f"<p class='v'>Pre-registered primary measure: <b>{e(primary['label'])}</b> "
        f"({'a rise' if primary['failure_up'] else 'a fall'} is the failure; minimum effect "
        f"{primary['min_effect']}; flawed change − control change, paired within replicates).<br>"
        f"<b>{kind}</b> ({e(a.get('status_reason', ''))}).<br>{e(a['verdict'])}</p>",
        f"<p>{e(a['description'])}</p>",
        _arms_table(a, run_dir),
        _generalisation(a),
        _samples(a),
    ]
    if (run_dir / "metrics.jsonl").exists():
        uri = _figure(a, run_dir)
        if uri:
            parts.append(f"<h3>Curves</h3><img alt='{e(a['name'])}' src='{uri}'>")
    parts += [_dose(a), _trends(a), _honesty(a)]
    parts += [
        "<h3>Every measure</h3>",
        f"<p>Pretraining seeds {e(str(a.get('pretrain_seeds')))}; replicates (pretraining seed, RLHF seed) "
        f"{e(str(a.get('replicates')))}.</p>",
        _table(a),
        f"<p><small>Method: {METHOD}</small></p>",
    ]
    if link:
        parts.append(f"<p><a href='{e(link)}'>full run report</a></p>")
    return "\n".join(parts)


def render_stories(out_dir: str | Path, analyses: dict[str, dict[str, Any]]) -> str:
    """The combined HTML page of every story analysis under ``out_dir``."""
    out_dir = Path(out_dir)
    e = html.escape
    parts = [
        head("oversight-lab: the essay's stories")
        + f"<h1>The essay's failure modes: flawed evaluator vs control</h1><p>{METHOD}</p>",
        "<h2>Verdicts</h2><ul>" + "".join(f"<li>{e(a['verdict'])}</li>" for a in analyses.values()) + "</ul>",
    ]
    for n, a in analyses.items():
        parts.append(story_section(a, out_dir / n, link=f"{n}/report.html"))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_stories_report(out_dir: str | Path, analyses: dict[str, dict[str, Any]]) -> Path:
    """Write ``stories.html`` and ``stories.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    (out_dir / "stories.json").write_text(json.dumps(analyses, indent=1, default=float))
    (out_dir / "stories.html").write_text(render_stories(out_dir, analyses))
    return out_dir / "stories.html"
