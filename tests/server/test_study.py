"""Study files: validation errors name the file and key; items from worlds, comparison files, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight_lab.feedback import Comparison, write_comparisons
from oversight_lab.server.study import StudyError, load_items, load_study, parse_study


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("text", "needle"), [
    ("name: x\nconditions: [{name: a, assistance: magic}]\n", "key 'conditions.0.assistance'"),
    ("name: x\noverlap: 0\n", "key 'overlap'"),
    ("name: x\ngold_share: 1.5\n", "key 'gold_share'"),
    ("name: x\ntypo_key: 1\n", "key 'typo_key'"),
    ("name: x\nconditions: [{name: a}, {name: a}]\n", "condition names must be unique"),
    ("name: x\nconditions: [{name: expert}]\n", "'expert' is reserved"),
    ("name: x\nbaseline: nope\n", "baseline 'nope' is not a condition"),
    ("name: x\nitems: {source: comparisons}\n", "source 'comparisons' needs 'path'"),
    ("name: x\nassistant: {kind: openai}\n", "needs 'base_url' and 'model'"),
    ("conditions: []\n", "key 'name'"),
    ("name: x\nconditions: [{name: 'has space'}]\n", "key 'conditions.0.name'"),
])
def test_bad_study_names_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(StudyError) as e:
        load_study(path)
    assert str(path) in str(e.value)
    assert needle in str(e.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nconditions: [unclosed\n")
    with pytest.raises(StudyError, match=r"s\.yaml: line \d+, column \d+: invalid YAML"):
        load_study(path)
    with pytest.raises(StudyError, match="expected a mapping"):
        load_study(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(StudyError, match="no such study file"):
        load_study(tmp_path / "missing.yaml")


def test_example_study_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "study.yaml"
    study = load_study(example)
    assert study.config.baseline_condition() == "unaided"
    items = load_items(study)
    assert len(items) == study.config.items.n
    assert all(it.answer_a != it.answer_b for it in items)


def test_world_items_are_reproducible_and_carry_no_gold(tmp_path: Path) -> None:
    text = "name: x\nitems: {source: world, n: 15, seed: 3}\n"
    a = load_items(parse_study(text, "a.yaml", tmp_path))
    b = load_items(parse_study(text, "b.yaml", tmp_path))
    assert [i.model_dump() for i in a] == [i.model_dump() for i in b]
    assert len(a) == 15 and all(i.prompt.startswith("request ") for i in a)
    assert "gold" not in a[0].model_dump()


def test_items_from_comparisons_file_ignore_labels(tmp_path: Path) -> None:
    recs = [Comparison(task_id=f"t{i}", prompt=f"p{i}", answer_a=" a", answer_b=" b", chosen=i % 2,
                       prob_a=0.9, evaluator="sim", policy="ckpt-3", task_spec={"request": ["red"]})
            for i in range(4)]
    write_comparisons(tmp_path / "c.jsonl", recs)
    study = parse_study("name: x\nitems: {source: comparisons, path: c.jsonl}\n", "s.yaml", tmp_path)
    items = load_items(study)
    assert [i.task_id for i in items] == ["t0", "t1", "t2", "t3"]
    assert items[0].policy == "ckpt-3" and items[0].task_spec == {"request": ["red"]}
    assert not hasattr(items[0], "chosen")
    (tmp_path / "bad.jsonl").write_text('{"task_id": 1}\n')
    bad = parse_study("name: x\nitems: {source: comparisons, path: bad.jsonl}\n", "s.yaml", tmp_path)
    with pytest.raises(StudyError, match=r"s\.yaml: key 'items\.path': .*bad\.jsonl:1"):
        load_items(bad)


def test_inline_item_errors_name_the_index(tmp_path: Path) -> None:
    text = ("name: x\nitems:\n  source: inline\n  inline:\n"
            "    - {task_id: a, prompt: p, answer_a: x, answer_b: y}\n"
            "    - {task_id: b, prompt: p, answer_a: x}\n")
    with pytest.raises(StudyError, match=r"key 'items\.inline\.1\.answer_b': Field required"):
        load_items(parse_study(text, "s.yaml", tmp_path))


def test_gold_share_is_a_seeded_draw(tmp_path: Path) -> None:
    study = parse_study("name: x\ngold_share: 0.3\n", "s.yaml", tmp_path)
    draws = [study.is_gold(f"k{i}") for i in range(2000)]
    assert 0.26 < sum(draws) / len(draws) < 0.34
    assert draws == [study.is_gold(f"k{i}") for i in range(2000)]


def test_items_from_a_policy_checkpoint(tmp_path: Path) -> None:
    """A tiny random GPT-2 saved to disk: the study samples two different answers per task from it."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from oversight_lab.models.tokenizer import build_word_tokenizer
    from oversight_lab.worlds import AlchemyWorld

    tok = build_word_tokenizer(AlchemyWorld().vocabulary())
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                                       pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
    model.save_pretrained(tmp_path / "ckpt")
    tok.save_pretrained(tmp_path / "ckpt")
    study = parse_study("name: x\nitems: {source: policy, checkpoint: ckpt, n: 5, temperature: 1.5}\n",
                        "s.yaml", tmp_path)
    items = load_items(study)
    assert 1 <= len(items) <= 5
    assert all(i.answer_a != i.answer_b and i.policy == "checkpoint:ckpt" for i in items)
    missing = parse_study("name: x\nitems: {source: policy, checkpoint: nope}\n", "s.yaml", tmp_path)
    with pytest.raises(StudyError, match="key 'items.checkpoint'.*is not a directory"):
        load_items(missing)
