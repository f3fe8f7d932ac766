"""The debate analysis rendered: headline lines and the figure of judge accuracy against debater strength.

Renders what :mod:`oversight_lab.analyses.debate` wrote; computes nothing of its own.
"""

from __future__ import annotations

import math
from typing import Any

from oversight_lab.report.page import COLORS, fmt_ci, png

__all__ = ["ABOUT", "debate_figure", "debate_lines"]

NAMES = {"judge": "judge alone", "consultancy": "consultancy", "debate": "debate"}
ABOUT = (
    "Judge accuracy is the share of held-out questions (does this recipe hold mercury? half do) the judge "
    "answers rightly after the protocol (an undecided judge counts half). The judge verifies every quoted "
    "fact against the hidden record; caught lies are ignored. Strength: best-of-n over a speaker's sampled "
    "turns against the judge, and GRPO self-play steps."
)


_f = fmt_ci  # mean [95% interval], as every report writes it (report/page.py)


def debate_lines(r: dict[str, Any]) -> list[str]:
    """The verdict, each protocol's accuracy at the weakest and strongest debaters, what the speakers did."""
    steps, ns = r["steps"], r["n_values"]
    out = [r["verdict"]]
    for p, name in NAMES.items():
        out.append(
            f"{name}: accuracy {_f(r['by_n'][p][0])} at best-of-{ns[0]} → {_f(r['by_n'][p][-1])} at "
            f"best-of-{ns[-1]} (RL step {steps[-1]}); {_f(r['by_step'][p][0])} at RL step {steps[0]} → "
            f"{_f(r['by_step'][p][-1])} at step {steps[-1]} (best-of-{ns[-1]})"
        )
    cs = r["consultancy_split"]
    out.append(f"consultancy, consultant right: {_f(cs['right'])}; consultant wrong: {_f(cs['wrong'])}")
    for p in ("consultancy", "debate"):
        s = r["speakers"][p]
        out.append(f"{p} speakers at the strongest: evidence per turn {_f(s['evidence'])}, caught lies "
                   f"{_f(s['caught'])}, verified evidence about the recipe {_f(s['relevant'])}")
    return out


def _curve(ax: Any, x: list[int], cis: list[dict[str, Any]], label: str, color: str) -> None:
    m = [c["mean"] for c in cis]
    lo = [c["mean"] if math.isnan(c["lo"]) else c["lo"] for c in cis]
    hi = [c["mean"] if math.isnan(c["hi"]) else c["hi"] for c in cis]
    ax.plot(x, m, "-o", color=color, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.15, linewidth=0)


def debate_figure(r: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for i, (p, name) in enumerate(NAMES.items()):
        _curve(axes[0], r["n_values"], r["by_n"][p], name, COLORS[i])
        _curve(axes[1], r["steps"], r["by_step"][p], name, COLORS[i])
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel(f"best-of-n against the judge (RL step {r['steps'][-1]})")
    axes[1].set_xlabel(f"GRPO self-play steps (best-of-{r['n_values'][-1]})")
    for ax in axes:
        ax.set_ylabel("judge accuracy")
        ax.set_ylim(0.4, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{r['scenario']}: mean, 95% CI over pretraining seeds; replicates {r['replicates']}",
                 fontsize=10)
    return png(fig)
