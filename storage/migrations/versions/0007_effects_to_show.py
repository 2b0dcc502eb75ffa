"""what Slack has been shown: the card's revision, and which change lines are still to post

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Stored cards show what is stored (the revision they were last updated to); stored events posted
    # what they were going to: nothing is shown again after the upgrade.
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_revision", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE incident SET card_revision = revision")
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_posted", sa.Boolean(), nullable=True))
        batch_op.create_index("ix_timeline_event_lines", ["incident_id", "line_posted"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_event_lines")
        batch_op.drop_column("line_posted")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("card_revision")
