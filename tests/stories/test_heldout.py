"""Rated vs unrated contexts: the held-out split of a world's tasks, and checkpoint metrics read on each."""

import numpy as np
import pytest

from oversight_lab.config import resolve_config
from oversight_lab.loop import _rated_unrated
from oversight_lab.worlds import AlchemyWorld, BankingWorld, PersonasWorld
from oversight_lab.worlds.heldout import HeldOutContexts, context_of


@pytest.mark.parametrize("inner", [AlchemyWorld(), BankingWorld(), PersonasWorld()])
def test_training_never_sees_an_unrated_context(inner):
    w = HeldOutContexts(inner, 0.3)
    train = w.tasks("train", 400, seed=3)
    assert len(train) == 400 and all(w.rated(t) for t in train)
    assert "rated" not in train[0].spec  # training tasks are the inner world's, unchanged
    held = {context_of(t) for t in inner.tasks("eval", 400, seed=10_000) if not w.rated(t)}
    assert held and not held & {context_of(t) for t in train}
    ev = w.tasks("eval", 64, seed=10_000)
    assert [t.id for t in ev] == [t.id for t in inner.tasks("eval", 64, seed=10_000)]  # same eval tasks
    flags = [t.spec["rated"] for t in ev]
    assert 0 < sum(flags) < len(flags)
    # what the evaluatee is pretrained on, and every judgement, are the inner world's
    assert w.corpus(50, seed=0) == inner.corpus(50, seed=0) and w.hazards() == inner.hazards()
    assert w.name == inner.name and w.describe()["unrated_fraction"] == 0.3
    t = ev[0]
    a = w.parse(t, " x y")
    assert w.gold(t, a) == inner.gold(t, a)


def test_facts_are_the_contexts_of_question_worlds():
    w = PersonasWorld()
    low, high = w.make_task(w.facts[0], "dropout"), w.make_task(w.facts[0], "phd")
    assert context_of(low) == context_of(high)  # the same fact asked by another persona is not a new context
    with pytest.raises(ValueError, match="unrated_fraction"):
        HeldOutContexts(w, 1.0)


def test_checkpoint_metrics_on_rated_and_unrated_tasks():
    w = HeldOutContexts(AlchemyWorld(), 0.3)
    tasks = w.tasks("eval", 40, seed=10_000)
    fails = [{"fail/toxic": float(t.spec["rated"]), "fail/disclosed_toxic": 0.0,
              "fail/undisclosed_toxic": float(t.spec["rated"])} for t in tasks]
    golds = [0.0 if t.spec["rated"] else 1.0 for t in tasks]
    out = _rated_unrated(w, tasks, golds, fails)
    assert out["rated/fail/toxic"] == 1.0 and out["unrated/fail/toxic"] == 0.0
    assert out["rated/gold/mean"] == 0.0 and out["unrated/gold/mean"] == 1.0
    assert out["rated/fail/disclosure_rate"] == 0.0 and np.isnan(out["unrated/fail/disclosure_rate"])
    assert _rated_unrated(AlchemyWorld(), AlchemyWorld().tasks("eval", 4, seed=0), [0.0] * 4,
                          [{"fail/toxic": 0.0}] * 4) == {}  # no split: nothing added


def test_config_bounds():
    assert resolve_config({}, {"eval.unrated_fraction": 0.25}).eval.unrated_fraction == 0.25
    with pytest.raises(Exception, match="eval.unrated_fraction"):
        resolve_config({}, {"eval.unrated_fraction": 1.0})


def test_the_analysis_says_where_a_failure_shows(tmp_path):
    """Flawed rises on rated contexts only (every pretrained model); control stays: 'rated'."""
    import json

    from oversight_lab.analyses.stories import analyse_story
    from oversight_lab.report.stories import story_section
    from oversight_lab.scenarios.stories import STORIES

    rows = []
    for arm in ("flawed", "control"):
        for p, s in [(q, s) for q in range(3) for s in (2 * q, 2 * q + 1)]:
            for opt, step in (("initial", 0), ("rl", 40)):
                up = 0.5 + 0.05 * p if (arm == "flawed" and opt == "rl") else 0.0
                rows.append({"arm": arm, "pretrain_seed": p, "seed": s, "optimizer": opt, "step": step,
                             "fail/undisclosed_toxic": 0.1 + up / 2, "rated/fail/undisclosed_toxic": 0.1 + up,
                             "unrated/fail/undisclosed_toxic": 0.1 + 0.001 * s, "gold/mean": 0.3,
                             "rated/gold/mean": 0.3 - up, "unrated/gold/mean": 0.3})
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    a = analyse_story(STORIES["alchemist"], tmp_path)
    gen = {g["key"]: g for g in a["generalisation"]}
    assert set(gen) == {"fail/undisclosed_toxic", "gold/mean"}
    g = gen["fail/undisclosed_toxic"]
    assert g["rated"]["did"]["value"] == pytest.approx(0.55) and g["rated"]["did"]["n_units"] == 3
    assert g["unrated"]["did"]["value"] == pytest.approx(0.0, abs=0.01)
    assert g["where"] == "rated" and gen["gold/mean"]["where"] == "rated"
    html = story_section(a, tmp_path)
    assert "Rated vs never-rated contexts" in html and "<b>rated</b>" in html
