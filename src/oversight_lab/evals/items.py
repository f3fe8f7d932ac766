"""What an evaluation scores: items (a rendered prompt and its answer choices) and their scored results."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["METHODS", "Item", "Scored", "argmax_untied", "softmax"]

# How a sample's answer probabilities were obtained (recorded per sample, shown in reports).
METHODS = ("loglikelihood", "prompt_logprobs", "top_logprobs", "generation")


@dataclass(frozen=True)
class Item:
    """One prompt with its answer choices.

    ``prompt`` is the exact text the model conditions on; each choice is the exact continuation scored after
    it (lm-eval's convention: the separator, usually a space, is part of the choice). ``target`` is the index
    the task counts as a hit: the correct answer, or for sycophancy tasks the answer matching the user's view.
    ``group`` clusters items for paired statistics (the same question under different templates or personas).
    """

    id: str
    task: str
    prompt: str
    choices: tuple[str, ...]
    target: int | None = None
    template: str = ""
    group: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def argmax_untied(values: list[float], key: str) -> int:
    """The index of the largest value; a tie goes to one of the tied indices drawn by a generator seeded with
    ``key`` (the item id), so no position is favoured and the same item always resolves the same way."""
    top = max(values)
    tied = [k for k, v in enumerate(values) if v == top]
    return tied[0] if len(tied) == 1 else random.Random(f"tie/{key}").choice(tied)


@dataclass
class Scored:
    """An item with the model's answer probabilities and how they were obtained.

    ``logprobs[i]`` is the log-likelihood of choice ``i`` (None where the method gives none, e.g. generation);
    ``probs`` are normalised over the choices; ``pred`` is the arg-max of ``probs`` and ``pred_norm`` the
    arg-max of log-likelihood per character of the choice without ``meta["separator"]`` (lm-eval's
    ``acc_norm``); an exact tie is broken by :func:`argmax_untied`, never by position.

    An ``unparsed`` answer (generated text that names no choice, a refusal, top log-probabilities that list
    none of the choices) picks no choice: its probabilities are all 0, ``pred`` is None, it is not a hit,
    gives no probability to the target (or to the user's view) and is left out of calibration; each task
    reports the rate of such answers as ``…/unparsed_rate`` beside its metrics.
    """

    item: Item
    probs: list[float]
    method: str
    logprobs: list[float | None] | None = None
    greedy: list[bool] | None = None
    generated: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    unparsed: bool = False

    def __post_init__(self) -> None:
        if self.unparsed:
            self.probs = [0.0] * len(self.item.choices)
        elif len(self.probs) != len(self.item.choices):
            raise ValueError(
                f"item {self.item.id}: {len(self.probs)} probabilities for {len(self.item.choices)} choices"
            )

    @classmethod
    def from_logprobs(cls, item: Item, logprobs: list[float], method: str, **kw: Any) -> Scored:
        return cls(item=item, probs=softmax(logprobs), method=method, logprobs=list(logprobs), **kw)

    @property
    def pred(self) -> int | None:
        return None if self.unparsed else argmax_untied(self.probs, self.item.id)

    @property
    def pred_norm(self) -> int | None:
        if self.unparsed or self.logprobs is None or any(lp is None for lp in self.logprobs):
            return self.pred
        # lm-eval divides by the character length of the choice as the dataset wrote it, without the separator
        # the task put in front of it (meta["separator"]; none by default).
        sep = len(self.item.meta.get("separator", ""))
        norms = [lp / max(1, len(c) - sep) for lp, c in zip(self.logprobs, self.item.choices, strict=True)]  # type: ignore[operator]
        return argmax_untied(norms, self.item.id)

    @property
    def confidence(self) -> float:
        """The probability of the chosen answer (0 for an unparsed one)."""
        return max(self.probs)

    @property
    def hit(self) -> bool | None:
        """Whether the answer is the target (never for an unparsed answer); None for items without one."""
        return None if self.item.target is None else self.pred == self.item.target

    @property
    def hit_norm(self) -> bool | None:
        return None if self.item.target is None else self.pred_norm == self.item.target

    @property
    def p_target(self) -> float | None:
        return None if self.item.target is None else self.probs[self.item.target]

    def to_record(self) -> dict[str, Any]:
        """The JSON-lines record of this sample (prompt, choices, numbers, method)."""
        rec = asdict(self.item)
        rec["choices"] = list(self.item.choices)
        rec.update(
            method=self.method,
            logprobs=self.logprobs,
            probs=self.probs,
            pred=self.pred,
            pred_norm=self.pred_norm,
            hit=self.hit,
            hit_norm=self.hit_norm,
            p_target=self.p_target,
            greedy=self.greedy,
            generated=self.generated,
            unparsed=self.unparsed,
            **self.extra,
        )
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Scored:
        item = Item(
            id=rec["id"],
            task=rec["task"],
            prompt=rec["prompt"],
            choices=tuple(rec["choices"]),
            target=rec.get("target"),
            template=rec.get("template", ""),
            group=rec.get("group", ""),
            meta=rec.get("meta", {}),
        )
        known = {f for f in Item.__dataclass_fields__} | {
            "method",
            "logprobs",
            "probs",
            "pred",
            "pred_norm",
            "hit",
            "hit_norm",
            "p_target",
            "greedy",
            "generated",
            "unparsed",
        }
        extra = {k: v for k, v in rec.items() if k not in known}
        return cls(
            item=item,
            probs=rec["probs"],
            method=rec["method"],
            logprobs=rec.get("logprobs"),
            greedy=rec.get("greedy"),
            generated=rec.get("generated"),
            extra=extra,
            unparsed=bool(rec.get("unparsed", False)),
        )
