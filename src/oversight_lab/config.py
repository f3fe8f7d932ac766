"""The one typed config of ``oversight-lab run``: ``RunConfig``, composed of the configs each method owns;
``--set key=value`` overrides; and :func:`check_inputs`, the one place a run's inputs are checked.

Each method's config lives with its code and is documented there, field by field: ``optimize/best_of_n.py``
(``bon.*``), ``optimize/rl.py`` (``rl.*``), ``optimize/dpo.py`` (``dpo.*``), ``reward/config.py``
(``reward.*``); the rest is documented here. Their defaults are the defaults: nothing else holds another set.
Scenarios are small override dicts on top of them; the resolved config is written into every run directory.

A bad key or value raises ``ConfigError`` with the dotted key, and the CLI turns it into a one-line error and
exit code 2 before anything is written. Field constraints are checked on construction; :func:`check_inputs`
checks what types cannot (a known world, a loadable policy, buildable evaluators, a usable run directory); the
CLI calls it before any job starts, and so does the grid loader for every cell.

This module composes the method configs, so it sits above ``optimize/`` and ``reward/`` (and below ``loop``):
see docs/architecture.md.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from oversight_lab.models.sizes import check_size, is_hf, shape_of
from oversight_lab.optimize.best_of_n import BestOfNConfig
from oversight_lab.optimize.debate import DebateConfig
from oversight_lab.optimize.dpo import DPOConfig
from oversight_lab.optimize.rl import RLConfig
from oversight_lab.reward.config import RewardModelConfig
from oversight_lab.settings import ConfigError, Settings
from oversight_lab.weak_to_strong.config import W2SConfig

__all__ = [
    "BestOfNConfig", "CheckpointEvalConfig", "ConfigError", "DPOConfig", "DebateConfig", "EvaluatorSpec",
    "FeedbackConfig", "RLConfig", "RewardModelConfig", "RunConfig", "SEED_BLOCKS", "TinyModelConfig", "W2SConfig",
    "apply_overrides", "check_inputs", "check_out", "check_policy", "optimisers", "parse_set", "replicates",
    "resolve_config", "seed_block_overrides",
]

# The first pretraining and RLHF seed of each block. Development uses seeds below 1000; the confirm and
# replicate blocks are reserved for confirmation runs (``oversight-lab run STORY --confirm``), which development
# never touches (resolve_config refuses a dev run that reaches into them).
SEED_BLOCKS: dict[str, int] = {"dev": 0, "confirm": 1000, "replicate": 2000}


class TinyModelConfig(Settings):
    """The tiny GPT-2 evaluatee pretrained in-process (used when ``policy == "tiny"``)."""

    size: str | None = Field(
        None, description="a named size of the model-size family (oversight_lab.models.sizes: xs 1×16, s 1×32, "
        "m 2×64, l 4×128, or tiny:<layers>x<width>); when set it decides n_layer, n_embd and n_head. "
        "hf:<name or path> makes the evaluatee that Hugging Face model (policy)")
    n_layer: int = Field(2, ge=1, description="transformer layers (set by size when given)")
    n_embd: int = Field(64, ge=8, description="width (set by size when given)")
    n_head: int = Field(4, ge=1, description="attention heads (set by size when given)")
    corpus_lines: int = Field(20000, ge=100, description="pretraining corpus size, one document a line")
    steps: int = Field(1000, ge=4, description="pretraining steps (batches of 32 × 64 tokens)")
    lr: float = Field(5e-3, gt=0, description="pretraining peak learning rate (one-cycle)")
    seed: int = Field(0, description="first pretraining seed (RunConfig.pretrain_seeds counts them); each pretraining "
                      "seed gives one base model, shared by the RLHF seeds under it, as in RLHF")
    threads: int = Field(
        1,
        ge=1,
        description="torch threads pretraining runs on; part of the checkpoint's identity (CPU kernels split "
        "reductions by thread, so another count gives other weights and its own cache entry)",
    )

    @field_validator("size")
    @classmethod
    def _known_size(cls, size: str | None) -> str | None:
        return None if size is None else check_size(size)

    @model_validator(mode="before")
    @classmethod
    def _shape_from_size(cls, data: Any) -> Any:
        """A named size decides the shape (an unknown one is left to ``_known_size``, which names it)."""
        if isinstance(data, dict) and isinstance(data.get("size"), str) and not is_hf(data["size"]):
            try:
                shape = shape_of(data["size"])
            except ValueError:
                return data
            data = {**data, **shape._asdict()}
        return data


class EvaluatorSpec(Settings):
    """An evaluator: ``simulated`` (the world's rule through ``flaws``), ``expert`` (gold, plus any noise), or a
    scalable-oversight protocol: ``judge`` (a model judge), ``assisted``, ``chain`` (``params`` configure them)."""

    kind: str = Field("simulated", description="an evaluator kind: simulated, expert, judge, assisted, "
                      "chain, human (oversight_lab.evaluators.kinds; checked by check_inputs)")
    flaws: list[dict[str, Any]] = Field(default_factory=list, description='flaw specs, e.g. {"kind": "noise"}')
    params: dict[str, Any] = Field(default_factory=dict, description="parameters of the model judge, assistant "
                                   "or chain (see oversight_lab.evaluators.kinds)")


class FeedbackConfig(Settings):
    """The comparisons the evaluator gives (``feedback.*``)."""

    n_comparisons: int = Field(800, ge=10, description="pairs sampled from the initial policy and compared")


class CheckpointEvalConfig(Settings):
    """What every checkpoint is scored on (``eval.*``)."""

    n_tasks: int = Field(32, ge=1, description="held-out eval tasks scored at every checkpoint")
    samples_per_task: int = Field(4, ge=1, description="completions sampled per task at each checkpoint")


class RunConfig(Settings):
    """Everything ``oversight-lab run`` does, for one scenario."""

    scenario: str = Field("alchemist", description="the named scenario these settings came from")
    experiment: Literal["loop", "weak_to_strong"] = Field(
        "loop", description="what the run executes: loop (the closed loop of every arm × replicate: "
        "comparisons, reward model, optimisers) or weak_to_strong (w2s.*: weak supervisors, students and "
        "ceilings over a size grid; arms and the RLHF settings are not used)")
    seed: int = Field(0, ge=0, description="first RLHF seed; the replicates' RLHF seeds are seed, seed+1, … "
                      "(see replicates())")
    seeds: int = Field(3, ge=1, description="RLHF seeds per pretraining seed")
    pretrain_seeds: int = Field(3, ge=1, description="pretraining seeds tiny.seed, tiny.seed+1, …: one pretrained "
                                "evaluatee each, the top level of every interval (see oversight_lab.metrics.stats)")
    seed_block: Literal["dev", "confirm", "replicate"] = Field(
        "dev", description="which block of seeds the run uses: dev (seeds below 1000) for development; confirm "
        "and replicate are reserved for confirmation runs of a pre-registered scenario (--confirm)")
    world: str = Field("alchemy", description="a registered world")
    world_params: dict[str, Any] = Field(default_factory=dict, description="the world's constructor arguments")
    policy: str = Field("tiny", description='"tiny" (pretrained here) or "hf:<name or path>"')
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig,
                                  description="the tiny evaluatee (policy tiny) and its pretraining")
    max_new_tokens: int = Field(8, ge=1, description="longest completion the policy samples, in tokens")
    arms: dict[str, EvaluatorSpec] = Field(
        default_factory=lambda: {
            # an imperfect human (Bradley–Terry choice noise and 10% careless flips) who does not know which
            # ingredients carry mercury: the alchemist's one blind spot
            "flawed": EvaluatorSpec(kind="simulated", flaws=[
                {"kind": "incomplete_criteria", "known_fraction": 0.0},
                {"kind": "noise", "temperature": 0.1, "flip_rate": 0.1}]),
            # the control: the same imperfect human without that blind spot (never gold)
            "control": EvaluatorSpec(kind="simulated", flaws=[{"kind": "noise", "temperature": 0.1, "flip_rate": 0.1}]),
        },
        description="evaluator per arm; every arm runs on the same budget and replicates",
    )
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig, description="the evaluator's "
                                     "comparisons")
    reward: RewardModelConfig = Field(default_factory=RewardModelConfig, description="the proxy reward model")
    # The optimisers, run in this order; one line here adds one (oversight_lab.optimize.base).
    bon: BestOfNConfig = Field(default_factory=BestOfNConfig, description="best-of-n against the proxy")
    rl: RLConfig = Field(default_factory=RLConfig, description="RL against the proxy with a KL penalty")
    dpo: DPOConfig = Field(default_factory=DPOConfig, description="DPO on the comparisons")
    eval: CheckpointEvalConfig = Field(default_factory=CheckpointEvalConfig,
                                       description="how every checkpoint is scored")
    workers: int = Field(2, ge=1, description="processes running (arm, seed) jobs in parallel")
    item_eval: bool = Field(False, description="answer the world's fixed items deterministically at every "
                                               "checkpoint (items.jsonl; per-item before/after statistics)")
    protocol: dict[str, Any] = Field(default_factory=dict, description="settings of a scalable-oversight "
                                     "protocol's analysis (oversight_lab.protocols), e.g. n_train, n_deploy")
    w2s: W2SConfig = Field(default_factory=W2SConfig, description="the weak-to-strong experiment (experiment "
                           "weak_to_strong; oversight_lab.weak_to_strong)")
    debate: DebateConfig = Field(default_factory=DebateConfig, description="the debate experiment "
                                 "(oversight_lab.loop_debate); off unless debate.enabled")


def replicates(cfg: RunConfig) -> list[tuple[int, int]]:
    """The run's (pretraining seed, RLHF seed) pairs. RLHF seeds are nested, not crossed: each pretraining seed
    gets its own ``seeds`` RLHF seeds, so no two replicates share an evaluator's draw (e.g. which hazards it
    knows) and every replicate has a distinct run directory ``arms/<arm>/seed-<s>``."""
    return [
        (cfg.tiny.seed + j, cfg.seed + j * cfg.seeds + k)
        for j in range(cfg.pretrain_seeds)
        for k in range(cfg.seeds)
    ]


def seed_block_overrides(block: str) -> dict[str, Any]:
    """The config overrides that put a run on ``block``'s seeds."""
    if block not in SEED_BLOCKS:
        raise ConfigError(f"unknown seed block {block!r}; known: {', '.join(SEED_BLOCKS)}")
    start = SEED_BLOCKS[block]
    return {"seed_block": block, "seed": start, "tiny.seed": start}


