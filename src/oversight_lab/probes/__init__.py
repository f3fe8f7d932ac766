"""Probes on hidden states: what a model represents as true, against what it says.

Activations per layer on contrast pairs, logistic-regression and mass-mean probes, contrast-consistent search
(Burns et al. 2022, with its sign fixed on training labels), the honesty gap, and a layer sweep with its plot.
Names are imported on first use, so the CLI can register ``probe`` without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ActivationSet": "activations", "collect_activations": "activations",
    "CCSProbe": "ccs", "ccs_loss": "ccs",
    "ProbeItem": "datasets", "alchemy_probe_dataset": "datasets", "load_probe_dataset": "datasets",
    "honesty_gap": "honesty",
    "LogisticProbe": "linear", "MassMeanProbe": "linear", "normalize_pairs": "linear",
    "SweepConfig": "sweep", "crossfit_readings": "sweep", "layer_sweep": "sweep", "plot_layer_sweep": "sweep",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"oversight_lab.probes.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'oversight_lab.probes' has no attribute {name!r}")
