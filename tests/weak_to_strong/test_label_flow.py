"""The label flow of one replicate: weak supervisors and ceilings train on gold, the student only on its weak
supervisor's labels (never gold), random flips reach the student of mercury_noisy; and the auxiliary
confidence target of Burns et al. Training is replaced by a recording fake: no model is trained here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

import oversight_lab.weak_to_strong.experiment as experiment
import oversight_lab.weak_to_strong.train as train
from oversight_lab.models.tiny import TinyConfig
from oversight_lab.weak_to_strong.config import W2SConfig
from oversight_lab.weak_to_strong.tasks import make_task_data
from oversight_lab.worlds import AlchemyWorld


@dataclass
class Fake:
    name: str
    seen: dict[str, float] = field(default_factory=dict)


def _noise(text: str, name: str) -> float:
    return int(hashlib.sha256(f"{name}/{text}".encode()).hexdigest()[:8], 16) / 16**8


@pytest.fixture
def recorded(monkeypatch):
    calls = []

    def fine_tune(clf, texts, targets, **kw):
        clf.seen = dict(zip(texts, targets, strict=True))
        calls.append({"size": clf.name, "texts": list(texts), "targets": np.asarray(targets), **kw})
        return {"steps": 1, "first_loss": 1.0, "final_loss": 0.5}

    def predict(clf, texts):  # recalls its training targets; elsewhere a fixed guess per (model, text)
        return np.array([clf.seen.get(t, _noise(t, clf.name)) for t in texts])

    monkeypatch.setattr(train, "load_classifier", lambda path, name: Fake(name))
    monkeypatch.setattr(train, "fine_tune", fine_tune)
    monkeypatch.setattr(train, "predict", predict)
    monkeypatch.setattr(experiment, "model_path", lambda world, size, base, p: Path(f"/models/{size}-{p}"))
    return calls


def test_the_student_sees_only_its_weak_supervisors_labels(recorded):
    world = AlchemyWorld()
    cfg = W2SConfig(sizes=["xs", "s", "m"], n_weak_train=32, n_student_train=32, n_test=32, aux_conf=0.5)
    rows = experiment.run_replicate(world, cfg, TinyConfig(), pretrain_seed=0, seed=7)
    data = make_task_data(world, cfg.tasks, cfg.recipe_size, cfg.dose, 32, 32, 32, cfg.blind_fraction, seed=7)
    gold = {q.text: float(q.gold) for q in [*data.student_train, *data.test, *data.weak_train["mercury"]]}
    blind_labeller = dict(zip([q.text for q in data.weak_train["mercury_blind"]],
                              map(float, data.weak_labels["mercury_blind"]), strict=True))
    student_texts = [q.text for q in data.student_train]
    weak_calls = [c for c in recorded if c["texts"] != student_texts]
    on_student_set = [c for c in recorded if c["texts"] == student_texts]
    # weak supervisors (xs, s) train on gold of their own set; the blind task's on its blind labeller's labels
    assert sorted(c["size"] for c in weak_calls) == ["s", "s", "xs", "xs"]
    for c in weak_calls:
        truth = blind_labeller if c["texts"][0] in blind_labeller else gold
        assert np.array_equal(c["targets"], [truth[t] for t in c["texts"]])
    # ceilings (s, m) train on the student set's gold; students on the weak labels, with the aux option
    ceilings = [c for c in on_student_set if "aux_conf" not in c]
    students = [c for c in on_student_set if "aux_conf" in c]
    assert sorted(c["size"] for c in ceilings) == ["m", "s"]
    assert all(np.array_equal(c["targets"], [gold[t] for t in student_texts]) for c in ceilings)
    assert len(students) == 3 * 3 and all(c["aux_conf"] == 0.5 for c in students)
    truth = np.array([gold[t] for t in student_texts])
    for c, r in zip(students, [r for r in rows if r["role"] == "student"], strict=True):
        assert set(np.unique(c["targets"])) <= {0.0, 1.0}  # hard weak labels by default
        assert not np.array_equal(c["targets"], truth)  # the fake supervisor errs: gold would show here
        assert r["weak_label_acc"] == pytest.approx(float(np.mean(c["targets"] == truth)))
        # the targets are the weak model's own guesses (flipped at random for mercury_noisy)
        guess = np.array([_noise(t, r["weak"]) > 0.5 for t in student_texts], dtype=float)
        agree = np.mean(c["targets"] == guess)
        assert agree == 1.0 if r["task"] != "mercury_noisy" else 0.6 < agree < 0.95
    by = {(r["task"], r["role"], r.get("size"), r.get("weak"), r.get("strong")): r for r in rows}
    ceiling = by["mercury", "ceiling", "m", None, None]["acc"]
    assert by["mercury", "student", None, "xs", "m"]["ceiling_acc"] == ceiling


def test_aux_conf_target_mixes_weak_labels_with_hardened_predictions():
    logits = torch.tensor([[2.0, -2.0], [0.0, 1.0], [-1.0, 3.0], [1.0, 0.5]])  # P(yes) ≈ .02, .73, .98, .38
    weak = torch.tensor([1.0, 0.0, 1.0, 0.0])  # half positive
    assert torch.allclose(train.aux_conf_targets(logits, weak, 0.0), torch.stack([1 - weak, weak], -1))
    hard = train.aux_conf_targets(logits, weak, 1.0)
    # the two most confident yes predictions become the batch's two positives (the weak labels' share)
    assert hard[:, 1].tolist() == [0.0, 1.0, 1.0, 0.0]
    mixed = train.aux_conf_targets(logits, weak, 0.25)
    assert torch.allclose(mixed, 0.75 * torch.stack([1 - weak, weak], -1) + 0.25 * hard)
    assert torch.allclose(mixed.sum(-1), torch.ones(4))
