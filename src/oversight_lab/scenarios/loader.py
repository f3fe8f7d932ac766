"""Scenario files: every scenario the package ships is a YAML file in ``oversight_lab/data/scenarios/``.

A scenario file (its name is the scenario's; copy one to add a scenario)::

    description: one line for `oversight-lab list`       # required
    sources: [the papers and essay sections it reproduces]
    base: [story_budget, gentle_rl]      # shared override files (data/scenarios/shared/), merged in order
    overrides: {world: opinions, arms: {...}}     # RunConfig overrides on top of the bases, as with --set
    prereg: {primary: ..., optimizer: rl, direction: up, min_effect: 0.05}   # Preregistration's fields
    story:                               # a story of the essay: its failure and measures (Story, Measure)
      failure: agreement with a user who is wrong
      measures:
        - {key: agree_wrong_view, label: agrees with a user's wrong view, binary: true}

A story's pre-registration is its first measure (direction, minimum effect) at its optimiser's end; the file's
``prereg`` keys, if any, replace those. ``!include NAME`` inserts the shared file ``NAME.yaml`` anywhere (a
list of flaws, a list of sources); ``!splice NAME``, an item of a list, inserts the shared list's items there
(``flaws: [{kind: blind_spot}, !splice human_choice]``). ``_index.yaml`` orders the scenarios
(``oversight-lab list``) and the stories (``run --all-stories``); a file it does not name comes after those,
by name. Every error names the
file, the line and the key, and is raised when the scenarios are loaded.

Scenario files of one's own go in a directory named by ``$OVERSIGHT_LAB_SCENARIOS`` (several: separated
by ``os.pathsep``); they load after the package's, and find shared files in their directory's ``shared/``,
then in the package's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from oversight_lab.datafiles import DataFileError, YamlFile, find_shared, known_shared
from oversight_lab.scenarios.schema import Preregistration, Scenario, Story

__all__ = [
    "SCENARIO_DIR",
    "SHARED_DIR",
    "USER_DIRS_VAR",
    "ScenarioError",
    "load_scenario_file",
    "load_scenarios",
    "shared",
    "user_dirs",
]

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "data" / "scenarios"
SHARED_DIR = SCENARIO_DIR / "shared"
USER_DIRS_VAR = "OVERSIGHT_LAB_SCENARIOS"  # directories of one's own scenario files (os.pathsep between them)
INDEX = "_index.yaml"
TOP_KEYS = ("name", "description", "sources", "base", "overrides", "prereg", "story")


class ScenarioError(DataFileError):
    """A scenario file (or a shared file it uses) is wrong; the message names the file, line and key."""


def _shared_dirs(directory: Path) -> tuple[Path, ...]:
    """Where a scenario file of ``directory`` finds shared files: its own ``shared/``, then the package's."""
    return tuple(dict.fromkeys([directory / "shared", SHARED_DIR]))


def user_dirs() -> list[Path]:
    """The directories named by ``$OVERSIGHT_LAB_SCENARIOS``, each checked to exist."""
    out = []
    for part in os.environ.get(USER_DIRS_VAR, "").split(os.pathsep):
        if part.strip():
            path = Path(part.strip()).expanduser()
            if not path.is_dir():
                raise ScenarioError(f"{USER_DIRS_VAR}: {part!r} is not a directory")
            out.append(path)
    return out


def shared(name: str, dirs: Sequence[Path] = (SHARED_DIR,)) -> Any:
    """The value of the shared file ``NAME.yaml`` (a budget, a list of flaws), its includes resolved."""
    path = find_shared(name, dirs)
    if path is None:
        known = ", ".join(known_shared(dirs)) or "none"
        raise ScenarioError(f"{name}: no shared scenario file of that name (known: {known})")
    f = YamlFile.read(path, ScenarioError, shared=dirs)
    if f.root is None:
        raise f.error(1, "the shared file is empty")
    return f.value(f.root)


