"""The cache's one write pattern: an entry is built once, whole, and read back; a failed build leaves none."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from oversight_lab.cache import code_hash, load_or_build


def _json_entry(path: Path, value: dict, builds: list[int]) -> tuple[dict, bool]:
    def build() -> dict:
        builds.append(1)
        time.sleep(0.2)  # long enough for a concurrent caller to arrive while it builds
        return value

    return load_or_build(path, lambda p: json.loads(p.read_text()), build,
                         lambda v, tmp: tmp.write_text(json.dumps(v)))


def test_built_once_then_read_back(tmp_path):
    builds: list[int] = []
    assert _json_entry(tmp_path / "e.json", {"a": 1}, builds) == ({"a": 1}, False)
    assert _json_entry(tmp_path / "e.json", {"a": 2}, builds) == ({"a": 1}, True)  # the entry, not a rebuild
    assert len(builds) == 1
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == ["e.json"]


def test_concurrent_callers_wait_for_one_build(tmp_path):
    builds: list[int] = []
    results: list[tuple[dict, bool]] = []
    def call() -> None:
        results.append(_json_entry(tmp_path / "e.json", {"a": 1}, builds))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert sorted(hit for _, hit in results) == [False, True, True, True]


def test_a_failed_build_leaves_no_entry(tmp_path):
    def save(value: dict, tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "half").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        load_or_build(tmp_path / "entry", lambda p: "loaded", lambda: {}, save)
    assert not (tmp_path / "entry").exists()
    assert load_or_build(tmp_path / "entry", lambda p: "loaded", lambda: "built",
                         lambda v, tmp: tmp.mkdir()) == ("built", False)


def test_code_hash_ignores_docstrings_and_comments_not_code(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('def f():\n    """Doc."""\n    return 1\n')
    b.write_text('def f():\n    """Other words."""\n    # a comment\n    return 1\n')
    c.write_text('def f():\n    """Doc."""\n    return 2\n')
    assert code_hash(a) == code_hash(b) != code_hash(c)
