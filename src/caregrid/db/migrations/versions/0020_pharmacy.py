"""pharmacy: the network catalogue, members' listings, the procurement account, stock lots,
transfers; the catalogue_listing fact

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 12:44:42.642943
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caregrid.db.types import UtcDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact_catalogue_listing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_code", sa.String(length=200), nullable=False),
        sa.Column("item_code", sa.String(length=200), nullable=False),
        sa.Column("in_catalogue", sa.Boolean(), nullable=False),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_catalogue_listing")),
        sa.UniqueConstraint(
            "institution_code", "item_code", "as_of", name="uq_fact_catalogue_listing_key"
        ),
    )
    with op.batch_alter_table("fact_catalogue_listing", schema=None) as batch_op:
        batch_op.create_index("ix_fact_catalogue_listing_as_of", ["as_of"], unique=False)

    op.create_table(
        "pharmacy_listing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_pharmacy_listing_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_listing")),
        sa.UniqueConstraint(
            "institution_id", "code", name=op.f("uq_pharmacy_listing_institution_id")
        ),
    )
    op.create_table(
        "pharmacy_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("account_number", sa.String(length=40), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_pharmacy_account_network_id_network")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_account")),
        sa.UniqueConstraint("network_id", name=op.f("uq_pharmacy_account_network_id")),
    )
    op.create_table(
        "pharmacy_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("molecule", sa.String(length=100), nullable=True),
        sa.Column("drug_class", sa.String(length=100), nullable=True),
        sa.Column("dosage_form", sa.String(length=60), nullable=True),
        sa.Column("strength", sa.String(length=60), nullable=True),
        sa.Column("pack", sa.String(length=60), nullable=True),
        sa.Column("approval_number", sa.String(length=60), nullable=True),
        sa.Column("national_code", sa.String(length=40), nullable=True),
        sa.Column("insurance_class", sa.String(length=1), nullable=True),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.Column("negotiated", sa.Boolean(), nullable=False),
        sa.Column("volume_procurement", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_pharmacy_item_network_id_network")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_item")),
        sa.UniqueConstraint("network_id", "code", name=op.f("uq_pharmacy_item_network_id")),
    )
    op.create_table(
        "pharmacy_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(length=40), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_pharmacy_lot_not_negative")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_pharmacy_lot_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["pharmacy_item.id"], name=op.f("fk_pharmacy_lot_item_id_pharmacy_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_lot")),
        sa.UniqueConstraint(
            "institution_id", "item_id", "lot_number", name=op.f("uq_pharmacy_lot_institution_id")
        ),
    )
    op.create_table(
        "pharmacy_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("from_institution_id", sa.Integer(), nullable=False),
        sa.Column("to_institution_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(length=100), nullable=True),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "from_institution_id <> to_institution_id", name=op.f("ck_pharmacy_transfer_two_places")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pharmacy_transfer_positive")),
        sa.ForeignKeyConstraint(
            ["from_institution_id"],
            ["institution.id"],
            name=op.f("fk_pharmacy_transfer_from_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["pharmacy_lot.id"], name=op.f("fk_pharmacy_transfer_lot_id_pharmacy_lot")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_pharmacy_transfer_network_id_network")
        ),
        sa.ForeignKeyConstraint(
            ["to_institution_id"],
            ["institution.id"],
            name=op.f("fk_pharmacy_transfer_to_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_transfer")),
    )


def downgrade() -> None:
    op.drop_table("pharmacy_transfer")
    op.drop_table("pharmacy_lot")
    op.drop_table("pharmacy_item")
    op.drop_table("pharmacy_account")
    op.drop_table("pharmacy_listing")
    with op.batch_alter_table("fact_catalogue_listing", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_catalogue_listing_as_of")

    op.drop_table("fact_catalogue_listing")