def load_scenario_file(
    path: Path | str, text: str | None = None, shared_dirs: Sequence[Path] | None = None
) -> tuple[Scenario, Story | None]:
    """One scenario file (``text``, when given, instead of the file's text): the scenario and its story.

    ``shared_dirs``: where ``base`` and ``!include`` look (default: the file's ``shared/``, then the
    package's).
    """
    path = Path(path)
    dirs = _shared_dirs(path.parent) if shared_dirs is None else tuple(shared_dirs)
    if text is None:
        f = YamlFile.read(path, ScenarioError, shared=dirs)
    else:
        f = YamlFile(text, str(path), ScenarioError, shared=dirs)
    if f.root is None:
        raise f.error(1, "the scenario file is empty")
    top = f.keys(f.root, "", TOP_KEYS, required=("description",))
    name = path.stem
    if "name" in top and f.typed(top["name"][1], "key 'name'", str) != name:
        raise f.error(top["name"][1], f"key 'name': must be the file's name, {name!r}")

    overrides: dict[str, Any] = {}
    if "base" in top:
        overrides = _bases(f, top["base"][1], dirs)
    if "overrides" in top:
        overrides.update(f.typed(top["overrides"][1], "key 'overrides'", dict[str, Any]))

    story = None
    if "story" in top:
        story = f.build(Story, top["story"][1], "key 'story'", given={"name": name}, skip=("name",))
        if not story.measures:
            raise f.error(top["story"][1], "key 'story', key 'measures': a story needs at least one measure")
    prereg = None
    if "prereg" in top:
        derived = asdict(story.preregistration()) if story else None
        prereg = f.build(Preregistration, top["prereg"][1], "key 'prereg'", given=derived)
    elif story:
        prereg = story.preregistration()
    scenario = Scenario(
        name=name,
        description=f.typed(top["description"][1], "key 'description'", str),
        sources=f.typed(top["sources"][1], "key 'sources'", tuple[str, ...]) if "sources" in top else (),
        overrides=overrides,
        prereg=prereg,
    )
    return scenario, story


def _bases(f: YamlFile, node: yaml.Node, dirs: Sequence[Path]) -> dict[str, Any]:
    """The overrides of the shared files a scenario's ``base`` names, merged in order."""
    if isinstance(node, yaml.ScalarNode):
        names = [f.typed(node, "key 'base'", str)]
    else:
        names = f.typed(node, "key 'base'", list[str])
    out: dict[str, Any] = {}
    for name in names:
        if find_shared(name, dirs) is None:
            raise f.error(node, f"key 'base': unknown base {name!r}; known: {', '.join(known_shared(dirs))}")
        try:
            value = shared(name, dirs)
        except ScenarioError as e:
            raise f.error(node, f"key 'base': {e}") from None
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise f.error(node, f"key 'base': the shared file {name!r} is not a mapping of overrides")
        out.update(value)
    return out


def load_scenarios(directory: Path | None = None) -> tuple[dict[str, Scenario], dict[str, Story]]:
    """Every scenario file of ``directory`` and the stories among them, in ``_index.yaml``'s order.

    Without ``directory``: the package's scenarios, then those of the directories in
    ``$OVERSIGHT_LAB_SCENARIOS`` (a name the package has already is an error).
    """
    if directory is not None:
        return _load_directory(directory)
    scenarios, stories = _load_directory(SCENARIO_DIR)
    for extra in user_dirs():
        more, more_stories = _load_directory(extra)
        for name in more:
            if name in scenarios:
                raise ScenarioError(f"{extra / (name + '.yaml')}: a scenario named {name!r} exists already")
        scenarios.update(more)
        stories.update(more_stories)
    return scenarios, stories


def _load_directory(directory: Path) -> tuple[dict[str, Scenario], dict[str, Story]]:
    files = {p.stem: p for p in sorted(directory.glob("*.yaml")) if not p.name.startswith("_")}
    order, story_order = _index(directory, files)
    scenarios: dict[str, Scenario] = {}
    stories: dict[str, Story] = {}
    for name in [*order, *sorted(set(files) - set(order))]:
        scenarios[name], story = load_scenario_file(files[name])
        if story is not None:
            stories[name] = story
    for name, line in story_order.items():
        if name not in stories:
            where = f"{directory / INDEX}, line {line}: key 'stories'"
            raise ScenarioError(f"{where}: {name!r} has no key 'story'")
    ordered = {name: stories[name] for name in story_order}
    return scenarios, {**ordered, **{k: v for k, v in stories.items() if k not in ordered}}

def _index(directory: Path, files: dict[str, Path]) -> tuple[list[str], dict[str, int]]:
    """The scenario order and the story order (name: line) of ``_index.yaml``; every name must be a file."""
    path = directory / INDEX
    if not path.is_file():
        return [], {}
    f = YamlFile.read(path, ScenarioError)
    if f.root is None:
        return [], {}
    top = f.keys(f.root, "", ("scenarios", "stories"))
    lists: dict[str, dict[str, int]] = {}
    for key in ("scenarios", "stories"):
        lists[key] = {}
        if key not in top:
            continue
        node = top[key][1]
        for i, name in enumerate(f.typed(node, f"key {key!r}", list[str])):
            item = node.value[i]
            if name not in files:
                raise f.error(item, f"key {key!r}: no scenario file {name}.yaml in {directory}")
            if name in lists[key]:
                raise f.error(item, f"key {key!r}: {name!r} repeats the one on line {lists[key][name]}")
            lists[key][name] = item.start_mark.line + 1
    return list(lists["scenarios"]), lists["stories"]
