"""Inspect's entry point: importing this registers our tasks and the ``olab`` model provider."""

from oversight_lab.evals.inspect_tasks import INSPECT_TASKS, OlabLogLikelihoodAPI

__all__ = ["INSPECT_TASKS", "OlabLogLikelihoodAPI"]

globals().update(INSPECT_TASKS)  # inspect finds @task functions as module attributes by name
