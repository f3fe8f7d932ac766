"""The import layers (docs/architecture.md): every import points down or sideways, never up, and the rooms
(top-level modules and packages) import each other without a cycle.

Imports are read from the source with ``ast``: module-level imports and the lazy ones inside functions alike
(a lazy import is still a dependency); imports under ``if TYPE_CHECKING:`` are for type checkers only and are
not counted. The known violations still being removed are listed in ``ALLOWED``, each with who removes it.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "oversight_lab"

# From the ground up; a room may import its own floor and the floors below.
LAYERS: list[set[str]] = [
    # ground floor: config base, the cache, reading data files, statistics, records
    {"settings", "cache", "datafiles", "metrics", "feedback"},
    {"worlds"},
    {"models", "evaluators"},  # every evaluator kind and flaw
    {"reward", "optimize", "probes", "evals", "weak_to_strong"},  # methods; weak_to_strong: one w2s replicate
    {"config"},  # RunConfig composes the configs the methods own; check_inputs
    {"loop", "loop_english", "loop_debate"},  # one (arm, seed): the word-level loop, the English loop, debate
    {"runs", "sweeps", "server", "scenarios"},  # write run directories, then stop; the web app beside them
    {"analyses", "protocols"},  # compute results from run directories
    {"report"},  # renders only
    {"cli"},
]
FLOOR = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}

# Known violations, (importing module, imported room), to be removed by their owners; keep this list empty.
ALLOWED: set[tuple[str, str]] = set()


def _imports(path: Path, module: str) -> list[str]:
    """Absolute names of the oversight_lab modules ``path`` imports at run time."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append(name)
            out += [f"{name}.{a.name}" for a in node.names]  # `from pkg import submodule`
    return [n for n in out if n.startswith("oversight_lab.")]


def _room(name: str) -> str:
    return name.split(".")[1]


@functools.cache
def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        if module == "oversight_lab":
            continue
        edges[module] = set(_imports(path, module))
    return edges


def test_every_room_has_a_floor():
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert rooms - set(FLOOR) == set(), "put the new module in LAYERS (and docs/architecture.md)"


def test_no_upward_imports():
    upward = sorted(
        (module, _room(name))
        for module, names in _graph().items()
        for name in names
        if _room(name) in FLOOR and FLOOR[_room(name)] > FLOOR[_room(module)]
    )
    new = sorted(set(upward) - ALLOWED)
    assert new == [], "upward imports (importing module, room it reaches up to): " + repr(new)


def test_no_cycles_between_rooms():
    rooms: dict[str, set[str]] = {}
    for module, names in _graph().items():
        for name in names:
            if _room(name) != _room(module) and (module, _room(name)) not in ALLOWED:
                rooms.setdefault(_room(module), set()).add(_room(name))
    cycles = []
    for start in sorted(rooms):  # a path from start back to itself
        stack, seen = [(start, [start])], set()
        while stack:
            room, path = stack.pop()
            for nxt in sorted(rooms.get(room, ())):
                if nxt == start:
                    cycles.append(" → ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def test_each_allowed_violation_still_exists():
    """An entry whose import is gone must leave the list, so that the list only shrinks."""
    for module, room in sorted(ALLOWED):
        still = any(_room(n) == room for n in _graph().get(module, ()))
        assert still, f"{(module, room)} is fixed: remove it from ALLOWED"
