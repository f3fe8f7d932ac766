"""Weak-to-strong generalisation (Burns et al. 2023): weak supervisors, students and strong ceilings over the
model-size family, on binary questions with hidden gold.

``config`` (``w2s.*``, no torch), ``tasks`` (the questions and the supervisor's error kinds), ``train`` (the
yes/no classifier and the auxiliary confidence loss), ``experiment`` (one replicate, top to bottom). The run
directory is written by :mod:`oversight_lab.runs.weak_to_strong`, analysed by
:mod:`oversight_lab.analyses.weak_to_strong`; PGR is :mod:`oversight_lab.metrics.pgr`.
"""

from oversight_lab.weak_to_strong.config import TASKS, W2SConfig

__all__ = ["TASKS", "W2SConfig"]
