"""The ``absent_supervisor`` flaw now lives with every other flaw, in :mod:`oversight_lab.evaluators.flaws`.

This name stays only for ``scenarios/protocols.py``, which imports it; import the flaw from
``oversight_lab.evaluators`` instead.
"""

from oversight_lab.evaluators.flaws import AbsentSupervisor

__all__ = ["AbsentSupervisor"]
