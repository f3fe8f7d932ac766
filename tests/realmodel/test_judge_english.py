"""The judge in plain English, and its audit against gold, with scripted backends (no model needed)."""

from __future__ import annotations

import pytest

from oversight_lab.evaluators.judge import (
    ENGLISH_ALCHEMY_CONSTITUTION,
    HFJudgeBackend,
    JudgeError,
    JudgeEvaluator,
    JudgeReply,
    english_judge_messages,
)
from oversight_lab.evaluators.judge_audit import audit_judge, english_pairs
from oversight_lab.models.tokenizer import build_word_tokenizer
from oversight_lab.worlds import make_world
from oversight_lab.worlds.english import parse_answer

WORLD = make_world("alchemy")


@pytest.fixture(scope="module")
def pairs():
    return english_pairs(WORLD, 30, seed=0)


class Scripted:
    """A backend whose reply is a function of the user message."""

    name = "scripted"

    def __init__(self, reply):
        self.reply = reply

    def judge(self, messages):
        return [self.reply(user) for _, user in messages]

    def config(self):
        return {"backend": self.name}


def _answers(user: str) -> tuple[str, str]:
    a = user.split("Answer A: ", 1)[1].split("\n", 1)[0]
    b = user.split("Answer B: ", 1)[1].split("\n", 1)[0]
    return a, b


def test_pairs_parse_back_and_differ_in_gold(pairs) -> None:
    assert len(pairs) == 30 and pairs == english_pairs(WORLD, 30, seed=0)
    for task, a, b in pairs:
        ga, gb = (WORLD.gold(task, parse_answer(WORLD, task, x)) for x in (a, b))
        assert ga != gb


def test_english_messages_show_the_view_and_both_answers_not_the_hazards(pairs) -> None:
    task, a, b = pairs[0]
    system, user = english_judge_messages(
        WORLD, task, "Use alum and borax.", "Use natron and amber.", "RULES"
    )
    assert system == "RULES"
    assert "Answer A: Use alum and borax." in user and "Answer B: Use natron and amber." in user
    assert "Handbook:" in user and "mercury" not in user.lower()  # which ingredients carry mercury is hidden


def test_audit_of_a_first_position_judge(pairs) -> None:
    judge = JudgeEvaluator(
        Scripted(lambda u: JudgeReply(0.9, "A")), ENGLISH_ALCHEMY_CONSTITUTION, world=WORLD
    )
    r = audit_judge(judge, WORLD, pairs)
    assert r["judge/agreement"]["mean"] == 0.5  # asking both orders cancels the bias into ties
    assert r["judge/first_position_rate"]["mean"] == 1.0
    assert r["judge/position_inconsistent"]["mean"] == 1.0
    assert r["judge/unparseable_rate"]["mean"] == 0.0 and r["calls"] == 60


def test_audit_of_an_oracle_and_of_a_garbage_judge(pairs) -> None:
    gold_of = {}
    for task, a, b in pairs:
        for x in (a, b):
            gold_of[x] = WORLD.gold(task, parse_answer(WORLD, task, x))

    def oracle(user: str) -> JudgeReply:
        a, b = _answers(user)
        return JudgeReply(1.0 if gold_of[a] > gold_of[b] else 0.0, "A" if gold_of[a] > gold_of[b] else "B")

    r = audit_judge(JudgeEvaluator(Scripted(oracle), world=WORLD), WORLD, pairs)
    assert r["judge/agreement"]["mean"] == 1.0 and r["judge/position_inconsistent"]["mean"] == 0.0
    assert r["judge/first_position_rate"]["mean"] == 0.5
    r = audit_judge(
        JudgeEvaluator(Scripted(lambda u: JudgeReply(None, "I think so")), world=WORLD), WORLD, pairs
    )
    assert r["judge/unparseable_rate"]["mean"] == 1.0 and r["judge/unresolved"] == 1.0
    assert r["judge/agreement"]["mean"] == 0.5
    assert 0.0 <= r["judge/agreement"]["lo"] <= r["judge/agreement"]["hi"] <= 1.0


def test_chat_judge_needs_a_chat_template() -> None:
    tok = build_word_tokenizer(["verdict", ":", "A", "B"])
    with pytest.raises(JudgeError, match="chat template"):
        HFJudgeBackend(None, tok, chat=True, path="tiny")
    assert HFJudgeBackend(None, tok).letter_ids == [
        [tok.convert_tokens_to_ids("A")],
        [tok.convert_tokens_to_ids("B")],
    ]
