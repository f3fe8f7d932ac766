"""A study file: what people compare, under which conditions, how often, and for how long.

A study is the sandwiching protocol of Bowman et al. (2022, "Measuring Progress on Scalable Oversight for
Large Language Models"): non-experts compare answers unaided or with AI assistance, and experts label a
share of the items so that everyone's accuracy can be measured against hidden expert gold.

The YAML text is frozen into the database when a study first starts and into every export, so a data set
always says exactly which protocol produced it. Errors name the file and the key (``study.yaml: key
'conditions.1.assistance': ...``).
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from oversight_lab.server.validation import SafeLine, SafeText, check_text

__all__ = [
    "AssistantConfig",
    "ConditionConfig",
    "ItemsConfig",
    "LimitsConfig",
    "Study",
    "StudyConfig",
    "StudyError",
    "StudyItem",
    "load_items",
    "load_study",
    "parse_study",
]


class StudyError(ValueError):
    """A study file is malformed; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemsConfig(_Strict):
    """Where the items (a prompt and two answers) come from."""

    source: Literal["world", "comparisons", "inline", "policy", "none"] = Field(
        "none", description="world: demonstration answers of a world; comparisons: a feedback file (labels "
        "ignored); inline: listed here; policy: sampled from a checkpoint; none: only items pushed later "
        "(the HumanEvaluator's queue).")
    world: str = Field("alchemy", max_length=100, description="World name (sources world and policy).")
    world_params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the world.")
    split: str = Field("eval", max_length=100, description="Task split (sources world and policy).")
    n: int = Field(20, ge=1, le=100_000, description="Number of tasks (sources world and policy).")
    seed: int = Field(0, description="Task and answer seed.")
    path: str | None = Field(None, max_length=1000,
                             description="Comparisons file (JSONL or Parquet), relative to the study.")
    checkpoint: str | None = Field(None, max_length=1000,
                                   description="Policy checkpoint directory, relative to the study.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature (source policy).")
    word_level: bool = Field(True, description="The checkpoint's tokenizer is word-level (source policy).")
    inline: list[dict[str, Any]] = Field(default_factory=list, description="Items for source inline.")

    @model_validator(mode="after")
    def _needs(self) -> ItemsConfig:
        if self.source == "comparisons" and not self.path:
            raise ValueError("source 'comparisons' needs 'path'")
        if self.source == "policy" and not self.checkpoint:
            raise ValueError("source 'policy' needs 'checkpoint'")
        if self.source == "inline" and not self.inline:
            raise ValueError("source 'inline' needs a non-empty 'inline' list")
        return self


