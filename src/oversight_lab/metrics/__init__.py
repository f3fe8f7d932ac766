"""Metrics and the one statistics layer (:mod:`oversight_lab.metrics.stats`)."""

from oversight_lab.metrics.stats import (
    Estimate,
    cluster_estimate,
    holm,
    mean_ci,
    median_range,
    paired_bootstrap_ci,
    paired_cluster_estimate,
)

__all__ = [
    "Estimate", "cluster_estimate", "holm", "mean_ci", "median_range", "paired_bootstrap_ci",
    "paired_cluster_estimate",
]
