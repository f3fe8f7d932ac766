"""Reward-model overoptimisation: the functional forms of Gao et al. (2022), fitted with scipy, and the
best-of-n estimator for every n at once.

Gao, Schulman & Hilton (2022), "Scaling Laws for Reward Model Overoptimization", find that the gold reward
gained over the initial policy, as a function of the distance d = √KL(π ‖ π_init), follows

    best-of-n:  R_bon(d) = d (α − β d)
    RL:         R_RL(d)  = d (α − β log d)

Both pass through the origin; α is the initial slope (how fast gold rises under a little optimisation), β how
fast the proxy's errors take over. The gold peak is at d* = α / 2β (best-of-n) and d* = exp(α/β − 1) (RL).
Gao et al. report that α and β vary smoothly with reward-model size and data size, and that d* moves outward
as either grows. Coste et al. (2023) use the same curves to compare reward-model ensembles.

``bon_curve_all`` evaluates the unbiased best-of-n estimator (Nakano et al. 2021) for every n = 1 … N of a
pool of N in O(N log N) instead of O(N²): with the pool sorted by proxy, the best of a random n-subset lies
at or below the i-th smallest with probability F_n(i) = C(i, n) / C(N, n), so by summation by parts

    E[v(best of n)] = v_(N) − Σ_{i<N} F_n(i) (v_(i+1) − v_(i)),    F_{n+1}(i) = F_n(i) (i − n) / (N − n),

and F_n(i) ≤ (i/N)^n is negligible outside a window of the top ~37 N / n samples, which is all that is kept.

Ties in the proxy: best-of-n picks one of the tied maxima of its n samples at random, so the estimators use
the expected value under random tie-breaking. Averaging the estimate over every order of a tied run is the
same as giving each member of the run the run's mean value (the estimate is linear in the sorted values and
each member takes each rank of the run equally often); ``sorted_by_proxy`` does that, so the estimate does
not depend on the order of the pool. A NaN proxy (or value) is a ``ValueError``, never ranked best.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from oversight_lab.metrics.checks import as_finite, check_same_length
from oversight_lab.metrics.stats import cluster_estimate, mean_ci

__all__ = [
    "Fit",
    "bon_curve_all",
    "fit_gao",
    "fit_seeds",
    "gao_form",
    "paired_difference",
    "peak",
    "sorted_by_proxy",
]

Form = Literal["bon", "rl"]


def gao_form(form: Form, d: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """R(d) of Gao et al. (2022): ``d (α − β d)`` for best-of-n, ``d (α − β log d)`` for RL (0 at d = 0)."""
    d = np.asarray(d, dtype=float)
    if form == "bon":
        return d * (alpha - beta * d)
    if form == "rl":
        safe = np.where(d > 0, d, 1.0)
        return np.where(d > 0, d * (alpha - beta * np.log(safe)), 0.0)
    raise ValueError(f"unknown functional form {form!r}; use 'bon' or 'rl'")


def peak(form: Form, alpha: float, beta: float) -> tuple[float, float]:
    """(d*, R(d*)): where the fitted gold curve peaks; (inf, inf) when β ≤ 0 (no peak: gold keeps rising)."""
    if not (beta > 0) or not math.isfinite(alpha):
        return math.inf, math.inf
    if form == "bon":
        d = alpha / (2 * beta)
        if d <= 0:
            return 0.0, 0.0
    else:
        z = alpha / beta - 1
        if z > 700:  # exp overflows: the peak is far beyond any distance a run reaches
            return math.inf, math.inf
        d = math.exp(z)
    return float(d), float(gao_form(form, np.array([d]), alpha, beta)[0])


@dataclass(frozen=True)
class Fit:
    """A least-squares fit of one gold curve; intervals are Student-t on the fit's standard errors."""

    form: str
    alpha: float
    beta: float
    alpha_lo: float
    alpha_hi: float
    beta_lo: float
    beta_hi: float
    r2: float
    n_points: int
    d_peak: float
    r_peak: float
    d_max: float

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def fit_gao(d: Sequence[float], r: Sequence[float], form: Form, level: float = 0.95) -> Fit:
    """Fit ``R(d)`` of the given form to points (d, R) with ``scipy.optimize.curve_fit``.

    R is gold minus gold of the initial policy and d = √KL, so both forms pass through the origin. Points
    with a non-finite coordinate are dropped. The model is linear in (α, β): the linear least-squares solution
    starts curve_fit, whose covariance gives the standard errors.
    """
    d = np.asarray(d, dtype=float)
    r = np.asarray(r, dtype=float)
    if d.ndim != 1 or r.ndim != 1:
        raise ValueError(f"d and r must be 1-dimensional, got shapes {d.shape} and {r.shape}")
    check_same_length("one R per distance", d=d, r=r)
    keep = np.isfinite(d) & np.isfinite(r)
    d, r = np.maximum(d[keep], 0.0), r[keep]
    if len(d) < 3 or np.ptp(d) == 0:
        raise ValueError(f"fit_gao: need at least 3 points at distinct d, got {len(d)}")
    basis = np.stack([d, -(d**2) if form == "bon" else -gao_form("rl", d, 0.0, -1.0)], axis=1)
    p0, *_ = np.linalg.lstsq(basis, r, rcond=None)
    with warnings.catch_warnings():  # an exact fit (3 points) has no covariance: its intervals are then nan
        from scipy import optimize  # imported on use: a run's workers import this module but never fit

        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        params, cov = optimize.curve_fit(lambda x, a, b: gao_form(form, x, a, b), d, r, p0=p0)
    alpha, beta = float(params[0]), float(params[1])
    resid = r - gao_form(form, d, alpha, beta)
    ss_tot = float(np.sum((r - r.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan")
    dof = max(1, len(d) - 2)
    from scipy import stats

    t = float(stats.t.ppf(0.5 + level / 2, dof))
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if np.all(np.isfinite(cov)) else np.full(2, np.nan)
    d_peak, r_peak = peak(form, alpha, beta)
    a_half, b_half = float(t * se[0]), float(t * se[1])
    return Fit(
        form,
        alpha,
        beta,
        alpha - a_half,
        alpha + a_half,
        beta - b_half,
        beta + b_half,
        r2,
        len(d),
        d_peak,
        r_peak,
        float(d.max()),
    )


def _interval(values: Sequence[float], units: Sequence[tuple] | None) -> dict[str, Any]:
    """Mean and 95% interval of per-replicate ``values``: over the top-level units of their ``units`` paths
    ((pretraining seed, RLHF seed): replicates of one pretrained model averaged first, the shared statistics
    layer), or, without paths, a Student-t interval treating each value as independent."""
    if units is None:
        m, lo, hi = mean_ci(values)
        return {"mean": m, "lo": lo, "hi": hi}
    est = cluster_estimate(values, units)
    return {"mean": est.value, "lo": est.lo, "hi": est.hi, "method": est.method}


def fit_seeds(curves: Sequence[tuple[Sequence[float], Sequence[float]]], form: Form,
              units: Sequence[tuple] | None = None) -> dict[str, Any]:
    """Fit each seed's curve and the seed-mean curve; α, β and d* with 95% Student-t intervals across seeds.

    ``curves`` holds one (d, R) pair of sequences per seed, with the same checkpoints in the same order. The
    seed-mean fit (``mean_fit``) gives R² of the curve a report draws; the per-seed fits give the spread.
    ``units``: each curve's replicate path (pretraining seed, RLHF seed); with it the intervals are over
    pretraining seeds (:func:`oversight_lab.metrics.stats.cluster_estimate`), not over curves as if independent.
    If any seed's fit has no peak (β ≤ 0), d* is reported as inf with no interval (``n_infinite``: how many).
    """
    if units is not None:
        check_same_length("one path per curve", curves=curves, units=units)
    per_seed, fitted_units = [], []
    for i, (d, r) in enumerate(curves):
        try:
            per_seed.append(fit_gao(d, r, form))
        except (ValueError, RuntimeError):
            continue
        if units is not None:
            fitted_units.append(tuple(units[i]))
    d_mean = np.nanmean(np.array([np.asarray(d, dtype=float) for d, _ in curves]), axis=0)
    r_mean = np.nanmean(np.array([np.asarray(r, dtype=float) for _, r in curves]), axis=0)
    out: dict[str, Any] = {"form": form, "n_seeds": len(curves), "n_fitted": len(per_seed)}
    try:
        out["mean_fit"] = fit_gao(d_mean, r_mean, form).as_dict()
    except (ValueError, RuntimeError) as e:
        out["mean_fit"] = {"error": str(e)}
    for key in ("alpha", "beta", "r2", "d_peak"):
        vals = [getattr(f, key) for f in per_seed]
        n_inf = sum(1 for v in vals if math.isinf(v)) if key == "d_peak" else 0
        if n_inf:  # only d* can be infinite: some seed has no peak within reach of the form
            out[key] = {"mean": math.inf, "lo": float("nan"), "hi": float("nan"), "n_infinite": n_inf}
        else:
            out[key] = {**_interval(vals, fitted_units if units is not None else None), "n_infinite": 0}
    out["per_seed"] = [f.as_dict() for f in per_seed]
    return out


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95,
                      units: Sequence[tuple] | None = None) -> dict[str, Any]:
    """Mean of a − b over paired seeds with a Student-t interval (the same seeds give both); a pair with a
    missing (None or NaN) value is left out. ``units``: each pair's replicate path (pretraining seed, RLHF
    seed); with it the differences are averaged within a pretraining seed and the interval is over those."""
    check_same_length("they pair seed by seed", a=a, b=b)
    if units is not None:
        check_same_length("one path per pair", a=a, units=units)
    keep = [i for i, (x, y) in enumerate(zip(a, b, strict=True))
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]
    diff = [a[i] - b[i] for i in keep]
    if units is not None:
        est = cluster_estimate(diff, [tuple(units[i]) for i in keep], level=level)
        return {"mean": est.value, "lo": est.lo, "hi": est.hi, "n": len(diff), "method": est.method}
    m, lo, hi = mean_ci(diff, level)
    return {"mean": m, "lo": lo, "hi": hi, "n": len(diff)}


def bon_curve_all(proxy: np.ndarray, values: np.ndarray, tol: float = 1e-18, block: int = 64) -> np.ndarray:
    """Unbiased E[value of the proxy-best of n] for every n = 1 … N, averaged over prompts.

    Same inputs and result as ``optimize.best_of_n.bon_curve(proxy, values, ns=1..N)`` (shapes (prompts, N) or
    (N,), values optionally (prompts, N, q)), computed by the recurrence in the module docstring; terms with
    F_n(i) < ``tol`` are dropped, an absolute error below tol · Σ|Δv|.
    """
    if not tol >= 0 or isinstance(block, bool) or int(block) != block or block < 1:
        raise ValueError(f"tol must be >= 0 and block an integer >= 1, got tol={tol!r}, block={block!r}")
    v, squeeze = sorted_by_proxy(proxy, values)  # (N, q), ascending by proxy, ties averaged
    n_pool = v.shape[0]
    dv = np.diff(v, axis=0)  # (N-1, q)
    i = np.arange(1, n_pool, dtype=float)  # ranks 1 … N-1 (F_n(N) = 1 is the v_(N) term)
    f = i / n_pool  # F_n for the first n of the current block, starting at F_1
    lo, n = 0, 1
    out = np.empty((n_pool, v.shape[1]))
    while n <= n_pool:  # blocks of n: one cumulative product per block instead of a Python step per n
        b = min(block, n_pool - n + 1)
        ranks = i[lo:]
        ks = np.arange(n, n + b - 1, dtype=float)[:, None]
        steps = np.clip(
            (ranks[None, :] - ks) / (n_pool - ks), 0.0, None
        )  # F_{k+1} / F_k; ranks below k+1 → 0
        rows = np.vstack([f[lo:], f[lo:] * np.cumprod(steps, axis=0)])  # F_n … F_{n+b-1} on the window
        out[n - 1 : n - 1 + b] = v[-1] - rows @ dv[lo:]
        k = n + b - 1
        if k < n_pool:
            f[lo:] = np.clip(rows[-1] * (ranks - k) / (n_pool - k), 0.0, None)
            lo += int(np.searchsorted(f[lo:], tol))  # F_n is increasing in i: drop the negligible low ranks
        n += b
    return out[:, 0] if squeeze else out


def sorted_by_proxy(proxy: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, bool]:
    """The pool's values sorted by proxy (ascending), tied proxies' values replaced by their mean, averaged
    over prompts: ``(v, squeeze)`` with ``v`` of shape (N, q).

    ``proxy`` has shape (prompts, N) or (N,); ``values`` (prompts, N), (N,) or (prompts, N, q). ``squeeze``
    says the values had no quantity axis. Non-finite proxies or values and mismatched shapes are refused.
    """
    proxy = np.atleast_2d(as_finite("proxy", proxy, ndim=None))
    values = as_finite("values", values, ndim=None)
    if proxy.ndim != 2 or proxy.shape[1] == 0:
        raise ValueError(f"proxy must have shape (prompts, N) or (N,) with N >= 1, got {proxy.shape}")
    if values.ndim == 1 or (values.ndim == 2 and proxy.shape[0] == 1 and values.shape[0] != 1):
        values = values.reshape(1, *values.shape)
    squeeze = values.ndim == proxy.ndim
    if squeeze:
        values = values[..., None]
    if values.ndim != 3 or values.shape[:2] != proxy.shape:
        raise ValueError(
            f"values must have shape {proxy.shape} or {(*proxy.shape, 'q')} like proxy, got {values.shape}"
        )
    n_prompts, n_pool = proxy.shape
    order = np.argsort(proxy, axis=1, kind="stable")
    s = np.take_along_axis(proxy, order, axis=1)
    v = np.take_along_axis(values, order[..., None], axis=1)  # (prompts, N, q)
    starts = np.ones_like(s, dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    if not starts.all():  # some proxies tie: each member of a run gets the run's mean value
        run = (np.cumsum(starts, axis=1) - 1) + np.arange(n_prompts)[:, None] * n_pool  # unique run ids
        flat = run.ravel()
        sums = np.zeros((n_prompts * n_pool, v.shape[2]))
        np.add.at(sums, flat, v.reshape(-1, v.shape[2]))
        counts = np.bincount(flat, minlength=n_prompts * n_pool)
        v = (sums[flat] / counts[flat, None]).reshape(v.shape)
    return v.mean(axis=0), squeeze
