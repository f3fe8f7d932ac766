"""Built-in eval tasks; importing this package registers them in :data:`TASKS`."""

from oversight_lab.evals.tasks import calibration, mwe, persona, sharma, truthfulqa, world
from oversight_lab.evals.tasks.base import TASKS, EvalTask, make_task, register_task

__all__ = [
    "TASKS",
    "EvalTask",
    "calibration",
    "make_task",
    "mwe",
    "persona",
    "register_task",
    "sharma",
    "truthfulqa",
    "world",
]
