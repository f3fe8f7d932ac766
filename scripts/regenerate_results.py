"""Regenerate the confirmatory result tables of docs/: every confirmation table in docs/ comes from here.

For each pre-registered scenario named (default: the six stories and the five protocols of issue 12), run it
on each of its reserved seed blocks (``oversight-lab run NAME --block confirm`` and ``--block replicate``:
disjoint pretraining and RLHF seeds, a stand-in for another machine) with its registered settings, analyse
each run directory with the current code (:func:`oversight_lab.analyses.analyse_run`) and write:

* ``docs/results.md``: every table;
* the section between ``<!-- regenerate_results.py: stories -->`` and ``<!-- regenerate_results.py: end -->``
  of ``docs/stories.md`` (the stories' tables, and the dose–response runs named with ``--dose``), and the
  same section (``protocols``) of ``docs/protocols.md``.

A story's table: the primary measure per arm before → after with its change (flawed = the imperfect human with
the blind spot, control A = the same human without it, control B = the expert), the flawed − control A
difference with its 95% interval over pretraining seeds, p, each pretraining seed's difference, gold's change
per arm, and the failure on rated against never-rated contexts. A protocol's table: its pre-registered
primary estimate (:func:`oversight_lab.analyses.protocols.primary_result`) with interval, p and each
pretraining seed's value. Each row says whether it is as registered, and each run's commit, wall time and the
machine's load. A dose–response run (``oversight-lab run NAME --dose``, development seeds) is exploratory by
construction, and its table says so.

    python scripts/regenerate_results.py [NAME ...] [--runs DIR] [--reuse] [--dose NAME ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STORIES = ["alchemist", "omission", "banker", "sycophant", "sandbagger", "overconfident"]
PROTOCOLS = ["rlaif", "sandwich", "layers", "advantage", "absent_supervisor"]
END = "<!-- regenerate_results.py: end -->"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_dir(name: str, block: str, runs: Path, reuse: bool, extra: tuple[str, ...] = ()) -> tuple[Path, str]:
    """Run one block (or reuse a finished run of it); its wall time and the load average after it are kept in
    the run directory (``regenerate.json``): other processes on the machine slow a run down."""
    out = runs / f"{name}-{block}"
    cmd = [sys.executable, "-m", "oversight_lab.cli", "run", name, *extra, "--quiet", "--out", str(out)]
    shown = " ".join(["oversight-lab run", name, *extra])
    if reuse and (out / "metrics.jsonl").exists() and (out / "summary.json").exists():
        return out, shown
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    (out / "regenerate.json").write_text(
        json.dumps({"wall_s": time.perf_counter() - t0, "load_avg_15min_after": os.getloadavg()[2]})
    )
    return out, shown


def analyse(out: Path) -> dict[str, Any]:
    from oversight_lab.analyses import analyse_run

    return analyse_run(out)


def ci(d: dict[str, Any] | None, digits: int = 2, sign: str = "+") -> str:
    """``value [lo, hi]`` of an estimate (signed: a change or a difference; ``sign=""`` for a level)."""
    if not d:
        return "–"
    v = d.get("value", d.get("mean"))
    if math.isnan(d.get("lo", float("nan"))):
        return f"{v:{sign}.{digits}f}"
    return f"{v:{sign}.{digits}f} [{d['lo']:{sign}.{digits}f}, {d['hi']:{sign}.{digits}f}]"


def p_of(d: dict[str, Any] | None) -> str:
    return "–" if not d or math.isnan(d.get("p", float("nan"))) else f"{d['p']:.2g}"


def run_facts(out: Path) -> tuple[str, str]:
    """(commit, wall time with load) of a run directory."""
    commit = (json.loads((out / "env.json").read_text()).get("git_commit") or "?")[:7]
    rec = json.loads((out / "regenerate.json").read_text()) if (out / "regenerate.json").exists() else {}
    wall = rec.get("wall_s")
    if wall is None or wall != wall:
        wall = json.loads((out / "summary.json").read_text()).get("timings", {}).get("wall")
    load = rec.get("load_avg_15min_after")
    return commit, ("–" if wall is None else f"{wall:.0f} s") + ("" if load is None else f" ({load:.1f})")


def story_table(name: str, blocks: list[tuple[str, Path, str]]) -> list[str]:
    analyses = [(block, out, cmd, analyse(out)) for block, out, cmd in blocks]
    a0 = analyses[0][3]
    m0 = a0["measures"][0]
    arms = [arm for arm in ("flawed", "control", "expert") if arm in a0["arms"]]
    names = {"flawed": "flawed", "control": "control A", "expert": "control B (expert)"}
    lines = [
        f"### {name}",
        "",
        f"*{a0['question']}* Primary measure (pre-registered): **{m0['label']}**, "
        f"{'a rise' if m0['failure_up'] else 'a fall'} is the failure, minimum effect {m0['min_effect']}; "
        f"flawed change − control A change, paired within replicates; at the end of {a0['optimizer']}.",
        "",
        "| block | "
        + " | ".join(f"{names[arm]}: before → after (Δ)" for arm in arms)
        + " | flawed − control A [95% CI] | p | per pretraining seed | as registered? | commit "
        "| wall (load) |",
        "|---" * (len(arms) + 7) + "|",
    ]
    for block, out, _, a in analyses:
        m = a["measures"][0]
        cells = []
        for arm in arms:
            d = m["arms"].get(arm)
            cells.append("–" if d is None else f"{d['before']:.2f} → {d['after']:.2f} ({ci(d['change'])})")
        did = m.get("did")
        per = ", ".join(f"{v:+.2f}" for v in (did or {}).get("per_unit", []))
        kind = "confirmatory" if a["confirmatory"] else "exploratory"
        commit, wall = run_facts(out)
        lines.append(
            f"| {block} ({len(a['pretrain_seeds'])} × {len(a['seeds']) // len(a['pretrain_seeds'])}) | "
            + " | ".join(cells)
            + f" | **{ci(did)}** | {p_of(did)} | {per} | "
            f"{'yes' if m['status'] == 'emerged' else 'no'} ({m['status']}, {kind}) | {commit} | {wall} |"
        )
    lines += [
        "",
        "Gold of sampled answers, change before → after per arm, and the failure on contexts the evaluator "
        "rated against contexts it never saw (flawed − control A change):",
        "",
        "| block | "
        + " | ".join(f"gold Δ, {names[arm]}" for arm in arms)
        + " | measure | rated | never rated | significant where |",
        "|---" * (len(arms) + 5) + "|",
    ]
    for block, _, _, a in analyses:
        gold = next((o for o in a["outcomes"] if o["key"] == "gold/mean"), {"arms": {}})
        golds = " | ".join(ci(gold["arms"][arm]["change"]) if arm in gold["arms"] else "–" for arm in arms)
        gens = a.get("generalisation") or [{}]
        g = next((x for x in gens if x.get("key") == m0["key"]), gens[0])
        if not g:
            lines.append(f"| {block} | {golds} | – | – | – | – |")
            continue
        lines.append(
            f"| {block} | {golds} | {g['label']} | {ci(g['rated'].get('did'))} | "
            f"{ci(g['unrated'].get('did'))} | {g['where']} |"
        )
    lines += [
        "",
        f"Method: {m0['arms']['flawed']['change']['method']}; the difference: "
        f"{(m0.get('did') or {}).get('method', '–')}.",
        "",
    ]
    lines += [f"- {block}: {a['verdict']}" for block, _, _, a in analyses]
    lines += ["", "Trends over the RL checkpoints (slope per 100 steps, per replicate; flawed − control A) "
              "and, where the items read a probe, statements against it:", ""]
    for block, _, _, a in analyses:
        # the primary measure's trend and the first sampled (checkpoint) measure's
        trends = [t for t in a.get("trends") or [] if t["key"] != "gold/mean"]
        shown = [t for t in trends if t["key"] == m0["key"] and t["source"] == m0["source"]][:1]
        shown += [t for t in trends if t["source"] == "checkpoint" and t not in shown][:1]
        parts = [f"{t['label']}: {ci(t.get('did'), 3)} (p {p_of(t.get('did'))})" for t in shown]
        h = (a.get("honesty") or {}).get("arms") or {}
        if h:
            lies = ", ".join(f"{names.get(arm, arm)} {d['lies']['initial']['value']:.2f} → "
                             f"{d['lies']['final']['value']:.2f}" for arm, d in h.items())
            parts.append(f"lies (false statements against its own probe), before → after: {lies}")
        lines.append(f"- {block}: " + ("; ".join(parts) if parts else "–"))
    lines += ["", "Commands: " + "; ".join(f"`{cmd}`" for _, _, cmd, _ in analyses), ""]
    return lines


def protocol_table(name: str, blocks: list[tuple[str, Path, str]]) -> list[str]:
    analyses = [(block, out, cmd, analyse(out)) for block, out, cmd in blocks]
    pr0 = analyses[0][3].get("primary")
    if not pr0 or "measure" not in pr0:
        return [f"### {name}", "", "(no pre-registered primary estimate in its analysis)", ""]
    lines = [
        f"### {name}",
        "",
        f"Primary measure (pre-registered): **{pr0['measure']}**; contrast: {pr0['contrast']}; "
        f"{'a rise' if pr0['direction'] == 'up' else 'a fall'} of at least {pr0['min_effect']}.",
        "",
        "| block | estimate [95% CI] | p | per pretraining seed | as registered? | commit | wall (load) |",
        "|---|---|---|---|---|---|---|",
    ]
    for block, out, _, a in analyses:
        pr = a["primary"]
        est = pr["estimate"]
        per = ", ".join(f"{v:+.3f}" for v in est["per_unit"])
        kind = "confirmatory" if pr["confirmatory"] else "exploratory"
        commit, wall = run_facts(out)
        lines.append(
            f"| {block} ({est['n_units']} pretraining seeds) | **{ci(est, 3)}** | {p_of(est)} | {per} | "
            f"{'yes' if pr['status'] == 'emerged' else 'no'} ({kind}) | {commit} | {wall} |"
        )
    lines += ["", f"Method: {pr0['estimate']['method']}.", ""]
    lines += [f"- {block}: {a['primary']['verdict']}" for block, _, _, a in analyses] + [""]
    from oversight_lab.report.protocols import headline_lines

    for block, _, _, a in analyses:  # the protocol's secondary numbers, as its report states them
        lines += [f"Headlines, {block} block (descriptive):", ""]
        lines += [f"- {line}" for line in headline_lines(a)[1:]] + [""]
    lines += ["Commands: " + "; ".join(f"`{cmd}`" for _, _, cmd, _ in analyses), ""]
    return lines


def dose_table(name: str, out: Path, cmd: str) -> list[str]:
    a = analyse(out)
    d = a["dose"]
    commit, wall = run_facts(out)
    lines = [
        f"### {name} --dose (exploratory: development seeds)",
        "",
        f"{d['label']} (`{d['flaw']}.{d['param']}`); primary measure {a['measure']['label']}; "
        f"{len(a['pretrain_seeds'])} pretraining × "
        f"{len(a['replicates']) // len(a['pretrain_seeds'])} RLHF seeds; "
        f"commit {commit}, {wall}. `{cmd}`",
        "",
        f"| {d['param']} | failure: before → after [95% CI] | change − change at no dose [95% CI] | p | "
        "gold after [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for f, g in zip(a["failure_by_dose"], a["gold_by_dose"], strict=True):
        if not f.get("n_replicates"):
            lines.append(f"| {f['value']:g} | – | – | – | – |")
            continue
        lines.append(
            f"| {f['value']:g} | {f['before']:.2f} → {ci(f['after'], sign='')} | {ci(f.get('vs_none'))} | "
            f"{p_of(f.get('vs_none'))} | {ci(g.get('after'), sign='')} |"
        )
    onset = "none" if a["onset"] is None else f"{d['param']} = {a['onset']}"
    return lines + [
        "",
        f"Onset (weakest dose significantly different from no dose by at least the minimum "
        f"effect): **{onset}**. {a['verdict']}",
        "",
    ]


def replace_section(path: Path, tag: str, lines: list[str]) -> None:
    """Replace the text between ``<!-- regenerate_results.py: TAG -->`` and the end marker of ``path``."""
    begin = f"<!-- regenerate_results.py: {tag} -->"
    text = path.read_text()
    if begin not in text or END not in text.split(begin, 1)[1]:
        raise SystemExit(f"{path}: no section {begin} … {END} to replace")
    head, rest = text.split(begin, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + begin + "\n" + "\n".join(lines) + "\n" + END + tail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", default=STORIES + PROTOCOLS)
    ap.add_argument("--runs", default=str(ROOT / "runs" / "confirmation"))
    ap.add_argument("--reuse", action="store_true", help="reuse finished runs in --runs instead of rerunning")
    ap.add_argument(
        "--dose",
        nargs="*",
        default=[],
        help="stories whose dose-response run (RUNS/NAME-dose) goes into docs/stories.md",
    )
    ap.add_argument("--docs", default=str(ROOT / "docs"))
    args = ap.parse_args()
    from oversight_lab.analyses import analysis_kind
    from oversight_lab.scenarios import get_scenario

    runs, docs = Path(args.runs), Path(args.docs)
    runs.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    machine = (
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs; analysed at commit {commit} on "
        f"{time.strftime('%Y-%m-%d')}; each run's own commit is in its row. CPU kernels differ between "
        "processor models, so the numbers differ on another machine; the verdicts are what should hold. "
        "Wall times are those of the runs (cold: pretraining included), with the machine's 15-minute "
        "load average after each in brackets."
    )
    sections: dict[str, list[str]] = {"stories": [], "protocols": []}
    for name in args.names:
        sc = get_scenario(name)
        if sc.prereg is None:
            raise SystemExit(f"scenario {name!r} has no pre-registration")
        blocks = [(b, *run_dir(name, b, runs, args.reuse, ("--block", b))) for b in sc.prereg.blocks]
        kind = analysis_kind(json.loads((blocks[0][1] / "config.json").read_text()))
        if kind == "story":
            sections["stories"] += story_table(name, blocks)
        elif kind == "protocol":
            sections["protocols"] += protocol_table(name, blocks)
        else:
            raise SystemExit(f"scenario {name!r}: no confirmation table for a {kind!r} run")
    dose = []
    for name in args.dose:
        out, cmd = run_dir(name, "dose", runs, args.reuse, ("--dose",))
        dose += dose_table(name, out, cmd)
    lines = [
        "# Confirmatory results",
        "",
        "Written by `python scripts/regenerate_results.py` (do not edit by hand). Each scenario runs on "
        "its two reserved seed blocks (`confirm`, `replicate`) with its registered settings; development "
        "never used these seeds. Intervals are over pretraining seeds (the independent unit; RLHF seeds "
        "averaged within each), as `oversight_lab.metrics.stats` computes them. The dose–response runs are "
        "exploratory (development seeds). Every table in docs/ that this script does not write is "
        "exploratory.",
        "",
        machine,
        "",
    ]
    if sections["stories"]:
        lines += ["## Stories", ""] + sections["stories"]
    if sections["protocols"]:
        lines += ["## Protocols", ""] + sections["protocols"]
    if dose:
        lines += ["## Dose–response (exploratory)", ""] + dose
    (docs / "results.md").write_text("\n".join(lines))
    if sections["stories"] or dose:
        replace_section(docs / "stories.md", "stories", [machine, ""] + sections["stories"] + dose)
    if sections["protocols"]:
        replace_section(docs / "protocols.md", "protocols", [machine, ""] + sections["protocols"])
    print(f"wrote {docs / 'results.md'}")


if __name__ == "__main__":
    main()
