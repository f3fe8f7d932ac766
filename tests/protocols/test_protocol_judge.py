"""Model judges: verdict parsing, both orders, a local HF judge, the same judge over real loopback HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from judge_server import JudgeServer

from oversight_lab.evaluators.judge import (
    HFJudgeBackend,
    JudgeError,
    JudgeEvaluator,
    JudgeReply,
    OpenAIJudgeBackend,
    judge_messages,
    parse_verdict,
)


@pytest.mark.parametrize(
    "reply, verdict",
    [
        ("A", 0),
        (" B", 1),
        ("B.", 1),
        ("(A)", 0),
        ("**B**", 1),
        ("Answer: A", 0),
        ("verdict - B", 1),
        ("Preferred: B because", 1),
        ("A is better", 0),
        ("I think A", None),
        ("Neither", None),
        ("", None),
        (None, None),
        ("a recipe", None),
        ("AB", None),
        ("Both", None),
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) == verdict


class _Constant:
    """A backend that always answers the same letter (pure position bias), or garbage."""

    name = "constant"

    def __init__(self, text: str) -> None:
        self.text = text

    def judge(self, messages):
        v = parse_verdict(self.text)
        return [JudgeReply(None if v is None else float(v == 0), self.text) for _ in messages]

    def config(self):
        return {"backend": self.name}


def test_both_orders_cancel_a_pure_position_bias(pairs):
    ev = JudgeEvaluator(_Constant("A"), seed=0)
    prefs = ev.compare_batch(pairs[:20])
    assert all(p.prob_a == 0.5 for p in prefs)
    assert ev.stats["position_inconsistent"] == 20 and ev.stats["first_position_chosen"] == 40
    one = JudgeEvaluator(_Constant("A"), seed=0, both_orders=False).compare_batch(pairs[:20])
    assert all(p.prob_a == 1.0 and p.chosen == 0 for p in one)  # asked once, the bias is the preference


def test_garbage_backend_is_counted_not_dropped(pairs):
    ev = JudgeEvaluator(_Constant("I cannot say"), seed=0)
    prefs = ev.compare_batch(pairs[:10])
    assert len(prefs) == 10 and all(p.prob_a == 0.5 for p in prefs)
    assert ev.stats["calls"] == 20 and ev.stats["unparseable"] == 20 and ev.stats["pairs_unresolved"] == 10
    assert ev.unparseable_rate() == 1.0 and "I cannot say" in prefs[0].rationale


def test_local_judge_prefers_by_letter_probabilities(world, judge_dir, pairs):
    backend = HFJudgeBackend.from_pretrained(judge_dir)
    msgs = [judge_messages(t, a, b, "rules") for t, a, b in pairs[:8]]
    replies = backend.judge(msgs)
    one_by_one = [backend.judge([m])[0] for m in msgs]  # batching (left padding) changes nothing
    assert np.allclose([r.p_first for r in replies], [r.p_first for r in one_by_one], atol=1e-4)
    ev = JudgeEvaluator(backend, seed=0)
    prefs = ev.compare_batch(pairs[:8])
    fwd = backend.judge([judge_messages(t, a, b, ev.constitution) for t, a, b in pairs[:8]])
    rev = backend.judge([judge_messages(t, b, a, ev.constitution) for t, a, b in pairs[:8]])
    for p, f, r in zip(prefs, fwd, rev, strict=False):
        assert p.prob_a == pytest.approx((f.p_first + 1 - r.p_first) / 2)
    assert ev.stats["unparseable"] == 0


@pytest.mark.slow
def test_tiny_judge_learns_to_judge(world, pairs, tmp_path):
    """From the pretrained evaluatee, on the expert's verdicts, at the rlaif scenario's budget, the judge
    agrees with gold well above chance on pairs it never saw, read through the backend RLAIF uses (both
    orders). It was at chance (0.47-0.51) while training left out the position ids inference passes."""
    from oversight_lab.evaluators.tiny_judge import TinyJudgeConfig, train_tiny_judge

    _, _, log = train_tiny_judge(world, TinyJudgeConfig(steps=400), out_dir=tmp_path)
    assert log["holdout_accuracy_vs_labeller"] >= 0.7
    ev = JudgeEvaluator(HFJudgeBackend.from_pretrained(tmp_path), seed=0)
    prefs = ev.compare_batch(pairs)  # seed 7: not the judge's training pairs; gold strictly prefers one
    right = [
        (p.prob_a > 0.5) == (world.gold(t, world.parse(t, a)) > world.gold(t, world.parse(t, b)))
        for p, (t, a, b) in zip(prefs, pairs, strict=True)
    ]
    assert np.mean(right) >= 0.7
    assert ev.stats["unparseable"] == 0


def test_judge_over_http_agrees_with_the_local_model(judge_dir, pairs):
    local = JudgeEvaluator(HFJudgeBackend.from_pretrained(judge_dir), seed=0)
    sub = pairs[:12]
    with JudgeServer(judge_dir) as server:
        remote = JudgeEvaluator(OpenAIJudgeBackend(server.base_url, "tiny-judge", concurrency=4), seed=0)
        prefs = remote.compare_batch(sub)
        assert server.n_requests == 24
    expected = local.compare_batch(sub)
    assert remote.stats["calls"] == 24 and remote.stats["unparseable"] == 0
    for p, q in zip(prefs, expected, strict=False):
        # each HTTP verdict is the local model's argmax letter in that order: the averages agree in sign
        assert p.prob_a in (0.0, 0.5, 1.0)
        assert (p.prob_a > 0.5) == (q.prob_a > 0.5) or p.prob_a == 0.5


def test_judge_over_http_counts_garbage(judge_dir, pairs):
    with JudgeServer(judge_dir, reply=lambda i: "I refuse to judge alchemy" if i % 2 else None) as server:
        ev = JudgeEvaluator(OpenAIJudgeBackend(server.base_url, "tiny-judge", concurrency=1), seed=0)
        prefs = ev.compare_batch(pairs[:10])
    assert ev.stats["calls"] == 20 and ev.stats["unparseable"] == 10
    assert len(prefs) == 10 and ev.stats["parsed"] == 10
    with JudgeServer(judge_dir, reply=lambda i: "???") as server:
        ev = JudgeEvaluator(OpenAIJudgeBackend(server.base_url, "tiny-judge"), seed=0)
        prefs = ev.compare_batch(pairs[:5])
    assert ev.stats["pairs_unresolved"] == 5 and all(p.prob_a == 0.5 for p in prefs)


def test_unreachable_endpoint_is_an_error_naming_it():
    backend = OpenAIJudgeBackend("http://127.0.0.1:9/v1", "m", max_retries=0, timeout=5)
    with pytest.raises(JudgeError, match="127.0.0.1:9"):
        backend.judge([("rules", "| x | A : y | B : z | verdict :")])
    with pytest.raises(JudgeError, match="http"):
        OpenAIJudgeBackend("localhost:8000", "m")


def test_loop_builds_a_judge_arm_from_params(world, judge_dir, pairs):
    from oversight_lab.config import EvaluatorSpec
    from oversight_lab.loop import build_evaluator

    spec = EvaluatorSpec(kind="judge", params={"backend": "hf", "path": str(judge_dir), "batch_size": 8})
    ev = build_evaluator(world, spec, seed=0, name="judge")
    assert isinstance(ev, JudgeEvaluator) and ev.name == "judge"
    prefs = ev.compare_batch(pairs[:6])
    assert len(prefs) == 6 and ev.stats["calls"] == 12
    assert ev.config()["backend"] == "hf" and ev.score(pairs[0][0], pairs[0][1]) is None
