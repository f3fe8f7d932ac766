"""Behavioural evaluation of any model on public datasets, with per-sample logs.

Tasks (sycophancy in the model-written-evals and sycophancy-eval formats, TruthfulQA MC1/MC2, sandbagging by
persona, calibration) build items; backends (Hugging Face models by log-likelihood, OpenAI-compatible
endpoints by the best logprob method they offer) score them; metrics, paired comparisons and HTML reports read
the logs. See docs/evals.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# names are imported on first use, so the CLI (which registers `eval`) does not load scipy and the backends
_EXPORTS = {
    "Backend": "backends",
    "load_backend": "backends",
    "resolve_checkpoint": "backends",
    "compare_logs": "compare",
    "write_comparison": "compare",
    "DataFormatError": "data",
    "Item": "items",
    "Scored": "items",
    "EvalLog": "logs",
    "load_activations": "logs",
    "read_eval_log": "logs",
    "render_compare_report": "report",
    "render_eval_report": "report",
    "evaluate_task": "runner",
    "run_eval": "runner",
    "TASKS": "tasks",
    "EvalTask": "tasks",
    "make_task": "tasks",
    "register_task": "tasks",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"oversight_lab.evals.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'oversight_lab.evals' has no attribute {name!r}")


__all__ = [
    "TASKS",
    "Backend",
    "DataFormatError",
    "EvalLog",
    "EvalTask",
    "Item",
    "Scored",
    "compare_logs",
    "evaluate_task",
    "load_activations",
    "load_backend",
    "make_task",
    "read_eval_log",
    "register_task",
    "render_compare_report",
    "render_eval_report",
    "resolve_checkpoint",
    "run_eval",
    "write_comparison",
]
