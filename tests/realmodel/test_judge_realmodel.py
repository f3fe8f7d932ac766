"""SmolLM2-135M-Instruct as a judge: in-process (letter probabilities) and through `transformers serve`."""

from __future__ import annotations

import pytest

from oversight_lab.evaluators.judge import (
    ENGLISH_ALCHEMY_CONSTITUTION,
    HFJudgeBackend,
    JudgeEvaluator,
    OpenAIJudgeBackend,
    parse_verdict,
)
from oversight_lab.evaluators.judge_audit import audit_judge, english_pairs
from oversight_lab.worlds import make_world

pytestmark = pytest.mark.slow
WORLD = make_world("alchemy")
PAIRS = english_pairs(WORLD, 3, seed=1)


def test_in_process_chat_judge_puts_its_mass_on_the_letters(smollm2_path: str) -> None:
    import torch

    torch.set_num_threads(1)
    backend = HFJudgeBackend.from_pretrained("smollm2-135m-instruct", batch_size=6, chat=True, min_mass=0.1)
    assert backend.path == smollm2_path and all(len(ids) == 2 for ids in backend.letter_ids)
    judge = JudgeEvaluator(backend, ENGLISH_ALCHEMY_CONSTITUTION, world=WORLD)
    r = audit_judge(judge, WORLD, PAIRS)
    assert r["calls"] == 6
    # measured: ~1/4 of its next-token probability on "A"/"B" ("A" 0.23, "The" 0.19); > 0.1 in every reply
    assert r["judge/unparseable_rate"]["mean"] == 0.0
    assert 0.0 <= r["judge/first_position_rate"]["mean"] <= 1.0


def test_served_judge_reads_generated_text(smollm2_path: str) -> None:
    """`transformers serve` returns no log-probabilities: the verdict is parsed from the generated reply."""
    from oversight_lab.models.serve import served

    with served(smollm2_path) as base_url:
        backend = OpenAIJudgeBackend(base_url, smollm2_path, max_tokens=4, concurrency=1)
        judge = JudgeEvaluator(backend, ENGLISH_ALCHEMY_CONSTITUTION, world=WORLD)
        r = audit_judge(judge, WORLD, PAIRS)
        replies = backend.judge([("Reply with A or B.", "Which is a fruit? A: apple B: stone")])
    assert r["calls"] == 6 and judge.stats["calls"] == 6
    parsed = judge.stats["parsed"] + judge.stats["unparseable"]
    assert parsed == 6  # every reply was either parsed or counted, none dropped
    verdict = parse_verdict(replies[0].text)
    assert replies[0].text and replies[0].p_first == (None if verdict is None else float(verdict == 0))
