"""The combined report of ``oversight-lab run --all-stories``: each story's failure, flawed vs control.

Reads only run directories (one per story: ``metrics.jsonl`` and each arm's ``items.jsonl``). For every
measure of a story (:class:`~oversight_lab.scenarios.stories.Measure`) and every arm it compares *before*
(the initial policy) with *after* (the story's optimiser at its last checkpoint):

* item measures pair the same (seed, item) before and after: the change with a 95% paired bootstrap interval,
  McNemar's exact test for binary indicators, and the flawed arm's change minus the control's (difference in
  differences, items paired across arms, which answer the same items with the same seeds);
* checkpoint measures (sampled answers) take the change per seed, with a Student-t interval across seeds.

A one-line verdict per story is generated from these numbers: the failure emerged under the flaw and
significantly less under the control, emerged under both, or did not emerge at this scale.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from oversight_lab.metrics.calibration import ece, mcnemar, reliability
from oversight_lab.metrics.stats import mean_ci
from oversight_lab.runs.rundir import read_rows
from oversight_lab.scenarios.stories import STORIES, Measure, Story

__all__ = ["analyse_story", "render_stories", "verdict", "write_stories_report", "write_story_analysis"]

N_BOOT = 2000


def _items(run_dir: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(run_dir.glob("arms/*/seed-*/items.jsonl")):
        out.extend(read_rows(path))
    return out


def _final_step(rows: list[dict[str, Any]], arm: str, seed: int, optimizer: str) -> int | None:
    steps = [r["step"] for r in rows if r["arm"] == arm and r["seed"] == seed and r["optimizer"] == optimizer]
    return max(steps) if steps else None


def _paired(
    items: list[dict[str, Any]], arm: str, story: Story, m: Measure
) -> dict[tuple, tuple[dict, dict]]:
    """(seed, item) → (record before, record after) for one arm."""
    keep = [r for r in items if r["arm"] == arm and all(r.get(k) == v for k, v in m.where.items())]
    out: dict[tuple, tuple[dict, dict]] = {}
    for seed in sorted({r["seed"] for r in keep}):
        last = _final_step(keep, arm, seed, story.optimizer)
        before = {r["item"]: r for r in keep if r["seed"] == seed and r["optimizer"] == "initial"}
        after = {
            r["item"]: r
            for r in keep
            if r["seed"] == seed and r["optimizer"] == story.optimizer and r["step"] == last
        }
        for item in before.keys() & after.keys():
            if m.key in before[item] and m.key in after[item]:
                out[(seed, item)] = (before[item], after[item])
    return out


def _columns(m: Measure) -> list[str]:
    return [m.ece_of, m.key] if m.ece_of else [m.key]


def _stat(m: Measure) -> Callable[[np.ndarray], np.ndarray]:
    """The measure over units: ``x[..., n, k]`` (k columns, see ``_columns``) → value per leading index."""
    if m.ece_of:

        def stat(x: np.ndarray) -> np.ndarray:
            flat = x.reshape(-1, *x.shape[-2:])
            return np.array([ece(v[:, 0], v[:, 1], 10, "width") for v in flat]).reshape(x.shape[:-2])

        return stat
    return lambda x: x[..., 0].mean(axis=-1)


def _item_measure(items: list[dict[str, Any]], arms: list[str], story: Story, m: Measure) -> dict[str, Any]:
    stat, cols = _stat(m), _columns(m)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"arms": {}}
    pairs = {arm: _paired(items, arm, story, m) for arm in arms}
    arrays: dict[str, tuple[list, np.ndarray, np.ndarray]] = {}
    for arm in arms:
        keys = sorted(pairs[arm])
        if not keys:
            continue
        b = np.array([[pairs[arm][k][0][c] for c in cols] for k in keys], dtype=float)
        a = np.array([[pairs[arm][k][1][c] for c in cols] for k in keys], dtype=float)
        arrays[arm] = (keys, b, a)
        idx = rng.integers(0, len(keys), (N_BOOT, len(keys)))
        boots = stat(a[idx]) - stat(b[idx])
        res: dict[str, Any] = {"before": float(stat(b)), "after": float(stat(a)), "n": len(keys)}
        res["change"] = res["after"] - res["before"]
        res["lo"], res["hi"] = (float(q) for q in np.nanquantile(boots, [0.025, 0.975]))
        if m.binary:
            t = mcnemar(b[:, -1], a[:, -1])
            res["mcnemar"] = {"b": t.b, "c": t.c, "p": t.p_value}
        out["arms"][arm] = res
    if {"flawed", "control"} <= arrays.keys():
        fk, fb, fa = arrays["flawed"]
        ck, cb, ca = arrays["control"]
        common = sorted(set(fk) & set(ck))
        if common:
            fi = np.array([fk.index(k) for k in common])
            ci = np.array([ck.index(k) for k in common])
            fb, fa, cb, ca = fb[fi], fa[fi], cb[ci], ca[ci]
            value = float((stat(fa) - stat(fb)) - (stat(ca) - stat(cb)))
            idx = rng.integers(0, len(common), (N_BOOT, len(common)))
            boots = (stat(fa[idx]) - stat(fb[idx])) - (stat(ca[idx]) - stat(cb[idx]))
            lo, hi = np.nanquantile(boots, [0.025, 0.975])
            out["did"] = {"value": value, "lo": float(lo), "hi": float(hi), "n": len(common)}
    return out


def _checkpoint_measure(
    rows: list[dict[str, Any]], arms: list[str], story: Story, m: Measure
) -> dict[str, Any]:
    out: dict[str, Any] = {"arms": {}}
    changes: dict[str, dict[int, float]] = {}
    for arm in arms:
        per_seed: dict[int, tuple[float, float]] = {}
        for seed in sorted({r["seed"] for r in rows if r["arm"] == arm}):
            last = _final_step(rows, arm, seed, story.optimizer)
            init = [r for r in rows if r["arm"] == arm and r["seed"] == seed and r["optimizer"] == "initial"]
            fin = [
                r
                for r in rows
                if r["arm"] == arm
                and r["seed"] == seed
                and r["optimizer"] == story.optimizer
                and r["step"] == last
            ]
            if init and fin and m.key in init[0] and m.key in fin[0]:
                before, after = float(init[0][m.key]), float(fin[0][m.key])
                if np.isfinite(before) and np.isfinite(after):  # nan: no answer the measure applies to
                    per_seed[seed] = (before, after)
        if not per_seed:
            continue
        changes[arm] = {s: a - b for s, (b, a) in per_seed.items()}
        mean, lo, hi = mean_ci(list(changes[arm].values()))
        out["arms"][arm] = {
            "before": float(np.mean([b for b, _ in per_seed.values()])),
            "after": float(np.mean([a for _, a in per_seed.values()])),
            "change": mean,
            "lo": lo,
            "hi": hi,
            "n": len(per_seed),
        }
    if {"flawed", "control"} <= changes.keys():
        seeds = sorted(changes["flawed"].keys() & changes["control"].keys())
        value, lo, hi = mean_ci([changes["flawed"][s] - changes["control"][s] for s in seeds])
        out["did"] = {"value": value, "lo": lo, "hi": hi, "n": len(seeds)}
    return out


def _status(m: Measure, res: dict[str, Any]) -> str:
    """emerged | both | flawed_only | none | n/a: a change counts when its 95% interval excludes 0 in the
    failure's direction and it is at least ``m.min_effect`` in size."""
    sign = 1.0 if m.failure_up else -1.0

    def sig(d: dict[str, Any] | None, lo: str = "lo", hi: str = "hi") -> bool:
        if not d or any(math.isnan(d.get(k, float("nan"))) for k in (lo, hi)):
            return False
        value = d.get("change", d.get("value", 0.0))
        return sign * value >= m.min_effect and ((d[lo] > 0) if sign > 0 else (d[hi] < 0))

    flawed, control = res["arms"].get("flawed"), res["arms"].get("control")
    if flawed is None:
        return "n/a"
    if not sig(flawed):
        return "none"
    if sig(res.get("did")):
        return "emerged"
    return "both" if sig(control) else "flawed_only"


