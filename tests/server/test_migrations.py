"""The versioned schema: Alembic upgrade/downgrade, version checks, append-only triggers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from oversight_lab.server.app import create_app
from oversight_lab.server.db import (
    APPEND_ONLY_TABLES,
    HEAD_REVISION,
    Database,
    SchemaError,
    migrate,
    migrate_down,
    schema_revision,
)

from .conftest import BASE_STUDY, Api, study_from


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    assert schema_revision(db.engine) is None
    migrate(db.engine)
    assert schema_revision(db.engine) == HEAD_REVISION
    assert set(APPEND_ONLY_TABLES) <= set(inspect(db.engine).get_table_names())
    migrate_down(db.engine)
    assert not set(APPEND_ONLY_TABLES) & set(inspect(db.engine).get_table_names())
    migrate(db.engine)
    assert schema_revision(db.engine) == HEAD_REVISION


def test_migrations_ship_inside_the_package() -> None:
    import oversight_lab.server.db as dbmod

    versions = Path(dbmod.__file__).parent / "migrations" / "versions"
    assert (versions / "0001_initial.py").exists()
    assert len(list(versions.glob(f"{HEAD_REVISION}_*.py"))) == 1


def test_upgrade_from_0001_keeps_every_row(tmp_path: Path) -> None:
    """A database made by the first schema upgrades to the sessions schema with its rows intact."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    migrate(db.engine, "0001")
    assert schema_revision(db.engine) == "0001"
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO participants (id, seq, role, name, token_sha256, created_at) "
                          "VALUES ('a0001', 1, 'annotator', 'old', 'x', '2026-01-01 00:00:00')"))
    migrate(db.engine)
    assert schema_revision(db.engine) == HEAD_REVISION
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM participants")).scalars().all() == ["old"]
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 0
    migrate_down(db.engine, "0001")
    assert "sessions" not in inspect(db.engine).get_table_names()
    assert "participants" in inspect(db.engine).get_table_names()


def test_no_migrate_refuses_an_old_schema(tmp_path: Path) -> None:
    study = study_from(BASE_STUDY, tmp_path)
    with pytest.raises(SchemaError, match="schema revision None.*without --no-migrate"):
        create_app(study, f"sqlite:///{tmp_path / 'empty.db'}", run_migrations=False)


def test_storage_is_append_only(make_api: Any) -> None:
    api: Api = make_api(BASE_STUDY.replace("  - {name: unaided, assistance: none}\n", "").replace(
        "  - {name: critique, assistance: critique}\n", ""))
    tok = api.invite()
    aid = api.next(tok)["assignment_id"]
    api.as_(tok, "POST", f"/api/assignments/{aid}/interaction")
    assert api.as_(tok, "POST", f"/api/assignments/{aid}/chat", json={"message": "hm?"}).status_code == 200
    api.label(tok, aid, 2)
    browser = api.browser(tok)  # a session, and a revocation when it signs out
    out = browser.post("/logout", data={"csrf_token": browser.csrf}, follow_redirects=False)
    assert out.status_code == 303
    db = api.app.state.ctx.db
    for table in APPEND_ONLY_TABLES:
        with db.read() as s:
            assert s.execute(text(f"SELECT count(*) FROM {table}")).scalar() > 0, table
        for stmt in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(IntegrityError, match=f"{table} is append-only"), db.write() as s:
                s.execute(text(stmt))
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM labels")).scalar() == 1


def test_sqlite_runs_in_wal_with_full_sync(api: Api) -> None:
    db = api.app.state.ctx.db
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
