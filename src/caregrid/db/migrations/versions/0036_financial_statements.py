"""The members' monthly books (the financial_statement fact, I1, I2, I5, I6), and where a
claim's insured lives (claim.home_division_code), which tells an urban group's insured apart.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 17:28:10.088968
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact_financial_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_code", sa.String(length=200), nullable=False),
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("revenue_cny", sa.Float(precision=53), nullable=False),
        sa.Column("drug_revenue_cny", sa.Float(precision=53), nullable=False),
        sa.Column("consumable_revenue_cny", sa.Float(precision=53), nullable=False),
        sa.Column("test_revenue_cny", sa.Float(precision=53), nullable=False),
        sa.Column("expenditure_cny", sa.Float(precision=53), nullable=False),
        sa.Column("business_expenditure_cny", sa.Float(precision=53), nullable=False),
        sa.Column("personnel_cost_cny", sa.Float(precision=53), nullable=False),
        sa.Column("performance_pay_cny", sa.Float(precision=53), nullable=False),
        sa.Column("budget_expenditure_cny", sa.Float(precision=53), nullable=True),
        sa.Column("assets_cny", sa.Float(precision=53), nullable=False),
        sa.Column("liabilities_cny", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_financial_statement")),
        sa.UniqueConstraint(
            "institution_code", "month_end", name="uq_fact_financial_statement_key"
        ),
    )
    with op.batch_alter_table("fact_financial_statement", schema=None) as batch_op:
        batch_op.create_index("ix_fact_financial_statement_month_end", ["month_end"], unique=False)

    with op.batch_alter_table("fact_claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_division_code", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fact_claim", schema=None) as batch_op:
        batch_op.drop_column("home_division_code")

    with op.batch_alter_table("fact_financial_statement", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_financial_statement_month_end")

    op.drop_table("fact_financial_statement")
