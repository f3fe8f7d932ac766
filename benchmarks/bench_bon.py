"""Benchmark: the best-of-n curve for every n = 1 … 10⁴ from a pool of 10⁴ samples (the estimator only).

    python benchmarks/bench_bon.py [--pool 10000] [--prompts 1] [--repeats 5]

Compares ``metrics.overopt.bon_curve_all`` (every n at once, O(N log N)) with ``optimize.best_of_n.bon_curve``
asked for every n (O(N²) weights) and for the 15 powers of two the closed loop logs; checks they agree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from oversight_lab.metrics.overopt import bon_curve_all
from oversight_lab.optimize.best_of_n import bon_curve


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--prompts", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-quadratic", action="store_true", help="skip bon_curve for every n (~10 s)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    proxy = rng.normal(size=(args.prompts, args.pool))
    gold = proxy - 0.3 * proxy**2 + rng.normal(scale=0.5, size=proxy.shape)  # a proxy that overshoots
    values = np.stack([gold, proxy], axis=-1)
    ns_all = np.arange(1, args.pool + 1)
    ns_log = np.unique(np.concatenate([2 ** np.arange(int(np.log2(args.pool)) + 1), [args.pool]]))
    t_all, every = timed(lambda: bon_curve_all(proxy, values), args.repeats)
    t_log, logged = timed(lambda: bon_curve(proxy, values, ns_log), args.repeats)
    result = {
        "pool": args.pool,
        "prompts": args.prompts,
        "quantities": 2,
        "repeats": args.repeats,
        "every_n_seconds": t_all,
        "powers_of_two_seconds": t_log,
        "n_points_powers_of_two": len(ns_log),
        "max_abs_diff_vs_per_n": float(np.abs(every[ns_log - 1] - logged).max()),
        "gold_peak_n": int(np.argmax(every[:, 0]) + 1),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
    }
    if not args.skip_quadratic:
        t_quad, quad = timed(lambda: bon_curve(proxy, values, ns_all), 1)
        result["per_n_every_n_seconds"] = t_quad
        result["max_abs_diff_every_n"] = float(np.abs(every - quad).max())
    print(json.dumps(result, indent=1))
    print(
        f"best-of-n curve, n = 1…{args.pool:,} from a pool of {args.pool:,} ({args.prompts} prompt(s), "
        "2 quantities): "
        f"{t_all:.3f} s (median of {args.repeats})"
        + (
            f"; per-n weights for every n: {result['per_n_every_n_seconds']:.1f} s"
            if "per_n_every_n_seconds" in result
            else ""
        )
    )


if __name__ == "__main__":
    main()
