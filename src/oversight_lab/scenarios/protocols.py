"""Scalable-oversight protocols as scenarios: rlaif, assisted, layers, advantage, sandwich, absent_supervisor.

Each runs its arms through the ordinary closed loop, then the protocol analysis
(:mod:`oversight_lab.analyses.protocols`) named by ``protocol.analysis`` writes ``protocol.json`` and
``protocol.html`` into the run directory. The scenarios are files in ``oversight_lab/data/scenarios/``.
"""

from __future__ import annotations

from typing import Any

from oversight_lab.scenarios.loader import shared

__all__ = ["WEAK_FLAWS"]

# The non-expert: knows a quarter of the mercury-bearing ingredients, reads only the first item of an answer.
WEAK_FLAWS: list[dict[str, Any]] = shared("weak_flaws")
