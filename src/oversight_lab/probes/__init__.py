"""Probes on hidden states: what a model represents as true, against what it says.

Activations per layer on contrast pairs, logistic-regression and mass-mean probes, contrast-consistent search
(Burns et al. 2022, with its sign fixed on training labels), the honesty gap, and a layer sweep with its plot.
"""

from oversight_lab.probes.activations import ActivationSet, collect_activations
from oversight_lab.probes.ccs import CCSProbe, ccs_loss
from oversight_lab.probes.datasets import ProbeItem, alchemy_probe_dataset, load_probe_dataset
from oversight_lab.probes.honesty import honesty_gap
from oversight_lab.probes.linear import LogisticProbe, MassMeanProbe, normalize_pairs
from oversight_lab.probes.sweep import SweepConfig, crossfit_readings, layer_sweep, plot_layer_sweep

__all__ = [
    "ActivationSet",
    "CCSProbe",
    "LogisticProbe",
    "MassMeanProbe",
    "ProbeItem",
    "SweepConfig",
    "alchemy_probe_dataset",
    "ccs_loss",
    "collect_activations",
    "crossfit_readings",
    "honesty_gap",
    "layer_sweep",
    "load_probe_dataset",
    "normalize_pairs",
    "plot_layer_sweep",
]
