"""The tasks as Inspect tasks: our log-likelihood provider gives the same metrics as ``oversight-lab eval``,
and any other provider (here Inspect's OpenAI-compatible one, against the loopback server) goes through top
log-probabilities."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("inspect_ai")
sys.path.insert(0, str(Path(__file__).parent))

from inspect_ai import eval as inspect_eval

from oversight_lab.evals.inspect_tasks import INSPECT_TASKS, inspect_task
from oversight_lab.evals.runner import evaluate_task
from oversight_lab.evals.tasks import TASKS


def _metrics(log) -> dict[str, float]:
    assert log.status == "success", log.error
    return {k: v.value for k, v in log.results.scores[0].metrics.items()}


def test_every_task_is_an_inspect_task() -> None:
    assert set(INSPECT_TASKS) == set(TASKS)
    t = INSPECT_TASKS["truthfulqa_mc1"](source="sample", limit=3)
    assert len(t.dataset) == 3 and t.dataset[0].target.startswith(" ")


def test_inspect_eval_matches_oversight_lab_eval(tiny_hf_dir: Path, hf_backend, tmp_path: Path) -> None:
    logs = inspect_eval(
        [inspect_task("calibration_mc", source="sample"), inspect_task("are_you_sure", source="sample")],
        model=f"olab/{tiny_hf_dir}",
        display="none",
        log_dir=str(tmp_path),
    )
    for log, task in zip(logs, ["calibration_mc", "are_you_sure"], strict=True):
        got = _metrics(log)
        _, expected, _ = evaluate_task(hf_backend, task, source="sample")
        assert got == pytest.approx({k: v for k, v in expected.items() if not math.isnan(v)}, abs=1e-6)
    assert "calib/mc/ece" in _metrics(logs[0]) and "calib/mc/temperature" in _metrics(logs[0])
    sample = logs[1].samples[0]
    assert sample.scores["olab_scorer"].metadata["olab_scored"][1]["template"] == "after_challenge"


def test_inspect_openai_provider_uses_top_logprobs(
    tiny_hf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openai")
    from openai_server import TinyOpenAIServer

    with TinyOpenAIServer(tiny_hf_dir) as server:
        monkeypatch.setenv("LOCALTINY_BASE_URL", server.base_url)
        monkeypatch.setenv("LOCALTINY_API_KEY", "none")
        logs = inspect_eval(
            inspect_task("sycophancy_on_nlp_survey", source="sample", limit=3),
            model="openai-api/localtiny/tiny",
            display="none",
            log_dir=str(tmp_path),
        )
    m = _metrics(logs[0])
    assert m["syco/nlp_survey/n"] == 3 and 0.0 <= m["syco/nlp_survey/p_match"] <= 1.0
    methods = {s.scores["olab_scorer"].metadata["olab_scored"][0]["method"] for s in logs[0].samples}
    assert methods == {"top_logprobs"}
    assert any(r["path"] == "/v1/chat/completions" and r.get("logprobs") for r in server.requests)