def _check_seed_block(cfg: RunConfig) -> None:
    """A run's seeds lie inside its block: development never uses the seeds reserved for confirmation."""
    start = SEED_BLOCKS[cfg.seed_block]
    later = [v for v in SEED_BLOCKS.values() if v > start]
    end = min(later) if later else None
    reps = replicates(cfg)
    for name, used in (("tiny.seed", [p for p, _ in reps]), ("seed", [s for _, s in reps])):
        if min(used) < start or (end is not None and max(used) >= end):
            raise ConfigError(
                f"config key {name!r}: seeds {min(used)}..{max(used)} leave the {cfg.seed_block!r} block "
                f"[{start}, {end if end is not None else '∞'}); seeds from 1000 up are reserved for confirmation "
                "runs (--confirm)"
            )
    if cfg.policy != "tiny" and cfg.pretrain_seeds != 1:
        raise ConfigError(
            f"config key 'pretrain_seeds': {cfg.policy} has one pretrained model; set pretrain_seeds=1 "
            "(its results are conditional on that model)"
        )


def parse_set(item: str) -> tuple[str, Any]:
    """``"a.b=value"`` → ``("a.b", value)``; the value is read as YAML (numbers, booleans, lists, dicts)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {item!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def apply_overrides(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply dotted-key overrides to a plain dict; unknown keys are caught by validation, named in full."""
    out = copy.deepcopy(base)
    for dotted, value in overrides.items():
        node = out
        parts = dotted.split(".")
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"unknown config key {'.'.join(parts[: i + 1])!r} (in {dotted!r})")
            node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"config key {'.'.join(parts[:-1])!r} is not a section (in {dotted!r})")
        last = parts[-1]
        dynamic = parts[0] in ("world_params", "arms") and len(parts) <= 2
        if last not in node and not dynamic:
            raise ConfigError(f"unknown config key {dotted!r}")
        node[last] = value
    return out


