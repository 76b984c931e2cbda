"""quality assessment result: a failed external quality assessment is recorded too

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quality_assessment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("passed", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("quality_assessment", schema=None) as batch_op:
        batch_op.drop_column("passed")
