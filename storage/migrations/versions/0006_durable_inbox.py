"""the delivery log becomes a durable inbox (what was asked, done or not, who works on it)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processed_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("done_at", storage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_until", storage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "outcome", sqlmodel.sql.sqltypes.AutoString(length=255), server_default="", nullable=False
            )
        )
        batch_op.create_index("ix_processed_delivery_pending", ["done_at", "received_at"], unique=False)
    # Every delivery stored before this revision was handled when it was claimed: done at once.
    op.execute("UPDATE processed_delivery SET done_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table("processed_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_delivery_pending")
        batch_op.drop_column("outcome")
        batch_op.drop_column("attempts")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("done_at")
        batch_op.drop_column("body")
