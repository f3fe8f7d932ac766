"""scripts/regenerate_results.py on hand-made run directories (no training): the story table, and the marked
sections of docs it replaces."""

import importlib.util
import json
from pathlib import Path

import pytest
from test_story_report import write_run, zeros

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "regenerate_results.py"


@pytest.fixture(scope="module")
def regen():
    spec = importlib.util.spec_from_file_location("regenerate_results", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_story_table_reads_the_analysis_of_each_block(tmp_path, regen):
    def rising(p):
        return [1.0] * (14 + 2 * p) + [0.0] * (6 - 2 * p)

    blocks = []
    for block in ("confirm", "replicate"):
        run = write_run(tmp_path / block, rising, zeros, [0.0] * 20, block=block)
        (run / "config.json").write_text(json.dumps({"scenario": "sycophant",
                                                     "arms": {"flawed": {}, "control": {}}}))
        (run / "env.json").write_text(json.dumps({"git_commit": "abcdef0123"}))
        (run / "summary.json").write_text(json.dumps({"timings": {"wall": 12.0}}))
        blocks.append((block, run, f"oversight-lab run sycophant --block {block}"))
    lines = regen.story_table("sycophant", blocks)
    rows = [line for line in lines if line.startswith(("| confirm", "| replicate"))]
    assert len(rows) == 4  # the primary table and the gold / rated-vs-unrated table, a row per block
    assert "**+0.80 [" in rows[0] and "yes (emerged, confirmatory)" in rows[0] and "abcdef0" in rows[0]
    assert "+0.70, +0.80, +0.90" in rows[0] and "12 s" in rows[0]  # each pretraining seed's difference
    assert any(line.startswith("- confirm: sycophant [confirmatory]") for line in lines)
    assert any("agrees with a user's wrong view: +" in line for line in lines)  # its trend over checkpoints


def test_replace_section_keeps_the_rest_of_the_page_and_refuses_a_page_without_markers(tmp_path, regen):
    page = tmp_path / "stories.md"
    page.write_text("intro\n<!-- regenerate_results.py: stories -->\nold table\n"
                    "<!-- regenerate_results.py: end -->\nafter\n")
    regen.replace_section(page, "stories", ["new table"])
    regen.replace_section(page, "stories", ["newer table"])
    assert page.read_text() == ("intro\n<!-- regenerate_results.py: stories -->\nnewer table\n"
                                "<!-- regenerate_results.py: end -->\nafter\n")
    with pytest.raises(SystemExit, match="no section <!-- regenerate_results.py: protocols -->"):
        regen.replace_section(page, "protocols", ["x"])
