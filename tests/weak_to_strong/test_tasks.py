"""The questions: gold is the world's hidden rule, sets are balanced, the blind supervisor's training never
shows a blind ingredient, random flips are independent of the question; bad settings are config errors."""

from __future__ import annotations

import numpy as np
import pytest

from oversight_lab.config import ConfigError, check_inputs, resolve_config
from oversight_lab.weak_to_strong.tasks import flip_labels, make_task_data
from oversight_lab.worlds import AlchemyWorld

TASKS = ["mercury", "mercury_blind", "mercury_noisy"]


def _recipe(text: str) -> list[str]:
    words = text.split()
    return words[words.index("does") + 1 : words.index("contain")]


def test_gold_is_the_dose_rule_and_every_set_is_balanced():
    world = AlchemyWorld()
    data = make_task_data(world, TASKS, recipe_size=5, dose=2, n_weak=40, n_student=40, n_test=60,
                          blind_fraction=0.5, seed=3)
    assert len(data.blind) == 2 and data.blind <= world.toxic
    for qs in (data.student_train, data.test, *data.weak_train.values()):
        if qs is not data.weak_train["mercury_blind"]:  # balanced by gold (that one by its labeller, below)
            assert sum(q.gold for q in qs) == len(qs) // 2
        for q in qs:
            recipe = _recipe(q.text)
            assert len(set(recipe)) == 5
            assert q.gold == int(sum(i in world.toxic for i in recipe) >= 2)
            assert q.blind == any(i in data.blind for i in recipe)
    # the blind supervisor's labels count only the mercury it knows: wrong just where blind ones make the dose
    blind_qs, blind_labels = data.weak_train["mercury_blind"], data.weak_labels["mercury_blind"]
    assert sum(blind_labels) == len(blind_qs) // 2  # balanced by its own labels
    for q, label in zip(blind_qs, blind_labels, strict=True):
        assert label == int(sum(i in world.toxic - data.blind for i in _recipe(q.text)) >= 2)
    assert any(q.gold != label for q, label in zip(blind_qs, blind_labels, strict=True))
    assert all(q.blind for q, label in zip(blind_qs, blind_labels, strict=True) if q.gold != label)
    assert data.weak_labels["mercury"] == [q.gold for q in data.weak_train["mercury"]]
    assert any(q.blind for q in data.weak_train["mercury"]) and any(q.blind for q in data.test)
    assert data.weak_train["mercury"] is data.weak_train["mercury_noisy"]
    again = make_task_data(world, TASKS, 5, 2, 40, 40, 60, 0.5, seed=3)
    assert [q.text for q in again.test] == [q.text for q in data.test]  # seeded


def test_random_flips_hit_the_rate_and_invert_the_label():
    probs = np.linspace(0.01, 0.99, 4000)
    out, flipped = flip_labels(probs, 0.2, seed=1)
    assert abs(flipped.mean() - 0.2) < 0.03
    assert np.allclose(out[flipped], 1 - probs[flipped]) and np.array_equal(out[~flipped], probs[~flipped])
    # independent of the question: the flip rate is the same on yes and no questions
    assert abs(flipped[probs > 0.5].mean() - flipped[probs < 0.5].mean()) < 0.05


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match=r"config key 'w2s.sizes'.*unknown model size 'xxl'"):
        resolve_config({"experiment": "weak_to_strong"}, {"w2s.sizes": ["xs", "xxl"]})
    with pytest.raises(ConfigError, match=r"config key 'w2s.sizes'.*at least two"):
        resolve_config({}, {"w2s.sizes": ["m"]})
    with pytest.raises(ConfigError, match=r"config key 'w2s.tasks'.*unknown task"):
        resolve_config({}, {"w2s.tasks": ["mercury", "poison"]})
    with pytest.raises(ConfigError, match=r"config key 'w2s'.*dose 4"):
        check_inputs(resolve_config({"experiment": "weak_to_strong"}, {"w2s.dose": 4}))
    with pytest.raises(ConfigError, match=r"config key 'w2s'.*recipe world"):
        check_inputs(resolve_config({"experiment": "weak_to_strong"}, {"world": "opinions"}))
    with pytest.raises(ConfigError, match=r"config key 'w2s.sizes'"):
        check_inputs(resolve_config({"experiment": "weak_to_strong"},
                                    {"w2s.sizes": ["xs", "hf:/no/such/dir"]}))
    check_inputs(resolve_config({"experiment": "weak_to_strong"}, {}))
