"""follow-ups' tickets (GitHub Issues or Jira) and each incident's Statuspage incident

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Follow-ups recorded before this migration keep no ticket (ticket_state ""): nothing is filed for them
    # after the fact; their `done` stays as it was.
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracker", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("ticket_state", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("ticket_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("ticket_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("ticket_error", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("ticket_claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ticket_claimed_by", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_followup_ticket_state", ["ticket_state"])
        batch_op.create_index("ix_followup_ticket_key", ["tracker", "ticket_key"], unique=True)
    op.create_table(
        "statuspage_incident",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("page_incident_id", sa.String(length=64), nullable=True),
        sa.Column("shortlink", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("asked", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id"),
    )


def downgrade() -> None:
    op.drop_table("statuspage_incident")
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_ticket_key")
        batch_op.drop_index("ix_followup_ticket_state")
        for column in (
            "done_at",
            "ticket_claimed_by",
            "ticket_claimed_at",
            "ticket_error",
            "ticket_url",
            "ticket_key",
            "ticket_state",
            "tracker",
        ):
            batch_op.drop_column(column)
