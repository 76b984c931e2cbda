"""care relationships in one table, backfilled from registrations, contracts and referrals

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:10:00.000000

Until this revision access read the residents, contracts and referrals themselves; from here
it reads `care_relationship` alone. The backfill writes the rows those rules implied, so an
upgraded database keeps every access decision:

- registered_at_institution: each resident at the institution holding the record, from its
  registration;
- contract: each contract, for the team's institution and its members' home institutions,
  over the days it is in force (its term, up to the day it was terminated);
- referral: each referral once sent, for the sender and the receiver; ended when it was
  rejected or cancelled (a closed referral still counts).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

from caregrid import clock
from caregrid.db.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The referral states that were no care relationship when this revision was written.
NOT_CARE = ("draft", "rejected", "cancelled")
ENDED = ("rejected", "cancelled")

relationship = sa.table(
    "care_relationship",
    sa.column("institution_id", sa.Integer),
    sa.column("resident_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("source_id", sa.Integer),
    sa.column("started_at", UtcDateTime()),
    sa.column("ended_at", UtcDateTime()),
)
resident = sa.table(
    "resident",
    sa.column("id", sa.Integer),
    sa.column("registered_institution_id", sa.Integer),
    sa.column("created_at", UtcDateTime()),
)
contract = sa.table(
    "contract",
    sa.column("id", sa.Integer),
    sa.column("resident_id", sa.Integer),
    sa.column("team_id", sa.Integer),
    sa.column("starts_on", sa.Date),
    sa.column("ends_on", sa.Date),
    sa.column("terminated_on", sa.Date),
)
team = sa.table("family_doctor_team", sa.column("id", sa.Integer), sa.column("institution_id"))
member = sa.table(
    "family_doctor_team_member", sa.column("team_id", sa.Integer), sa.column("practitioner_id")
)
practitioner = sa.table(
    "practitioner", sa.column("id", sa.Integer), sa.column("home_institution_id", sa.Integer)
)
referral = sa.table(
    "referral",
    sa.column("id", sa.Integer),
    sa.column("resident_id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("from_institution_id", sa.Integer),
    sa.column("to_institution_id", sa.Integer),
    sa.column("created_at", UtcDateTime()),
    sa.column("submitted_at", UtcDateTime()),
)
event = sa.table(
    "referral_event",
    sa.column("referral_id", sa.Integer),
    sa.column("to_state", sa.String),
    sa.column("at", UtcDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "care_relationship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_care_relationship_period"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_care_relationship_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["resident.id"],
            name=op.f("fk_care_relationship_resident_id_resident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_relationship")),
    )
    with op.batch_alter_table("care_relationship", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_relationship_resident_institution",
            ["resident_id", "institution_id"],
            unique=False,
        )
        batch_op.create_index("ix_care_relationship_source", ["kind", "source_id"], unique=False)
    backfill(op.get_bind())


def backfill(connection: sa.Connection) -> None:
    """The rows the former rules implied, from the registrations, contracts and referrals."""
    rows: list[dict[str, Any]] = []

    def add(
        kind: str, source: int, who: int, where: int, start: datetime, end: datetime | None
    ) -> None:
        ended = None if end is None else max(end, start)
        rows.append(
            {
                "institution_id": where,
                "resident_id": who,
                "kind": kind,
                "source_id": source,
                "started_at": start,
                "ended_at": ended,
            }
        )

    for r in connection.execute(sa.select(resident).order_by(resident.c.id)):
        add(
            "registered_at_institution", r.id, r.id, r.registered_institution_id, r.created_at, None
        )

    homes: dict[int, set[int]] = defaultdict(set)
    for team_id, institution_id in connection.execute(sa.select(team.c.id, team.c.institution_id)):
        homes[team_id].add(institution_id)
    for team_id, home in connection.execute(
        sa.select(member.c.team_id, practitioner.c.home_institution_id).join(
            practitioner, practitioner.c.id == member.c.practitioner_id
        )
    ):
        homes[team_id].add(home)
    for c in connection.execute(sa.select(contract).order_by(contract.c.id)):
        after = c.ends_on + timedelta(days=1)
        if c.terminated_on is not None:
            after = min(after, c.terminated_on)
        begins, ends = clock.start_of(c.starts_on), clock.start_of(max(after, c.starts_on))
        for institution_id in sorted(homes[c.team_id]):
            add("contract", c.id, c.resident_id, institution_id, begins, ends)

    ended_at = dict(
        connection.execute(
            sa.select(event.c.referral_id, sa.func.max(event.c.at, type_=UtcDateTime()))
            .where(event.c.to_state.in_(ENDED))
            .group_by(event.c.referral_id)
        ).all()
    )
    sent = sa.select(referral).where(
        sa.or_(referral.c.state.not_in(NOT_CARE), referral.c.submitted_at.is_not(None))
    )
    for f in connection.execute(sent.order_by(referral.c.id)):
        start = f.submitted_at or f.created_at
        # Sent, then rejected or cancelled: ended when that happened.
        end = ended_at.get(f.id, start) if f.state in NOT_CARE else None
        for institution_id in sorted({f.from_institution_id, f.to_institution_id}):
            add("referral", f.id, f.resident_id, institution_id, start, end)

    if rows:
        connection.execute(sa.insert(relationship), rows)


def downgrade() -> None:
    with op.batch_alter_table("care_relationship", schema=None) as batch_op:
        batch_op.drop_index("ix_care_relationship_source")
        batch_op.drop_index("ix_care_relationship_resident_institution")

    op.drop_table("care_relationship")
