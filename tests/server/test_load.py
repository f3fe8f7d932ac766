"""Load on loopback, bounded in time and stopping by itself: 50 concurrent annotators x 20 submissions give
exactly 1000 rows, none lost or duplicated; a kill -9 during load (50 x 8) loses no acknowledged label, and
after a restart the load finishes with exactly 400 rows."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from oversight_lab.server.loadgen import Annotator, ServerProcess, invite_many, run_load

from .conftest import ADMIN

pytestmark = pytest.mark.load

LOAD_STUDY = """
name: load
items: {source: world, n: 60, seed: 1}
conditions: [{name: unaided}, {name: critique, assistance: critique}]
overlap: 10
gold_share: 0.2
time_limit_s: 600
"""
PEOPLE, EACH = 50, 20
KILL_EACH = 8  # the kill test: 50 people x 8, killed after 150 acknowledged labels


def stored(db: Path) -> list[tuple[int, int, str, int]]:
    """(label id, assignment id, participant, revision) of every stored label, read straight from the file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT id, assignment_id, participant_id, revision FROM labels").fetchall()
    finally:
        con.close()


def check_exactly_once(db: Path, annotators: list[Annotator], each: int) -> None:
    rows = stored(db)
    assert len(rows) == PEOPLE * each
    assert len({r[1] for r in rows}) == len(rows)  # one label per assignment: no duplicates
    assert {r[3] for r in rows} == {0}
    assert set(Counter(r[2] for r in rows).values()) == {each}
    acked = {pair for a in annotators for pair in a.acked}
    assert acked == {(r[1], r[0]) for r in rows}  # every acknowledged label stored, nothing else


def setup(tmp_path: Path) -> tuple[Path, Path]:
    study = tmp_path / "load.yaml"
    study.write_text(LOAD_STUDY)
    return study, tmp_path / "load.db"


def test_50_annotators_x_20_submissions(tmp_path: Path) -> None:
    study, db = setup(tmp_path)
    with ServerProcess(study, db, ADMIN, log=tmp_path / "server.log") as server:
        annotators = [Annotator(t, i) for i, t in enumerate(invite_many(server.url, ADMIN, PEOPLE))]
        t0 = time.monotonic()
        result = run_load(server.url, annotators, EACH, timeout_s=150)
        assert time.monotonic() - t0 < 155
    assert result.errors == [] and result.stopped_by == "completed", result.errors[:5]
    assert result.acked == PEOPLE * EACH and len(result.label_latency_s) == PEOPLE * EACH
    check_exactly_once(db, annotators, EACH)


def test_kill9_during_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    study, db = setup(tmp_path)
    server = ServerProcess(study, db, ADMIN, log=tmp_path / "server.log").start()
    annotators = [Annotator(t, i) for i, t in enumerate(invite_many(server.url, ADMIN, PEOPLE))]
    results = []
    load = threading.Thread(target=lambda: results.append(run_load(server.url, annotators, KILL_EACH,
                                                                   timeout_s=120)))
    load.start()
    deadline = time.monotonic() + 90
    while sum(len(a.acked) for a in annotators) < 150 and time.monotonic() < deadline and load.is_alive():
        time.sleep(0.01)
    server.kill9()
    load.join(timeout=60)
    assert not load.is_alive() and results[0].stopped_by == "server unreachable"
    acked_before = {pair for a in annotators for pair in a.acked}
    assert 150 <= len(acked_before) < PEOPLE * KILL_EACH
    rows = {(r[1], r[0]) for r in stored(db)}
    assert acked_before <= rows  # every acknowledged label survived the kill
    in_flight = sum(a.pending is not None for a in annotators)
    assert in_flight > 0  # the kill really hit the load mid-way
    server = ServerProcess(study, db, ADMIN, log=tmp_path / "server.log").start()  # restart on the same file
    try:
        result = run_load(server.url, annotators, KILL_EACH, timeout_s=150)
    finally:
        server.stop()
    assert result.errors == [] and result.stopped_by == "completed", result.errors[:5]
    check_exactly_once(db, annotators, KILL_EACH)
