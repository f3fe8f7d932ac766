"""The evaluator-kind registry: how an arm's ``EvaluatorSpec`` (kind, flaws, params) becomes an ``Evaluator``.

=============  ==============================================================================================
``simulated``  the world's own rule, through the arm's flaws (:mod:`~oversight_lab.evaluators.simulated`)
``expert``     gold, plus any noise flaw: the control
``judge``      a model judge (RLAIF): ``backend`` ``"tiny"`` (a GPT-2 judge trained here,
               :mod:`~oversight_lab.evaluators.tiny_judge`; ``size``: a size of the model-size family,
               :mod:`~oversight_lab.models.sizes`, or ``n_embd``, ``n_layer``; ``steps``, ``n_pairs``,
               ``labeller``: ``expert``, ``simulated`` with ``labeller_flaws``, or ``constitution``, no
               gold; a ``size`` ``hf:<name or path>`` means backend ``hf`` with that path),
               ``"hf"`` (``path``: any causal LM) or ``"openai"`` (``base_url``,
               ``model``, ``api_key_env``: the name of the variable holding the key, ``concurrency``,
               ``max_tokens``); ``constitution``; ``both_orders``; ``batch_size``; ``min_mass``
``assisted``   the flawed evaluator with an AI assistant (:mod:`~oversight_lab.evaluators.assisted`):
               ``n_labels`` (easier-task answers the assistant learns from), ``label_noise``
``evaluatee_assisted``  the arm's evaluator shown the pretrained evaluatee's sampled critique of each answer
               (sandwiching, :mod:`~oversight_lab.evaluators.self_critique`); ``pretrained`` (set by the loop)
``layered``    k reward-model layers over the arm's evaluator, each fitted on the layer below's choices with
               its own blind spot (:mod:`~oversight_lab.evaluators.layered`): ``depth``, ``n_pairs``,
               ``blind_fraction``
``chain``      k layers of assistance (:mod:`~oversight_lab.evaluators.chain`): ``depth`` plus the
               ``assisted`` keys
``debate``     the simulated evaluator (its flaws) judging after a debate about the two answers
               (:mod:`~oversight_lab.evaluators.debate_evaluator`): ``debaters`` (``"evaluatee"`` or
               ``"optimal"``), ``n`` (best-of-n per turn), ``turns`` (per debater), ``pretrain_seed``
``human``      people in a running study (``oversight-lab serve``): ``base_url``, ``token_env`` (the name of
               the variable holding an admin token), ``conditions``, ``labels_per_item``, ``timeout_s``,
               ``poll_s``
=============  ==============================================================================================

Add a kind with one :func:`register_kind` call naming its parameters and a builder
``build(world, flaws, params, seed, name) -> Evaluator``. :func:`check_spec` checks a spec without building it
(the CLI calls it through ``config.check_inputs`` before any job starts); :func:`build_evaluator` builds one.
The human evaluator's class belongs to the web app (``oversight_lab.server.evaluator``, a layer above this
one), so its builder names it and imports it on use, as a plugin would be.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from oversight_lab.evaluators.base import Evaluator
from oversight_lab.evaluators.flaws import Flaw, make_flaw
from oversight_lab.worlds.base import World

__all__ = ["KINDS", "Kind", "SpecError", "build_evaluator", "check_spec", "register_kind"]

Flaws = Sequence[Flaw]
Params = dict[str, Any]
Builder = Callable[[World, Flaws, Params, int, str], Evaluator]


@dataclass(frozen=True)
class Kind:
    name: str
    params: frozenset[str]
    build: Builder
    check: Callable[[Params], None] | None = None  # raises SpecError or ValueError on a bad parameter value


KINDS: dict[str, Kind] = {}


class SpecError(ValueError):
    """An evaluator spec is wrong; ``key`` says where in it (``kind``, ``flaws.<i>``, ``params``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def register_kind(
    name: str, params: Sequence[str], build: Builder, check: Callable[[Params], None] | None = None
) -> Kind:
    KINDS[name] = Kind(name, frozenset(params), build, check)
    return KINDS[name]


def check_spec(kind: str, flaws: Sequence[dict[str, Any]], params: dict[str, Any]) -> list[Flaw]:
    """The spec's flaws, built; ``SpecError`` naming an unknown kind, a bad flaw or an unknown parameter."""
    if kind not in KINDS:
        raise SpecError("kind", f"unknown evaluator kind {kind!r}; known: {', '.join(KINDS)}")
    built = []
    for i, spec in enumerate(flaws):
        try:
            built.append(make_flaw(spec))
        except (ValueError, TypeError) as e:
            raise SpecError(f"flaws.{i}", str(e)) from None
    unknown = sorted(set(params) - KINDS[kind].params)
    if unknown:
        allowed = ", ".join(sorted(KINDS[kind].params)) or "none"
        names = ", ".join(unknown)
        raise SpecError("params", f"{kind} evaluator: unknown parameter(s) {names}; allowed: {allowed}")
    if KINDS[kind].check is not None:
        try:
            KINDS[kind].check(params)  # type: ignore[misc]
        except SpecError:
            raise
        except (ValueError, TypeError) as e:
            raise SpecError("params", str(e)) from None
    return built


def build_evaluator(
    world: World, kind: str, flaws: Sequence[dict[str, Any]], params: dict[str, Any], seed: int, name: str
) -> Evaluator:
    """The evaluator of an arm: ``kind`` with ``flaws`` (flaw specs) and ``params``, seeded."""
    return KINDS[kind].build(world, check_spec(kind, flaws, params), params, seed, name)


# -- the kinds ------------------------------------------------------------------------------------------
def _simulated(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.simulated import SimulatedEvaluator

    return SimulatedEvaluator(world, flaws, seed=seed, name=name)


def _expert(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.simulated import ExpertEvaluator

    return ExpertEvaluator(world, flaws, seed=seed, name=name)


def _assisted(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.assisted import AssistedEvaluator
    from oversight_lab.evaluators.chain import build_chain

    n_labels, noise = int(params.get("n_labels", 12)), float(params.get("label_noise", 0.1))
    assistant = build_chain(world, flaws, 1, seed, n_labels, noise)[0]
    return AssistedEvaluator(world, flaws, assistant, seed=seed, name=name)


def _evaluatee_assisted(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.self_critique import evaluatee_assisted

    return evaluatee_assisted(world, flaws, params.get("pretrained"), seed, name)


def _layered(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.layered import LayeredEvaluator

    return LayeredEvaluator(world, flaws, int(params.get("depth", 1)), seed=seed, name=name,
                            n_pairs=int(params.get("n_pairs", 2000)),
                            blind_fraction=float(params.get("blind_fraction", 0.25)))


def _chain(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.chain import ChainEvaluator

    n_labels, noise = int(params.get("n_labels", 12)), float(params.get("label_noise", 0.1))
    return ChainEvaluator(world, flaws, int(params.get("depth", 1)), seed=seed, name=name, n_labels=n_labels,
                          label_noise=noise)


def _judge(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.judge import (
        ALCHEMY_CONSTITUTION,
        HFJudgeBackend,
        JudgeError,
        JudgeEvaluator,
        OpenAIJudgeBackend,
    )
    from oversight_lab.models.sizes import is_hf, shape_of

    constitution = params.get("constitution", ALCHEMY_CONSTITUTION)
    size = params.get("size")
    if size is not None and is_hf(size):  # an hf: size is a Hugging Face judge
        params = {**params, "backend": "hf", "path": size[3:]}
    backend_name = params.get("backend", "tiny")
    backend: Any
    if backend_name == "tiny":
        from oversight_lab.evaluators.tiny_judge import TinyJudgeConfig, load_or_train_judge

        keys = {"steps", "n_embd", "n_layer", "n_pairs"}
        shape = shape_of(size)._asdict() if size is not None else {}
        cfg = TinyJudgeConfig(
            **{k: int(v) for k, v in params.items() if k in keys},
            **shape,
            labeller_flaws=tuple(params.get("labeller_flaws", ())),
            labeller=params.get("labeller"),
            base=params.get("pretrained"),
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


def _check_debate(params: Params) -> None:
    debaters = params.get("debaters", "evaluatee")
    if debaters not in ("evaluatee", "optimal"):
        raise ValueError(f"debate evaluator: debaters must be 'evaluatee' or 'optimal', got {debaters!r}")
    for key, top in (("n", 256), ("turns", 2)):
        value = params.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
            raise ValueError(f"debate evaluator: {key} must be an integer in [1, {top}], got {value!r}")


def _debate(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    from oversight_lab.evaluators.debate_evaluator import DebateEvaluator, OptimalDebater, evaluatee_debater

    debaters = params.get("debaters", "evaluatee")
    if debaters == "optimal":
        speaker: Any = OptimalDebater(world)
    elif debaters == "evaluatee":
        speaker = evaluatee_debater(world, int(params.get("pretrain_seed", 0)))
    else:
        raise ValueError(f"debate evaluator: debaters must be 'evaluatee' or 'optimal', got {debaters!r}")
    return DebateEvaluator(world, flaws, speaker, n=int(params.get("n", 4)),
                           turns=int(params.get("turns", 1)), seed=seed, name=name, debaters=debaters)


HUMAN_EVALUATOR = "oversight_lab.server.evaluator:HumanEvaluator"  # needs the server extra (httpx)


def _human(world: World, flaws: Flaws, params: Params, seed: int, name: str) -> Evaluator:
    if "base_url" not in params:
        raise ValueError("human evaluator: needs params.base_url (the study server, e.g. http://127.0.0.1:8000)")
    token = os.environ.get(params["token_env"], "") if params.get("token_env") else ""
    module, _, cls = HUMAN_EVALUATOR.partition(":")
    human = getattr(importlib.import_module(module), cls)
    options = {k: params[k] for k in ("conditions", "labels_per_item", "timeout_s", "poll_s") if k in params}
    return human(params["base_url"], token, **options)


register_kind("simulated", (), _simulated)
register_kind("expert", (), _expert)
def _check_judge(params: Params) -> None:
    """A judge's ``size`` names a size of the family, alone (not with ``n_layer``/``n_embd`` or ``path``)."""
    from oversight_lab.models.sizes import check_size, is_hf

    if "size" not in params:
        return
    try:
        check_size(params["size"])
    except ValueError as e:
        raise SpecError("params.size", str(e)) from None
    clash = sorted({"n_layer", "n_embd", "path"} & set(params))
    if clash:
        raise SpecError("params.size", f"give either size or {', '.join(clash)}, not both")
    backend = params.get("backend", "tiny")
    if backend not in ("tiny", "hf") or (backend == "hf" and not is_hf(params["size"])):
        raise SpecError("params.size", f"size {params['size']!r} does not fit backend {backend!r} (a tiny "
                        "size needs backend tiny; an hf: size, tiny or hf)")


register_kind("judge", ("backend", "size", "steps", "n_embd", "n_layer", "n_pairs", "labeller_flaws",
                        "labeller", "path", "base_url", "model", "api_key_env", "concurrency", "max_tokens",
                        "constitution", "both_orders", "batch_size", "min_mass", "pretrained"), _judge,
              _check_judge)
register_kind("assisted", ("n_labels", "label_noise"), _assisted)
register_kind("evaluatee_assisted", ("pretrained",), _evaluatee_assisted)
register_kind("layered", ("depth", "n_pairs", "blind_fraction"), _layered)
register_kind("debate", ("debaters", "n", "turns", "pretrain_seed"), _debate, _check_debate)
register_kind("chain", ("depth", "n_labels", "label_noise"), _chain)
register_kind("human", ("base_url", "token_env", "conditions", "labels_per_item", "timeout_s", "poll_s"),
              _human)
