"""OpenAI-compatible HTTP endpoints (vLLM, llama.cpp server, Ollama, hosted APIs) as eval backends.

Answer probabilities come from the best method the endpoint offers, tried in this order and recorded per
sample:

1. ``prompt_logprobs``: ``/completions`` with ``echo=True, logprobs=1``: the server returns the
log-probability of
   every prompt token, so each choice's log-likelihood is the sum over the tokens that start inside it
   (character offsets, so no local tokenizer is needed). This is lm-eval's ``local-completions`` method.
2. ``top_logprobs``: one generated token with its top-``k`` alternatives (``/completions`` after the choices'
   common prefix, else ``/chat/completions``); a choice's log-probability is that of the top token that starts
   it and no other choice. A choice missing from the top ``k`` gets the smallest listed value (an upper bound)
   and the sample records which choices were missing; if every choice is missing the answer is unparsed.
3. ``generation``: greedy text, matched to the choice it starts with; probability 1 on that choice. Text that
   names no choice ("I am not sure.") is an unparsed answer: it picks no choice (see ``Scored``).

A method the endpoint rejects (an HTTP 4xx, or a reply without logprobs) is not tried again in this backend.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from oversight_lab.evals.formats import PromptFormat, hh_format
from oversight_lab.evals.items import Item, Scored

__all__ = ["OpenAIBackend", "parse_openai_spec", "scored_from_text", "scored_from_top"]

_ORDER = (
    "prompt_logprobs",
    "top_logprobs_completions",
    "top_logprobs_chat",
    "generation_chat",
    "generation_completions",
)


class _Unsupported(Exception):
    """The endpoint does not offer this method."""


def parse_openai_spec(spec: str) -> tuple[str, str]:
    """``openai:<base_url>#<model>`` → ``(base_url, model)``."""
    body = spec.removeprefix("openai:")
    if "#" not in body:
        raise ValueError(
            f"model spec {spec!r}: expected openai:<base_url>#<model>, e.g. "
            "openai:http://127.0.0.1:8000/v1#my-model"
        )
    base_url, model = body.rsplit("#", 1)
    if not base_url.startswith(("http://", "https://")) or not model:
        raise ValueError(
            f"model spec {spec!r}: base URL must start with http(s):// and the model name be non-empty"
        )
    return base_url, model


def _norm(text: str) -> str:
    return text.strip().strip("()").strip().lower()


def _common_prefix(choices: tuple[str, ...]) -> str:
    """What all choices start with, appended to the prompt before reading the next token's alternatives.

    Pure whitespace is left to the choices' own tokens (" A" is one token; a lone " " would change the text).
    """
    prefix = os.path.commonprefix(list(choices))
    return prefix if prefix.strip() else ""


def scored_from_top(item: Item, top: dict[str, float], via: str) -> Scored:
    """Each choice's log-probability from the next token's top alternatives.

    A token that the choice's text (after the appended common prefix) starts with exactly, and no other
    choice's does, is the choice's token, the longest such one if several; otherwise a token that matches
    after dropping spaces, parentheses and case (a chat model may answer "B" where the choice is " (B)").
    """
    prefix = _common_prefix(item.choices)
    rests = [c[len(prefix) :] for c in item.choices]
    floor = min(top.values()) if top else -1e4
    lps: list[float] = []
    missing = []
    for k in range(len(rests)):
        exact = [t for t in top if t and [j for j, r in enumerate(rests) if r.startswith(t)] == [k]]
        loose = [
            t
            for t in top
            if _norm(t) and [j for j, r in enumerate(rests) if _norm(r).startswith(_norm(t))] == [k]
        ]
        if exact:
            lps.append(top[max(exact, key=len)])
        elif loose:
            lps.append(max(top[t] for t in loose))
        else:
            missing.append(k)
            lps.append(floor)
    extra = {"top_logprobs_via": via, "missing": missing}
    if len(missing) == len(rests):  # none of the choices is among the listed tokens: no answer to read
        return Scored(item=item, probs=[], method="top_logprobs", extra=extra, unparsed=True)
    return Scored.from_logprobs(item, lps, "top_logprobs", extra=extra)


def _says(said: str, choice: str) -> bool:
    """``said`` starts with ``choice`` as a whole word: "B) because" says "b", "As an AI" does not say "a"."""
    return bool(choice) and said.startswith(choice) and not said[len(choice) : len(choice) + 1].isalnum()


def scored_from_text(item: Item, text: str, via: str) -> Scored:
    """A generated answer matched to the choice it starts with (probability 1); unparsed if none matches."""
    prefix = _common_prefix(item.choices)
    said = _norm(text)
    hits = [k for k, c in enumerate(item.choices) if _says(said, _norm(c[len(prefix) :]))]
    probs = []
    if hits:
        k = max(hits, key=lambda j: len(_norm(item.choices[j])))  # the longest choice the text starts with
        probs = [1.0 if j == k else 0.0 for j in range(len(item.choices))]
    return Scored(
        item=item,
        probs=probs,
        method="generation",
        generated=text,
        extra={"generation_via": via},
        unparsed=not hits,
    )