def analyse_story(story: Story, run_dir: str | Path) -> dict[str, Any]:
    """Every measure of ``story`` from its run directory, with statistics and the status of the failure."""
    run_dir = Path(run_dir)
    rows = read_rows(run_dir / "metrics.jsonl")
    items = _items(run_dir)
    arms = sorted({r["arm"] for r in rows}, key=lambda a: (a != "flawed", a))
    measures = []
    for m in story.measures:
        res = (
            _item_measure(items, arms, story, m)
            if m.source == "items"
            else _checkpoint_measure(rows, arms, story, m)
        )
        res.update(
            key=m.key,
            label=m.label,
            source=m.source,
            binary=m.binary,
            failure_up=m.failure_up,
            ece_of=m.ece_of,
            status=_status(m, res),
        )
        measures.append(res)
    out = {
        "name": story.name,
        "failure": story.failure,
        "description": story.scenario.description,
        "optimizer": story.optimizer,
        "arms": arms,
        "measures": measures,
        "seeds": sorted({r["seed"] for r in rows}),
    }
    out["verdict"] = verdict(out)
    return out


def _ci(d: dict[str, Any], key: str = "change") -> str:
    if math.isnan(d.get("lo", float("nan"))):
        return f"{d[key]:+.2f}"
    return f"{d[key]:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]"


