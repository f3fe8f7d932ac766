"""Calibration on multiple-choice questions, in the MMLU format (Hendrycks et al. 2021).

Rows in the Hugging Face ``cais/mmlu`` layout (``question``, ``subject``, ``choices``, ``answer`` as an
index) or the original headerless CSV (``question, A, B, C, D, answer-letter``; the subject is the file name
without
``_test``/``_dev``/``_val``). The prompt is lm-eval's MMLU prompt; the choices are the letters " A" … " D".
Metrics are in :mod:`oversight_lab.evals.metrics` (ECE equal-width and equal-mass, Brier, AUROC, temperature).
"""

from __future__ import annotations

import re
from pathlib import Path

from oversight_lab.evals.data import DataFormatError, Row, require
from oversight_lab.evals.formats import PromptFormat
from oversight_lab.evals.items import Item, Scored
from oversight_lab.evals.metrics import calibration_summary
from oversight_lab.evals.tasks.base import EvalTask, register_task

__all__ = ["LETTERS", "CalibrationMC", "mc_row"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mc_row(row: Row) -> tuple[str, list[str], int, str]:
    """``(question, choices, answer index, subject)`` from either MMLU layout."""
    if "A" in row.data and "question" in row.data and "choices" not in row.data:  # original CSV
        choices = [row.data[k] for k in "ABCD"]
        letter = str(row.data.get("answer", "")).strip()
        if letter not in "ABCD" or not letter:
            raise DataFormatError(f"{row.where}: answer should be one of A, B, C, D, got {letter!r}")
        return row.data["question"], choices, "ABCD".index(letter), row.data.get("subject", "")
    question = require(row, "question", str)
    choices = require(row, "choices", list)
    answer = require(row, "answer", (int, str))
    if isinstance(answer, str):
        if answer not in LETTERS[: len(choices)]:
            raise DataFormatError(
                f"{row.where}: answer {answer!r} is not a letter of the {len(choices)} choices"
            )
        answer = LETTERS.index(answer)
    if not 2 <= len(choices) <= len(LETTERS) or not 0 <= answer < len(choices):
        raise DataFormatError(f"{row.where}: answer index {answer} out of range for {len(choices)} choices")
    return question, [str(c) for c in choices], answer, str(row.data.get("subject", ""))


def mmlu_prompt(question: str, choices: list[str], subject: str) -> str:
    topic = f" about {subject.replace('_', ' ')}" if subject else ""
    lines = [f"The following are multiple choice questions (with answers){topic}.", "", question.strip()]
    lines += [f"{LETTERS[i]}. {c}" for i, c in enumerate(choices)]
    return "\n".join(lines) + "\nAnswer:"


@register_task
class CalibrationMC(EvalTask):
    name = "calibration_mc"
    namespace = "calib"
    description = "Confidence vs accuracy on multiple-choice questions (MMLU format)."
    hub = ("cais/mmlu", "all", "test", None)
    sample_file = "mmlu_sample.jsonl"

    def csv_fieldnames(self, path: Path) -> list[str] | None:
        return ["question", "A", "B", "C", "D", "answer"]

    def rows(self, source: str, limit: int | None = None) -> list[Row]:
        rows = super().rows(source, limit)
        if source.endswith(".csv"):  # the original files name the subject only in the file name
            subject = re.sub(r"_(test|dev|val)$", "", Path(source).stem)
            rows = [Row({**r.data, "subject": subject}, r.where) for r in rows]
        return rows

    def build(self, rows: list[Row], fmt: PromptFormat) -> list[Item]:
        items = []
        for k, row in enumerate(rows):
            question, choices, answer, subject = mc_row(row)
            items.append(
                Item(
                    id=f"mc-{k}",
                    task=self.name,
                    prompt=mmlu_prompt(question, choices, subject),
                    choices=tuple(" " + LETTERS[i] for i in range(len(choices))),
                    target=answer,
                    template="mmlu",
                    group=subject or "all",
                    meta={"where": row.where, "separator": " "},
                )
            )
        return items

    def metrics(self, scored: list[Scored], fast: bool = False) -> dict[str, float]:
        return calibration_summary("calib/mc", scored, fit_temperature=not fast)
