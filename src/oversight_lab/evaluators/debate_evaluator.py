"""The ``debate`` evaluator kind: comparisons from a judge watching a debate about the two answers.

For a pair of recipes (a, b) two debaters speak in turn, ``turns`` each: debater A defends a by arguing that b
holds mercury, debater B defends b by arguing that a does, each quoting facts from the hidden record in the
turn language of :mod:`oversight_lab.evaluators.debate` (verified against the record; caught lies are
ignored). The judge is the arm's simulated evaluator with its flaws (what it knows, how noisily it chooses,
what it punishes): it then judges both answers knowing, besides its own hazards, every hazard the debate
verified. So an evaluator with the alchemist's blind spot learns which ingredients carry mercury exactly when
a debater finds and quotes them.

Debaters (``debaters``): ``"evaluatee"``, the tiny evaluatee pretrained on the world (seed ``pretrain_seed``),
each turn the best of ``n`` sampled completions against the judge; or ``"optimal"``, a debater that considers
every true fact about the recipe it attacks (best-of-n with n → ∞: the strongest debater this judge can meet).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oversight_lab.evaluators.base import Preference
from oversight_lab.evaluators.debate import (
    CUE,
    Question,
    Sampler,
    Turn,
    format_turn,
    parse_prompt,
    parse_turn,
    speaker_prompt,
    verify,
)
from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.evaluators.simulated import SimulatedEvaluator
from oversight_lab.worlds.base import Task, World

__all__ = ["DebateEvaluator", "OptimalDebater", "evaluatee_debater"]


class OptimalDebater:
    """Every true fact about each ingredient of the recipe a prompt attacks, as its candidate turns."""

    def __init__(self, world: World) -> None:
        self.world = world

    def sample(self, prompts: list[str], n: int = 1, temperature: float = 1.0,
               seed: int = 0) -> list[list[str]]:
        hazards = set(self.world.hazards())
        out = []
        for p in prompts:
            recipe, _, _ = parse_prompt(p, self.world)
            facts = [format_turn(i, i in hazards).removeprefix(CUE) for i in dict.fromkeys(recipe)]
            out.append(facts or [" ."])  # nothing to attack: a forfeited turn
        return out


def evaluatee_debater(world: World, pretrain_seed: int = 0) -> Sampler:
    """The tiny evaluatee pretrained on ``world`` (cached), as a debater."""
    from oversight_lab.models.policy import Policy
    from oversight_lab.models.tiny import TinyConfig, load_or_pretrain

    model, tok, _, _ = load_or_pretrain(world, TinyConfig(seed=pretrain_seed))
    return Policy(model, tok, name="debater", word_level=True, max_new_tokens=8)


class DebateEvaluator(SimulatedEvaluator):
    """A simulated evaluator (its flaws) that judges a pair after watching a debate about it."""

    name = "debate"

    def __init__(self, world: World, flaws: Sequence[Flaw], speaker: Sampler, n: int = 4, turns: int = 1,
                 seed: int = 0, name: str | None = None, debaters: str = "evaluatee") -> None:
        super().__init__(world, flaws, seed=seed, name=name)
        if n < 1 or turns < 1:
            raise ValueError(f"debate evaluator: n and turns must be ≥ 1, got n={n}, turns={turns}")
        self.speaker, self.n, self.turns, self.debaters = speaker, n, turns, debaters
        self.ingredients = tuple(world.ingredients)  # type: ignore[attr-defined]
        self.stats = {"pairs": 0, "turns": 0, "evidence": 0, "caught": 0, "hazards_revealed": 0}
        self._calls = 0

    def _utility(self, task: Task, answer: str, known: frozenset[str]) -> float:
        """:meth:`SimulatedEvaluator.score` with ``known`` hazards in place of the evaluator's own."""
        obs = self.world.observe(task, self.world.parse(task, answer))
        for flaw in self.flaws:
            obs = flaw.perceive(obs)
        utility = self.world.judge(obs, known)
        for flaw in self.flaws:
            utility = flaw.bias(obs, utility)
        return utility

    def _known(self, turns: Sequence[Turn]) -> frozenset[str]:
        revealed = {t.evidence.ingredient for t in turns
                    if t.evidence is not None and t.evidence.verified and t.evidence.claims_mercury}
        return self.known_hazards | revealed

    def debate(self, pairs: Sequence[tuple[Task, str, str]]) -> list[list[Turn]]:
        """The debate about each pair, batched across pairs: A attacks b, B attacks a, alternating."""
        recipes = [
            [self.world.parse(t, x).fields.get("recipe", []) for x in (a, b)] for t, a, b in pairs
        ]
        transcripts: list[list[Turn]] = [[] for _ in pairs]
        for k in range(2 * self.turns):
            who = "AB"[k % 2]
            attacked = [r[1] if who == "A" else r[0] for r in recipes]
            prompts = [speaker_prompt(Question("", tuple(rec), False), True, tr)
                       for rec, tr in zip(attacked, transcripts, strict=True)]
            self._calls += 1
            samples = self.speaker.sample(prompts, n=self.n, seed=self.seed * 1000 + self._calls)
            for i, ((task, a, b), cands) in enumerate(zip(pairs, samples, strict=True)):
                own, other = (a, b) if who == "A" else (b, a)
                best, best_score = None, float("-inf")
                for c in cands:
                    parsed = parse_turn(c, self.ingredients)
                    turn = (Turn(who, True, format_turn(*parsed), verify(self.world, *parsed)) if parsed
                            else Turn(who, True, "", None))
                    known = self._known([*transcripts[i], turn])
                    score = self._utility(task, own, known) - self._utility(task, other, known)
                    if score > best_score:
                        best, best_score = turn, score
                assert best is not None
                transcripts[i].append(best)
        return transcripts

    def compare_batch(self, pairs: Sequence[tuple[Task, str, str]]) -> list[Preference]:
        out = []
        for (task, a, b), turns in zip(pairs, self.debate(pairs), strict=True):
            known = self._known(turns)
            pref = self._decide(self._utility(task, a, known), self._utility(task, b, known))
            self.stats["pairs"] += 1
            self.stats["turns"] += len(turns)
            self.stats["evidence"] += sum(t.evidence is not None for t in turns)
            self.stats["caught"] += sum(t.caught for t in turns)
            self.stats["hazards_revealed"] += len(known - self.known_hazards)
            rationale = " ".join(t.text for t in turns if t.evidence is not None) or None
            out.append(Preference(pref.prob_a, pref.chosen, rationale, pref.utility_a, pref.utility_b))
        return out

    def compare(self, task: Task, a: str, b: str) -> Preference:
        return self.compare_batch([(task, a, b)])[0]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "kind": "debate", "debaters": self.debaters, "n": self.n,
                "turns": self.turns}
