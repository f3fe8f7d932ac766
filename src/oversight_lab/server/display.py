"""What a participant sees: items in plain English, the evaluator's handbook, progress, and what the assistant
can see.

Items are stored as the world wrote them ("request red luminous cold recipe :", " myrrh alum"), which is
what the evaluatee and the simulated evaluators read, and what exports keep. People read the same item
through the world's English renderer (``oversight_lab.worlds.english``): the task as a request, each answer
as a sentence, and beside them what the world lets an evaluator observe (for alchemy, a handbook of every
ingredient's visible properties; never the hidden ones). Without the handbook a person would see "myrrh
alum" against "sulfur myrrh" with nothing to check them against, less than the simulated evaluator gets,
and the human and simulated arms of a study would not be comparable.

An item the renderer cannot read (a world with no English form, an inline item, a malformed answer) is shown
as stored, so nothing is ever hidden from the person. ``display: raw`` in the study file shows every item as
stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from oversight_lab.server.study import AssistantConfig, Study

__all__ = ["ItemRenderer", "Readable", "assistant_sees"]


@dataclass(frozen=True)
class Readable:
    """One item as a person reads it; ``english`` says whether the renderer was used."""

    task: str
    left: str
    right: str
    handbook: str | None
    english: bool


class ItemRenderer:
    """Renders stored items through the study's world (made once, lazily; falls back to the stored text)."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self._world: Any = None
        self._ready = study.config.display == "raw"

    def _load(self) -> Any:
        if not self._ready:
            self._ready = True
            try:
                from oversight_lab.worlds import english, make_world

                world = make_world(self.study.config.items.world, **self.study.config.items.world_params)
                english.english_form(world)  # raises if the world has no English form
                self._world = world
            except (ImportError, KeyError, TypeError, ValueError):
                self._world = None
        return self._world

    def render(self, task_id: str, prompt: str, task_spec: str | dict[str, Any], left: str, right: str,
               ) -> Readable:
        world = self._load()
        if world is None:
            return Readable(prompt, left, right, None, False)
        from oversight_lab.worlds import english
        from oversight_lab.worlds.base import Task

        spec = json.loads(task_spec) if isinstance(task_spec, str) else task_spec
        task = Task(id=task_id, prompt=prompt, spec=spec)
        try:
            text = english.render_task(world, task)
            handbook = english.evaluator_view(world, task)
            sides = [self._answer(english, world, task, a) for a in (left, right)]
        except (KeyError, TypeError, ValueError, IndexError, AssertionError):
            return Readable(prompt, left, right, None, False)
        return Readable(text, sides[0], sides[1], handbook, True)

    @staticmethod
    def _answer(english: Any, world: Any, task: Any, text: str) -> str:
        answer = world.parse(task, text)
        if not answer.valid:
            return f"{text.strip()}  (not a well-formed answer)"
        return english.render_answer(world, task, answer)


def assistant_sees(cfg: AssistantConfig, world_items: bool) -> str:
    """One line for the participant: what the AI assistant of this study can see and know."""
    if cfg.kind == "static":
        return "The critique was written in advance for these two answers; it can be wrong."
    if cfg.kind == "openai":
        return ("The assistant is an AI language model. It sees the task and both answers as stored (the "
                "world's own wording), the conversation so far, and nothing else; it can be wrong.")
    share = cfg.known_hazards
    knows = ("knows every hazard" if share >= 1 else "knows no hazard" if share <= 0
             else "knows some of the hazards, not all")
    sees = ("the task, both answers and the handbook's properties" if world_items
            else "the task and both answers")
    return f"The assistant sees {sees}, like you. It {knows}, and it can be wrong."
