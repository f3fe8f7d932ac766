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
    assert set(KINDS) == {"simulated", "expert", "judge", "assisted", "chain", "human", "debate"}


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
