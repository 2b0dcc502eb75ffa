"""incident types and custom fields, on the incident and on its stats row

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every stored incident keeps its row and gets the default type and no custom field.
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("incident_type", sa.String(length=64), nullable=False, server_default="default")
        )
        batch_op.add_column(sa.Column("custom_fields", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("incident_stats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("incident_type", sa.String(length=64), nullable=False, server_default="default")
        )
        batch_op.add_column(sa.Column("custom_fields", sa.Text(), nullable=True))
    # The stats rows already there keep their values and read as of the default type with no custom field
    # (the two columns' defaults, what the stats code computes for them). Every row is rebuilt at the end of
    # 0011, once every column the stats code reads exists (a database from before 0004 gets its rows there).


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+): copying the incident table would drop the old one,
    # and with it, by ON DELETE CASCADE, every row that refers to an incident.
    with op.batch_alter_table("incident_stats", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("custom_fields")
        batch_op.drop_column("incident_type")
    with op.batch_alter_table("incident", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("custom_fields")
        batch_op.drop_column("incident_type")
