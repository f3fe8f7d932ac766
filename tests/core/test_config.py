import pytest

from oversight_lab.config import ConfigError, parse_set, resolve_config


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