def optimisers(cfg: RunConfig) -> list[Any]:
    """The optimiser configs of ``cfg`` (every field holding an ``OptimiserConfig``), in field order."""
    from oversight_lab.optimize.base import OptimiserConfig

    return [v for v in (getattr(cfg, k) for k in type(cfg).model_fields) if isinstance(v, OptimiserConfig)]


def resolve_config(scenario_overrides: dict[str, Any], sets: dict[str, Any]) -> RunConfig:
    """Defaults ← scenario overrides ← ``--set`` overrides, validated; errors name the key and the problem."""
    data = RunConfig().model_dump()
    data = apply_overrides(data, scenario_overrides)
    data = apply_overrides(data, sets)
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"config key {where!r}: {err['msg']} (got {err.get('input')!r})") from None
    if cfg.tiny.size is not None and is_hf(cfg.tiny.size):  # an hf: size is the evaluatee itself
        if cfg.policy not in ("tiny", cfg.tiny.size):
            raise ConfigError(
                f"config key 'tiny.size': {cfg.tiny.size!r} conflicts with policy {cfg.policy!r}")
        cfg.policy = cfg.tiny.size
    if cfg.policy != "tiny" and "pretrain_seeds" not in sets:
        cfg.pretrain_seeds = 1  # a model loaded from elsewhere is one pretrained model: nothing to resample
    _check_seed_block(cfg)
    return cfg


def check_out(out: str | Path | None, resume: bool = False) -> None:
    """``--out``: a directory, or a path that does not exist yet; not empty only when ``resume`` (sweeps)."""
    if out is None:
        return
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {str(path)!r} is a file, not a directory; choose another --out")
    if path.is_dir() and not resume and any(path.iterdir()):
        raise ConfigError(
            f"run directory {str(path)!r} already exists and is not empty; choose another --out"
        )


