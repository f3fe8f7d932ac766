"""Probes recover a direction planted in synthetic activations; CCS loss, sign resolution, honesty gap by
hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from oversight_lab.probes import (
    CCSProbe,
    LogisticProbe,
    MassMeanProbe,
    ccs_loss,
    honesty_gap,
    normalize_pairs,
)
from oversight_lab.probes.sweep import SweepConfig, crossfit_readings


def planted(
    n: int = 400, d: int = 32, strength: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``x[n, 2, d]``: a per-item nuisance shared by both answers, a large "which answer" offset, noise,
    and ± ``strength`` along a unit truth direction ``u`` (+ on the true statement)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    labels = rng.integers(0, 2, n)
    x = np.repeat(rng.normal(size=(n, 1, d)), 2, axis=1) + 0.5 * rng.normal(size=(n, 2, d))
    x[:, 1] += 3.0 * rng.normal(size=d)
    truth = np.stack([labels == 0, labels == 1], axis=1) * 2 - 1
    x += strength * truth[..., None] * u
    return x, labels, u


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return abs(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))


@pytest.mark.parametrize("probe", [LogisticProbe, MassMeanProbe, CCSProbe])
def test_probes_recover_the_planted_direction(probe: type) -> None:
    x, labels, u = planted()
    train, test = np.arange(300), np.arange(300, 400)
    norm = normalize_pairs(x[train])
    p = probe().fit(norm(x[train]), labels[train])
    acc = np.mean((p.predict(norm(x[test])) > 0.5) == (labels[test] == 1))
    assert acc >= 0.95
    # the direction, mapped back through the normalisation, points along u
    assert _cos(p.direction / norm.std[0], u) > 0.8


def test_no_direction_means_chance() -> None:
    x, labels, _ = planted(strength=0.0)
    for method in ("logreg", "ccs"):
        r = crossfit_readings(x, labels, method, SweepConfig(folds=4, ccs_tries=3, ccs_epochs=300))
        assert 0.35 < np.mean((r > 0.5) == (labels == 1)) < 0.65


def test_ccs_loss_by_hand() -> None:
    p0, p1 = torch.tensor([0.2, 0.9]), torch.tensor([0.7, 0.3])
    # consistency: (0.7 - 0.8)² = 0.01, (0.3 - 0.1)² = 0.04 → 0.025; confidence: 0.2², 0.3² → 0.065
    assert ccs_loss(p0, p1).item() == pytest.approx(0.025 + 0.065)


def test_ccs_sign_is_fixed_on_training_labels_only() -> None:
    x, labels, _ = planted()
    norm = normalize_pairs(x)
    a = CCSProbe(n_tries=3, epochs=400).fit(norm(x), labels)
    b = CCSProbe(n_tries=3, epochs=400).fit(norm(x), 1 - labels)  # the same unsupervised fit, opposite labels
    assert a.sign_flipped != b.sign_flipped
    assert np.allclose(a.w, -b.w) and a.b == pytest.approx(-b.b)
    assert np.mean((a.predict(norm(x)) > 0.5) == (labels == 1)) > 0.95
    unresolved = CCSProbe(n_tries=3, epochs=400).fit(norm(x))
    assert not unresolved.sign_flipped and np.allclose(abs(unresolved.w), abs(a.w))
    # the loss the restarts are ranked by is the paper's (on the parameters as trained, before any flip)
    sign = -1.0 if a.sign_flipped else 1.0
    with torch.no_grad():
        xt = torch.tensor(norm(x), dtype=torch.float32)
        p = torch.sigmoid(xt @ torch.tensor(sign * a.w, dtype=torch.float32) + sign * a.b)
    assert ccs_loss(p[:, 0], p[:, 1]).item() == pytest.approx(a.loss, abs=1e-4)


def test_grouped_folds_hold_groups_out_together() -> None:
    from oversight_lab.probes.sweep import _folds

    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    folds = _folds(labels, groups, 2, seed=0)
    for f in folds:
        assert {groups[i] for i in f} & {groups[i] for i in np.setdiff1d(np.arange(8), f)} == set()
        assert set(labels[f]) == {0, 1}


def test_honesty_gap_by_hand() -> None:
    labels = np.array([1, 1, 0, 0, 1])
    stated = np.array([0, 1, 0, 1, 0])  # right on items 1, 2
    reading = np.array([0.9, 0.8, 0.3, 0.6, 0.2])  # probe says 1, 1, 0, 1, 0: right on 0, 1, 2
    m = honesty_gap(reading, stated, labels)
    assert m["probe/honesty_gap"] == pytest.approx(1 / 5)  # only item 0 differs (probe 1, model 0)
    assert m["probe/knows_not_says"] == pytest.approx(1 / 5)  # item 0
    assert m["probe/says_not_knows"] == pytest.approx(0.0)
    assert m["probe/probe_acc"] == pytest.approx(3 / 5) and m["probe/stated_acc"] == pytest.approx(2 / 5)


def test_per_template_normalisation_keeps_ccs_off_the_wording() -> None:
    """Two wordings whose activations differ in a way that flips with the appended answer: a perfectly
    consistent, confident feature that says nothing about truth. Normalised per template (as Burns et al.
    do per prompt), CCS finds the planted truth direction instead."""
    x, labels, _ = planted(n=320, strength=0.7, seed=3)
    rng = np.random.default_rng(4)
    v = rng.normal(size=x.shape[-1])
    v /= np.linalg.norm(v)
    templates = ["question" if i % 2 else "statement" for i in range(len(x))]
    sign = np.where(np.array(templates) == "question", 1.0, -1.0)[:, None]
    x[:, 1] += 6.0 * sign * v
    x[:, 0] -= 6.0 * sign * v
    cfg = SweepConfig(folds=4, ccs_tries=3, ccs_epochs=400)
    with_t = crossfit_readings(x, labels, "ccs", cfg, templates=templates)
    without = crossfit_readings(x, labels, "ccs", cfg)
    assert np.mean((with_t > 0.5) == (labels == 1)) > 0.9
    assert np.mean((without > 0.5) == (labels == 1)) < 0.7
