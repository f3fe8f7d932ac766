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


def test_byte_level_top_tokens_are_decoded_before_matching() -> None:
    """Inspect's ``hf`` provider lists raw vocabulary entries ('ĠA' for " A"); matched raw, no choice was
    found and every answer became uniform."""
    from inspect_ai.model import TopLogprob

    from oversight_lab.evals.backends.openai_compat import scored_from_top
    from oversight_lab.evals.formats import hh_format
    from oversight_lab.evals.inspect_tasks import _top_texts, token_text
    from oversight_lab.evals.tasks import make_task

    assert [token_text(t) for t in ("ĠA", "A", " A", "▁B", "ĊĠThe", "ĠâĢľ")] == [
        " A",
        "A",
        " A",
        " B",
        "\n The",
        " “",
    ]
    top = [TopLogprob(token=t, logprob=v) for t, v in (("ĠA", -0.3), ("ĠB", -2.0), ("▁B", -2.0), ("A", -4.0))]
    texts = _top_texts(top)
    assert texts[" A"] == -0.3 and texts["A"] == -4.0
    assert texts[" B"] == pytest.approx(math.log(2 * math.exp(-2.0)))  # one text: the tokens' mass adds up
    task = make_task("calibration_mc")
    item = task.build(task.rows("sample"), hh_format())[0]  # choices " A" … " D"
    s = scored_from_top(item, texts, "inspect")
    assert s.extra["missing"] == [2, 3] and s.pred == 0 and not s.unparsed


def test_inspects_own_hf_provider_runs_the_tasks(tiny_hf_dir: Path, tmp_path: Path) -> None:
    """``hf/<model>`` without ``-M do_sample=false``: asking it for temperature 0 crashed every sample."""
    logs = inspect_eval(
        inspect_task("truthfulqa_mc1", source="sample", limit=3),
        model=f"hf/{tiny_hf_dir}",
        display="none",
        log_dir=str(tmp_path),
    )
    m = _metrics(logs[0])
    assert m["truth/mc1/n"] == 3 and 0.0 <= m["truth/mc1/unparsed_rate"] < 1.0
    records = [s.scores["olab_scorer"].metadata["olab_scored"][0] for s in logs[0].samples]
    assert {r["method"] for r in records} == {"top_logprobs"}
    for r in records:  # a sample either found some choice among the top tokens or picked none
        assert r["unparsed"] == (len(r["missing"]) == len(r["choices"]))
    assert any(len(r["missing"]) < len(r["choices"]) for r in records)
    # The same numbers from the model directly: the provider's chat prompt, the next token's top 20 decoded
    # to text by the tokenizer (the byte-level decoding itself is checked in the test above).
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from oversight_lab.evals.backends.openai_compat import scored_from_top
    from oversight_lab.evals.items import Scored

    tok = AutoTokenizer.from_pretrained(str(tiny_hf_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_hf_dir)).eval()
    for r in records:
        item = Scored.from_record(r).item
        chat = tok.apply_chat_template(
            [{"role": "user", "content": item.prompt}], add_generation_prompt=True, tokenize=False
        )
        with torch.no_grad():
            logp = torch.log_softmax(model(**tok(chat, return_tensors="pt")).logits[0, -1].float(), -1)
        values, ids = logp.topk(20)
        texts: dict[str, float] = {}
        for v, i in zip(values.tolist(), ids.tolist(), strict=True):
            t = tok.decode([i])
            texts[t] = math.log(math.exp(texts[t]) + math.exp(v)) if t in texts else v
        expected = scored_from_top(item, texts, "direct")
        assert r["missing"] == expected.extra["missing"]
        found = [k for k in range(len(item.choices)) if k not in r["missing"]]
        assert [r["logprobs"][k] for k in found] == pytest.approx(
            [expected.logprobs[k] for k in found], abs=1e-4
        )
