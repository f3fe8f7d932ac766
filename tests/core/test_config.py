import pytest

from oversight_lab.config import (
    BestOfNConfig,
    ConfigError,
    DPOConfig,
    RewardModelConfig,
    RLConfig,
    RunConfig,
    parse_set,
    resolve_config,
)
from oversight_lab.settings import Settings


def test_defaults_and_overrides():
    cfg = resolve_config({}, {})
    assert cfg.scenario == "alchemist" and set(cfg.arms) == {"flawed", "control"}
    cfg = resolve_config(
        {},
        dict(
            [
                parse_set("rl.steps=7"),
                parse_set("policy=hf:/tmp/m"),
                parse_set("arms.flawed.flaws=[{kind: noise, temperature: 0.3}]"),
            ]
        ),
    )
    assert cfg.rl.steps == 7 and cfg.policy == "hf:/tmp/m"
    assert cfg.arms["flawed"].flaws == [{"kind": "noise", "temperature": 0.3}]


@pytest.mark.parametrize(
    "item,message",
    [
        ("rl.stepz=3", "unknown config key 'rl.stepz'"),
        ("nope=1", "unknown config key 'nope'"),
        ("rl.steps=abc", "config key 'rl.steps'"),
        ("rl.algorithm=ppo", "config key 'rl.algorithm'"),
        ("rl.steps.x=1", "is not a section"),
    ],
)
def test_bad_overrides_name_the_key(item, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config({}, dict([parse_set(item)]))


def test_parse_set_needs_equals():
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_set("rl.steps")


def test_replicates_nest_rlhf_seeds_under_pretraining_seeds():
    from oversight_lab.config import replicates

    cfg = resolve_config({}, {"pretrain_seeds": 2, "seeds": 3, "seed": 5, "tiny.seed": 4})
    assert replicates(cfg) == [(4, 5), (4, 6), (4, 7), (5, 8), (5, 9), (5, 10)]
    default = resolve_config({}, {})
    assert (default.pretrain_seeds, default.seeds) == (3, 3)  # the default story: 3 × 3 per arm


def test_development_runs_cannot_use_reserved_seeds():
    from oversight_lab.config import seed_block_overrides

    with pytest.raises(ConfigError, match="reserved for confirmation"):
        resolve_config({}, {"seed": 1000})
    with pytest.raises(ConfigError, match="'tiny.seed'"):
        resolve_config({}, {"tiny.seed": 999})  # 999, 1000, 1001 reach into the confirm block
    cfg = resolve_config(seed_block_overrides("confirm"), {})
    assert cfg.seed_block == "confirm" and (cfg.seed, cfg.tiny.seed) == (1000, 1000)
    with pytest.raises(ConfigError, match="leave the .confirm. block"):
        resolve_config(seed_block_overrides("confirm"), {"seeds": 400})  # 1000 + 3·400 reaches 2000
    with pytest.raises(ConfigError, match="unknown seed block"):
        seed_block_overrides("holdout")


def test_an_hf_policy_is_one_pretrained_model():
    cfg = resolve_config({}, {"policy": "hf:/some/dir"})
    assert cfg.pretrain_seeds == 1
    with pytest.raises(ConfigError, match="pretrain_seeds"):
        resolve_config({}, {"policy": "hf:/some/dir", "pretrain_seeds": 3})


def _fields(model, prefix=""):
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        yield f"{prefix}{name}", field
        if isinstance(value, Settings):
            yield from _fields(value, f"{prefix}{name}.")


def test_every_field_is_documented():
    undocumented = [key for key, field in _fields(RunConfig()) if not (field.description or "").strip()]
    assert undocumented == []


def test_one_set_of_defaults_the_method_configs_own():
    cfg = RunConfig()
    assert cfg.rl == RLConfig() and (cfg.rl.steps, cfg.rl.lr, cfg.rl.beta) == (40, 2e-4, 0.05)
    assert cfg.dpo == DPOConfig() and cfg.dpo.steps == 10
    assert cfg.reward == RewardModelConfig() and cfg.reward.steps == 60
    assert cfg.bon == BestOfNConfig()


def test_a_known_model_alias_must_have_been_added(tmp_path, monkeypatch):
    from oversight_lab.config import check_policy

    monkeypatch.setenv("OVERSIGHT_LAB_CACHE", str(tmp_path))
    with pytest.raises(ConfigError, match="oversight-lab models add smollm2-135m-instruct"):
        check_policy("hf:smollm2-135m-instruct")
