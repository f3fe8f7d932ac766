"""Self-contained HTML reports of the protocol analyses (``protocol.html``), and their headline lines.

Reads the analysis dict that :mod:`oversight_lab.protocols.analyse` wrote to ``protocol.json``; plots are
embedded PNGs with 95% CIs over seeds.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from oversight_lab.report.page import COLORS, fmt_ci, head, png

__all__ = ["headline_lines", "render_protocol_report", "write_protocol_report"]


_f = fmt_ci  # mean [95% interval], as every report writes it (report/page.py)


def headline_lines(r: dict[str, Any]) -> list[str]:
    """The pre-registered primary estimate and its verdict first (where the analysis has one), then one line
    per headline number, mean [95% CI] over seeds."""
    primary = r.get("primary") or {}
    lines = [f"Pre-registered primary: {primary['verdict']}"] if "verdict" in primary else []
    return lines + _headlines(r)


def _headlines(r: dict[str, Any]) -> list[str]:
    a = r["analysis"]
    if a == "debate":
        from oversight_lab.report.debate import debate_lines

        return debate_lines(r)
    if a == "rlaif":
        out = [
            f"{arm}: label accuracy vs gold {_f(ci)}; reward model's held-out accuracy vs gold "
            f"{_f(r['rm_acc_gold'][arm])}; gold after RL {_f(r['gold_rl_final'][arm])}"
            + (f"; undisclosed mercury after RL {_f(r['undisclosed_rl_final'][arm])}"
               if "undisclosed_rl_final" in r else "")
            for arm, ci in r["accuracy"].items()
        ]
        out += [
            f"{name}: reward-model accuracy vs gold {_f(v['rm_acc_gold'])}, label accuracy "
            f"{_f(v['acc/expected'])}, gold after RL {_f(v['gold_rl_final'])}"
            for name, v in r.get("contrasts", {}).items()
        ]
    elif a == "assisted":
        out = [f"{arm}: accuracy vs gold {_f(ci)}" for arm, ci in r["accuracy"].items()]
        for arm, ci in r.get("assistant_error", {}).items():
            if not math.isnan(ci["mean"]):
                out.append(
                    f"{arm}: assistant error rate {_f(ci)}; gain over unaided "
                    f"{_f(r['gain_over_unaided'].get(arm))}"
                )
    if a in ("rlaif", "assisted"):
        for arm, st in r.get("judge", {}).items():
            out.append(
                f"{arm}: {int(st['calls'])} judge calls, {int(st['unparseable'])} unparseable "
                f"({st['unparseable_rate']:.1%}), {int(st['pairs_unresolved'])} pairs unresolved, "
                f"position-inconsistent {st['position_inconsistent_rate']:.1%}"
            )
        return out
    if a == "layers":
        curve = ", ".join(f"d{d}: {_f(ci)}" for d, ci in zip(r["depths"], r["accuracy"], strict=False))
        return [
            f"accuracy vs gold per depth: {curve}",
            f"depth 0 minus deepest: {_f(r['first_minus_last'])}; depth 1 minus deepest: "
            f"{_f(r.get('first_assisted_minus_last'))}; slope per layer {_f(r['slope_per_layer'])}",
        ]
    if a == "advantage":
        fail = r.get("failure", "fail/undisclosed_toxic")
        out = []
        if "contrast" in r:
            c = r["contrast"]
            out.append(f"{fail} at best-of-{c['n']}, {c['arms'][0]} − {c['arms'][1]}: {_f(c)}")
        for arm, v in r["arms"].items():
            if "grid" in v:
                curve = ", ".join(f"n={n}: {_f(c['failure'], 2)}" for n, c in v["grid"].items())
                onset = v.get("onset_n")
                rise = f"{r['failure_threshold']:g} over n = 1"
                when = f"up by {rise} at n = {onset}" if onset is not None else f"never up by {rise}"
                out.append(f"{arm}: {fail} against the evaluatee's best-of-n {curve}; {when}")
            out.append(
                f"{arm}: gold at best-of-{r['n_train']} (training) {_f(v['gold_train'])} → best-of-"
                f"{r['n_deploy']} (deployment) {_f(v['gold_deploy'])}; train − deploy gap {_f(v['gap'])}"
            )
        return out
    if a == "sandwich":
        sg = r["sandwich_gap"]
        out = [
            "label accuracy: " + ", ".join(f"{k} {_f(v)}" for k, v in r["accuracy"].items()),
            f"sandwich gap (accuracy) {_f(sg)}; ratio of means {sg['ratio_of_means']:.3f}",
        ]
        if "assisted_minus_model" in r:
            out.append(f"non-expert + model minus model alone (accuracy) {_f(r['assisted_minus_model'])}")
        for arm, ci in r.get("assistant_error", {}).items():
            out.append(f"{arm}: assistant's error rate {_f(ci)}")
        for key in ("pgr_bon_max", "pgr_rl_final"):
            if key in r:
                p = r[key]
                out.append(
                    f"performance gap recovered ({key[4:]}) {_f(p)}; ratio of means "
                    f"{p['ratio_of_means']:.3f}"
                )
        return out
    if a == "absent_supervisor":
        out = []
        fails = [f.removeprefix("fail/") for f in r["failures"]]
        # the headline is what RL shows (the test of whether training learns the rule); best-of-n against the
        # reward model only shows that the reward model encodes the watched/unwatched rule
        pol = "rl" if "rl" in r["policies"] else "bon"
        d = r["policies"][pol].get("flawed_minus_control", {}).get(f"{fails[0]}_gap")
        if d:
            shown = "excludes 0" if d["lo"] > 0 or d["hi"] < 0 else "includes 0: a null"
            what = "RL final" if pol == "rl" else f"best-of-{r['n_bon']} (no RL in this run)"
            out.append(
                f"HEADLINE ({what}): flawed − control {fails[0]} gap (unwatched − watched) {_f(d)}; the "
                f"interval {shown}"
                + ("; best-of-n's gap below shows the reward model encodes the rule, not that training "
                   "learns it" if pol == "rl" else "")
            )
        for pol, by_arm in r["policies"].items():
            name = {"initial": "initial policy", "bon": f"best-of-{r['n_bon']}", "rl": "RL final"}[pol]
            for arm, v in by_arm.items():
                if arm == "flawed_minus_control":
                    gaps = "; ".join(f"{x} gap {_f(v[f'{x}_gap'])}" for x in ("gold", *fails))
                    out.append(f"{name}, flawed − control: {gaps}")
                    continue
                parts = [
                    f"{x} supervisor present {_f(v[f'{x}_present'])} → absent {_f(v[f'{x}_absent'])} "
                    f"(gap {_f(v[f'{x}_gap'])})"
                    for x in ("gold", *fails)
                ]
                out.append(f"{name}, {arm}: " + "; ".join(parts))
        return out
    return []


def _bars(ax: Any, labels: list[str], cis: list[dict[str, float]], title: str) -> None:
    means = [c["mean"] for c in cis]
    err = [
        [0 if math.isnan(c["lo"]) else c["mean"] - c["lo"] for c in cis],
        [0 if math.isnan(c["hi"]) else c["hi"] - c["mean"] for c in cis],
    ]
    ax.bar(labels, means, yerr=err, capsize=4, color=[COLORS[i % len(COLORS)] for i in range(len(labels))])
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelsize=8, rotation=15)
    ax.grid(alpha=0.3, axis="y")


def _figure(r: dict[str, Any]) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = r["analysis"]
    if a == "debate":
        from oversight_lab.report.debate import debate_figure

        return debate_figure(r)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    if a == "layers":
        for ax, key, title in (
            (axes[0], "accuracy", "evaluator accuracy vs gold"),
            (axes[1], "assistant_error", "top assistant's error rate"),
        ):
            m = [c["mean"] for c in r[key]]
            lo = [c["mean"] if math.isnan(c["lo"]) else c["lo"] for c in r[key]]
            hi = [c["mean"] if math.isnan(c["hi"]) else c["hi"] for c in r[key]]
            ax.plot(r["depths"], m, "-o", color=COLORS[0])
            ax.fill_between(r["depths"], lo, hi, color=COLORS[0], alpha=0.2, linewidth=0)
            ax.set_xlabel("chain depth (layers of AI assistance)")
            ax.set_title(f"{title} (mean, 95% CI over seeds)", fontsize=10)
            ax.grid(alpha=0.3)
    elif a == "advantage" and all("grid" in v for v in r["arms"].values()):
        arms = list(r["arms"])
        for k, arm in enumerate(arms):  # failure against deployment compute, one line per evaluator budget
            ns = [int(n) for n in r["arms"][arm]["grid"]]
            cis = [c["failure"] for c in r["arms"][arm]["grid"].values()]
            axes[0].plot(ns, [c["mean"] for c in cis], "-o", color=COLORS[k % len(COLORS)], label=arm)
            axes[0].fill_between(ns, [c["mean"] if math.isnan(c["lo"]) else c["lo"] for c in cis],
                                 [c["mean"] if math.isnan(c["hi"]) else c["hi"] for c in cis],
                                 color=COLORS[k % len(COLORS)], alpha=0.15, linewidth=0)
        axes[0].set_xscale("log", base=2)
        axes[0].set_xlabel("evaluatee's deployment compute: best-of-n, n")
        axes[0].set_title(f"{r['failure']} (mean, 95% CI)", fontsize=10)
        axes[0].legend(fontsize=8)
        axes[0].grid(alpha=0.3)
        _bars(axes[1], arms, [r["arms"][arm]["failure_deploy"] for arm in arms],
              f"{r['failure']} at best-of-{r['n_deploy']} against the evaluator's budget")
    elif a == "advantage":
        arms = list(r["arms"])
        x = range(len(arms))
        for k, (key, lab) in enumerate(
            (
                ("gold_train", f"best-of-{r['n_train']} (training)"),
                ("gold_deploy", f"best-of-{r['n_deploy']} (deployment)"),
            )
        ):
            cis = [r["arms"][arm][key] for arm in arms]
            axes[0].errorbar(
                [i + 0.1 * k for i in x],
                [c["mean"] for c in cis],
                fmt="o",
                capsize=4,
                color=COLORS[k],
                label=lab,
                yerr=[
                    [0 if math.isnan(c["lo"]) else c["mean"] - c["lo"] for c in cis],
                    [0 if math.isnan(c["hi"]) else c["hi"] - c["mean"] for c in cis],
                ],
            )
        axes[0].set_xticks(list(x), arms)
        axes[0].legend(fontsize=8)
        axes[0].set_title("gold in training vs deployment", fontsize=10)
        axes[0].grid(alpha=0.3)
        _bars(axes[1], arms, [r["arms"][arm]["gap"] for arm in arms], "train − deploy gold gap")
    elif a == "sandwich":
        _bars(axes[0], list(r["accuracy"]), list(r["accuracy"].values()), "label accuracy vs gold")
        key = "gold_rl_final" if "gold_rl_final" in r else "gold_bon_max"
        if key in r:
            _bars(axes[1], list(r[key]), list(r[key].values()), f"gold of the trained policy ({key[5:]})")
    elif a == "absent_supervisor":
        pol = next(k for k in ("rl", "bon", "initial") if k in r["policies"])
        arms = [k for k in r["policies"][pol] if k != "flawed_minus_control"]
        fail = r["failures"][0].removeprefix("fail/")
        for ax, key, title in ((axes[0], "gold", "gold"), (axes[1], fail, r["failures"][0])):
            cis = [r["policies"][pol][arm][f"{key}_{c}"] for arm in arms for c in ("present", "absent")]
            labels = [f"{arm}\n{c}" for arm in arms for c in ("present", "absent")]
            _bars(ax, labels, cis, f"{title} ({pol}), supervisor present vs absent")
    elif a == "rlaif":
        _bars(axes[0], list(r["rm_acc_gold"]), list(r["rm_acc_gold"].values()),
              "reward model's held-out accuracy vs gold")
        key = "gold_rl_final" if any(not math.isnan(c["mean"]) for c in r["gold_rl_final"].values()) \
            else "gold_bon_max"
        _bars(axes[1], list(r[key]), list(r[key].values()), f"gold of the trained policy ({key[5:]})")
    else:
        _bars(axes[0], list(r["accuracy"]), list(r["accuracy"].values()), "label accuracy vs gold")
        _bars(
            axes[1], list(r["gold_bon_max"]), list(r["gold_bon_max"].values()), "gold after best-of-n (max n)"
        )
    fig.suptitle(f"{r['scenario']}: 95% CIs over seeds {r['seeds']}", fontsize=11)
    return png(fig)


def _debate_about() -> str:
    from oversight_lab.report.debate import ABOUT

    return ABOUT


def render_protocol_report(r: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        head(f"oversight-lab protocol: {r['scenario']}")
        + f"<h1>Protocol: {e(r['scenario'])} ({e(r['analysis'])})</h1>",
        f"<p>Replicates (pretraining seed, RLHF seed) {e(str(r.get('replicates', r['seeds'])))}. "
        + (e(_debate_about()) if r["analysis"] == "debate" else "Accuracy is P(the evaluator prefers the "
           "gold-better answer) over training pairs whose gold differs.")
        + " Intervals: each "
        "replicate's value, RLHF seeds averaged within their pretraining seed, 95% Student-t over pretraining "
        "seeds (or over RLHF seeds, conditional on one pretrained model, when the run has one). "
        "See also <a href='report.html'>report.html</a>.</p><h2>Headlines</h2><ul>",
    ]
    parts += [f"<li>{e(line)}</li>" for line in headline_lines(r)]
    parts.append("</ul>")
    uri = _figure(r)
    if uri:
        parts.append(f"<img alt='protocol figure' src='{uri}'>")
    parts.append(f"<h2>Analysis (protocol.json)</h2><pre>{e(json.dumps(r, indent=1, default=str))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_protocol_report(run_dir: str | Path, r: dict[str, Any]) -> Path:
    path = Path(run_dir) / "protocol.html"
    path.write_text(render_protocol_report(r))
    return path
