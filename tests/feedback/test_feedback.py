import json

import pytest

from oversight_lab.feedback import (
    Comparison,
    FeedbackFormatError,
    read_comparisons,
    to_dataset,
    to_trl,
    write_comparisons,
)


def records():
    return [
        Comparison(
            task_id=f"t{i}",
            prompt="request red heavy cold recipe :",
            answer_a=" sulfur alum",
            answer_b=" orpiment alum",
            chosen=i % 2,
            prob_a=0.9 if i % 2 == 0 else 0.2,
            evaluator="flawed",
            policy="initial",
            task_spec={"request": ["red", "heavy", "cold"]},
            evaluator_config={"flaws": [{"kind": "noise"}]},
            meta={"i": i},
        )
        for i in range(5)
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_round_trip(tmp_path, suffix):
    path = write_comparisons(tmp_path / f"c{suffix}", records())
    assert read_comparisons(path) == records()


def test_trl_export_round_trips_through_datasets():
    rows = to_trl(records(), margin=True)
    assert rows[0] == {
        "prompt": "request red heavy cold recipe :",
        "chosen": " sulfur alum",
        "rejected": " orpiment alum",
        "margin": pytest.approx(0.8),
    }
    assert rows[1]["chosen"] == " orpiment alum" and rows[1]["rejected"] == " sulfur alum"
    ds = to_dataset(records())
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert ds.to_list() == to_trl(records())
    full = to_dataset(records(), trl_format=False)
    assert json.loads(full[0]["task_spec"]) == {"request": ["red", "heavy", "cold"]}


def test_malformed_rows_name_file_and_line(tmp_path):
    path = write_comparisons(tmp_path / "c.jsonl", records())
    lines = path.read_text().splitlines()
    bad = json.loads(lines[2])
    bad["chosen"] = 2
    lines[2] = json.dumps(bad)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FeedbackFormatError, match=r"c\.jsonl:3: .*chosen must be 0 or 1"):
        read_comparisons(path)
    path.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(FeedbackFormatError, match=r"c\.jsonl:2: invalid JSON"):
        read_comparisons(path)
    row = json.loads(lines[0])
    del row["prompt"]
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(FeedbackFormatError, match=r"c\.jsonl:1: missing field\(s\) prompt"):
        read_comparisons(path)


def test_failed_write_keeps_the_old_file(tmp_path):
    path = write_comparisons(tmp_path / "c.jsonl", records())
    before = path.read_bytes()
    with pytest.raises(FeedbackFormatError):
        write_comparisons(tmp_path / "c.csv", records())
    assert path.read_bytes() == before
