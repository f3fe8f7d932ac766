"""Scalable-oversight protocols: model judges (RLAIF), assisted and chained evaluators, evaluator advantage
and deployment shift, sandwiching.

The evaluators and the ``absent_supervisor`` flaw live in :mod:`oversight_lab.evaluators` (kinds ``judge``,
``assisted``, ``chain``, built for an arm by :mod:`oversight_lab.evaluators.kinds`); the scenarios are in
:mod:`oversight_lab.scenarios.protocols`; :mod:`oversight_lab.analyses.protocols` turns a finished run
directory into the protocol's headline numbers; :mod:`oversight_lab.protocols.metrics` holds the sandwich gap
and performance gap recovered. Submodules are imported on use (torch stays out of the CLI's startup).
"""

__all__ = ["metrics"]
