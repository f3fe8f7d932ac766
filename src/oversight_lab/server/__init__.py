"""The web app where people give comparisons, and experts gold: human feedback and sandwiching studies.

Install with the ``server`` extra. Heavy parts (FastAPI, SQLAlchemy, Alembic) are imported lazily, so
``import oversight_lab.server`` is cheap; see docs/server.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "HumanEvaluator",
    "HumanEvaluatorTimeout",
    "StudyConfig",
    "StudyError",
    "create_app",
    "export_study",
    "load_study",
    "parse_study",
    "register",
]

_WHERE = {
    "StudyConfig": "study", "StudyError": "study", "load_study": "study", "parse_study": "study",
    "create_app": "app", "HumanEvaluator": "evaluator", "HumanEvaluatorTimeout": "evaluator",
    "export_study": "export", "register": "cli",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"oversight_lab.server.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'oversight_lab.server' has no attribute {name!r}")
