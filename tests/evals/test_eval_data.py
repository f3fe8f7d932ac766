"""Loaders: shipped files in the original formats, the real hub ids, and errors that name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight_lab.evals.data import SHIPPED, DataFormatError, Row
from oversight_lab.evals.formats import hh_format
from oversight_lab.evals.tasks import TASKS, make_task

EXPECTED_ITEMS = {
    "sycophancy_on_nlp_survey": 6,
    "sycophancy_on_philpapers2020": 6,
    "sycophancy_on_political_typology_quiz": 6,
    "are_you_sure": 6,
    "answer": 16,
    "feedback": 15,
    "truthfulqa_mc1": 8,
    "truthfulqa_mc2": 8,
    "sandbagging_persona": 40,
    "calibration_mc": 12,
    "world_sycophancy": 32,
    "world_calibration": 32,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ITEMS))
def test_every_task_builds_from_its_sample(name: str) -> None:
    task = make_task(name)
    items = task.build(task.rows("sample"), hh_format())
    assert len(items) == EXPECTED_ITEMS[name]
    assert len({it.id for it in items}) == len(items)
    assert all(it.target is None or 0 <= it.target < len(it.choices) for it in items)


def test_registry_has_every_task_of_the_issue() -> None:
    assert set(EXPECTED_ITEMS) == set(TASKS)


def test_mwe_prompt_is_lm_evals_and_lists_are_accepted() -> None:
    task = make_task("sycophancy_on_philpapers2020")
    items = task.build(task.rows("sample"), hh_format())
    first = json.loads((SHIPPED / "sycophancy_on_philpapers2020.jsonl").read_text().splitlines()[0])
    assert items[0].prompt == f"Human: {first['question']}\n\nAssistant: I believe the best answer is"
    # the row: matching " (A)", then the list of the others; shown in the item's recorded order
    order = items[0].meta["order"]
    assert [items[0].choices[order.index(i)] for i in range(3)] == [" (A)", " (B)", " (C)"]
    assert items[0].meta["matching"] == [order.index(0)]


def test_sharma_templates_and_free_form_rows() -> None:
    ays = make_task("are_you_sure")
    items = ays.build(ays.rows("sample"), hh_format())
    assert ays.notes["skipped_free_form_rows"] == 1
    assert items[0].prompt.endswith("\n\nAssistant: The answer is (") and items[0].choices == (
        "A",
        "B",
        "C",
        "D",
    )
    answer = make_task("answer")
    assert {it.template for it in answer.build(answer.rows("sample"), hh_format())} == {
        "none",
        "suggest_incorrect",
        "doubt_correct",
        "suggest_correct",
    }
    feedback = make_task("feedback")
    assert {it.template for it in feedback.build(feedback.rows("sample"), hh_format())} == {
        "none",
        "like",
        "dislike",
        "wrote",
        "did_not_write",
    }


def test_original_csv_layouts() -> None:
    mmlu = make_task("calibration_mc")
    items = mmlu.build(mmlu.rows(str(SHIPPED / "mmlu_csv" / "astronomy_test.csv")), hh_format())
    assert len(items) == 3 and items[0].target == 1
    assert items[0].prompt.startswith(
        "The following are multiple choice questions (with answers) about astronomy."
    )
    tqa = make_task("truthfulqa_mc2")
    items = tqa.build(tqa.rows(str(SHIPPED / "TruthfulQA.csv")), hh_format())
    order = items[0].meta["order"]  # shown position -> the dataset's index
    assert [items[0].meta["labels"][order.index(i)] for i in range(6)] == [1, 1, 1, 0, 0, 0]
    first = order.index(0)
    assert items[0].choices[first] == " Nothing in particular happens if you crack your knuckles a lot."


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    good = json.dumps(
        {"question": "q", "answer_matching_behavior": " (A)", "answer_not_matching_behavior": " (B)"}
    )
    bad = _write(tmp_path / "syc.jsonl", [good, good, '{"question": "q", oops}'])
    task = make_task("sycophancy_on_nlp_survey")
    with pytest.raises(DataFormatError, match=rf"{bad}:3: not valid JSON"):
        task.rows(str(bad))


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    good = json.dumps(
        {"question": "q", "answer_matching_behavior": " (A)", "answer_not_matching_behavior": " (B)"}
    )
    bad = _write(
        tmp_path / "syc.jsonl", [good, json.dumps({"question": "q", "answer_matching_behavior": " (A)"})]
    )
    task = make_task("sycophancy_on_nlp_survey")
    with pytest.raises(DataFormatError, match=rf"{bad}:2: missing field 'answer_not_matching_behavior'"):
        task.build(task.rows(str(bad)), hh_format())


def test_wrong_types_and_values(tmp_path: Path) -> None:
    f = _write(tmp_path / "mc.jsonl", [json.dumps({"question": "q", "choices": ["a", "b"], "answer": 5})])
    task = make_task("calibration_mc")
    with pytest.raises(DataFormatError, match=rf"{f}:1: answer index 5 out of range"):
        task.build(task.rows(str(f)), hh_format())
    f = _write(
        tmp_path / "tqa.jsonl",
        [
            json.dumps(
                {
                    "question": "q",
                    "mc1_targets": {"choices": ["a"], "labels": []},
                    "mc2_targets": {"choices": ["a"], "labels": [1]},
                }
            )
        ],
    )
    task = make_task("truthfulqa_mc1")
    with pytest.raises(DataFormatError, match=rf"{f}:1: mc1_targets needs equally long lists"):
        task.build(task.rows(str(f)), hh_format())
    f = _write(
        tmp_path / "ays.jsonl",
        [
            json.dumps(
                {
                    "prompt": [{"type": "robot", "content": "x"}],
                    "base": {"correct_letter": "A", "answers": "(A) x\n(B) y"},
                    "metadata": {"prompt_template": "{question}"},
                }
            )
        ],
    )
    task = make_task("are_you_sure")
    with pytest.raises(DataFormatError, match=rf"{f}:1: each prompt turn needs 'type'"):
        task.build(task.rows(str(f)), hh_format())


def test_ragged_csv_row_names_line(tmp_path: Path) -> None:
    f = _write(tmp_path / "astronomy_test.csv", ["q1,a,b,c,d,A", "q2,a,b,c,B"])
    with pytest.raises(DataFormatError, match=rf"{f}:2: expected 6 columns"):
        make_task("calibration_mc").rows(str(f))


def test_hub_loading_uses_the_real_dataset_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls = []

    def fake_load_dataset(path: str, name: str | None = None, **kw: object) -> list[dict]:
        calls.append((path, name, kw))
        return [{"question": "q", "answer_matching_behavior": " (A)", "answer_not_matching_behavior": " (B)"}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rows = make_task("sycophancy_on_nlp_survey").rows("hub")
    assert isinstance(rows[0], Row) and rows[0].where.startswith("Anthropic/model-written-evals")
    make_task("truthfulqa_mc1").rows("hub")
    make_task("calibration_mc").rows("hub")
    make_task("are_you_sure").rows("hub")
    assert calls == [
        (
            "Anthropic/model-written-evals",
            None,
            {"split": "train", "data_files": "sycophancy/sycophancy_on_nlp_survey.jsonl"},
        ),
        ("truthfulqa/truthful_qa", "multiple_choice", {"split": "validation"}),
        ("cais/mmlu", "all", {"split": "test"}),
        ("meg-tong/sycophancy-eval", None, {"split": "train", "data_files": "are_you_sure.jsonl"}),
    ]
