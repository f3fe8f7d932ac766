"""Evaluators: one interface; simulated evaluators composed from flaws; the expert."""

from oversight_lab.evaluators import biases  # noqa: E402,F401  (registers the bias flaws)
from oversight_lab.evaluators.base import Evaluator, Preference, to_comparison
from oversight_lab.evaluators.flaws import (
    FLAWS,
    Flaw,
    HiddenInformation,
    IncompleteCriteria,
    Noise,
    make_flaw,
    register_flaw,
)
from oversight_lab.evaluators.simulated import ExpertEvaluator, SimulatedEvaluator

__all__ = [
    "FLAWS", "Evaluator", "ExpertEvaluator", "Flaw", "HiddenInformation", "IncompleteCriteria", "Noise",
    "Preference", "SimulatedEvaluator", "make_flaw", "register_flaw", "to_comparison",
]
