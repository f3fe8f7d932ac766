"""Input checks shared by the metric functions: bad input is a ``ValueError`` that names the argument.

A metric fed a NaN, a confidence outside [0, 1], a negative count or two arrays of different lengths gives a
number that looks valid and is not (a NaN counted in n but in no bin, a length-1 array broadcast against a
long one, a p-value of 0 from a negative count). These checks refuse such input before anything is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_binary",
    "as_finite",
    "as_probabilities",
    "check_count",
    "check_same_length",
]


def as_finite(name: str, values: Any, ndim: int | None = 1) -> np.ndarray:
    """``values`` as a float array of ``ndim`` dimensions with no NaN or infinity."""
    x = np.asarray(values, dtype=float)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        at = where[0] if len(where) == 1 else where
        raise ValueError(f"{name} must be finite, got {x[bad].flat[0]} at index {at}")
    return x


def as_probabilities(name: str, values: Any, ndim: int | None = 1) -> np.ndarray:
    """``values`` as finite floats in [0, 1] (confidences, probabilities)."""
    x = as_finite(name, values, ndim)
    out = (x < 0) | (x > 1)
    if out.any():
        raise ValueError(
            f"{name} must lie in [0, 1], got {x[out].flat[0]} at index {int(np.argwhere(out)[0][0])}"
        )
    return x


def as_binary(name: str, values: Any) -> np.ndarray:
    """A 1-d array of 0/1 (or booleans) as floats; anything else (0.5, NaN, 2) is refused."""
    x = as_finite(name, values, 1)
    bad = (x != 0) & (x != 1)
    if bad.any():
        raise ValueError(
            f"{name} must hold only 0/1 (or booleans), got {x[bad][0]} at index {int(np.flatnonzero(bad)[0])}"
        )
    return x


def check_same_length(reason: str = "", /, **arrays: Sequence[Any] | np.ndarray) -> int:
    """The common length of the named arrays; a ``ValueError`` naming them (and why) when they differ."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        why = f" ({reason})" if reason else ""
        raise ValueError(f"{' and '.join(lengths)} must have one length{why}, got: {listed}")
    return next(iter(lengths.values()), 0)


def check_count(name: str, value: Any) -> int:
    """A non-negative integer count."""
    if isinstance(value, bool) or not float(value).is_integer() or value < 0:
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(value)
