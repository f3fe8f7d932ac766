"""Regenerate docs/results.md: every confirmatory result table in docs/ comes from here.

For each pre-registered scenario named (default: the flagship, ``alchemist``), run it on each of its reserved
seed blocks (``oversight-lab run NAME --block confirm`` and ``--block replicate``: disjoint pretraining and RLHF
seeds, a stand-in for another machine) with its registered settings, and write one table per scenario from the
runs' ``analysis.json``: the primary measure per arm before → after, the flawed − control difference with its
95% interval over pretraining seeds and p-value, each pretraining seed's difference, and the verdict. The
machine (CPU model), the commit and the commands are recorded beside the table. Tables elsewhere in docs/ that
this script does not write are exploratory and say so.

    python scripts/regenerate_results.py [NAME ...] [--runs DIR] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_block(name: str, block: str, runs: Path, reuse: bool) -> tuple[Path, float, list[str]]:
    """Run one block (or reuse a finished run of it); its wall time and the load average around it are kept
    in the run directory (``regenerate.json``): other processes on the machine slow a run down."""
    out = runs / f"{name}-{block}"
    cmd = [sys.executable, "-m", "oversight_lab.cli", "run", name, "--block", block, "--quiet", "--out", str(out)]
    if reuse and (out / "analysis.json").exists():
        rec = json.loads((out / "regenerate.json").read_text()) if (out / "regenerate.json").exists() else {}
        return out, rec.get("wall_s", float("nan")), cmd
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    wall = time.perf_counter() - t0
    (out / "regenerate.json").write_text(json.dumps({"wall_s": wall, "load_avg_15min_after": os.getloadavg()[2]}))
    return out, wall, cmd


def fmt(d: dict) -> str:
    return f"{d['value']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]"


def table(name: str, blocks: list[tuple[str, Path, float, list[str]]]) -> list[str]:
    lines = [f"## {name}", ""]
    first = json.loads((blocks[0][1] / "analysis.json").read_text())
    prereg = json.loads((blocks[0][1] / "prereg.json").read_text())["prereg"]
    m0 = first["measures"][0]
    lines += [
        f"Pre-registered ({prereg['registered']}): primary measure **{prereg['primary']}** at the last "
        f"{prereg['optimizer']} checkpoint; contrast {prereg['contrast']}; the failure is a "
        f"{'rise' if prereg['direction'] == 'up' else 'fall'}; minimum effect {prereg['min_effect']}.",
        "",
        "| seed block | pretraining seeds | flawed: before → after | control: before → after | difference [95% CI] "
        "| p | per pretraining seed | verdict | commit | wall (load) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for block, out, wall, _ in blocks:
        a = json.loads((out / "analysis.json").read_text())
        m = a["measures"][0]
        f, c = m["arms"]["flawed"], m["arms"]["control"]
        per = ", ".join(f"{v:+.2f}" for v in m["did"]["per_unit"])
        commit = (json.loads((out / "env.json").read_text()).get("git_commit") or "?")[:7]
        rec = json.loads((out / "regenerate.json").read_text()) if (out / "regenerate.json").exists() else {}
        load = f" (load {rec['load_avg_15min_after']:.1f})" if "load_avg_15min_after" in rec else ""
        lines.append(
            f"| {block} | {a['pretrain_seeds']} | {f['before']:.3f} → {f['after']:.3f} | "
            f"{c['before']:.3f} → {c['after']:.3f} | {fmt(m['did'])} | {m['did']['p']:.2g} | {per} | "
            f"{m['status']} ({'confirmatory' if a['confirmatory'] else 'exploratory'}) | {commit} | "
            f"{'' if wall != wall else f'{wall:.0f} s'}{load} |"
        )
    lines += ["", f"Method: {m0['did']['method']}.", ""]
    lines += ["Commands:", ""] + [f"    {' '.join(['oversight-lab', *cmd[3:-2]])}" for *_, cmd in blocks] + [""]
    for block, out, _, _ in blocks:
        a = json.loads((out / "analysis.json").read_text())
        lines.append(f"- {block}: {a['verdict']}")
    return lines + [""]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=["alchemist"])
    ap.add_argument("--runs", default=str(ROOT / "runs" / "confirmation"))
    ap.add_argument("--reuse", action="store_true", help="reuse finished runs in --runs instead of rerunning")
    ap.add_argument("--out", default=str(ROOT / "docs" / "results.md"))
    args = ap.parse_args()
    from oversight_lab.scenarios import get_scenario

    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    lines = [
        "# Confirmatory results",
        "",
        "Written by `python scripts/regenerate_results.py` (do not edit by hand). Each scenario runs on its two "
        "reserved seed blocks with its registered settings; development never used these seeds. Intervals are "
        "over pretraining seeds (the independent unit; RLHF seeds averaged within each), as "
        "`oversight_lab.metrics.stats` computes them. Every other table in docs/ is exploratory.",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs; written at commit {commit} on "
        f"{time.strftime('%Y-%m-%d')}; each run's own commit is in its row. CPU kernels differ between processor "
        "models, so the numbers differ on another machine; the verdicts are what should hold. Wall times are "
        "those of the runs, with the machine's 15-minute load average after each (other processes slow a run).",
        "",
    ]
    for name in args.names:
        sc = get_scenario(name)
        if sc.prereg is None:
            raise SystemExit(f"scenario {name!r} has no pre-registration")
        blocks = [(b, *run_block(name, b, runs, args.reuse)) for b in sc.prereg.blocks]
        lines += table(name, blocks)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
