"""The ground floor of every config: a strict pydantic base and the error a bad key or value raises.

Each method owns its config (``optimize/rl.py``'s ``RLConfig``, ``reward/config.py``'s ``RewardModelConfig``,
...), declared on :class:`Settings`; :mod:`oversight_lab.config` composes them into ``RunConfig``, resolves
overrides and checks a run's inputs before anything runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigError", "Settings"]


class ConfigError(ValueError):
    """A config key or value is wrong; the message names it."""


class Settings(BaseModel):
    """A config section: unknown keys are errors, and so are wrong values set after construction."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
