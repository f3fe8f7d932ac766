"""Slow: the classifier trains on a real tiny model, and `oversight-lab run weak_to_strong` at a tiny budget
writes a run directory, an analysis and a report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from oversight_lab.cli import app

TINY = ["tiny.steps=30", "tiny.corpus_lines=500", "w2s.n_weak_train=48", "w2s.n_student_train=48",
        "w2s.n_test=48", "w2s.sizes=[xs, s]", "w2s.epochs=2", "workers=2"]


@pytest.mark.slow
def test_the_classifier_starts_as_the_lm_answering_and_training_moves_it(tmp_path, monkeypatch):
    from oversight_lab.models.tiny import TinyConfig, load_or_pretrain
    from oversight_lab.weak_to_strong.tasks import make_task_data
    from oversight_lab.weak_to_strong.train import fine_tune, load_classifier, predict
    from oversight_lab.worlds import AlchemyWorld

    world = AlchemyWorld()
    model, tok, path, _ = load_or_pretrain(world, TinyConfig(n_layer=1, n_embd=16, n_head=1, corpus_lines=300,
                                                             steps=10))
    clf = load_classifier(path, "xs")
    ids = [tok("no")["input_ids"][0], tok("yes")["input_ids"][0]]
    assert torch.equal(clf.model.score.weight, model.lm_head.weight[ids])  # the LM's own no/yes readout
    data = make_task_data(world, ["mercury"], 5, 2, 8, 64, 64, 0.5, seed=0)
    texts, gold = [q.text for q in data.student_train], np.array([q.gold for q in data.student_train], float)
    # zero-shot, the head reads what the LM's next-token logits say about "yes" against "no"
    with torch.no_grad():
        enc = tok(texts[:4], return_tensors="pt")
        lm = model(**enc).logits[:, -1][:, ids].softmax(-1)[:, 1].numpy()
    assert np.allclose(predict(clf, texts[:4]), lm, atol=1e-5)
    before = [p.detach().clone() for p in clf.model.parameters()]
    log = fine_tune(clf, texts, gold, epochs=3, batch_size=16, lr=3e-3, seed=0)
    assert log["steps"] == 12 and log["final_loss"] < log["first_loss"]
    assert any(not torch.equal(a, b) for a, b in zip(before, clf.model.parameters(), strict=True))
    with pytest.raises(ValueError, match="probabilities"):
        fine_tune(clf, texts, gold * 2, epochs=1, batch_size=16, lr=1e-3, seed=0)


@pytest.mark.slow
def test_cli_runs_weak_to_strong_into_a_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", "weak_to_strong", "--pretrain-seeds", "2", "--seeds", "1", "--quiet", "--out", "r"]
    for s in TINY:
        args += ["--set", s]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = tmp_path / "r"
    for name in ("config.json", "env.json", "metrics.jsonl", "summary.json", "prereg.json", "analysis.json",
                 "report.html"):
        assert (run / name).exists(), name
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    # 2 replicates × 3 tasks × (1 weak + 1 ceiling + 1 student)
    assert len(rows) == 2 * 3 * 3 and {r["pretrain_seed"] for r in rows} == {0, 1}
    assert all(0.0 <= r["acc"] <= 1.0 for r in rows)
    a = json.loads((run / "analysis.json").read_text())
    assert set(a["tasks"]) == {"mercury", "mercury_blind", "mercury_noisy"}
    assert "xs→s" in a["tasks"]["mercury_noisy"]["pairs"] and "PGR" in result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["experiment"] == "weak_to_strong" and summary["timings"]["wall"] > 0


@pytest.mark.slow
def test_an_hf_model_slots_into_the_size_grid(tmp_path):
    """A size may name any Hugging Face model directory (here a tiny GPT-2 saved as one)."""
    from oversight_lab.models.tiny import TinyConfig, load_or_pretrain
    from oversight_lab.weak_to_strong.config import W2SConfig
    from oversight_lab.weak_to_strong.experiment import model_path, run_replicate
    from oversight_lab.worlds import AlchemyWorld

    world = AlchemyWorld()
    base = TinyConfig(corpus_lines=300, steps=10)
    _, _, saved, _ = load_or_pretrain(world, TinyConfig(n_layer=1, n_embd=32, n_head=2, corpus_lines=300,
                                                        steps=10, seed=5))
    hf = f"hf:{saved}"
    assert model_path(world, hf, base, 0) == saved
    cfg = W2SConfig(sizes=["xs", hf], tasks=["mercury"], n_weak_train=16, n_student_train=16, n_test=16,
                    epochs=1)
    rows = run_replicate(world, cfg, base, pretrain_seed=0, seed=0)
    student = [r for r in rows if r["role"] == "student"]
    assert [(r["weak"], r["strong"]) for r in student] == [("xs", hf)] and 0 <= student[0]["acc"] <= 1


@pytest.mark.slow
def test_a_failing_replicate_is_named_and_finished_rows_stay(tmp_path):
    """An hf: size whose directory passes the input check (it has a config.json) but cannot load: the run stops
    with an error naming the replicate, and metrics.jsonl is on disk."""
    from oversight_lab.config import check_inputs, resolve_config
    from oversight_lab.runs.weak_to_strong import execute_w2s

    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    sets = {k: v for k, v in (s.split("=", 1) for s in TINY) if k != "w2s.sizes"}
    cfg = resolve_config({"experiment": "weak_to_strong"}, {**sets, "w2s.sizes": ["xs", f"hf:{broken}"],
                                                            "w2s.tasks": ["mercury"], "pretrain_seeds": 1,
                                                            "seeds": 1, "workers": 1})
    check_inputs(cfg)
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(RuntimeError, match=r"replicate \(pretraining seed 0, seed 0\) failed"):
        execute_w2s(cfg, run, show_progress=False)
    assert (run / "metrics.jsonl").exists() and (run / "config.json").exists()
