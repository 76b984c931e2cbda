"""emergency grants: time-limited, coded emergency access of one clinician to one resident

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caregrid.db.types import UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emergency_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("reason_text", sa.String(length=500), nullable=False),
        sa.Column("granted_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("expires_at > granted_at", name=op.f("ck_emergency_grant_period")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_emergency_grant_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_emergency_grant_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_emergency_grant_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_grant")),
    )
    with op.batch_alter_table("emergency_grant", schema=None) as batch_op:
        batch_op.create_index("ix_emergency_grant_granted", ["granted_at"], unique=False)
        batch_op.create_index("ix_emergency_grant_resident", ["resident_id"], unique=False)
        batch_op.create_index(
            "ix_emergency_grant_user_granted", ["user_id", "granted_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("emergency_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_emergency_grant_user_granted")
        batch_op.drop_index("ix_emergency_grant_resident")
        batch_op.drop_index("ix_emergency_grant_granted")

    op.drop_table("emergency_grant")
