"""The settlement fact: a network's closed settlement of a budget period (I3, B7), which
FS1-FS4 read.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 20:39:48.306655
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_code", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("budget_share_cny", sa.Float(precision=53), nullable=False),
        sa.Column("paid_cny", sa.Float(precision=53), nullable=False),
        sa.Column("result_cny", sa.Float(precision=53), nullable=False),
        sa.Column("waived_cny", sa.Float(precision=53), nullable=False),
        sa.Column("waived_stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_settlement")),
        sa.UniqueConstraint("network_code", "starts_on", name="uq_fact_settlement_key"),
    )
    with op.batch_alter_table("fact_settlement", schema=None) as batch_op:
        batch_op.create_index("ix_fact_settlement_ends_on", ["ends_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fact_settlement", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_settlement_ends_on")

    op.drop_table("fact_settlement")
