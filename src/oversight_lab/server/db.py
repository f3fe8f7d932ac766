"""The study database: SQLAlchemy tables, engines, the write gate and migrations.

Storage is append-only. No row is ever updated or deleted (the migrations install triggers that refuse it):
an edited label is a new row with ``revision + 1`` that ``supersedes`` the old one; an expired assignment is
one whose ``expires_at`` has passed with no label. So a crash or a bad request can never take away a label
that was acknowledged, and an export can replay the whole history.

SQLite (default) runs in WAL mode with ``synchronous=FULL``: a transaction is fsynced before the server
answers, so neither a ``kill -9`` nor a power cut loses an acknowledged label. ``sync="normal"`` skips the
fsync per commit: still safe against a killed server, whose writes are already in the operating system, but
not against losing power (on this machine the server is CPU-bound, so it barely changes throughput; see
docs/benchmarks.md). PostgreSQL works with
``postgresql://...`` URLs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

__all__ = [
    "HEAD_REVISION",
    "Assignment",
    "Base",
    "ChatMessage",
    "Database",
    "Event",
    "Item",
    "Label",
    "Participant",
    "Revocation",
    "SchemaError",
    "StudyRow",
    "migrate",
    "migrate_down",
    "schema_revision",
    "sqlite_url",
    "utcnow",
    "WebSession",
]

HEAD_REVISION = "0002"
_WRITE: ContextVar[bool] = ContextVar("oversight_lab_write", default=False)
MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    """Server time, UTC, without tzinfo (stored the same way by SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


class SchemaError(RuntimeError):
    """The database's schema version is not the one this code expects."""


class Base(DeclarativeBase):
    pass


class StudyRow(Base):
    """The frozen study file (one row: one database holds one study)."""

    __tablename__ = "study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Participant(Base):
    """A person with a role (admin, expert, annotator), known by a hashed invite token."""

    __tablename__ = "participants"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Item(Base):
    """A prompt and two answers. ``is_gold`` is never sent to annotators."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    task_id: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    answer_a: Mapped[str] = mapped_column(Text)
    answer_b: Mapped[str] = mapped_column(Text)
    task_spec: Mapped[str] = mapped_column(Text, default="{}")
    policy: Mapped[str] = mapped_column(String(200), default="")
    critique_a: Mapped[str | None] = mapped_column(Text, nullable=True)
    critique_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    batch: Mapped[str] = mapped_column(String(64), index=True)
    is_gold: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Assignment(Base):
    """An item served to one person under one condition, with its left/right order and what was shown."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("item_id", "participant_id", name="uq_assignment_item_participant"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # annotate | gold
    condition: Mapped[str] = mapped_column(String(40))
    flipped: Mapped[bool] = mapped_column(Boolean)  # True: answer_b is shown on the left
    critique: Mapped[str | None] = mapped_column(Text, nullable=True)  # exactly what was shown
    served_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Event(Base):
    """Server-timestamped events of an assignment (first interaction)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("assignment_id", "kind", name="uq_event_assignment_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)


class Label(Base):
    """A judgement. ``strength`` is canonical (-3 A much better ... 0 tie ... +3 B much better);
    ``strength_shown`` is what the person clicked (negative: the left answer)."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("assignment_id", "revision", name="uq_label_assignment_revision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    condition: Mapped[str] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer)
    supersedes: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), nullable=True)
    strength: Mapped[int] = mapped_column(Integer)
    strength_shown: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    via: Mapped[str] = mapped_column(String(8))  # web | api
    submitted_at: Mapped[datetime] = mapped_column(DateTime)


class ChatMessage(Base):
    """One turn of the AI chat condition (who said it, what, when)."""

    __tablename__ = "chat_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    speaker: Mapped[str] = mapped_column(String(16))  # person | assistant
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime)


class WebSession(Base):
    """A browser session: made by a same-origin POST to ``/join``, known by a hashed cookie token, ending at
    ``expires_at`` or at its first revocation, whichever comes first."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Revocation(Base):
    """A revocation, itself a row (storage stays append-only): of one session (sign-out) or of a participant
    (their invite token and every session, by an admin)."""

    __tablename__ = "revocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[str | None] = mapped_column(ForeignKey("participants.id"), nullable=True,
                                                       index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(200))
    revoked_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)


APPEND_ONLY_TABLES = ("study", "participants", "items", "assignments", "events", "labels", "chat_messages",
                      "sessions", "revocations")


def _alembic_config(connection: Any = None) -> Any:  # alembic.config.Config, imported lazily
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (``downgrade`` by passing e.g. ``"base"`` is ``migrate_down``)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def migrate_down(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)


def schema_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None for an empty database."""
    with engine.connect() as conn:
        has = conn.dialect.has_table(conn, "alembic_version")
        if not has:
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return row[0] if row else None


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


class Database:
    """An engine, a session factory and the write gate.

    Writes go through ``write()``: one transaction at a time. SQLite allows one writer anyway; taking
    ``BEGIN IMMEDIATE`` (plus a process lock, which avoids SQLite's sleep-and-retry busy loop) makes the
    capacity check of assignment and its insert atomic. On PostgreSQL a transaction-scoped advisory lock
    does the same across server processes.
    """

    def __init__(self, url: str, echo: bool = False, sync: str = "full") -> None:
        if sync not in ("full", "normal"):
            raise ValueError(f"sync must be 'full' or 'normal', got {sync!r}")
        self.url = url
        self.sync = sync
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 30
        self.engine = create_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name  # ids are checked against its integer range
        if self.is_sqlite:
            self._sqlite_setup()
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()

    def _sqlite_setup(self) -> None:
        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={self.sync.upper()}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _WRITE.get() else "BEGIN")

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction: committed on success (before the caller answers), else rolled
        back."""
        with self._lock, self.sessions() as s:
            token = _WRITE.set(True)
            try:
                conn = s.connection()  # begins the transaction: BEGIN IMMEDIATE on SQLite
            finally:
                _WRITE.reset(token)
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(424242)"))
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def check_schema(self) -> None:
        rev = schema_revision(self.engine)
        if rev != HEAD_REVISION:
            raise SchemaError(f"database {self.url} has schema revision {rev!r}, this code needs "
                              f"{HEAD_REVISION!r}; start the server without --no-migrate to upgrade it")
