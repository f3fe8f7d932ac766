"""The gao and coste analyses on sweeps whose curves are known: they recover the coefficients, call the
trends the data hold, and render. No training: the sweep directories are written here."""

import json

import numpy as np
import pytest

from oversight_lab.analyses.overopt import analyse_coste, analyse_gao, rm_parameters
from oversight_lab.analyses.sweeps import load_sweep
from oversight_lab.config import resolve_config
from oversight_lab.metrics.overopt import gao_form
from oversight_lab.optimize.best_of_n import bon_kl
from oversight_lab.report.overopt import render_coste, render_gao
from oversight_lab.scenarios import get_scenario

NS = 2 ** np.arange(0, 14)


def rows_for(arm, seed, bon_ab, rl_ab, rng, drop_scale=1.0):
    rows = [
        {
            "arm": arm,
            "seed": seed,
            "optimizer": "initial",
            "step": 0,
            "gold/mean": 0.3,
            "proxy/mean": 0.0,
            "kl/seq_k1": 0.0,
            "kl/sqrt": 0.0,
        }
    ]
    for n in NS:
        d = float(np.sqrt(bon_kl(n)))
        gold = 0.3 + gao_form("bon", d, *bon_ab) * drop_scale ** (d > 1) + rng.normal(scale=0.005)
        rows.append(
            {
                "arm": arm,
                "seed": seed,
                "optimizer": "bon",
                "step": int(n),
                "n": int(n),
                "gold/mean": gold,
                "proxy/mean": d,
                "kl/bon_analytic": float(bon_kl(n)),
                "kl/bon_exact_pool": float(bon_kl(n)),
                "kl/sqrt": d,
            }
        )
    for step, d in enumerate(np.linspace(0, 3, 13)):
        gold = 0.3 + gao_form("rl", d, *rl_ab) + rng.normal(scale=0.005)
        rows.append(
            {
                "arm": arm,
                "seed": seed,
                "optimizer": "rl",
                "step": 5 * step,
                "gold/mean": gold,
                "proxy/mean": d,
                "kl/seq_k1": d * d,
                "kl/sqrt": d,
            }
        )
    return rows


def write_sweep(path, scenario, cells, analysis):
    meta = {
        "name": "synthetic",
        "scenario": scenario,
        "seeds": [0, 1, 2],
        "analysis": analysis,
        "cells": [],
        "jobs": {"total": 0, "skipped": 0, "run": 0, "failed": []},
        "status": "complete",
    }
    sc = get_scenario(scenario)
    for k, (overrides, rows) in enumerate(cells):
        cid = f"cell{k}"
        cfg = resolve_config({**sc.overrides, "scenario": scenario}, overrides)
        (path / "cells" / cid).mkdir(parents=True)
        (path / "cells" / cid / "config.json").write_text(json.dumps(cfg.model_dump()))
        (path / "cells" / cid / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (path / "cells" / cid / "summary.json").write_text("{}")
        meta["cells"].append(
            {"id": cid, "label": json.dumps(overrides), "complete": True, "dir": f"cells/{cid}"}
        )
    (path / "sweep.json").write_text(json.dumps(meta))
    return load_sweep(path)


def test_gao_analysis_recovers_coefficients_and_an_outward_peak(tmp_path):
    rng = np.random.default_rng(0)
    cells = []
    truth = {}
    for backbone, beta in (("tiny:1x32", 0.6), ("tiny:2x64", 0.4), ("tiny:3x96", 0.25)):
        for n_cmp in (250, 1000):
            rows = []
            for seed in range(3):
                rows += rows_for("flawed", seed, (1.0, beta), (1.0, beta + 0.2), rng)
            cells.append(({"reward.backbone": backbone, "feedback.n_comparisons": n_cmp}, rows))
            truth[(backbone, n_cmp)] = beta
    result = analyse_gao(write_sweep(tmp_path, "gao", cells, "gao"))
    assert len(result["cells"]) == 6 and result["arms"] == ["flawed"]
    for c in result["cells"]:
        fit = c["arms"]["flawed"]["bon"]
        assert fit["alpha"]["mean"] == pytest.approx(1.0, abs=0.03)
        assert fit["beta"]["mean"] == pytest.approx(truth[(c["backbone"], c["n_comparisons"])], abs=0.03)
        assert fit["mean_fit"]["r2"] > 0.99
        assert fit["d_peak"]["mean"] == pytest.approx(
            1 / (2 * truth[(c["backbone"], c["n_comparisons"])]), rel=0.1
        )
        assert fit["shape"]["rise_then_fall_seeds"] == 3
        assert c["arms"]["flawed"]["rl"]["mean_fit"]["r2"] > 0.99
    trend = result["trends"]["flawed/bon"]
    assert trend["rho_size"] > 0.8 and trend["r2_at_least_0.9"] == 6
    assert "moves outward" in result["verdicts"][0] and "with reward-model size" in result["verdicts"][0]
    sections = render_gao(load_sweep(tmp_path), result)
    assert any("coefficients" in title for title, _ in sections)
    assert sum(body.count("data:image/png;base64,") for _, body in sections) == 4


def test_gao_analysis_says_when_the_peak_does_not_move(tmp_path):
    rng = np.random.default_rng(1)
    cells = [
        (
            {"reward.backbone": b, "feedback.n_comparisons": n},
            [r for s in range(3) for r in rows_for("expert", s, (1.0, 0.4), (1.0, 0.5), rng)],
        )
        for b in ("tiny:1x32", "tiny:2x64", "tiny:3x96")
        for n in (250, 4000)
    ]
    result = analyse_gao(write_sweep(tmp_path, "gao", cells, "gao"))
    assert "does not move consistently" in result["verdicts"][0]


def test_rm_parameters():
    assert rm_parameters("tiny:2x64", {}) == 12 * 2 * 64 * 64
    assert rm_parameters("policy", {"n_layer": 1, "n_embd": 32}) == 12 * 32 * 32


def test_coste_analysis_pairs_seeds_against_the_single_rm(tmp_path):
    rng = np.random.default_rng(2)
    objectives = [
        ({"reward.ensemble_size": 1}, 1.0),
        ({"reward.ensemble_size": 5, "reward.aggregate": "mean"}, 0.9),
        ({"reward.ensemble_size": 5, "reward.aggregate": "min"}, 0.3),
    ]
    cells = []
    for overrides, scale in objectives:
        rows = []
        for seed in range(3):
            for arm in ("label_noise", "incomplete_criteria"):
                rows += rows_for(arm, seed, (1.0, 0.5 * scale), (1.0, 0.6 * scale), rng)
        cells.append((overrides, rows))
    result = analyse_coste(write_sweep(tmp_path, "coste", cells, "coste"))
    assert result["objectives"] == ["single", "mean ×5", "min (WCO) ×5"]
    by = {(r["arm"], r["optimizer"], r["objective"]): r for r in result["table"]}
    wco = by[("incomplete_criteria", "bon", "min (WCO) ×5")]
    assert wco["vs_single_drop"]["hi"] < 0 and wco["vs_single_gold_final"]["lo"] > 0
    assert wco["seeds"] == [0, 1, 2]
    single = by[("incomplete_criteria", "bon", "single")]
    assert wco["vs_single_gold_final"]["mean"] == pytest.approx(
        wco["gold_final"]["mean"] - single["gold_final"]["mean"]
    )
    assert any(
        "min (WCO) ×5: drop" in v and "reduces the drop and ends higher" in v for v in result["verdicts"]
    )
    sections = render_coste(load_sweep(tmp_path), result)
    assert sum(body.count("data:image/png;base64,") for _, body in sections) == 2
