"""Sessions and revocations: browser sessions that expire and can be revoked; revocations of participants.

Both tables are append-only like the rest: signing out or revoking adds a ``revocations`` row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("sessions", "revocations")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("participant_id", sa.String(32), sa.ForeignKey("participants.id"), nullable=False,
                  index=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("participant_id", sa.String(32), sa.ForeignKey("participants.id"), nullable=True,
                  index=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=True, index=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("revoked_by", sa.String(32), nullable=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.CheckConstraint("participant_id IS NOT NULL OR session_id IS NOT NULL",
                           name="ck_revocation_target"),
    )
    dialect = op.get_bind().dialect.name
    for t in TABLES:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {t}_no_{verb.lower()} BEFORE {verb} ON {t} "
                           f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END")
        elif dialect == "postgresql":  # the function comes from 0001
            op.execute(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION oversight_lab_append_only()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for t in TABLES:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {t}_no_{verb}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
    for t in reversed(TABLES):
        op.drop_table(t)
