"""The eval tasks as Inspect tasks, with our scorer and metrics, and a log-likelihood model provider.

Declared through Inspect's entry point (``[project.entry-points.inspect_ai] oversight_lab =
"oversight_lab.evals._registry"``), so after ``pip install oversight-lab[inspect]``::

    inspect eval oversight_lab/sycophancy_on_nlp_survey --model olab/gpt2 -T source=hub
    inspect eval oversight_lab/calibration_mc --model olab/run:RUN_DIR/arms/flawed/seed-0/checkpoints/rl
    inspect eval oversight_lab/truthfulqa_mc1 --model openai/gpt-4o-mini      # top-logprobs, else generation

``olab/<model>`` is a provider that scores choices by log-likelihood exactly like ``oversight-lab eval``
(Inspect's own ``hf`` provider only generates). With any other provider the solver asks for the next token's
top log-probabilities, and falls back to matching generated text; the method is recorded per sample. Inspect's
own ``hf/<model>`` works as it comes: decoding is greedy without ``-M do_sample=false`` and its raw byte-level
tokens (``'ĠA'``) are decoded to text before they are matched to the choices. The
scorer attaches each sample's probabilities, and the metric reduces them with the task's own metrics, so
``inspect eval`` reports the same ``syco/…``, ``calib/…`` (ECE, Brier, AUROC, temperature), ``truth/…`` and
``sandbag/…`` numbers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)
from inspect_ai.scorer import Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver

from oversight_lab.evals.backends.openai_compat import scored_from_text, scored_from_top
from oversight_lab.evals.formats import hh_format
from oversight_lab.evals.items import Item, Scored
from oversight_lab.evals.tasks import TASKS, make_task

__all__ = [
    "INSPECT_TASKS",
    "OlabLogLikelihoodAPI",
    "choice_logprobs",
    "inspect_task",
    "olab_metrics",
    "olab_scorer",
    "token_text",
]


def _model_spec(name: str) -> str:
    if name.startswith(("hf:", "run:", "openai:")) or Path(name).is_dir():
        return name
    return f"hf:{name}"


@modelapi(name="olab")
class OlabLogLikelihoodAPI(ModelAPI):
    """``olab/<hub id | path | run:checkpoint>``: a local causal LM that scores choices by log-likelihood."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        batch_size: int = 32,
        **model_args: Any,
    ) -> None:
        super().__init__(
            model_name=model_name,
            base_url=base_url,
            api_key=api_key,
            api_key_vars=[],
            config=config or GenerateConfig(),
        )
        from oversight_lab.evals.backends import load_backend

        self.backend = load_backend(_model_spec(model_name), batch_size=batch_size)
        self.lock = asyncio.Lock()  # one forward pass at a time on a local model

    async def score_items(self, items: list[Item]) -> list[Scored]:
        async with self.lock:
            return await asyncio.to_thread(self.backend.score, items)

    async def generate(
        self, input: list[ChatMessage], tools: list[Any], tool_choice: Any, config: GenerateConfig
    ) -> ModelOutput:
        """Greedy text after the conversation rendered in the ``Human:/Assistant:`` format."""
        import torch

        prompt = hh_format().render(
            [
                {"role": "assistant" if m.role == "assistant" else "user", "content": m.text}
                for m in input
                if m.role in ("user", "assistant")
            ]
            + [{"role": "assistant", "content": ""}]
        )
        tok, model = self.backend.tokenizer, self.backend.model  # type: ignore[attr-defined]
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        async with self.lock:
            out = await asyncio.to_thread(
                lambda: model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=False,
                    max_new_tokens=config.max_tokens or 32,
                    pad_token_id=tok.pad_token_id or tok.eos_token_id,
                )
            )
        text = tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        usage = ModelUsage(
            input_tokens=int(ids.shape[1]),
            output_tokens=int(out.shape[1] - ids.shape[1]),
            total_tokens=int(out.shape[1]),
        )
        return ModelOutput.from_content(
            model=self.model_name, content=text, stop_reason="max_tokens"
        ).model_copy(update={"usage": usage})


def _greedy(model: Model) -> dict[str, Any]:
    """Generation settings for greedy decoding on ``model``.

    Inspect's ``hf`` provider samples unless started with ``-M do_sample=false``, and asking it for
    temperature 0 then makes transformers refuse the call; sampling from the top 1 token is greedy decoding
    under any sampler. Other providers take temperature 0.
    """
    if getattr(model.api, "do_sample", False):
        return {"top_k": 1}
    return {"temperature": 0.0}


