"""Build the protocol evaluators (``judge``, ``assisted``, ``chain``) from an arm's ``EvaluatorSpec.params``.

``loop.build_evaluator`` calls :func:`build_protocol_evaluator` for these kinds. Parameters (unknown ones are
an
error naming the arm's kind and the allowed keys):

* ``judge``: ``backend`` ``"tiny"`` (a GPT-2 judge trained here, :mod:`~oversight_lab.protocols.tiny_judge`;
  ``steps``, ``n_embd``, ``n_layer``, ``n_pairs``, ``labeller_flaws``), ``"hf"`` (``path``: any causal LM) or
  ``"openai"`` (``base_url``, ``model``, ``api_key_env``: the name of the variable holding the key,
  ``concurrency``, ``max_tokens``); ``constitution``; ``both_orders``; ``batch_size``; ``min_mass``.
* ``assisted``: ``n_labels`` (easier-task answers the assistant learns from), ``label_noise``.
* ``chain``: ``depth`` plus the ``assisted`` keys.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from oversight_lab.evaluators.base import Evaluator
from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.worlds.base import World

__all__ = ["build_protocol_evaluator", "PARAMS"]

PARAMS = {
    "judge": {
        "backend",
        "steps",
        "n_embd",
        "n_layer",
        "n_pairs",
        "labeller_flaws",
        "path",
        "base_url",
        "model",
        "api_key_env",
        "concurrency",
        "max_tokens",
        "constitution",
        "both_orders",
        "batch_size",
        "min_mass",
    },
    "assisted": {"n_labels", "label_noise"},
    "chain": {"depth", "n_labels", "label_noise"},
}


def build_protocol_evaluator(
    world: World, kind: str, flaws: Sequence[Flaw], params: dict[str, Any], seed: int, name: str
) -> Evaluator:
    unknown = sorted(set(params) - PARAMS.get(kind, set()))
    if kind not in PARAMS:
        raise ValueError(f"unknown protocol evaluator kind {kind!r}; known: {', '.join(PARAMS)}")
    if unknown:
        raise ValueError(
            f"{kind} evaluator: unknown parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(PARAMS[kind]))}"
        )
    if kind == "judge":
        return _judge(world, params, seed, name)
    from oversight_lab.evaluators.assisted import AssistedEvaluator
    from oversight_lab.evaluators.chain import ChainEvaluator, build_chain

    n_labels, noise = int(params.get("n_labels", 12)), float(params.get("label_noise", 0.1))
    if kind == "assisted":
        assistant = build_chain(world, flaws, 1, seed, n_labels, noise)[0]
        return AssistedEvaluator(world, flaws, assistant, seed=seed, name=name)
    return ChainEvaluator(
        world, flaws, int(params.get("depth", 1)), seed=seed, name=name, n_labels=n_labels, label_noise=noise
    )


def _judge(world: World, params: dict[str, Any], seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.judge import (
        ALCHEMY_CONSTITUTION,
        HFJudgeBackend,
        JudgeError,
        JudgeEvaluator,
        OpenAIJudgeBackend,
    )

    constitution = params.get("constitution", ALCHEMY_CONSTITUTION)
    backend_name = params.get("backend", "tiny")
    backend: Any
    if backend_name == "tiny":
        from oversight_lab.protocols.tiny_judge import TinyJudgeConfig, load_or_train_judge

        keys = {"steps", "n_embd", "n_layer", "n_pairs"}
        cfg = TinyJudgeConfig(
            **{k: int(v) for k, v in params.items() if k in keys},
            labeller_flaws=tuple(params.get("labeller_flaws", ())),
        )
        path = load_or_train_judge(world, cfg, constitution)
        backend = HFJudgeBackend.from_pretrained(
            path, batch_size=int(params.get("batch_size", 64)), min_mass=float(params.get("min_mass", 0.0))
        )
    elif backend_name == "hf":
        if "path" not in params:
            raise ValueError("judge evaluator: backend 'hf' needs params.path (a model directory or hub id)")
        backend = HFJudgeBackend.from_pretrained(
            params["path"],
            batch_size=int(params.get("batch_size", 16)),
            min_mass=float(params.get("min_mass", 0.0)),
        )
    elif backend_name == "openai":
        missing = [k for k in ("base_url", "model") if k not in params]
        if missing:
            raise ValueError(f"judge evaluator: backend 'openai' needs params.{' and params.'.join(missing)}")
        key = os.environ.get(params["api_key_env"]) if params.get("api_key_env") else None
        backend = OpenAIJudgeBackend(
            params["base_url"],
            params["model"],
            api_key=key,
            max_tokens=int(params.get("max_tokens", 4)),
            concurrency=int(params.get("concurrency", 4)),
        )
    else:
        raise JudgeError(f"judge evaluator: unknown backend {backend_name!r}; known: tiny, hf, openai")
    return JudgeEvaluator(
        backend, constitution, seed=seed, name=name, both_orders=bool(params.get("both_orders", True))
    )
