"""Benchmark the default story: `oversight-lab run` (alchemist, 3 pretraining × 3 RLHF seeds, two arms).

Measures, as the user runs it (the console script in a subprocess):

* yardstick — the raw TRL loop of ``shared/anchors/raw_trl_loop`` (one replicate of a bare TRL loop,
  pretraining included), run in the same command, so that the targets are ratios that hold on any machine of
  this kind: warm ≤ 0.66× its wall, cold ≤ 1.66×, peak memory of the process tree ≤ 1.5 GB;
* cold — an empty model cache, so every pretraining seed's evaluatee is pretrained first;
* warm — the cache filled;
* baseline — warm with ``--workers 1``, so the parallel speed-up is a ratio too.

Each is repeated (median of ``--repeats``, default 3). Peak memory is the largest sum of proportional set
sizes (PSS) over the whole process tree, sampled every 0.5 s (reading PSS walks each process's page tables:
at 10 Hz the sampler itself took a quarter of a core and slowed the run it measured). Per-stage seconds come
from the run's own ``summary.json``.

    python benchmarks/bench_loop.py [--repeats 3] [--out benchmarks/results/loop.json]
                                    [--yardstick ../shared/anchors/raw_trl_loop/e2e.py]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def _pss(p: psutil.Process) -> int:
    """Proportional set size: shared pages (torch in every worker) are split, not counted twice."""
    try:
        return p.memory_full_info().pss
    except (psutil.AccessDenied, AttributeError):
        return p.memory_info().rss


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    """Run ``cmd``; its wall and CPU seconds (the whole process tree) and peak PSS, sampled every 0.5 s."""
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, sum(_pss(p) for p in [root, *root.children(recursive=True)] if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and every process it waited for
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[1]} failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_pss_mb": peak / 2**20, "load_before": os.getloadavg()[0]}


def run_once(cache: Path, workers: int, extra: list[str]) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-loop-")) / "run"
    env = {**os.environ, "OVERSIGHT_LAB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "oversight_lab.cli",
        "run",
        "--quiet",
        "--out",
        str(out),
        "--workers",
        str(workers),
        *extra,
    ]
    m = measure(cmd, env)
    summary = json.loads((out / "summary.json").read_text())
    analysis = json.loads((out / "analysis.json").read_text()) if (out / "analysis.json").exists() else {}
    t = summary["timings"]
    return {
        "verdict": analysis.get("verdict"),
        **m,
        "prepare_s": t["prepare"],
        # where the wall goes besides the jobs: until the first job starts (workers importing, the CLI before),
        # and after the pool (summary, analysis, report: the process wall minus the pool's)
        "first_job_started_s": t.get("first_job_started"),
        "after_pool_s": m["wall_s"] - t["wall"],
        "stages_job_s": t["job_seconds_by_stage"],
        "pretrain": t["pretrain"],
        "headline": {
            arm: {
                k: v["mean"]
                for k, v in a["aggregate"].items()
                if k in ("gold_initial", "bon_gold_peak", "bon_gold_max_n", "rl_gold_final")
            }
            for arm, a in summary["arms"].items()
        },
    }


def yardstick_once(script: Path) -> dict:
    """The raw TRL loop with its README's arguments; wall time and peak PSS of its process."""
    out = Path(tempfile.mkdtemp(prefix="bench-yardstick-"))
    env = {**os.environ, "OUT_DIR": str(out), "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    cmd = [sys.executable, str(script), "75", "2", "64", "2", "200", "100", "50"]
    return measure(cmd, env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/loop.json")
    ap.add_argument("--set", action="append", default=[], help="extra --set overrides (for quick checks)")
    ap.add_argument("--yardstick", default=str(Path(__file__).resolve().parents[2] / "shared" / "anchors" /
                                               "raw_trl_loop" / "e2e.py"))
    ap.add_argument("--no-baseline", action="store_true", help="skip the 1-worker baseline runs")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                    help="also run cold and warm with these --set overrides (e.g. a budget change under "
                         "consideration), in the same command, against the same yardstick")
    args = ap.parse_args()
    extra = [x for s in args.set for x in ("--set", s)]
    results: dict[str, list[dict]] = {"yardstick": [], "cold": [], "warm": [], "baseline_warm_1_worker": []}
    variants = {}
    for v in args.variant:
        name, _, sets = v.partition(":")
        variants[name] = [x for item in sets.split(",") if item for x in ("--set", item)]
        results[f"{name}_cold"], results[f"{name}_warm"] = [], []
    for _ in range(args.repeats):
        results["yardstick"].append(yardstick_once(Path(args.yardstick)))
        with tempfile.TemporaryDirectory() as cache:
            results["cold"].append(run_once(Path(cache), 2, extra))
            results["warm"].append(run_once(Path(cache), 2, extra))
            if not args.no_baseline:
                results["baseline_warm_1_worker"].append(run_once(Path(cache), 1, extra))
        for name, sets in variants.items():
            with tempfile.TemporaryDirectory() as cache:
                results[f"{name}_cold"].append(run_once(Path(cache), 2, extra + sets))
                results[f"{name}_warm"].append(run_once(Path(cache), 2, extra + sets))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"partial": results}, indent=1))  # kept if the summary fails
    results = {k: v for k, v in results.items() if v}
    med = {
        k: {
            "cpu_s": statistics.median(r["cpu_s"] for r in v),
            "wall_s": statistics.median(r["wall_s"] for r in v),
            "peak_pss_mb": statistics.median(r["peak_pss_mb"] for r in v),
        }
        for k, v in results.items()
    }
    yard = statistics.median(r["wall_s"] for r in results["yardstick"])
    med["ratio_warm_over_yardstick"] = med["warm"]["wall_s"] / yard
    med["ratio_cold_over_yardstick"] = med["cold"]["wall_s"] / yard
    for name in variants:
        med[f"ratio_{name}_warm_over_yardstick"] = med[f"{name}_warm"]["wall_s"] / yard
        med[f"ratio_{name}_cold_over_yardstick"] = med[f"{name}_cold"]["wall_s"] / yard
    if "baseline_warm_1_worker" in med:
        med["ratio_warm_1_worker_over_2"] = med["baseline_warm_1_worker"]["wall_s"] / med["warm"]["wall_s"]
    stages = {
        k: statistics.median(r["stages_job_s"][k] for r in results["warm"])
        for k in results["warm"][0]["stages_job_s"]
    }
    report = {
        "median": med,
        "warm_job_seconds_by_stage": stages,
        "cold_pretrain_s": statistics.median(sum(p["seconds"] or 0 for p in r["pretrain"]) for r in results["cold"]),
        "runs": results,
        "cpus": os.cpu_count(),
        "repeats": args.repeats,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"| measure | median of {args.repeats} |\n|---|---|")
    print(f"| yardstick (raw TRL loop, one replicate) wall | {yard:.1f} s |")
    print(f"| cold wall (empty cache) | {med['cold']['wall_s']:.1f} s ({med['ratio_cold_over_yardstick']:.2f}× "
          "the yardstick; target ≤ 1.66×) |")
    print(f"| pretraining, summed over the pretraining seeds (cold) | {report['cold_pretrain_s']:.1f} s |")
    print(f"| warm wall | {med['warm']['wall_s']:.1f} s ({med['ratio_warm_over_yardstick']:.2f}× the yardstick; "
          "target ≤ 0.66×) |")
    if "baseline_warm_1_worker" in med:
        print(f"| warm wall, 1 worker (baseline) | {med['baseline_warm_1_worker']['wall_s']:.1f} s |")
        print(f"| speed-up, 1 worker / 2 workers | {med['ratio_warm_1_worker_over_2']:.2f}× |")
    starts = [r["first_job_started_s"] for r in results["warm"] if r.get("first_job_started_s") is not None]
    if starts:
        print(f"| warm: until the first job starts / after the pool | {statistics.median(starts):.1f} s / "
              f"{statistics.median(r['after_pool_s'] for r in results['warm']):.1f} s |")
    for name, sets in variants.items():
        print(f"| variant {name} ({' '.join(sets[1::2])}): cold / warm | {med[f'{name}_cold']['wall_s']:.1f} s "
              f"({med[f'ratio_{name}_cold_over_yardstick']:.2f}×) / {med[f'{name}_warm']['wall_s']:.1f} s "
              f"({med[f'ratio_{name}_warm_over_yardstick']:.2f}×); peak {med[f'{name}_warm']['peak_pss_mb']:.0f} MB |")
    cold_cpu, warm_cpu = med["cold"]["cpu_s"], med["warm"]["cpu_s"]
    print(f"| CPU seconds (all processes), cold / warm | {cold_cpu:.0f} s / {warm_cpu:.0f} s |")
    loads = [r["load_before"] for v in results.values() for r in v]
    print(f"| load average (1 min) at the end of the runs | {min(loads):.1f}–{max(loads):.1f} |")
    print(
        f"| peak memory, cold / warm | {med['cold']['peak_pss_mb']:.0f} MB / "
        f"{med['warm']['peak_pss_mb']:.0f} MB |"
    )
    for k, v in stages.items():
        print(f"| warm, {k} (summed over the jobs) | {v:.1f} s |")
    for r in results["warm"]:
        print(f"verdict (warm run): {r['verdict']}")


if __name__ == "__main__":
    main()
