"""grid planning: division population, centroid and adjacency; layout versions; grid plans

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.add_column(sa.Column("population", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("population_source", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
    op.create_table(
        "division_adjacency",
        sa.Column("first_code", sa.String(length=64), nullable=False),
        sa.Column("second_code", sa.String(length=64), nullable=False),
        sa.Column("crossing", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_code"], ["division.code"],
            name=op.f("fk_division_adjacency_first_code_division"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["second_code"], ["division.code"],
            name=op.f("fk_division_adjacency_second_code_division"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("first_code", "second_code", name=op.f("pk_division_adjacency")),
    )  # fmt: skip
    op.create_table(
        "layout_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=400), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_layout_version_city_id_city"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layout_version")),
        sa.UniqueConstraint("city_id", "number", name="uq_layout_version_number"),
    )  # fmt: skip
    op.create_table(
        "grid_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adopted_by", sa.String(length=200), nullable=True),
        sa.Column("layout_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_grid_plan_city_id_city"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_plan")),
    )


def downgrade() -> None:
    op.drop_table("grid_plan")
    op.drop_table("layout_version")
    op.drop_table("division_adjacency")
    with op.batch_alter_table("division", schema=None) as batch_op:
        batch_op.drop_column("lon")
        batch_op.drop_column("lat")
        batch_op.drop_column("population_source")
        batch_op.drop_column("population")
