"""The eval-side calibration (temperature scaling, NLL, the summary) and the cluster bootstrap. ECE, Brier,
AUROC and McNemar are the lab's one implementation, tested in tests/metrics/test_calibration.py."""

from __future__ import annotations

import numpy as np
import pytest

from oversight_lab.evals.items import Item, Scored
from oversight_lab.evals.metrics import calibration_summary, fit_temperature, nll
from oversight_lab.metrics.stats import bootstrap_mean_ci, cluster_bootstrap
from oversight_lab.metrics.calibration import brier, ece


def test_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (4000, 4))
    true_t = 2.5
    p = np.exp(logits / true_t)
    p /= p.sum(1, keepdims=True)
    targets = np.array([rng.choice(4, p=row) for row in p])
    t = fit_temperature(logits, targets)
    assert t == pytest.approx(true_t, rel=0.08)
    assert nll(logits, targets, t) < nll(logits, targets, 1.0)


def test_nll_and_temperature_refuse_bad_input() -> None:
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="logits must be finite"):
        nll(np.array([[0.0, np.nan, 1.0]]), np.array([0]))
    with pytest.raises(ValueError, match="logits and targets must have one length"):
        nll(logits, np.array([0]))
    with pytest.raises(ValueError, match="targets must be integer indices"):
        fit_temperature(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nll(logits, np.array([0, 1]), temperature=0.0)


def _item(k: int, target: int) -> Item:
    return Item(id=f"q{k}", task="t", prompt="p", choices=(" A", " B"), target=target)


def test_calibration_summary_counts_unparsed_answers_as_wrong_and_leaves_them_out_of_calibration() -> None:
    parsed = [
        Scored(_item(0, 0), [0.9, 0.1], "loglikelihood"),
        Scored(_item(1, 1), [0.8, 0.2], "loglikelihood"),
        Scored(_item(2, 1), [0.3, 0.7], "loglikelihood"),
    ]
    unparsed = [Scored(_item(3, 0), [], "generation", generated="I am not sure.", unparsed=True)]
    m = calibration_summary("calib/x", parsed + unparsed, fit_temperature=False)
    conf, correct = [0.9, 0.8, 0.7], [1, 0, 1]
    assert m["calib/x/acc"] == pytest.approx(2 / 4)  # the unparsed answer is not a hit
    assert m["calib/x/unparsed_rate"] == 0.25 and m["calib/x/n"] == 4
    assert m["calib/x/ece"] == pytest.approx(ece(conf, correct))  # over the parsed answers only
    assert m["calib/x/brier_top"] == pytest.approx(brier(conf, correct))
    assert m["calib/x/confidence"] == pytest.approx(0.8)


def test_cluster_bootstrap_is_wider_for_correlated_clusters() -> None:
    rng = np.random.default_rng(2)
    cluster_effect = np.repeat(rng.normal(0, 1, 20), 10)  # 20 questions, 10 templates each
    values = cluster_effect + rng.normal(0, 0.1, 200)
    keys = [str(i // 10) for i in range(200)]
    mean, lo, hi = bootstrap_mean_ci(values, keys, n_boot=400)
    _, lo_i, hi_i = bootstrap_mean_ci(values, [str(i) for i in range(200)], n_boot=400)
    assert lo < mean < hi
    assert (hi - lo) > 2 * (hi_i - lo_i)  # treating items as independent would be overconfident
    with pytest.raises(ValueError, match="values must be finite"):
        bootstrap_mean_ci(np.array([0.1, np.nan]), ["a", "b"])
    with pytest.raises(ValueError, match="values and keys must have one length"):
        bootstrap_mean_ci(np.array([0.1, 0.2]), ["a"])
    with pytest.raises(ValueError, match="n_boot must be an integer"):
        bootstrap_mean_ci(np.array([0.1, 0.2]), ["a", "b"], n_boot=0)
    with pytest.raises(ValueError, match="level must lie in"):
        cluster_bootstrap([np.array([0])], lambda idx: {"m": 0.0}, level=95)
