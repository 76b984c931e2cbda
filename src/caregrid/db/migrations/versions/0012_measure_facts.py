"""facts the measures pages read: contract items due and delivered, follow-up appointments
kept, teleconsultations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fact_contract", schema=None) as batch_op:
        batch_op.add_column(sa.Column("items_due", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("items_delivered", sa.Integer(), nullable=True))
    with op.batch_alter_table("fact_chronic_follow_up", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("kept", sa.Boolean(), nullable=True))
    op.create_table(
        "fact_teleconsultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.String(length=200), nullable=False),
        sa.Column("institution_code", sa.String(length=200), nullable=False),
        sa.Column("from_institution_code", sa.String(length=200), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=200), nullable=False),
        sa.Column("response_hours", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_teleconsultation")),
        sa.UniqueConstraint("consultation_id", name="uq_fact_teleconsultation_key"),
    )
    with op.batch_alter_table("fact_teleconsultation", schema=None) as batch_op:
        batch_op.create_index("ix_fact_teleconsultation_date", ["date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fact_teleconsultation", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_teleconsultation_date")
    op.drop_table("fact_teleconsultation")
    with op.batch_alter_table("fact_chronic_follow_up", schema=None) as batch_op:
        batch_op.drop_column("kept")
        batch_op.drop_column("next_due_on")
    with op.batch_alter_table("fact_contract", schema=None) as batch_op:
        batch_op.drop_column("items_delivered")
        batch_op.drop_column("items_due")
