"""Behavioural evaluation of any model on public datasets, with per-sample logs.

Tasks (sycophancy in the model-written-evals and sycophancy-eval formats, TruthfulQA MC1/MC2, sandbagging by
persona, calibration) build items; backends (Hugging Face models by log-likelihood, OpenAI-compatible
endpoints by the best logprob method they offer) score them; metrics, paired comparisons and HTML reports read
the logs. See docs/evals.md.
"""

from oversight_lab.evals.backends import Backend, load_backend, resolve_checkpoint
from oversight_lab.evals.compare import compare_logs, write_comparison
from oversight_lab.evals.data import DataFormatError
from oversight_lab.evals.items import Item, Scored
from oversight_lab.evals.logs import EvalLog, load_activations, read_eval_log
from oversight_lab.evals.report import render_compare_report, render_eval_report
from oversight_lab.evals.runner import evaluate_task, run_eval
from oversight_lab.evals.tasks import TASKS, EvalTask, make_task, register_task

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
