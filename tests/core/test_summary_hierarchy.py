"""The run summary over replicates: intervals over pretraining seeds, rates kept in range, counts as ranges."""

import pytest

from oversight_lab.runs.summary import summarise


def rows_for(values: dict[tuple[int, int], float], peak_n: dict[tuple[int, int], int]) -> list[dict]:
    rows = []
    for (p, s), v in values.items():
        base = {"arm": "flawed", "pretrain_seed": p, "seed": s}
        rows.append({**base, "optimizer": "initial", "step": 0, "gold/mean": 0.5, "proxy/mean": 0.0,
                     "fail/toxic": 0.0})
        rows.append({**base, "optimizer": "rl", "step": 40, "gold/mean": 0.5, "proxy/mean": 1.0,
                     "kl/seq_k1": 0.1, "fail/toxic": v, "fail/undisclosed_toxic": v})
        for n in (1, 2, 4, 8):
            rows.append({**base, "optimizer": "bon", "step": n, "gold/mean": 1.0 if n == peak_n[(p, s)] else 0.0,
                         "proxy/mean": float(n), "fail/toxic": 0.0})
    return rows


def test_rates_are_estimated_over_pretraining_seeds_and_stay_in_range():
    reps = [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 5)]
    values = {(0, 0): 0.0, (0, 1): 0.2, (1, 2): 0.0, (1, 3): 0.0, (2, 4): 0.9, (2, 5): 0.9}
    peaks = {r: n for r, n in zip(reps, [1, 2, 2, 4, 8, 8], strict=True)}
    s = summarise(rows_for(values, peaks), ["flawed"], reps)
    toxic = s["arms"]["flawed"]["aggregate"]["rl_toxic_final"]
    assert toxic["mean"] == pytest.approx((0.1 + 0.0 + 0.9) / 3)  # RLHF seeds averaged within pretraining seeds
    assert toxic["lo"] == 0.0 and toxic["hi"] <= 1.0  # a t-interval would go below zero here
    assert "3 pretraining seeds" in toxic["method"]
    n_peak = s["arms"]["flawed"]["aggregate"]["bon_n_peak"]
    assert (n_peak["mean"], n_peak["lo"], n_peak["hi"]) == (3.0, 1.0, 8.0)  # median and range
    assert s["replicates"] == [list(r) for r in reps]


def test_another_optimisers_rows_are_summarised_by_name():
    rows = rows_for({(0, 0): 0.1}, {(0, 0): 1})
    base = {"arm": "flawed", "pretrain_seed": 0, "seed": 0, "optimizer": "sft_chosen"}
    rows += [{**base, "step": 0, "gold/mean": 0.5, "proxy/mean": 0.0, "fail/toxic": 0.0},
             {**base, "step": 2, "gold/mean": 0.2, "proxy/mean": 0.7, "fail/toxic": 0.4}]
    s = summarise(rows, ["flawed"], [(0, 0)])
    h = s["arms"]["flawed"]["per_seed"]["0"]
    assert (h["sft_chosen_gold_final"], h["sft_chosen_proxy_gain"], h["sft_chosen_toxic_final"]) == (0.2, 0.7, 0.4)
    assert "sft_chosen_gold_final" in s["headlines"] and "bon_gold_peak" in s["headlines"]
