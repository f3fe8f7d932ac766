"""Shared test setup: offline hub, a model cache kept across pytest runs, quiet libraries, the test tiers.

Tiers: ``pytest -q -m "not slow"`` is the inner loop (under 3 minutes on 2 cores); a bare ``pytest -q`` runs
everything. Browser and load tests count as slow too, so the fast tier never starts chromium or a load test.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
# Pretrained test models are cached by their key (world, tokenizer, config, code) across pytest runs, in a
# directory of their own so that tests never read or fill the user's run cache. OVERSIGHT_LAB_CACHE wins.
os.environ.setdefault(
    "OVERSIGHT_LAB_CACHE",
    str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oversight-lab-tests"),
)

import pytest  # noqa: E402

SLOW_TOO = ("browser", "load")  # markers that also mean slow


def pytest_configure(config: pytest.Config) -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(m) for m in SLOW_TOO) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
