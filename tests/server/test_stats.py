"""Statistics against hand-computed values and reference implementations (sklearn, krippendorff)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oversight_lab.server.stats import (
    bootstrap_gap,
    calibration,
    cohen_kappa,
    credit,
    krippendorff_alpha,
    sandwich_gap,
    wilson,
)


def test_wilson_hand_computed() -> None:
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_cohen_kappa_hand_and_sklearn() -> None:
    from sklearn.metrics import cohen_kappa_score

    assert cohen_kappa([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(-1, 2, size=30).tolist()
        b = [x if rng.random() < 0.6 else int(rng.integers(-1, 2)) for x in a]
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert math.isnan(cohen_kappa([1, 1], [1, 1]))
    with pytest.raises(ValueError, match="2 labels against 3"):
        cohen_kappa([1, 2], [1, 2, 3])


def test_krippendorff_alpha_hand_computed() -> None:
    # o = [[2,1],[1,2]], n = 6: alpha = 1 - (2/6) / (18/30) = 4/9
    assert krippendorff_alpha([[1, 1], [2, 2], [1, 2]], "nominal") == pytest.approx(4 / 9)
    # a unit with a single value is not pairable and changes nothing
    assert krippendorff_alpha([[1, 1], [2, 2], [1, 2], [2, None]], "nominal") == pytest.approx(4 / 9)
    assert math.isnan(krippendorff_alpha([[1, 1], [1, 1]]))
    assert math.isnan(krippendorff_alpha([[1], [2]]))


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_krippendorff_alpha_matches_reference(level: str) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(1)
    for trial in range(10):
        coders, units = 4, 25
        truth = rng.integers(-3, 4, size=units)
        data = np.where(rng.random((coders, units)) < 0.7, truth, rng.integers(-3, 4, size=(coders, units)))
        data = data.astype(float)
        data[rng.random((coders, units)) < 0.3] = np.nan  # missing values
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        units_list = [[None if np.isnan(v) else float(v) for v in data[:, u]] for u in range(units)]
        assert krippendorff_alpha(units_list, level) == pytest.approx(ref, abs=1e-9), (level, trial)


def test_calibration_hand_computed() -> None:
    out = calibration([0.6, 0.6, 0.9, 0.9], [1, 0, 1, 1])
    assert out["ece"] == pytest.approx(0.1)
    assert out["brier"] == pytest.approx((0.16 + 0.36 + 0.01 + 0.01) / 4)
    assert [b["n"] for b in out["bins"]] == [2, 2]
    assert calibration([], [])["ece"] is None
    # confidence 1.0 falls in the last bin, not past it
    assert calibration([1.0], [1])["bins"][0]["hi"] == 1.0


def test_sandwich_gap_and_credit() -> None:
    assert sandwich_gap(0.7, 0.6, 0.9) == pytest.approx(1 / 3)
    assert sandwich_gap(0.6, 0.6, 0.9) == 0.0
    assert sandwich_gap(0.7, 0.9, 0.9) is None  # experts no better than unaided: undefined
    assert sandwich_gap(None, 0.6, 0.9) is None
    assert credit(-2, 0) == 1.0 and credit(2, 0) == 0.0 and credit(3, 1) == 1.0 and credit(0, 1) == 0.5


def test_bootstrap_gap_covers_the_estimate() -> None:
    rng = np.random.default_rng(2)
    n = 60
    counts = np.full((n, 2), 3.0)
    sums = np.stack([rng.binomial(3, 0.6, n), rng.binomial(3, 0.8, n)], axis=1).astype(float)
    ci = bootstrap_gap(sums, counts, np.zeros(n), np.zeros(n), assisted=1, unaided=0, expert_fixed=1.0)
    assert ci is not None
    acc = sums.sum(0) / counts.sum(0)
    point = sandwich_gap(acc[1], acc[0], 1.0)
    assert ci[0] < point < ci[1]
    assert bootstrap_gap(sums[:1], counts[:1], np.zeros(1), np.zeros(1), 1, 0, expert_fixed=1.0) is None


def test_poisson_rate_exact_interval_and_too_few() -> None:
    from oversight_lab.server.stats import poisson_rate

    r = poisson_rate(10, 3600.0, min_n=10, per=3600.0)  # 10 events in one hour
    assert r["rate"] == pytest.approx(10.0) and r["too_few"] is False
    assert r["ci"] == pytest.approx([4.7954, 18.3904], abs=1e-3)  # Garwood's exact interval for n = 10
    assert poisson_rate(20, 1800.0, per=3600.0)["rate"] == pytest.approx(40.0)
    few = poisson_rate(1, 1.3, per=3600.0)  # one label 1.3 s after serving is not 2,769 labels an hour
    assert few == {"n": 1, "rate": None, "ci": None, "too_few": True, "min_n": 10}
    assert poisson_rate(50, 0.0)["too_few"] is True
