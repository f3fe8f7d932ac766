"""Per-item evaluation: the same fixed items answered deterministically at every checkpoint.

Rates measured on sampled answers move with sampling noise; before-vs-after statistics on *items* (McNemar,
paired bootstrap) need each item answered the same way each time. A world opts in with two methods:

* ``item_records(lm) -> list[dict]`` — one record per item: an ``"item"`` id and the item's indicators
  (``correct``, ``agrees``, ``confidence``, ...), computed from what ``lm`` (an :class:`ItemLM`) says;
* ``item_summary(records) -> dict[str, float]`` — set-level metrics over the records (namespaced), logged in
  the checkpoint's metric row.

A world whose file this part does not own gets the same two methods from an adapter registered in
``ITEM_EVALS`` under the world's name (the alchemy world's: :mod:`oversight_lab.probes.alchemy_items`).
The loop calls them when ``item_eval`` is on in the run config and writes every record to ``items.jsonl``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["ITEM_EVALS", "ItemEval", "ItemLM", "PolicyLM", "item_eval_for", "register_item_eval"]


class ItemLM(Protocol):
    """What a world may ask of a model about its items."""

    def greedy(self, prompts: list[str]) -> list[str]:
        """The greedy (most likely token at each step) completion of each prompt."""

    def choice_logprobs(self, prompts: list[str], choices: list[list[str]]) -> list[np.ndarray]:
        """Log-probability of each choice (a completion, ``<eos>`` included) given its prompt."""

    def hidden_states(self, texts: list[str], layer: int = -1) -> np.ndarray:
        """Hidden state at each text's last token at ``layer`` (0 = embeddings), shape ``[n, hidden]``."""


class ItemEval(Protocol):
    def item_records(self, lm: ItemLM) -> list[dict[str, Any]]: ...

    def item_summary(self, records: list[dict[str, Any]]) -> dict[str, float]: ...


ITEM_EVALS: dict[str, Callable[[Any], ItemEval]] = {}


def register_item_eval(world_name: str) -> Callable[[Callable[[Any], ItemEval]], Callable[[Any], ItemEval]]:
    """Register an adapter ``world -> ItemEval`` for a world that does not define the methods itself."""

    def deco(factory: Callable[[Any], ItemEval]) -> Callable[[Any], ItemEval]:
        ITEM_EVALS[world_name] = factory
        return factory

    return deco


def item_eval_for(world: Any) -> ItemEval | None:
    """The world itself if it defines the item methods, else its registered adapter, else None."""
    if hasattr(world, "item_records") and hasattr(world, "item_summary"):
        return world
    if world.name not in ITEM_EVALS:
        import oversight_lab.probes.alchemy_items  # noqa: F401  (registers the alchemy adapter)
    factory = ITEM_EVALS.get(world.name)
    return factory(world) if factory else None


@dataclass
class PolicyLM:
    """:class:`ItemLM` over a policy (a :class:`~oversight_lab.models.adapter.CausalLM`, such as
    :class:`~oversight_lab.models.policy.Policy`)."""

    policy: Any
    batch_size: int = 512

    def greedy(self, prompts: list[str]) -> list[str]:
        return self.policy.greedy(prompts, batch_size=self.batch_size)

    def choice_logprobs(self, prompts: list[str], choices: list[list[str]]) -> list[np.ndarray]:
        flat_p = [p for p, cs in zip(prompts, choices, strict=True) for _ in cs]
        flat_c = [c for cs in choices for c in cs]
        lp = self.policy.logprob(flat_p, flat_c, batch_size=self.batch_size) if flat_c else np.zeros(0)
        out, k = [], 0
        for cs in choices:
            out.append(lp[k : k + len(cs)])
            k += len(cs)
        return out

    def hidden_states(self, texts: list[str], layer: int = -1) -> np.ndarray:
        return self.policy.hidden_states(texts, layer)
