"""timeline entries people corrected: who changed an entry last, when, and what it said before

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.stats import refresh_incident_stats

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every stored entry is as it was first written: never edited, nothing before it.
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("edited_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous", sa.JSON(), nullable=True))
    # Every stats row is rebuilt as every later write computes it, here at the last migration adding a column
    # the stats code reads (it runs on today's models, so it can only run once the schema has all of their
    # columns; a database from before 0004 gets its rows here: see 0004). 0012 and 0013 add tables and
    # follow-up columns only, which it does not read. A later migration adding a column of `incident` or
    # `timeline_event` moves this rebuild to its own end.
    refresh_incident_stats(op.get_bind(), None)


def downgrade() -> None:
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_column("previous")
        batch_op.drop_column("edited_by")
        batch_op.drop_column("edited_at")
