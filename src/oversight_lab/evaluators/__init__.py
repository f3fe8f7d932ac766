"""Evaluators: one interface; every evaluator kind (``kinds``: simulated, expert, judge, assisted, chain,
human) and every flaw (``flaws``, ``biases``)."""

from oversight_lab.evaluators import biases  # noqa: E402,F401  (registers the bias flaws)
from oversight_lab.evaluators.base import Evaluator, Preference, to_comparison
from oversight_lab.evaluators.flaws import (
    FLAWS,
    AbsentSupervisor,
    Flaw,
    HiddenInformation,
    IncompleteCriteria,
    Noise,
    make_flaw,
    register_flaw,
)
from oversight_lab.evaluators.kinds import KINDS, SpecError, build_evaluator, check_spec, register_kind
from oversight_lab.evaluators.simulated import ExpertEvaluator, SimulatedEvaluator

__all__ = [
    "FLAWS", "KINDS", "AbsentSupervisor", "Evaluator", "ExpertEvaluator", "Flaw", "HiddenInformation",
    "IncompleteCriteria", "Noise", "Preference", "SimulatedEvaluator", "SpecError", "build_evaluator",
    "check_spec", "make_flaw", "register_flaw", "register_kind", "to_comparison",
]
