"""Dump every scenario as the package defines it (name, description, sources, overrides, pre-registration,
story measures) and the public constants of the scenario modules, as canonical JSON.

``python tests/scenarios/snapshot.py > tests/data/scenarios_before_yaml.json`` wrote the snapshot from the
scenarios as Python (commit 69ef749), before they became YAML files; ``test_scenario_files.py`` compares the
loaded files to it, byte for byte (so key order and int-vs-float count too). The stories' entries were
rewritten from the ``stories`` branch's Python definitions (three arms, the imperfect human, held-out
contexts, the checked warning; its last commit before merging the YAML files) in the same way, before their
YAML files were edited to match; then rewritten from the files once more when the stories'
pre-registration history recorded that change (``shared/story_development.yaml``, its second entry).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any


def snapshot() -> dict[str, Any]:
    from oversight_lab.scenarios import SCENARIOS, overoptimisation, protocols, realmodel, stories

    out: dict[str, Any] = {"scenarios": [], "stories": list(stories.STORIES)}
    for sc in SCENARIOS.values():
        story = stories.STORIES.get(sc.name)
        out["scenarios"].append(
            {
                "name": sc.name,
                "description": sc.description,
                "sources": list(sc.sources),
                "overrides": sc.overrides,
                "prereg": asdict(sc.prereg) if sc.prereg else None,
                "story": None
                if story is None
                else {
                    "name": story.name,
                    "failure": story.failure,
                    "optimizer": story.optimizer,
                    "measures": [asdict(m) for m in story.measures],
                },
            }
        )
    out["constants"] = {
        f"{module.__name__.rpartition('.')[2]}.{name}": getattr(module, name)
        for module in (stories, protocols, overoptimisation, realmodel)
        for name in module.__all__
        if isinstance(getattr(module, name), (dict, list, tuple)) and name not in ("STORIES",)
    }
    return out


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(dumps(snapshot()), end="")
