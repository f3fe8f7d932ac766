"""Load benchmark of the study web app on loopback: 50 concurrent annotators x 20 submissions each.

Each run starts ``oversight-lab serve`` in a child process on a fresh SQLite file, invites 50 annotators and
drives them with ``oversight_lab.server.loadgen`` (closed loop: each simulated person asks for an item, labels
it, and asks again at once, so latency includes queueing behind the other 49). Reports the median over runs
of the p50/p99 latency of label submissions and item requests and the throughput, for both SQLite durability
settings, and checks every run stored exactly 1000 labels.

    python benchmarks/bench_server.py --runs 3 --out docs/benchmarks_server.md   (then merged into docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

import psutil

from oversight_lab.server.loadgen import Annotator, ServerProcess, invite_many, run_load

STUDY = """
name: bench
items: {source: world, n: 60, seed: 1}
conditions: [{name: unaided}, {name: critique, assistance: critique}]
overlap: 10
gold_share: 0.2
time_limit_s: 600
"""
ADMIN = "bench-admin-token"


def one_run(sync: str, people: int, each: int, postgres: str | None = None) -> dict[str, float]:
    from sqlalchemy import text

    from oversight_lab.server.db import Database, migrate_down

    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "bench.yaml"
        study.write_text(STUDY)
        url = postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if postgres:
            migrate_down(Database(postgres).engine)  # a fresh, empty schema for every run
        with ServerProcess(study, postgres or Path(tmp) / "bench.db", ADMIN, sync=sync) as server:
            annotators = [Annotator(t, i) for i, t in enumerate(invite_many(server.url, ADMIN, people))]
            proc = psutil.Process(server.proc.pid)
            before = proc.cpu_times()
            result = run_load(server.url, annotators, each, timeout_s=300)
            after = proc.cpu_times()
        cpu_s = (after.user - before.user) + (after.system - before.system)
        db = Database(url)
        with db.read() as s:
            query = text("SELECT count(*), count(DISTINCT assignment_id) FROM labels")
            rows, distinct = s.execute(query).one()
        db.engine.dispose()
    if result.errors or rows != people * each or distinct != rows:
        raise SystemExit(f"run failed: {rows} rows, {distinct} distinct, errors {result.errors[:3]}")
    return {**result.summary(), "server_cpu_ms": 1000 * cpu_s / result.acked}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--each", type=int, default=20)
    ap.add_argument("--out", type=Path, help="write the markdown section here")
    ap.add_argument("--postgres", help="also run on this disposable PostgreSQL database (its schema is "
                    "dropped)")
    args = ap.parse_args()
    cmd = f"python benchmarks/bench_server.py --runs {args.runs}"
    cmd += " --postgres URL" if args.postgres else ""
    intro = (
        f"`{cmd}`: {args.people} concurrent simulated annotators x {args.each} submissions on loopback "
        "against `oversight-lab serve` (one uvicorn process; SQLite in WAL mode unless stated), closed loop, "
        f"median of {args.runs} runs; every run stored exactly {args.people * args.each} labels, one per "
        "assignment. Latency is per request, measured by the client, and includes queueing behind the other "
        f"{args.people - 1} annotators: writes are serialised, one transaction at a time. Machine: "
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, 2 cores "
        "shared by the server and the load generator."
    )
    lines = [
        "## Web app (human comparisons)",
        "",
        intro,
        "",
        "| database | submissions/s | label p50 (ms) | label p99 (ms) | next-item p50 (ms) "
        "| next-item p99 (ms) | server CPU per submission (ms) | retried connections |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    load_before = os.getloadavg()[0]
    settings = [("SQLite, sync full", "full", None), ("SQLite, sync normal", "normal", None)]
    if args.postgres:
        settings.append(("PostgreSQL 15", "full", args.postgres))
    for title, sync, pg in settings:
        runs = [one_run(sync, args.people, args.each, pg) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(title, [round(r["throughput_per_s"], 1) for r in runs], flush=True)
        lines.append(f"| {title} | {med['throughput_per_s']:.1f} | {med['label_p50_ms']:.0f} | "
                     f"{med['label_p99_ms']:.0f} | {med['next_p50_ms']:.0f} | {med['next_p99_ms']:.0f} | "
                     f"{med['server_cpu_ms']:.1f} | {med['retries']:.0f} |")
    lines += [
        "",
        f"Load average before the runs: {load_before:.1f} (other work on the machine slows the latency and "
        "throughput figures; the server's CPU time per submission, an item request plus a label, counts its "
        "own work only: the app's process, not PostgreSQL's).",
        "",
        ("`full` (the default) fsyncs every commit, so an acknowledged label survives a power cut as well "
        "as a killed server; `normal` (`serve --sync normal`) survives a killed server but not a power cut. "
        "The load test (`tests/server/test_load.py`) also kills the server with SIGKILL mid-load, restarts "
        "it, and checks that every acknowledged label is present and that finishing the load gives exactly "
        "the expected rows (50 x 8 = 400), none duplicated. "
        "Retried connections: requests resent after the server dropped a kept-alive connection (safe: asking "
        "for the next item returns the open one, and a resent label is answered with the stored one)."),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
