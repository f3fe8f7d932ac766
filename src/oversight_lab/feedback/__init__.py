"""Feedback: comparison records and their I/O (JSONL, Parquet, TRL, Hugging Face datasets)."""

from oversight_lab.feedback.records import (
    Comparison,
    FeedbackFormatError,
    read_comparisons,
    to_dataset,
    to_trl,
    write_comparisons,
)

__all__ = [
    "Comparison",
    "FeedbackFormatError",
    "read_comparisons",
    "to_dataset",
    "to_trl",
    "write_comparisons",
]