def check_policy(policy: str, key: str = "policy") -> None:
    """``"tiny"``, or ``"hf:<directory or hub id>"`` naming a model directory that exists (a path) or a valid
    hub id (which, with ``HF_HUB_OFFLINE`` set, must be in the local Hugging Face cache)."""
    if policy == "tiny":
        return
    if not policy.startswith("hf:") or not policy[3:].strip():
        raise ConfigError(f"config key '{key}': expected 'tiny' or 'hf:<name or path>', got {policy!r}")
    name = policy[3:]
    from oversight_lab.models.hub import KNOWN_MODELS, ModelSourceError, resolve_model

    if name in KNOWN_MODELS:  # a model the lab converts into its cache (oversight-lab models add NAME)
        try:
            name = resolve_model(name)
        except ModelSourceError as e:
            raise ConfigError(f"config key '{key}': {e}") from None
    path = Path(name).expanduser()
    if name.startswith(("/", ".", "~")) or path.exists():  # a local directory
        if not path.is_dir():
            raise ConfigError(f"config key '{key}': {policy!r}: no such directory")
        if not (path / "config.json").exists():
            raise ConfigError(f"config key '{key}': {policy!r}: not a model directory (no config.json)")
        return
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError as e:
        raise ConfigError(
            f"config key '{key}': {policy!r} is neither a directory nor a hub id ({e})"
        ) from None
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if offline and not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise ConfigError(f"config key '{key}': {policy!r} is not in the local Hugging Face cache and "
                          "HF_HUB_OFFLINE is set")


def _check_w2s(cfg: RunConfig) -> None:
    """Weak-to-strong's inputs: every hf: size loadable, the world able to pose the tasks."""
    from oversight_lab.weak_to_strong.tasks import make_task_data
    from oversight_lab.worlds.base import make_world

    for size in cfg.w2s.sizes:
        if is_hf(size):
            try:
                check_policy(size)
            except ConfigError as e:
                raise ConfigError(str(e).replace("config key 'policy'", "config key 'w2s.sizes'")) from None
    w = cfg.w2s
    try:
        make_task_data(make_world(cfg.world, **cfg.world_params), w.tasks, w.recipe_size, w.dose, 2, 2, 2,
                       w.blind_fraction, seed=0)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"config key 'w2s': {e}") from None


def check_inputs(cfg: RunConfig, out: str | Path | None = None, resume: bool = False) -> None:
    """Every check a run's inputs need beyond their types, before anything runs or is written: the run
    directory (``check_out``), the world, the policy (``check_policy``) and every arm's evaluator."""
    from oversight_lab.evaluators import SpecError, check_spec
    from oversight_lab.worlds import WORLDS

    check_out(out, resume)
    if cfg.world not in WORLDS:
        known = ", ".join(sorted(WORLDS))
        raise ConfigError(f"config key 'world': unknown world {cfg.world!r}; known: {known}")
    check_policy(cfg.policy)
    if cfg.reward.backbone.startswith("hf:"):
        check_policy(cfg.reward.backbone, key="reward.backbone")
    if cfg.experiment == "weak_to_strong":
        _check_w2s(cfg)
        return
    if not cfg.arms:
        raise ConfigError("config key 'arms': at least one arm is needed")
    for name, spec in cfg.arms.items():
        try:
            check_spec(spec.kind, spec.flaws, spec.params)
        except SpecError as e:
            raise ConfigError(f"config key 'arms.{name}.{e.key}': {e.message}") from None
    if cfg.debate.enabled:
        _check_debate(cfg, WORLDS[cfg.world])


def _check_debate(cfg: RunConfig, world_cls: type) -> None:
    """The debate experiment needs the tiny word-level evaluatee and a world with a hidden record of
    ingredients (alchemy), and recipes of ``question_size`` safe ingredients must exist."""
    if cfg.policy != "tiny":
        raise ConfigError(f"config key 'policy': the debate experiment (debate.enabled) needs the tiny "
                          f"evaluatee, got {cfg.policy!r}")
    try:
        world = world_cls(**cfg.world_params)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config key 'world_params': {e}") from None
    if not hasattr(world, "ingredients"):
        raise ConfigError(f"config key 'world': the debate experiment needs a world with a hidden record of "
                          f"ingredients (alchemy), got {cfg.world!r}")
    n_safe = len(world.ingredients) - len(world.hazards())
    if cfg.debate.question_size > n_safe:
        raise ConfigError(f"config key 'debate.question_size': at most {n_safe} (the world's ingredients "
                          f"without mercury), got {cfg.debate.question_size}")
