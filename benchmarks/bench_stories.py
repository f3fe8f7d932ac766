"""Benchmark ``oversight-lab run --all-stories``: wall time of every story, flawed vs control, here.

    python benchmarks/bench_stories.py --seeds 3 --out bench-stories [--cold] [--cpus 0,1]

``--cold`` points the model cache at a fresh directory, so the timing includes pretraining every world's
evaluatee; otherwise the cache is reused (pretrained models load in milliseconds). ``--cpus`` pins the run to
those cores (``taskset``), to measure a 2-core budget on a bigger machine. The load average before and after
is recorded: on a shared machine other processes slow every number here. Writes ``OUT/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("bench-stories"))
    ap.add_argument("--cold", action="store_true", help="fresh model cache: include pretraining")
    ap.add_argument("--cpus", default=None, help="pin to these CPU ids, e.g. 0,1 (taskset)")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="extra --set key=value")
    args = ap.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    cache = tempfile.mkdtemp(prefix="olab-bench-cache-") if args.cold else None
    if cache:
        env["OVERSIGHT_LAB_CACHE"] = cache
    cmd = [
        sys.executable,
        "-m",
        "oversight_lab.cli",
        "run",
        "--all-stories",
        "--seeds",
        str(args.seeds),
        "--out",
        str(args.out / "run"),
        "--quiet",
    ]
    for s in args.sets:
        cmd += ["--set", s]
    if args.cpus:
        cmd = ["taskset", "-c", args.cpus, *cmd]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()
    if cache:
        shutil.rmtree(cache, ignore_errors=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(proc.returncode)
    timings = json.loads((args.out / "run" / "timings.json").read_text())
    result = {
        "command": " ".join(cmd),
        "seeds": args.seeds,
        "cold_cache": args.cold,
        "wall_s": wall,
        "cpus": args.cpus or os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "prepare_s": timings["prepare"],
        "job_seconds_by_story": timings["job_seconds_by_story"],
        "verdicts": [
            a["verdict"] for a in json.loads((args.out / "run" / "stories.json").read_text()).values()
        ],
    }
    (args.out / "bench.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
