"""Shared test setup: offline hub, a session-wide model cache, quiet libraries."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One pretraining cache for the whole session (set OVERSIGHT_LAB_CACHE to reuse one across sessions)."""
    if "OVERSIGHT_LAB_CACHE" not in os.environ:
        os.environ["OVERSIGHT_LAB_CACHE"] = str(tmp_path_factory.mktemp("cache"))
