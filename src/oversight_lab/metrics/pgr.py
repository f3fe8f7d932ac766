"""Performance gap recovered (Burns et al. 2023): PGR = (student − weak) / (ceiling − weak).

PGR is a ratio, and a ratio of noisy accuracies explodes where the ceiling barely beats the weak supervisor.
So it is computed two ways, both on the one statistics layer (:mod:`oversight_lab.metrics.stats`):

* **per replicate**: PGR of each (pretraining seed, seed), then the cluster estimate over pretraining seeds;
  replicates whose gap is under ``min_gap`` give no PGR and are counted (``undefined``);
* **from pretraining-seed means** (what the lab's tables show): weak, student and ceiling accuracies averaged
  within each pretraining seed first, one PGR per pretraining seed from those means, then the t-interval over
  pretraining seeds. Averaging before dividing keeps one small denominator from dominating; a pretraining seed
  whose mean gap is under ``min_gap`` is left out and counted. ``ratio_of_means`` is the PGR of the grand
  means.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from oversight_lab.metrics.stats import cluster_estimate, unit_means

__all__ = ["pgr", "pgr_estimates"]


def pgr(weak: float, student: float, ceiling: float, min_gap: float = 0.0) -> float:
    """(student − weak) / (ceiling − weak); NaN when any is NaN or the gap ceiling − weak is below
    ``min_gap`` (at least 1e-12)."""
    gap = ceiling - weak
    if any(math.isnan(x) for x in (weak, student, ceiling)) or gap < max(min_gap, 1e-12):
        return float("nan")
    return (student - weak) / gap


def pgr_estimates(
    weak: Sequence[float], student: Sequence[float], ceiling: Sequence[float],
    units: Sequence[tuple[Hashable, ...]], min_gap: float = 0.02,
) -> dict[str, Any]:
    """Both PGR estimates (see the module) for replicates ``units`` = (pretraining seed, seed)."""
    w, s, c = (np.asarray(x, dtype=float) for x in (weak, student, ceiling))
    if not len(w) == len(s) == len(c) == len(units) or not len(units):
        raise ValueError(f"pgr_estimates: {len(w)}, {len(s)}, {len(c)} values for {len(units)} replicates")
    per = [pgr(*t, min_gap=min_gap) for t in zip(w, s, c, strict=True)]
    ok = [i for i, v in enumerate(per) if not math.isnan(v)]
    rep = (cluster_estimate([per[i] for i in ok], [units[i] for i in ok], what="PGR per replicate")
           if ok else None)
    means = {k: unit_means(list(x), list(units), depth=1) for k, x in (("w", w), ("s", s), ("c", c))}
    seeds = sorted(means["w"], key=repr)
    per_seed = {k: pgr(means["w"][k], means["s"][k], means["c"][k], min_gap) for k in seeds}
    good = [k for k in seeds if not math.isnan(per_seed[k])]
    by_seed = (cluster_estimate([per_seed[k] for k in good], [k for k in good],
                                what="PGR from pretraining-seed means") if good else None)
    nan = float("nan")

    def pack(est: Any) -> dict[str, Any]:
        if est is None:
            return {"mean": nan, "lo": nan, "hi": nan, "n": 0, "method": "no replicate with a gap ≥ min_gap"}
        return {"mean": est.value, "lo": est.lo, "hi": est.hi, "n": est.n_units, "method": est.method}

    return {
        "from_seed_means": {**pack(by_seed), "per_pretrain_seed": {str(k[0]): per_seed[k] for k in seeds},
                            "undefined": len(seeds) - len(good)},
        "per_replicate": {**pack(rep), "values": per, "undefined": len(per) - len(ok)},
        "ratio_of_means": pgr(float(w.mean()), float(s.mean()), float(c.mean()), min_gap),
        "min_gap": min_gap,
    }
