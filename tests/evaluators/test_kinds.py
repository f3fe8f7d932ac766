"""The evaluator-kind registry: every kind the lab knows, and specs checked before anything is built."""

from __future__ import annotations

import pytest

from oversight_lab.evaluators import (
    KINDS,
    AbsentSupervisor,
    ExpertEvaluator,
    SimulatedEvaluator,
    SpecError,
    build_evaluator,
    check_spec,
)
from oversight_lab.evaluators.chain import ChainEvaluator
from oversight_lab.worlds import AlchemyWorld


def test_every_kind_is_registered():
    assert set(KINDS) == {
        "simulated", "expert", "judge", "assisted", "evaluatee_assisted", "layered", "chain", "human",
        "debate",
    }


@pytest.mark.parametrize(
    "kind,flaws,params,key,message",
    [
        ("oracle", [], {}, "kind", "unknown evaluator kind 'oracle'"),
        ("simulated", [{"kind": "blindness"}], {}, "flaws.0", "unknown evaluator flaw 'blindness'"),
        ("simulated", [{"kind": "noise"}, {"kind": "noise", "temprature": 1}], {}, "flaws.1", "temprature"),
        ("assisted", [], {"depth": 2}, "params", "unknown parameter(s) depth"),
        ("simulated", [], {"n_labels": 3}, "params", "allowed: none"),
    ],
)
def test_bad_specs_name_where(kind, flaws, params, key, message):
    with pytest.raises(SpecError) as e:
        check_spec(kind, flaws, params)
    assert e.value.key == key and message in e.value.message


def test_kinds_build_their_evaluators():
    world = AlchemyWorld()
    flaws = [{"kind": "incomplete_criteria", "known_fraction": 0.25}]
    sim = build_evaluator(world, "simulated", flaws, {}, seed=0, name="weak")
    assert type(sim) is SimulatedEvaluator and sim.name == "weak"
    assert type(build_evaluator(world, "expert", [], {}, seed=0, name="gold")) is ExpertEvaluator
    chain = build_evaluator(world, "chain", flaws, {"depth": 2, "n_labels": 6}, seed=0, name="c")
    assert isinstance(chain, ChainEvaluator) and len(chain.layers) == 2


def test_human_kind_needs_a_study_server():
    with pytest.raises(ValueError, match="base_url"):
        build_evaluator(AlchemyWorld(), "human", [], {}, seed=0, name="people")


def test_absent_supervisor_is_an_evaluator_flaw():
    built = check_spec("simulated", [{"kind": "absent_supervisor", "reads": 1}], {})
    assert built == [AbsentSupervisor(reads=1)]


def test_a_tiny_judge_starts_from_the_replicates_pretrained_evaluatee(monkeypatch, tmp_path) -> None:
    """One judge per pretraining seed: the loop hands the judge kind its replicate's tiny config (seed
    included), and a judge whose params name one keeps its own."""
    import oversight_lab.evaluators.tiny_judge as tiny_judge
    from oversight_lab.config import EvaluatorSpec
    from oversight_lab.loop import build_evaluator
    from oversight_lab.worlds import AlchemyWorld

    seen = []

    def fake_judge(world, cfg, constitution):
        seen.append(cfg.base)
        raise RuntimeError("stop here")

    monkeypatch.setattr(tiny_judge, "load_or_train_judge", fake_judge)
    spec = EvaluatorSpec(kind="judge")
    for pretrain_seed in (0, 1):
        with pytest.raises(RuntimeError, match="stop here"):
            build_evaluator(AlchemyWorld(), spec, 0, "flawed", pretrained={"seed": pretrain_seed, "steps": 500})
    own = EvaluatorSpec(kind="judge", params={"pretrained": {"seed": 7}})
    with pytest.raises(RuntimeError, match="stop here"):
        build_evaluator(AlchemyWorld(), own, 0, "flawed", pretrained={"seed": 1})
    assert seen == [{"seed": 0, "steps": 500}, {"seed": 1, "steps": 500}, {"seed": 7}]

    import oversight_lab.evaluators.debate_evaluator as debate

    debaters = []
    monkeypatch.setattr(debate, "evaluatee_debater", lambda world, seed: debaters.append(seed) or (lambda *a: []))
    build_evaluator(AlchemyWorld(), EvaluatorSpec(kind="debate"), 0, "flawed", pretrained={"seed": 2})
    assert debaters == [2]  # the replicate's pretrained evaluatee debates
