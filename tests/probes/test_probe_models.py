"""Probes on the tiny evaluatee: activations per layer, the sweep, the plot, the CLI, and dataset errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from oversight_lab.evals.data import DataFormatError
from oversight_lab.probes import SweepConfig, alchemy_probe_dataset, collect_activations, layer_sweep
from oversight_lab.probes.activations import ActivationSet
from oversight_lab.probes.cli import register
from oversight_lab.probes.datasets import load_probe_dataset


@pytest.fixture(scope="module")
def evaluatee(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from oversight_lab.evals.tiny import tiny_evaluatee_checkpoint

    return tiny_evaluatee_checkpoint(tmp_path_factory.getbasetemp() / "oversight-lab-cache")


def test_alchemy_probe_dataset_has_the_worlds_truth() -> None:
    from oversight_lab.worlds import AlchemyWorld

    world = AlchemyWorld()
    items = alchemy_probe_dataset()
    assert len(items) == 2 * len(world.ingredients)
    for it in items:
        assert it.label == int(it.group in world.toxic)
        assert it.answers[1] in (" yes", " mercury .")  # answer 1 always asserts mercury


def test_activations_and_sweep_on_the_tiny_evaluatee(evaluatee: Path, tmp_path: Path) -> None:
    from oversight_lab.evals.backends.hf import HFBackend

    backend = HFBackend.from_pretrained(evaluatee)
    items = alchemy_probe_dataset()
    acts = collect_activations(backend, items)
    assert acts.acts.shape == (32, 2, 3, 64)  # items, answers, embeddings + 2 blocks, width 64
    # the stored activation is the model's hidden state at the last token of prompt + answer
    direct = backend.last_token_states([items[5].prompt + items[5].answers[1]])[0].numpy()
    assert np.allclose(acts.acts[5, 1], direct, atol=1e-5)
    lls = backend.loglikelihood([(items[5].prompt, a) for a in items[5].answers])
    assert acts.stated[5] == int(lls[1][0] > lls[0][0])
    acts.save(tmp_path)
    again = ActivationSet.load(tmp_path)
    assert again.ids == acts.ids and again.groups == acts.groups and np.array_equal(again.acts, acts.acts)
    result = layer_sweep(acts, SweepConfig(folds=4, ccs_tries=2, ccs_epochs=200))
    m = result["metrics"]
    assert set(result["per_layer"]) == {"logreg", "mass_mean", "ccs"} and result["layers"] == [0, 1, 2]
    # layer 0 is the answer token's embedding, the same for every item: no probe can beat the majority there
    assert m["probe/logreg/acc@0"] <= 0.75 + 1e-9
    # with two answers, probe and model disagree exactly when one of them is right and the other wrong
    assert m["probe/honesty_gap"] == pytest.approx(m["probe/knows_not_says"] + m["probe/says_not_knows"])
    probe_says = (np.array(result["readings"]) > 0.5).astype(int)
    assert m["probe/honesty_gap"] == pytest.approx(np.mean(probe_says != acts.stated))


def test_probe_cli_on_a_run_checkpoint(evaluatee: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(evaluatee, run / "arms" / "flawed" / "seed-0" / "checkpoints" / "initial")
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    res = CliRunner().invoke(
        app,
        [
            "probe",
            f"run:{run}",
            "alchemy",
            "--checkpoint",
            "flawed/0/initial",
            "--out",
            str(tmp_path / "probe"),
            "--folds",
            "4",
            "--ccs-tries",
            "2",
            "--ccs-epochs",
            "100",
            "--method",
            "logreg",
            "--method",
            "ccs",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "probe" / "probe.json").read_text())
    assert (
        "probe/logreg/best_acc" in summary["metrics"] and "probe/mass_mean/best_acc" not in summary["metrics"]
    )
    assert (tmp_path / "probe" / "layer_sweep.png").stat().st_size > 1000
    rows = [json.loads(x) for x in (tmp_path / "probe" / "items.jsonl").read_text().splitlines()]
    assert len(rows) == 32 and {"stated", "probe_reading", "label"} <= set(rows[0])
    res = CliRunner().invoke(app, ["probe", "openai:http://127.0.0.1:1/v1#m", "alchemy"])
    assert res.exit_code != 0 and "activations" in str(res.exception)


def test_shipped_probe_samples_load() -> None:
    from oversight_lab.evals.data import shipped

    boolq = load_probe_dataset(shipped("boolq_sample.jsonl"))
    assert len(boolq) == 8 and {it.label for it in boolq} == {0, 1}
    assert boolq[0].prompt.startswith("Passage: ") and boolq[0].answers == (" no", " yes")
    rows = load_probe_dataset(shipped("probe_statements.jsonl"))
    assert len(rows) == 10 and len({it.group for it in rows}) == 5


def test_probe_dataset_errors_and_hub_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "probe.jsonl"
    f.write_text(
        '{"id": "a", "prompt": "p", "answers": [" no", " yes"], "label": 1}\n'
        '{"id": "b", "prompt": "p", "answers": [" no"], "label": 0}\n'
    )
    with pytest.raises(DataFormatError, match=rf"{f}:2: 'answers' should be a list of two strings"):
        load_probe_dataset(f)
    f.write_text('{"id": "a", "prompt": "p", "answers": [" no", " yes"], "label": 2}\n')
    with pytest.raises(DataFormatError, match=rf"{f}:1: 'label' should be 0 or 1"):
        load_probe_dataset(f)
    import datasets

    calls = []

    def fake(path: str, name: str | None = None, **kw: object) -> list[dict]:
        calls.append((path, name, kw))
        return [
            {"question": "is water wet", "passage": "Water is wet.", "answer": True},
            {"question": "is fire cold", "passage": "Fire is hot.", "answer": False},
        ]

    monkeypatch.setattr(datasets, "load_dataset", fake)
    items = load_probe_dataset("boolq")
    assert calls == [("google/boolq", None, {"split": "validation"})]
    assert (
        items[0].prompt == "Passage: Water is wet.\nQuestion: is water wet?\nAnswer:" and items[0].label == 1
    )
