"""The model-size family: named shapes of the tiny GPT-2, the lab's capability axis.

A size names a shape (layers × width, heads); pretrained per (world, size, pretraining seed) and cached like
any tiny model (the cache key holds the shape). A size is usable wherever a tiny model is: the evaluatee
(``tiny.size``), the reward model's backbone (``reward.backbone``), the tiny judge (``params.size`` of a
``judge`` arm) and the models of weak-to-strong (``w2s.sizes``). A size may instead name any Hugging Face
causal LM as ``hf:<name or path>``, so a real model slots into the same axis.

======  =========  ===========  ======================================================================
size    shape      parameters   cold pretraining, alchemy, 1000 steps, 1 thread (docs/benchmarks.md)
======  =========  ===========  ======================================================================
``xs``  1 × 16     5.0k         19 s (shared machine, load average 2–3)
``s``   1 × 32     16k          29 s (load 3–4)
``m``   2 × 64     107k         45–136 s (load 0–6): today's default evaluatee (its cache entries)
``l``   4 × 128    0.81M        835 s at load 6–11 (3–4 minutes unloaded, shared/notes)
======  =========  ===========  ======================================================================

Heads are 16 wide where the width allows (``heads_for``), as for reward backbones ``tiny:<layers>x<width>``,
which name the same shapes: ``tiny:2x64`` is ``m``. Wider (3M parameters and up) is impractical on 2 cores.
This module imports no torch: configs validate sizes without it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["SIZES", "Shape", "check_size", "heads_for", "is_hf", "shape_of", "size_order"]


class Shape(NamedTuple):
    n_layer: int
    n_embd: int
    n_head: int


def heads_for(width: int) -> int:
    """Attention heads of a tiny model ``width`` wide: the most heads of at least 16 dimensions that divide
    it (1 for widths under 32)."""
    return max(h for h in range(1, max(1, width // 16) + 1) if width % h == 0)


SIZES: dict[str, Shape] = {
    "xs": Shape(1, 16, heads_for(16)),
    "s": Shape(1, 32, heads_for(32)),
    "m": Shape(2, 64, heads_for(64)),
    "l": Shape(4, 128, heads_for(128)),
}
_EXPLICIT = re.compile(r"tiny:([1-9][0-9]*)x([1-9][0-9]*)")


def is_hf(size: str) -> bool:
    """Whether ``size`` names a Hugging Face model (``hf:<name or path>``) rather than a tiny shape."""
    return size.startswith("hf:")


def shape_of(size: str) -> Shape:
    """The shape of a size name (``xs``, ``s``, ``m``, ``l``) or of an explicit ``tiny:<layers>x<width>``;
    ``ValueError`` naming the known sizes otherwise (an ``hf:`` size has no tiny shape)."""
    if size in SIZES:
        return SIZES[size]
    match = _EXPLICIT.fullmatch(size)
    if match:
        layers, width = int(match.group(1)), int(match.group(2))
        if width < 8:
            raise ValueError(f"size {size!r}: width must be at least 8")
        return Shape(layers, width, heads_for(width))
    raise ValueError(
        f"unknown model size {size!r}; known: {', '.join(SIZES)}, tiny:<layers>x<width> or hf:<name or path>"
    )


def check_size(size: str) -> str:
    """``size`` if it names a size (a name, ``tiny:<layers>x<width>`` or a non-empty ``hf:...``); else
    ``ValueError``."""
    if not isinstance(size, str):
        raise ValueError(f"model size must be a string, got {size!r}")
    if is_hf(size):
        if not size[3:].strip():
            raise ValueError(f"model size {size!r}: hf: needs a model name or path")
        return size
    shape_of(size)
    return size


def size_order(size: str) -> float:
    """A sort key along the capability axis: tiny sizes by parameter count (≈ 12·layers·width²), ``hf:``
    models after every tiny one."""
    if is_hf(size):
        return float("inf")
    s = shape_of(size)
    return 12.0 * s.n_layer * s.n_embd**2
