"""Metrics and statistics shared by every part of the lab."""

from oversight_lab.metrics.stats import mean_ci, paired_bootstrap_ci

__all__ = ["mean_ci", "paired_bootstrap_ci"]
