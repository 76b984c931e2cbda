"""booking by resident: the cap on a resident's future reserved bookings counts them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 13:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_booking_resident", "booking", ["resident_id"])


def downgrade() -> None:
    op.drop_index("ix_booking_resident", table_name="booking")
