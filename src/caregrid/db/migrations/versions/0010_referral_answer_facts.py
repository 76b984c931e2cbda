"""referral facts: hours to answer and overdue (B3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fact_referral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_hours", sa.Float(precision=53), nullable=True))
        batch_op.add_column(sa.Column("overdue", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fact_referral", schema=None) as batch_op:
        batch_op.drop_column("overdue")
        batch_op.drop_column("answer_hours")
