"""The same app on PostgreSQL: migrations, append-only triggers, labelling, stats. Runs only when
$OVERSIGHT_LAB_TEST_POSTGRES_URL names an empty, disposable database (postgresql+psycopg://...)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from oversight_lab.server.app import create_app
from oversight_lab.server.db import APPEND_ONLY_TABLES, HEAD_REVISION, Database, migrate_down, schema_revision

from .conftest import ADMIN, BASE_STUDY, Api, Clock, study_from

URL = os.environ.get("OVERSIGHT_LAB_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="set OVERSIGHT_LAB_TEST_POSTGRES_URL to test PostgreSQL")


@pytest.fixture
def pg_api(tmp_path: Path) -> Api:
    assert URL
    migrate_down(Database(URL).engine)  # start from an empty schema
    study = study_from(BASE_STUDY, tmp_path)
    clock = Clock()
    app = create_app(study, URL, clock=clock, admin_token=ADMIN)
    return Api(TestClient(app), clock, study)


def test_postgres_end_to_end(pg_api: Api) -> None:
    api = pg_api
    assert schema_revision(api.app.state.ctx.db.engine) == HEAD_REVISION
    expert, tok = api.invite("expert"), api.invite()
    while not (nxt := api.next(expert))["done"]:
        assert api.label(expert, nxt["assignment_id"], 2).status_code == 201
    for _ in range(5):
        aid = api.next(tok)["assignment_id"]
        assert api.label(tok, aid, -1, 0.6).status_code == 201
    assert api.label(tok, aid, -1, 0.6).status_code == 200  # idempotent retry
    assert api.label(tok, aid, 3, 0.9, edit=True).json()["revision"] == 1
    d = api.admin("GET", "/api/admin/stats").json()
    assert d["throughput"]["labels"] == 5 and d["throughput"]["edits"] == 1
    db = api.app.state.ctx.db
    for table in APPEND_ONLY_TABLES:
        with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
            s.execute(text(f"DELETE FROM {table}"))
    with db.read() as s:
        gold = s.execute(text("SELECT count(*) FROM labels WHERE kind = 'gold'")).scalar()
        assert gold > 0 and s.execute(text("SELECT count(*) FROM labels")).scalar() == 6 + gold


def test_postgres_hostile_input_is_refused_not_a_500(pg_api: Api) -> None:
    """PostgreSQL stores no NUL and its integer ids are 32-bit: both are answered before a query is sent."""
    api = pg_api
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    for big in (2**31, 2**31 + 1, 2**63, 10**30):
        r = api.label(tok, big, 1)
        assert r.status_code == 404 and r.json()["where"] == "assignment_id", big
        assert api.as_(tok, "GET", f"/api/assignments/{big}").status_code == 404
        assert api.as_(tok, "POST", f"/label/{big}", data={"strength": "1"}).status_code == 404
    assert api.label(tok, aid, 1, rationale="a\x00b").status_code == 422
    named = api.admin("POST", "/api/admin/invites", json={"role": "annotator", "name": "n\x00"})
    assert named.status_code == 422
    item = {"task_id": "t", "prompt": "p\x00", "answer_a": " a", "answer_b": " b"}
    assert api.admin("POST", "/api/admin/items", json={"items": [item]}).status_code == 422
    assert api.admin("GET", "/api/admin/batches/a%00b").status_code == 404
    assert api.label(tok, aid, 1, rationale="ok").status_code == 201
    with api.app.state.ctx.db.read() as s:
        assert s.execute(text("SELECT count(*) FROM labels")).scalar() == 1