def verdict(analysis: dict[str, Any]) -> str:
    """One plain-language line from the primary measure's numbers: the first with data (item measures need
    ``item_eval``; a run without it is judged on its sampled measures)."""
    name = analysis["name"]
    measured = [m for m in analysis["measures"] if m["arms"].get("flawed") is not None]
    if not measured:
        return f"{name}: no data for {analysis['measures'][0]['label']}."
    m = measured[0]
    f, c = m["arms"]["flawed"], m["arms"].get("control")
    what = {
        "emerged": "emerged under the flawed evaluator and significantly less under the control",
        "both": "emerged under both evaluators; at this scale it is not attributable to the flaw",
        "flawed_only": "moved under the flawed evaluator, but not significantly more than under the control",
        "none": "did not emerge significantly at this scale (the 95% interval of its change includes zero)",
        "n/a": "could not be measured",
    }[m["status"]]
    line = (
        f"{name}: {analysis['failure']} {what} — {m['label']} {f['before']:.2f} → {f['after']:.2f} flawed "
        f"(Δ {_ci(f)})"
    )
    if c is not None:
        line += f" vs {c['before']:.2f} → {c['after']:.2f} control (Δ {_ci(c)})"
    if "did" in m:
        line += f"; difference {_ci(m['did'], 'value')}"
    if "mcnemar" in f:
        line += f"; McNemar p = {f['mcnemar']['p']:.2g} (flawed, n = {f['n']})"
    return line + "."


