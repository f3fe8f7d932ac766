"""The OpenAI-compatible backend over real HTTP to a loopback server serving the tiny model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("openai")
sys.path.insert(0, str(Path(__file__).parent))

from openai_server import TinyOpenAIServer

from oversight_lab.evals.backends import load_backend
from oversight_lab.evals.backends.openai_compat import parse_openai_spec
from oversight_lab.evals.report import render_eval_report
from oversight_lab.evals.runner import evaluate_task, run_eval


def test_prompt_logprobs_match_the_local_scorer(tiny_hf_dir: Path, hf_backend) -> None:
    with TinyOpenAIServer(tiny_hf_dir) as server:
        backend = load_backend(f"openai:{server.base_url}#tiny")
        for task in ("sycophancy_on_nlp_survey", "calibration_mc"):
            remote, m_remote, _ = evaluate_task(backend, task, source="sample")
            local, m_local, _ = evaluate_task(hf_backend, task, source="sample")
            assert {s.method for s in remote} == {"prompt_logprobs"}
            for r, lo in zip(remote, local, strict=True):
                assert r.logprobs == pytest.approx(lo.logprobs, abs=1e-4)
            assert m_remote == pytest.approx(m_local, abs=1e-4)
        assert all(req.get("echo") for req in server.requests)


def test_without_echo_falls_back_to_top_logprobs(tiny_hf_dir: Path, hf_backend) -> None:
    with TinyOpenAIServer(tiny_hf_dir, echo=False) as server:
        # The choices " (A)", " (B)" share " (": the server continues the prompt after it, and each choice's
        # value is the log-probability of its letter token there, which the local model gives exactly.
        backend = load_backend(f"openai:{server.base_url}#tiny", top_logprobs=len(hf_backend.tokenizer))
        remote, _, _ = evaluate_task(backend, "sycophancy_on_nlp_survey", source="sample")
        assert {s.method for s in remote} == {"top_logprobs"}
        for r in remote:
            assert r.extra["missing"] == []
            expected = hf_backend.loglikelihood([(r.item.prompt + " (", c[2]) for c in r.item.choices])
            assert r.logprobs == pytest.approx([e for e, _ in expected], abs=1e-4)
        # With only the top 2 listed, the others are recorded as missing and get the smallest listed value.
        short, _, _ = evaluate_task(
            load_backend(f"openai:{server.base_url}#tiny", top_logprobs=2), "calibration_mc", source="sample"
        )
    assert {s.method for s in short} == {"top_logprobs"}
    for r in short:
        assert len(r.extra["missing"]) >= 2
        if len(r.extra["missing"]) == len(r.item.choices):  # no choice listed: the answer picks none
            assert r.unparsed and r.pred is None and r.logprobs is None
            continue
        floor = {r.logprobs[k] for k in r.extra["missing"]}
        assert len(floor) == 1  # every missing choice gets the same bound: the smallest value listed
        assert all(v >= min(floor) for v in r.logprobs)


def test_chat_only_without_logprobs_falls_back_to_generation(tiny_hf_dir: Path, tmp_path: Path) -> None:
    with TinyOpenAIServer(tiny_hf_dir, logprobs=False, completions=False, fixed_reply="B) because") as server:
        backend = load_backend(f"openai:{server.base_url}#tiny")
        header = run_eval(backend, ["calibration_mc"], tmp_path / "log", sources="sample")
    assert header["methods"] == {"calibration_mc": {"generation": 12}}
    rows = [json.loads(line) for line in (tmp_path / "log" / "samples.jsonl").read_text().splitlines()]
    assert all(r["method"] == "generation" and r["pred"] == 1 and r["probs"][1] == 1.0 for r in rows)
    assert rows[0]["tokenizer_hash"] == "remote:tiny"
    html = render_eval_report(tmp_path / "log", tmp_path / "r.html").read_text()
    assert "generation: 12" in html


def test_bad_openai_spec() -> None:
    with pytest.raises(ValueError, match="openai:<base_url>#<model>"):
        parse_openai_spec("openai:http://localhost:8000/v1")
    assert parse_openai_spec("openai:http://h:1/v1#m/x") == ("http://h:1/v1", "m/x")