class ConditionConfig(_Strict):
    """One experimental condition. Its name is never shown to annotators."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    assistance: Literal["none", "critique", "chat"] = "none"


class AssistantConfig(_Strict):
    """The AI assistant used by the critique and chat conditions."""

    kind: Literal["world", "static", "openai"] = Field(
        "world", description="world: knows a share of a world's hazards; static: per-item critique_a/"
        "critique_b texts; openai: an OpenAI-compatible chat endpoint.")
    world: str = Field("alchemy", max_length=100)
    world_params: dict[str, Any] = Field(default_factory=dict)
    known_hazards: float = Field(0.75, ge=0, le=1, description="Share of the hazards the assistant knows.")
    seed: int = 0
    base_url: str | None = Field(None, max_length=1000, description="openai: e.g. http://127.0.0.1:8000/v1")
    model: str | None = Field(None, max_length=200)
    api_key_env: str | None = Field(None, max_length=100,
                                    description="openai: environment variable holding the API key.")
    timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> AssistantConfig:
        if self.kind == "openai" and not (self.base_url and self.model):
            raise ValueError("kind 'openai' needs 'base_url' and 'model'")
        return self


class LimitsConfig(_Strict):
    """Size limits on what people can send; larger requests are refused with a clear error."""

    rationale_chars: int = Field(2000, ge=0, le=100_000)
    chat_chars: int = Field(500, ge=1, le=10_000)
    chat_turns: int = Field(10, ge=0, le=100)
    body_bytes: int = Field(65_536, ge=1024, le=10_000_000, description="Largest accepted request body.")
    admin_body_bytes: int = Field(32_000_000, ge=1024, le=500_000_000,
                                  description="Largest request body on admin routes (item pushes).")
    session_hours: float = Field(12.0, gt=0, le=24 * 90, description="A browser session ends this many hours "
                                 "after sign-in (or when revoked: sign-out, or an admin).")


class StudyConfig(_Strict):
    """The typed study file. Every field is documented; see examples/study.yaml."""

    name: SafeLine(100, min_length=1)  # type: ignore[valid-type]
    description: SafeText(10_000) = ""  # type: ignore[valid-type]
    instructions: SafeText(5_000) = Field(  # type: ignore[valid-type]
        "Which answer is better? Take the time you need, within the limit.",
        description="Shown to annotators above every item (at most 5,000 characters).")
    items: ItemsConfig = Field(default_factory=ItemsConfig)
    conditions: list[ConditionConfig] = Field(
        default_factory=lambda: [ConditionConfig(name="unaided")], min_length=1)
    baseline: str | None = Field(None, max_length=40, description="The unaided condition of the sandwich "
                                 "gap; default: the first condition with assistance none.")
    overlap: int = Field(2, ge=1, le=50,
                         description="Labels wanted per (item, condition), by distinct people.")
    gold_share: float = Field(0.25, ge=0, le=1, description="Share of items experts label as gold.")
    expert_overlap: int = Field(1, ge=1, le=10, description="Expert labels wanted per gold item.")
    time_limit_s: int = Field(600, ge=5, le=86_400, description="Seconds from serving to submitting.")
    grace_s: float = Field(2.0, ge=0, le=60, description="Network slack added to the time limit.")
    assistant: AssistantConfig = Field(default_factory=AssistantConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    display: Literal["english", "raw"] = Field(
        "english", description="english: people read items through the world's English renderer, with the "
        "evaluator's handbook beside the answers (stored items and exports keep the world's own text); raw: "
        "items as stored.")
    seed: int = Field(0, description="Seeds gold selection and left/right randomisation.")

    @model_validator(mode="after")
    def _conditions(self) -> StudyConfig:
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise ValueError(f"condition names must be unique, got {names}")
        if "expert" in names:
            raise ValueError("'expert' is reserved for gold labels; rename that condition")
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not a condition ({', '.join(names)})")
        return self

    def baseline_condition(self) -> str | None:
        if self.baseline:
            return self.baseline
        return next((c.name for c in self.conditions if c.assistance == "none"), None)

    def condition(self, name: str) -> ConditionConfig:
        for c in self.conditions:
            if c.name == name:
                return c
        raise KeyError(name)


class Study:
    """A parsed study: its config, its frozen text and where it came from (for relative paths)."""

    def __init__(self, config: StudyConfig, text: str, source: str, base_dir: Path) -> None:
        self.config = config
        self.text = text
        self.source = source
        self.base_dir = base_dir
        self.sha256 = hashlib.sha256(text.encode()).hexdigest()

    def is_gold(self, key: str) -> bool:
        """Whether an item is a gold item: a seeded draw per item key, so the share holds for pushed items."""
        draw = int(hashlib.sha256(f"{self.config.seed}/gold/{key}".encode()).hexdigest()[:12], 16) / 16**12
        return draw < self.config.gold_share


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_study(text: str, source: str = "<study>", base_dir: Path | None = None) -> Study:
    """Parse study YAML text; ``source`` names the file in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark is not None else source
        raise StudyError(f"{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(data, dict):
        raise StudyError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as e:
        lines = [f"{source}: key '{_where(err['loc'])}': {err['msg']}" for err in e.errors()]
        raise StudyError("\n".join(lines)) from None
    return Study(config, text, source, base_dir or Path.cwd())


def load_study(path: str | Path) -> Study:
    """Read and validate a study file."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"{path}: no such study file")
    return parse_study(path.read_text(), str(path), path.resolve().parent)


def _clean_spec(value: Any, depth: int = 0) -> Any:
    """Every key and string of a task spec passes the text rule; nesting is bounded."""
    if depth > 20:
        raise ValueError("is nested more than 20 levels deep")
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, dict):
        return {check_text(str(k), multiline=False): _clean_spec(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_spec(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("holds a number that is not finite")
    return value


class StudyItem(BaseModel):
    """One item as stored: what annotators compare. Never carries gold."""

    model_config = ConfigDict(extra="forbid")

    task_id: SafeLine(200, min_length=1)  # type: ignore[valid-type]
    prompt: SafeText(20_000)  # type: ignore[valid-type]
    answer_a: SafeText(20_000)  # type: ignore[valid-type]
    answer_b: SafeText(20_000)  # type: ignore[valid-type]
    task_spec: Annotated[dict[str, Any], AfterValidator(_clean_spec)] = Field(default_factory=dict)
    policy: SafeLine(200) = ""  # type: ignore[valid-type]
    critique_a: SafeText(5_000) | None = None  # type: ignore[valid-type]
    critique_b: SafeText(5_000) | None = None  # type: ignore[valid-type]


def _world(name: str, params: dict[str, Any], where: str) -> Any:  # a World, imported lazily
    from oversight_lab.worlds import make_world

    try:
        return make_world(name, **params)
    except (KeyError, TypeError, ValueError) as e:
        raise StudyError(f"{where}: {e}") from None


def load_items(study: Study) -> list[StudyItem]:
    """The study's initial items, from its ``items`` source. Labels in a comparisons file are ignored."""
    cfg = study.config.items
    src = study.source
    if cfg.source == "none":
        return []
    if cfg.source == "inline":
        out = []
        for i, row in enumerate(cfg.inline):
            try:
                out.append(StudyItem.model_validate(row))
            except ValidationError as e:
                err = e.errors()[0]
                where = f"items.inline.{i}.{_where(err['loc'])}"
                raise StudyError(f"{src}: key '{where}': {err['msg']}") from None
        return out
    if cfg.source == "comparisons":
        from oversight_lab.feedback import FeedbackFormatError, read_comparisons

        path = (study.base_dir / cfg.path).resolve() if cfg.path else Path()
        try:
            records = read_comparisons(path)
        except FeedbackFormatError as e:
            raise StudyError(f"{src}: key 'items.path': {e}") from None
        return [StudyItem(task_id=r.task_id, prompt=r.prompt, answer_a=r.answer_a, answer_b=r.answer_b,
                          task_spec=dict(r.task_spec), policy=r.policy) for r in records]
    world = _world(cfg.world, cfg.world_params, f"{src}: key 'items.world'")
    tasks = world.tasks(cfg.split, cfg.n, cfg.seed)
    if cfg.source == "world":
        if not hasattr(world, "demo_recipe"):
            raise StudyError(f"{src}: key 'items.source': world {cfg.world!r} has no demonstration answers; "
                             "use source 'policy' or 'comparisons'")
        rng = random.Random(f"items/{cfg.seed}")
        out = []
        for t in tasks:
            request = tuple(t.spec["request"])
            a = " " + " ".join(world.demo_recipe(request, rng))
            b = a
            for _ in range(20):  # two different answers, or the comparison says nothing
                b = " " + " ".join(world.demo_recipe(request, rng))
                if b != a:
                    break
            out.append(StudyItem(task_id=t.id, prompt=t.prompt, answer_a=a, answer_b=b,
                                 task_spec=dict(t.spec), policy=f"demo:{cfg.world}"))
        return out
    return _policy_items(study, world, tasks)


def _policy_items(study: Study, world: Any, tasks: list[Any]) -> list[StudyItem]:
    """Two different sampled answers per task from a saved checkpoint (tasks whose samples all agree are
    skipped)."""
    cfg = study.config.items
    path = (study.base_dir / str(cfg.checkpoint)).resolve()
    if not path.is_dir():
        raise StudyError(f"{study.source}: key 'items.checkpoint': {path} is not a directory")
    from oversight_lab.models.policy import Policy

    try:
        policy = Policy.load(path, label=str(path), name=path.name, word_level=cfg.word_level)
    except (OSError, ValueError) as e:  # ModelLoadError is a ValueError
        raise StudyError(f"{study.source}: key 'items.checkpoint': {e}") from None
    samples = policy.sample([t.prompt for t in tasks], n=4, temperature=cfg.temperature, seed=cfg.seed)
    out = []
    for t, answers in zip(tasks, samples, strict=True):
        distinct = list(dict.fromkeys(answers))
        if len(distinct) < 2:
            continue
        out.append(StudyItem(task_id=t.id, prompt=t.prompt, answer_a=distinct[0], answer_b=distinct[1],
                             task_spec=dict(t.spec), policy=f"checkpoint:{path.name}"))
    if not out:
        raise StudyError(f"{study.source}: key 'items.checkpoint': every task's samples were identical")
    return out