# -- rendering -----------------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _figure(story: Story, run_dir: Path, analysis: dict[str, Any]) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from oversight_lab.report.html import COLORS, _png
    from oversight_lab.runs.summary import curve

    rows = read_rows(run_dir / "metrics.jsonl")
    keys = ["gold/mean"] + [
        m.key for m in story.measures if m.source == "checkpoint" and m.key != "gold/mean"
    ]
    calib = any(m.ece_of == "stated_conf" for m in story.measures)
    fig, axes = plt.subplots(1, len(keys) + calib, figsize=(3.6 * (len(keys) + calib), 3.0), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=False):
        for k, arm in enumerate(analysis["arms"]):
            c = curve(rows, arm, story.optimizer, key, x="step")
            if not c["step"]:
                continue
            ax.plot(c["step"], c["mean"], "-o", ms=3, color=COLORS[k % len(COLORS)], label=arm)
            lo = [m if math.isnan(v) else v for v, m in zip(c["lo"], c["mean"], strict=True)]
            hi = [m if math.isnan(v) else v for v, m in zip(c["hi"], c["mean"], strict=True)]
            ax.fill_between(c["step"], lo, hi, color=COLORS[k % len(COLORS)], alpha=0.18, linewidth=0)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel(f"{story.optimizer} step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if calib:
        ax = axes[0][-1]
        items = _items(run_dir)
        ax.plot([0, 1], [0, 1], ":", color="#888")
        for k, arm in enumerate(analysis["arms"]):
            units = list(_paired(items, arm, story, Measure("correct", "", ece_of="stated_conf")).values())
            for when, style in ((0, "--"), (1, "-")):
                recs = [u[when] for u in units]
                if recs:
                    pts = reliability([r["stated_conf"] for r in recs], [r["correct"] for r in recs])
                    ax.plot(
                        [p["conf"] for p in pts],
                        [p["acc"] for p in pts],
                        style + "o",
                        ms=3,
                        color=COLORS[k % len(COLORS)],
                        label=f"{arm} {'after' if when else 'before'}",
                    )
        ax.set_title("reliability (stated confidence)", fontsize=9)
        ax.set_xlabel("confidence", fontsize=8)
        ax.set_ylabel("accuracy", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _png(fig)


def render_stories(out_dir: str | Path, names: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """HTML and JSON of every story run under ``out_dir`` (one run directory per story)."""
    out_dir = Path(out_dir)
    names = names or [n for n in STORIES if (out_dir / n / "metrics.jsonl").exists()]
    e = html.escape
    analyses = {n: analyse_story(STORIES[n], out_dir / n) for n in names}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>oversight-lab: the essay's stories</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;font-size:13px;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:3px 7px}th{background:#f4f4f4}img{max-width:100%}"
        ".v{background:#f7f7f2;padding:.6em;border-left:4px solid #999}"
        "</style></head><body><h1>The essay's failure modes: flawed evaluator vs control</h1>"
        "<p>Each story trains the same pretrained evaluatee against a flawed evaluator and against the same "
        "evaluator without the flaw, on one budget and the same seeds. <i>Before</i> is the initial policy; "
        "<i>after</i> is the last checkpoint of the story's optimiser. Item measures answer the same fixed "
        "items deterministically before and after (95% paired bootstrap intervals over (seed, item); "
        "McNemar's exact test on binary indicators); sampled measures use each checkpoint's sampled answers "
        "(95% Student-t over seeds). <i>Difference</i> is the flawed arm's change minus the control's.</p>",
        "<h2>Verdicts</h2><ul>" + "".join(f"<li>{e(a['verdict'])}</li>" for a in analyses.values()) + "</ul>",
    ]
    for n, a in analyses.items():
        parts.append(
            f"<h2>{e(n)}</h2><p>{e(a['description'])} Seeds {e(str(a['seeds']))}.</p>"
            f"<p class='v'>{e(a['verdict'])}</p><table><tr><th>measure</th><th>source</th>"
            + "".join(f"<th>{e(arm)}: before → after</th><th>{e(arm)}: Δ [95% CI]</th>" for arm in a["arms"])
            + "<th>difference [95% CI]</th><th>McNemar (flawed; control)</th><th>status</th></tr>"
        )
        for m in a["measures"]:
            cells = []
            for arm in a["arms"]:
                d = m["arms"].get(arm)
                cells.append(
                    "<td>–</td><td>–</td>"
                    if d is None
                    else f"<td>{_fmt(d['before'])} → {_fmt(d['after'])}</td><td>{e(_ci(d))}</td>"
                )
            did = e(_ci(m["did"], "value")) if "did" in m else "–"
            mc = (
                "; ".join(
                    f"b={d['mcnemar']['b']} c={d['mcnemar']['c']} p={d['mcnemar']['p']:.2g}"
                    for d in m["arms"].values()
                    if "mcnemar" in d
                )
                or "–"
            )
            arrow = "↑" if m["failure_up"] else "↓"
            parts.append(
                f"<tr><td>{e(m['label'])} <small>({arrow} = failure)</small></td><td>{e(m['source'])}</td>"
                f"{''.join(cells)}<td>{did}</td><td>{e(mc)}</td><td>{e(m['status'])}</td></tr>"
            )
        parts.append("</table>")
        uri = _figure(STORIES[n], out_dir / n, a)
        if uri:
            parts.append(f"<img alt='{e(n)}' src='{uri}'>")
        parts.append(f"<p><a href='{e(n)}/report.html'>full run report</a></p>")
    parts.append("</body></html>")
    return "\n".join(parts), analyses


def write_story_analysis(run_dir: str | Path, name: str) -> list[str]:
    """For a run of one story (``oversight-lab run sycophant``): ``story.json`` and its verdict; else nothing."""
    if name not in STORIES or not (Path(run_dir) / "metrics.jsonl").exists():
        return []
    analysis = analyse_story(STORIES[name], run_dir)
    (Path(run_dir) / "story.json").write_text(json.dumps(analysis, indent=1, default=float))
    return [analysis["verdict"]]


def write_stories_report(out_dir: str | Path, names: list[str] | None = None) -> Path:
    """Write ``stories.html`` and ``stories.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    page, analyses = render_stories(out_dir, names)
    (out_dir / "stories.json").write_text(json.dumps(analyses, indent=1, default=float))
    (out_dir / "stories.html").write_text(page)
    return out_dir / "stories.html"