@dataclass
class OpenAIBackend:
    base_url: str
    model: str
    api_key: str | None = None
    top_logprobs: int = 20
    max_tokens: int = 16
    concurrency: int = 4
    methods: tuple[str, ...] = _ORDER
    timeout: float = 60.0
    name: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from openai import OpenAI  # an optional extra; imported only when an endpoint is used

        self.client = OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or os.environ.get("OPENAI_API_KEY", "none"),
            timeout=self.timeout,
            max_retries=1,
        )
        self.name = self.name or f"openai:{self.base_url}#{self.model}"
        self._dead: set[str] = set()
        self.info = {
            "backend": "openai",
            "model": self.name,
            "tokenizer_hash": f"remote:{self.model}",
            **self.info,
        }

    def prompt_format(self, kind: str) -> PromptFormat:
        if kind == "chat":
            raise ValueError(
                "prompt format 'chat' needs a local tokenizer; an endpoint is scored on 'hh' text"
            )
        return hh_format()

    # -- the methods ------------------------------------------------------------------------------
    def _prompt_logprobs(self, item: Item) -> Scored:
        lps = []
        for choice in item.choices:
            ctx, cont = item.prompt, choice
            n_spaces = len(ctx) - len(ctx.rstrip())  # lm-eval's rule: trailing context space joins the choice
            if n_spaces:
                ctx, cont = ctx[:-n_spaces], ctx[-n_spaces:] + cont
            resp = self.client.completions.create(
                model=self.model, prompt=ctx + cont, max_tokens=1, temperature=0.0, logprobs=1, echo=True
            )
            lp = resp.choices[0].logprobs
            if lp is None or not lp.token_logprobs or lp.text_offset is None:
                raise _Unsupported("no prompt logprobs in the reply")
            start, end = len(ctx), len(ctx) + len(cont)
            picked = [
                v for off, v in zip(lp.text_offset, lp.token_logprobs, strict=True) if start <= off < end
            ]
            if not picked or any(v is None for v in picked):
                raise _Unsupported("prompt logprobs do not cover the choice")
            lps.append(float(sum(picked)))
        return Scored.from_logprobs(item, lps, "prompt_logprobs")

    def _top_completions(self, item: Item) -> Scored:
        prefix = _common_prefix(item.choices)
        resp = self.client.completions.create(
            model=self.model,
            prompt=item.prompt + prefix,
            max_tokens=1,
            temperature=0.0,
            logprobs=self.top_logprobs,
        )
        lp = resp.choices[0].logprobs
        if lp is None or not lp.top_logprobs or not lp.top_logprobs[0]:
            raise _Unsupported("no top logprobs in the reply")
        return scored_from_top(item, dict(lp.top_logprobs[0]), "completions")

    def _top_chat(self, item: Item) -> Scored:
        resp = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": item.prompt}],
            max_tokens=1,
            temperature=0.0,
            logprobs=True,
            top_logprobs=self.top_logprobs,
        )
        content = resp.choices[0].logprobs.content if resp.choices[0].logprobs else None
        if not content:
            raise _Unsupported("no top logprobs in the chat reply")
        return scored_from_top(item, {t.token: t.logprob for t in content[0].top_logprobs}, "chat")

    def _gen_chat(self, item: Item) -> Scored:
        resp = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": item.prompt}],
            max_tokens=self.max_tokens,
            temperature=0.0,
        )
        return scored_from_text(item, resp.choices[0].message.content or "", "chat")

    def _gen_completions(self, item: Item) -> Scored:
        prefix = _common_prefix(item.choices)
        resp = self.client.completions.create(
            model=self.model, prompt=item.prompt + prefix, max_tokens=self.max_tokens, temperature=0.0
        )
        return scored_from_text(item, resp.choices[0].text, "completions")

    # -- dispatch ---------------------------------------------------------------------------------
    def _score_one(self, item: Item) -> Scored:
        import openai

        calls = {
            "prompt_logprobs": self._prompt_logprobs,
            "top_logprobs_completions": self._top_completions,
            "top_logprobs_chat": self._top_chat,
            "generation_chat": self._gen_chat,
            "generation_completions": self._gen_completions,
        }
        errors = []
        for method in self.methods:
            if method in self._dead:
                continue
            try:
                return calls[method](item)
            except (
                _Unsupported,
                openai.BadRequestError,
                openai.NotFoundError,
                openai.UnprocessableEntityError,
            ) as e:
                self._dead.add(method)
                errors.append(f"{method}: {e}")
        raise RuntimeError(f"{self.name}: no scoring method works for item {item.id}: " + "; ".join(errors))

    def score(self, items: list[Item]) -> list[Scored]:
        if not items:
            return []
        first = self._score_one(items[0])  # settles which methods the endpoint offers before going parallel
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            rest = list(pool.map(self._score_one, items[1:]))
        out = [first, *rest]
        for s in out:
            if s.logprobs is not None and any(not math.isfinite(v) for v in s.logprobs if v is not None):
                raise RuntimeError(f"{self.name}: non-finite log-probability for item {s.item.id}")
        return out
