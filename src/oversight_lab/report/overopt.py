"""Report sections of the overoptimisation analyses: fitted curve families and coefficients (``gao``), and
ensembles against a single reward model (``coste``). Everything drawn comes from ``sweep.json`` and the cells'
metric rows."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from oversight_lab.analyses.overopt import objective, seed_curves
from oversight_lab.analyses.sweeps import SweepData
from oversight_lab.metrics.overopt import gao_form
from oversight_lab.report.page import COLORS, png
from oversight_lab.report.sweep import curves_figure, fmt_ci

__all__ = ["render_coste", "render_gao"]

OPT_NAME = {"bon": "best-of-n", "bon_exact": "best-of-n (exact d)", "rl": "RL"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _f(v: float | None, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return "∞" if isinstance(v, float) and math.isinf(v) else f"{v:.{digits}f}"


def _families(data: SweepData, result: dict[str, Any], opt: str) -> str | None:
    """Rows: arms; columns: data sizes; a colour per reward-model size: seed-mean points, fitted form."""
    plt = _plt()
    cells, arms = result["cells"], result["arms"]
    sizes = sorted({c["rm_params"] for c in cells})
    datas = sorted({c["n_comparisons"] for c in cells})
    if not cells:
        return None
    fig, axes = plt.subplots(
        len(arms), len(datas), figsize=(4.2 * len(datas), 3.2 * len(arms)), squeeze=False
    )
    for a, arm in enumerate(arms):
        for j, n_cmp in enumerate(datas):
            ax = axes[a][j]
            for c in cells:
                if c["n_comparisons"] != n_cmp or opt not in c["arms"].get(arm, {}):
                    continue
                color = COLORS[sizes.index(c["rm_params"]) % len(COLORS)]
                curves = list(seed_curves(data.rows[c["id"]], arm, opt).values())
                d = np.nanmean([cv[0] for cv in curves], axis=0)
                r = np.nanmean([cv[1] for cv in curves], axis=0)
                ax.plot(d, r, "o", ms=3, color=color, label=f"{c['backbone']} ({c['rm_params']:,})")
                fit = c["arms"][arm][opt]["mean_fit"]
                if "alpha" in fit:
                    xs = np.linspace(0, max(d.max(), 1e-3), 100)
                    ax.plot(xs, gao_form(opt, xs, fit["alpha"], fit["beta"]), "--", color=color, lw=1)
            ax.axhline(0, color="#999", lw=0.6)
            ax.set_title(f"{arm}: {n_cmp:,} comparisons", fontsize=9)
            ax.set_xlabel("d = √KL" + (" (analytic)" if opt == "bon" else " (Monte-Carlo)"), fontsize=8)
            ax.set_ylabel("gold − gold(initial)", fontsize=8)
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6.5)
    fig.suptitle(
        f"{OPT_NAME[opt]}: gold gained against d, points = mean of seeds, dashed = fitted "
        + ("d(α − βd)" if opt == "bon" else "d(α − β log d)"),
        fontsize=10,
    )
    fig.tight_layout()
    return png(fig)


def _coefficients(result: dict[str, Any], opt: str) -> str | None:
    """α, β and d* against reward-model size (a line per data size) and data size (a line per RM size)."""
    plt = _plt()
    import matplotlib.ticker

    cells, arms = result["cells"], result["arms"]
    keys = ("alpha", "beta", "d_peak")
    fig, axes = plt.subplots(2 * len(arms), 3, figsize=(13, 3.0 * 2 * len(arms)), squeeze=False)
    drawn = False
    for a, arm in enumerate(arms):
        for row, (axis, other) in enumerate((("rm_params", "n_comparisons"), ("n_comparisons", "rm_params"))):
            levels = sorted({c[other] for c in cells})
            for k, key in enumerate(keys):
                ax = axes[2 * a + row][k]
                for li, level in enumerate(levels):
                    pts = sorted(
                        (c[axis], c["arms"][arm][opt][key])
                        for c in cells
                        if c[other] == level and opt in c["arms"].get(arm, {})
                    )
                    if not pts:
                        continue
                    xs = [p[0] for p in pts]
                    ms = [p[1]["mean"] for p in pts]
                    lo = [p[1]["mean"] - p[1]["lo"] if math.isfinite(p[1]["lo"]) else 0.0 for p in pts]
                    hi = [p[1]["hi"] - p[1]["mean"] if math.isfinite(p[1]["hi"]) else 0.0 for p in pts]
                    finite = [math.isfinite(m) for m in ms]
                    if not any(finite):
                        continue
                    xs_f = [x for x, f in zip(xs, finite, strict=True) if f]
                    sel = [i for i, f in enumerate(finite) if f]
                    ax.errorbar(
                        xs_f,
                        [ms[i] for i in sel],
                        yerr=[[lo[i] for i in sel], [hi[i] for i in sel]],
                        fmt="-o",
                        ms=3,
                        capsize=2,
                        color=COLORS[li % len(COLORS)],
                        label=f"{'RM params' if other == 'rm_params' else 'comparisons'} {level:,}",
                    )
                    drawn = True
                ax.set_xscale("log")
                ax.set_xticks(sorted({c[axis] for c in cells}))
                ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
                ax.minorticks_off()
                ax.set_title(
                    f"{arm}: {key} vs {'RM size' if axis == 'rm_params' else 'data size'}", fontsize=9
                )
                ax.set_xlabel(
                    "non-embedding parameters" if axis == "rm_params" else "comparisons", fontsize=8
                )
                ax.grid(alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=6.5)
    if not drawn:
        plt.close(fig)
        return None
    fig.suptitle(
        f"{OPT_NAME[opt]}: fitted coefficients, mean over seeds with 95% CI (seeds fitted separately)",
        fontsize=10,
    )
    fig.tight_layout()
    return png(fig)


def render_gao(data: SweepData, result: dict[str, Any]) -> list[tuple[str, str]]:
    e = html.escape
    sections = [
        (
            "Overoptimisation (Gao et al. 2022): verdict",
            "<ul>" + "".join(f"<li>{e(v)}</li>" for v in result["verdicts"]) + "</ul>",
        )
    ]
    head = (
        "<tr><th>reward model</th><th>comparisons</th><th>arm</th><th>optimiser</th><th>α</th><th>β</th>"
        "<th>R² (seed-mean curve)</th><th>d* (fit)</th><th>d at the empirical peak</th><th>gold rise</th>"
        "<th>gold fall after the peak</th><th>proxy gain</th>"
        "<th>KL at n max: analytic / exact on the pool</th></tr>"
    )
    rows = []
    for c in result["cells"]:
        for arm, per in c["arms"].items():
            for opt, fit in per.items():
                sh = fit["shape"]
                kl = (
                    f"{_f(sh.get('kl_analytic_max'))} / {_f(sh.get('kl_exact_pool_max'))}"
                    if opt == "bon"
                    else ""
                )
                mf = fit["mean_fit"]
                rows.append(
                    f"<tr><td>{e(c['backbone'])} ({c['rm_params']:,})</td><td>{c['n_comparisons']:,}</td>"
                    f"<td>{e(arm)}</td><td>{OPT_NAME[opt]}</td><td class=num>{fmt_ci(fit['alpha'])}</td>"
                    f"<td class=num>{fmt_ci(fit['beta'])}</td><td class=num>{_f(mf.get('r2'))}</td>"
                    f"<td class=num>{fmt_ci(fit['d_peak'], 2)}</td>"
                    f"<td class=num>{fmt_ci(sh['d_peak_empirical'], 2)}</td>"
                    f"<td class=num>{fmt_ci(sh['gold_rise'])}</td>"
                    f"<td class=num>{fmt_ci(sh['gold_fall'])}</td>"
                    f"<td class=num>{fmt_ci(sh['proxy_gain'])}</td><td class=num>{kl}</td></tr>"
                )
    sections.append(
        (
            "Fitted coefficients per cell",
            "<p>α, β and d* are means over seeds, each seed fitted on its own, with 95% Student-t "
            "intervals; R² is of the fit to the seed-mean curve. d* = α/2β (best-of-n), exp(α/β − 1) (RL); "
            "∞ means β ≤ 0 for some seed: no peak in reach of the form.</p><table>"
            + head
            + "".join(rows)
            + "</table>",
        )
    )
    for opt in ("bon", "rl"):
        uri = _families(data, result, opt)
        if uri:
            sections.append((f"{OPT_NAME[opt]}: curve families", f"<img alt='{opt} families' src='{uri}'>"))
        uri = _coefficients(result, opt)
        if uri:
            sections.append(
                (
                    f"{OPT_NAME[opt]}: coefficients against RM size and data size",
                    f"<img alt='{opt} coefficients' src='{uri}'>",
                )
            )
    return sections


def render_coste(data: SweepData, result: dict[str, Any]) -> list[tuple[str, str]]:
    e = html.escape
    sections = [
        (
            "Ensembles against one reward model (Coste et al. 2023): verdict",
            "<ul>" + "".join(f"<li>{e(v)}</li>" for v in result["verdicts"]) + "</ul>",
        )
    ]
    head = (
        "<tr><th>evaluator</th><th>optimiser</th><th>objective</th><th>final gold</th><th>peak gold</th>"
        "<th>drop (peak − final)</th><th>proxy gain</th><th>final gold − single (paired)</th>"
        "<th>drop − single (paired)</th></tr>"
    )
    rows = []
    for r in result["table"]:
        rows.append(
            f"<tr><td>{e(r['arm'])}</td><td>{OPT_NAME[r['optimizer']]}</td><td>{e(r['objective'])}</td>"
            f"<td class=num>{fmt_ci(r['gold_final'])}</td><td class=num>{fmt_ci(r['gold_peak'])}</td>"
            f"<td class=num>{fmt_ci(r['drop'])}</td><td class=num>{fmt_ci(r['proxy_gain'])}</td>"
            f"<td class=num>{fmt_ci(r.get('vs_single_gold_final'))}</td>"
            f"<td class=num>{fmt_ci(r.get('vs_single_drop'))}</td></tr>"
        )
    sections.append(
        (
            "Objectives, seed by seed against the single RM",
            "<p>Final gold is at the largest n for best-of-n (equal n for every objective) and after the "
            "last step for RL. Differences are paired by seed (the same comparisons train every objective) "
            "with 95% Student-t intervals.</p><table>" + head + "".join(rows) + "</table>",
        )
    )
    by_id = {c["id"]: c for c in data.cells()}
    named = []
    for c in data.cells():
        cfg = data.cell_config(c["id"])

        named.append({**by_id[c["id"]], "label": objective(cfg)})
    for opt in ("bon", "rl"):
        uri = curves_figure(
            data,
            opt,
            ("gold/mean", "proxy/mean"),
            cells=named,
            title=f"{OPT_NAME[opt]}: gold and proxy per objective (mean over seeds, 95% band)",
        )
        if uri:
            sections.append((f"{OPT_NAME[opt]}: curves per objective", f"<img alt='{opt}' src='{uri}'>"))
    return sections
