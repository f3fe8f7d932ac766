"""Scalable-oversight protocols: model judges (RLAIF), assisted and chained evaluators, evaluator advantage
and
deployment shift, sandwiching.

The evaluators live in :mod:`oversight_lab.evaluators` (``judge``, ``assisted``, ``chain``) and are built for
an arm by :func:`oversight_lab.protocols.evaluators.build_protocol_evaluator`; the scenarios are in
:mod:`oversight_lab.scenarios.protocols`; :mod:`oversight_lab.protocols.analyse` turns a finished run
directory
into the protocol's headline numbers and report; :mod:`oversight_lab.protocols.metrics` holds the sandwich gap
and performance gap recovered; :mod:`oversight_lab.protocols.supervision` holds the ``absent_supervisor``
flaw (the deployment shift of AI Safety Gridworlds, on the ``supervised`` world). Submodules are imported on
use (torch stays out of the CLI's startup).
"""

__all__ = ["analyse", "evaluators", "metrics", "supervision", "tiny_judge"]
