"""``HumanEvaluator``: people in a running study as the closed loop's evaluator.

``compare_batch`` pushes the pairs into the study's queue through the HTTP API (as one batch), waits until
each item has the labels it needs, and returns one ``Preference`` per pair, in the same format as the
simulated evaluators, so the reward model and the optimisers cannot tell the difference.

Aggregation per item: each person's ``prob_a`` is their stated confidence for the answer they preferred
(0.5 for a tie); the preference's ``prob_a`` is the mean over people, ``chosen`` the side above 0.5, and
``margin`` the absolute mean graded strength / 3. When everyone said "tie" (``prob_a`` exactly 0.5) the
returned preference has ``chosen=0``, ``margin=0.0`` and a rationale starting "tie": a Preference must
choose, and 0.5 tells a Bradley-Terry model nothing either way. The study's own exports skip ties.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from oversight_lab.evaluators.base import Evaluator, Preference
from oversight_lab.worlds.base import Task

__all__ = ["HumanEvaluator", "HumanEvaluatorError", "HumanEvaluatorTimeout", "aggregate"]


class HumanEvaluatorTimeout(TimeoutError):
    """The needed human labels did not arrive in time. The batch stays queued: ``collect`` can resume."""

    def __init__(self, message: str, batch: str) -> None:
        super().__init__(message)
        self.batch = batch


class HumanEvaluatorError(RuntimeError):
    """The study server refused a request or could not be reached."""


def _prob_a(strength: int, confidence: float) -> float:
    return 0.5 if strength == 0 else (confidence if strength < 0 else 1.0 - confidence)


def aggregate(labels: list[dict[str, Any]]) -> Preference:
    """One preference from several people's labels (canonical strength and confidence each)."""
    if not labels:
        raise ValueError("aggregate: no labels")
    p = sum(_prob_a(x["strength"], x["confidence"]) for x in labels) / len(labels)
    mean_strength = sum(x["strength"] for x in labels) / len(labels)
    notes = [x["rationale"] for x in labels if x.get("rationale")]
    tie = p == 0.5
    rationale = "; ".join(notes) if notes else None
    if tie:
        rationale = "tie" + (f": {rationale}" if rationale else "")
    return Preference(prob_a=p, chosen=0 if p >= 0.5 else 1, rationale=rationale,
                      margin=0.0 if tie else abs(mean_strength) / 3)


class HumanEvaluator(Evaluator):
    """Compare pairs by asking the people of a study served at ``base_url`` (an admin ``token`` is needed).

    ``conditions``: whose labels count (default: every condition of the study); ``labels_per_item``: how many
    (default: the study's overlap times the number of those conditions); ``timeout_s``: how long
    ``compare_batch`` waits before raising ``HumanEvaluatorTimeout``.
    """

    name = "human"

    def __init__(self, base_url: str, token: str, *, conditions: Sequence[str] | None = None,
                 labels_per_item: int | None = None, timeout_s: float = 3600.0, poll_s: float = 2.0,
                 policy: str = "", transport: Any = None) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"},
                                   timeout=30.0, transport=transport)
        self.timeout_s, self.poll_s, self.policy = timeout_s, poll_s, policy
        info = self._call("GET", "/api/admin/study")
        names = [c["name"] for c in info["conditions"]]
        unknown = sorted(set(conditions or []) - set(names))
        if unknown:
            raise HumanEvaluatorError(f"{self.base_url}: unknown condition(s) {', '.join(unknown)}; "
                                      f"the study has {', '.join(names)}")
        self.conditions = list(conditions) if conditions else names
        self.labels_per_item = labels_per_item or info["overlap"] * len(self.conditions)
        self.study = {"name": info["name"], "sha256": info["sha256"]}

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            r = self.client.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise HumanEvaluatorError(f"{self.base_url}{path}: {type(e).__name__}: {e}") from None
        if r.status_code >= 400:
            try:
                msg = r.json().get("error", r.text)
            except ValueError:
                msg = r.text
            raise HumanEvaluatorError(f"{self.base_url}{path}: HTTP {r.status_code}: {msg}")
        return r.json()

    def push(self, pairs: Sequence[tuple[Task, str, str]]) -> str:
        """Queue the pairs as one batch; returns the batch id."""
        items = [{"task_id": t.id, "prompt": t.prompt, "answer_a": a, "answer_b": b,
                  "task_spec": dict(t.spec), "policy": self.policy} for t, a, b in pairs]
        return self._call("POST", "/api/admin/items", json={"items": items})["batch"]

    def collect(self, batch: str, timeout_s: float | None = None) -> list[Preference]:
        """Wait for the labels of a queued batch and aggregate them, in the batch's order."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            status = self._call("GET", f"/api/admin/batches/{batch}")
            labels = [[x for x in it["labels"] if x["condition"] in self.conditions]
                      for it in status["items"]]
            missing = [it["task_id"] for it, ls in zip(status["items"], labels, strict=True)
                       if len(ls) < self.labels_per_item]
            if not missing:
                return [aggregate(sorted(ls, key=lambda x: x["label_id"])[: self.labels_per_item])
                        for ls in labels]
            if time.monotonic() >= deadline:
                raise HumanEvaluatorTimeout(
                    f"{self.base_url}: batch {batch}: {len(missing)} of {len(labels)} items still need "
                    f"{self.labels_per_item} labels (conditions {', '.join(self.conditions)}) after the "
                    f"timeout; first waiting: {', '.join(missing[:5])}. The items stay queued: call "
                    f"collect({batch!r}) to keep waiting.", batch)
            time.sleep(self.poll_s)

    def compare_batch(self, pairs: Sequence[tuple[Task, str, str]]) -> list[Preference]:
        if not pairs:
            return []
        return self.collect(self.push(pairs))

    def compare(self, task: Task, a: str, b: str) -> Preference:
        return self.compare_batch([(task, a, b)])[0]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.base_url, "study": self.study["name"],
                "study_sha256": self.study["sha256"], "conditions": self.conditions,
                "labels_per_item": self.labels_per_item}

    def close(self) -> None:
        self.client.close()
