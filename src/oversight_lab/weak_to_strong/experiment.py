"""One replicate of weak-to-strong (Burns et al. 2023), top to bottom.

For a (pretraining seed, seed) and every size of the grid: the pretrained model of that size (cached per
size and pretraining seed; an ``hf:`` size is loaded as it is). Then, per task:

1. the **weak supervisor** of each size but the strongest: fine-tuned on the gold labels of the task's weak
   training set (``mercury_blind``: on its blind labeller's labels); it labels the student's training set
   (``mercury_noisy``: its labels then flipped at random);
2. the **strong ceiling** of each size but the weakest: fine-tuned on the gold labels of the student's
   training set (one per size: every task shares that set);
3. the **student** of each (weak, strong) pair: the strong size fine-tuned on the weak supervisor's labels. It
   never sees gold: its only targets are the weak labels (``student_targets``).

Every accuracy is measured against gold on the shared test set. The weak supervisor's accuracy is that of the
labels it would give there (flips included for ``mercury_noisy``). Imitation: the student's agreement with the
weak labels on the test questions the supervisor gets wrong, and on those it gets right. Returns metric rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from oversight_lab.models.sizes import is_hf, shape_of, size_order
from oversight_lab.weak_to_strong.config import W2SConfig
from oversight_lab.weak_to_strong.tasks import Question, TaskData, flip_labels, make_task_data
from oversight_lab.worlds.base import World

__all__ = ["model_path", "pairs", "run_replicate", "student_targets"]


def pairs(sizes: list[str]) -> list[tuple[str, str]]:
    """Every (weak, strong) pair of the grid, weak earlier in the list than strong."""
    return [(w, s) for i, w in enumerate(sizes) for s in sizes[i + 1 :]]


def model_path(world: World, size: str, base: Any, pretrain_seed: int) -> Path:
    """The pretrained model of ``size`` for ``pretrain_seed`` (pretrained here and cached on a miss), or the
    ``hf:`` model's directory. ``base`` is the run's ``TinyConfig`` (corpus and budget)."""
    if is_hf(size):
        from oversight_lab.models.hub import resolve_model

        return Path(resolve_model(size[3:]))
    from oversight_lab.models.tiny import load_or_pretrain

    layers, width, heads = shape_of(size)
    cfg = replace(base, n_layer=layers, n_embd=width, n_head=heads, seed=pretrain_seed)
    return load_or_pretrain(world, cfg)[2]


def student_targets(weak_probs: np.ndarray, cfg: W2SConfig) -> np.ndarray:
    """What the student trains on: the weak supervisor's labels, hard (0/1) or soft. Gold never enters."""
    return weak_probs if cfg.soft_labels else (weak_probs > 0.5).astype(float)


def _texts(qs: list[Question]) -> list[str]:
    return [q.text for q in qs]


def _gold(qs: list[Question]) -> np.ndarray:
    return np.array([q.gold for q in qs], dtype=float)


def run_replicate(
    world: World, cfg: W2SConfig, base: Any, pretrain_seed: int, seed: int,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every row of one replicate: weak, ceiling and student accuracy per task and size (pair)."""
    from oversight_lab.weak_to_strong.train import fine_tune, load_classifier, predict

    say = progress or (lambda _: None)
    if sorted(cfg.sizes, key=size_order) != list(cfg.sizes):
        say("note: w2s.sizes are not in order of size; the list order decides weak and strong")
    paths = {s: model_path(world, s, base, pretrain_seed) for s in cfg.sizes}
    data: TaskData = make_task_data(world, cfg.tasks, cfg.recipe_size, cfg.dose, cfg.n_weak_train,
                                    cfg.n_student_train, cfg.n_test, cfg.blind_fraction, seed)
    test_gold = _gold(data.test)
    blind = np.array([q.blind for q in data.test])
    train_kw = dict(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr)
    unit = {"pretrain_seed": pretrain_seed, "seed": seed}

    def trained(size: str, qs_texts: list[str], targets: np.ndarray, what: str, **kw: Any) -> Any:
        t0 = time.perf_counter()
        clf = load_classifier(paths[size], size)
        log = fine_tune(clf, qs_texts, targets, seed=seed, **train_kw, **kw)
        say(f"{what} {size}: {log['steps']} steps in {time.perf_counter() - t0:.1f} s")
        return clf

    def acc(pred: np.ndarray, mask: np.ndarray | None = None) -> float:
        m = np.ones(len(pred), bool) if mask is None else mask
        return float(((pred > 0.5) == (test_gold > 0.5))[m].mean()) if m.any() else float("nan")

    rows: list[dict[str, Any]] = []
    ceiling: dict[str, np.ndarray] = {}
    for size in cfg.sizes[1:]:  # strong ceilings: gold of the student's training set
        clf = trained(size, _texts(data.student_train), _gold(data.student_train), "ceiling")
        ceiling[size] = predict(clf, _texts(data.test))
    # (size, blind task?) → the weak model's P(yes) on the student's set and on the test set
    weak_models: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
    for task in cfg.tasks:
        is_blind = task == "mercury_blind"
        supervisor: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # size → its labels: student set, test set
        for j, size in enumerate(cfg.sizes[:-1]):
            if (size, is_blind) not in weak_models:
                wt, wl = data.weak_train[task], np.array(data.weak_labels[task], dtype=float)
                clf = trained(size, _texts(wt), wl, f"weak ({task})")
                weak_models[size, is_blind] = (predict(clf, _texts(data.student_train)),
                                               predict(clf, _texts(data.test)))
            labels, on_test = weak_models[size, is_blind]
            if task == "mercury_noisy":  # random errors: independent of the question, on both sets
                labels = flip_labels(labels, cfg.flip_rate, seed=seed * 1000 + 2 * j)[0]
                on_test = flip_labels(on_test, cfg.flip_rate, seed=seed * 1000 + 2 * j + 1)[0]
            supervisor[size] = (labels, on_test)
            rows.append({**unit, "task": task, "role": "weak", "size": size, "acc": acc(on_test),
                         "acc_blind": acc(on_test, blind)})
        for size in cfg.sizes[1:]:
            rows.append({**unit, "task": task, "role": "ceiling", "size": size, "acc": acc(ceiling[size]),
                         "acc_blind": acc(ceiling[size], blind)})
        for weak, strong in pairs(cfg.sizes):
            labels, on_test = supervisor[weak]
            clf = trained(strong, _texts(data.student_train), student_targets(labels, cfg),
                          f"student {weak}→ ({task})", aux_conf=cfg.aux_conf, aux_warmup=cfg.aux_warmup)
            student = predict(clf, _texts(data.test))
            weak_wrong = (on_test > 0.5) != (test_gold > 0.5)
            agree = (student > 0.5) == (on_test > 0.5)
            rows.append({
                **unit, "task": task, "role": "student", "weak": weak, "strong": strong,
                "acc": acc(student), "weak_acc": acc(on_test), "ceiling_acc": acc(ceiling[strong]),
                "weak_label_acc": float(((labels > 0.5) == (_gold(data.student_train) > 0.5)).mean()),
                "acc_blind": acc(student, blind), "weak_acc_blind": acc(on_test, blind),
                "agree_on_weak_errors": float(agree[weak_wrong].mean()) if weak_wrong.any() else float("nan"),
                "agree_elsewhere": float(agree[~weak_wrong].mean()) if (~weak_wrong).any() else float("nan"),
                "n_weak_errors": int(weak_wrong.sum()),
            })
    return rows