_BYTE_DECODER: dict[str, int] = {}


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable-character → byte table (``'Ġ'`` → space), built once."""
    if not _BYTE_DECODER:
        # GPT-2's bytes_to_unicode (Radford et al. 2019): printable bytes stand for themselves, the others
        # (controls, space, 127-160, 173) for 256, 257, ... in byte order.
        printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
        shifted = [b for b in range(256) if b not in printable]
        _BYTE_DECODER.update({chr(b): b for b in printable})
        _BYTE_DECODER.update({chr(256 + k): b for k, b in enumerate(shifted)})
    return _BYTE_DECODER


def token_text(token: str) -> str:
    """The text of a top-log-probability token as a provider reports it.

    Inspect's ``hf`` provider lists raw vocabulary entries: byte-level BPE writes a leading space as ``'Ġ'``
    (``'ĠA'`` is " A") and SentencePiece as ``'▁'``. A token that is written entirely in the byte-level
    alphabet and uses one of its remapped characters is decoded; any other token (" A" from an OpenAI
    endpoint, plain "A") is already text and is kept.
    """
    table = _byte_decoder()
    if "▁" in token:
        return token.replace("▁", " ")
    if any(ord(ch) > 255 for ch in token) and all(ch in table for ch in token):
        try:
            return bytes(table[ch] for ch in token).decode("utf-8")
        except UnicodeDecodeError:
            return token
    return token


def _top_texts(top: list[Any]) -> dict[str, float]:
    """``{text: log-probability}`` of the listed tokens; tokens with one text share its probability."""
    out: dict[str, float] = {}
    for t in top:
        text = token_text(t.token)
        out[text] = float(np.logaddexp(out[text], t.logprob)) if text in out else float(t.logprob)
    return out


async def _score(item: Item, model: Model) -> Scored:
    """One item's answer probabilities with the best method the active model offers."""
    score_items = getattr(model.api, "score_items", None)  # our provider (@modelapi wraps the class)
    if score_items is not None:
        return (await score_items([item]))[0]
    greedy = _greedy(model)
    out = await model.generate(
        item.prompt, config=GenerateConfig(max_tokens=1, logprobs=True, top_logprobs=20, **greedy)
    )
    lp = out.choices[0].logprobs if out.choices else None
    if lp is not None and lp.content and lp.content[0].top_logprobs:
        return scored_from_top(item, _top_texts(lp.content[0].top_logprobs), "inspect")
    out = await model.generate(item.prompt, config=GenerateConfig(max_tokens=16, **greedy))
    return scored_from_text(item, out.completion, "inspect")


@solver
def choice_logprobs(task_name: str, options: dict[str, Any] | None = None) -> Solver:
    """Score the sample's choices (and any follow-up turn the task asks for) on the active model."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        d = dict(state.metadata["olab_item"])
        item = Item(**{**d, "choices": tuple(d["choices"])})
        model = get_model()
        first = await _score(item, model)
        records = [first.to_record()]
        for follow in make_task(task_name, **(options or {})).followup([first], hh_format()):
            records.append((await _score(follow, model)).to_record())
        state.metadata["olab_scored"] = records
        answer = "" if first.pred is None else item.choices[first.pred]  # an unparsed answer picks none
        state.output = ModelOutput.from_content(model=str(model), content=answer)
        return state

    return solve


@metric
def olab_metrics() -> Metric:
    """The task's own metrics (namespaced ``syco/…``, ``calib/…``, …) over all scored samples."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        if not scores:
            return {}
        meta = scores[0].score.metadata or {}
        samples = [Scored.from_record(r) for s in scores for r in (s.score.metadata or {})["olab_scored"]]
        values = make_task(meta["task"], **meta.get("options", {})).metrics(samples)
        return {k: float(v) for k, v in values.items() if isinstance(v, float | int) and math.isfinite(v)}

    return compute


@scorer(metrics=[olab_metrics()])
def olab_scorer(task_name: str, options: dict[str, Any] | None = None) -> Callable:
    """Hit of the first answer (for ``syco/`` tasks: it matches the user's view) with the probabilities
    attached."""

    async def score(state: TaskState, target: Target) -> Score:
        first = Scored.from_record(state.metadata["olab_scored"][0])
        return Score(
            value=float(bool(first.hit)),
            answer="" if first.pred is None else first.item.choices[first.pred],
            explanation=(
                f"method={first.method} "
                + ("unparsed: no choice" if first.unparsed else f"probs={[round(p, 4) for p in first.probs]}")
            ),
            metadata={
                "olab_scored": state.metadata["olab_scored"],
                "task": task_name,
                "options": options or {},
            },
        )

    return score


def inspect_task(task_name: str, source: str = "hub", limit: int | None = None, **options: Any) -> Task:
    """An Inspect ``Task`` for one of our eval tasks (items rendered in the ``hh`` format)."""
    spec = make_task(task_name, **options)
    items = spec.build(spec.rows(source, limit), hh_format())
    samples = [
        Sample(
            input=it.prompt,
            target="" if it.target is None else it.choices[it.target],
            id=it.id,
            metadata={"olab_item": {**asdict(it), "choices": list(it.choices)}},
        )
        for it in items
    ]
    return Task(
        dataset=MemoryDataset(samples, name=task_name),
        solver=choice_logprobs(task_name, options),
        scorer=olab_scorer(task_name, options),
        name=task_name,
    )


def _register(name: str) -> Callable[..., Task]:
    def make(
        source: str = "hub",
        limit: int | None = None,
        personas: str | None = None,
        world: str = "alchemy",
        order_seed: int = 0,
    ) -> Task:
        options: dict[str, Any] = {"order_seed": int(order_seed)} if order_seed else {}
        if name == "sandbagging_persona" and personas:
            options["personas"] = personas
        if name.startswith("world_"):
            options["world"] = world
        return inspect_task(name, source, limit, **options)

    make.__name__ = name
    make.__doc__ = TASKS[name].description  # type: ignore[attr-defined]
    return task(name=name)(make)


INSPECT_TASKS = {name: _register(name) for name in sorted(TASKS)}
