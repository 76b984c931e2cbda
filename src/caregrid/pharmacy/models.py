"""Tables of the network's pharmacy (G1, G2): one catalogue per network, what each member
lists, the network's one procurement account, members' requisitions, the consolidated orders
to suppliers, stock by lot and the transfers between members."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caregrid.db.base import Base
from caregrid.db.types import UtcDateTime

PRICE = Numeric(16, 4)  # CNY per unit: tablets cost fractions of a fen
MONEY = Numeric(16, 2)


class CatalogueItem(Base):
    """A line of the network's one drug and consumable catalogue (G1), with the flags that
    put essential, negotiated and volume-procured drugs first (G3)."""

    __tablename__ = "pharmacy_item"
    __table_args__ = (UniqueConstraint("network_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    molecule: Mapped[str | None] = mapped_column(String(100))  # what a substitute must share
    drug_class: Mapped[str | None] = mapped_column(String(100))
    dosage_form: Mapped[str | None] = mapped_column(String(60))
    strength: Mapped[str | None] = mapped_column(String(60))
    pack: Mapped[str | None] = mapped_column(String(60))
    approval_number: Mapped[str | None] = mapped_column(String(60))
    national_code: Mapped[str | None] = mapped_column(String(40))
    insurance_class: Mapped[str | None] = mapped_column(String(1))
    essential: Mapped[bool] = mapped_column(Boolean)
    negotiated: Mapped[bool] = mapped_column(Boolean)
    volume_procurement: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text)
    # an approved in-hospital preparation (院内制剂) of a member: prescribed anywhere in the
    # group, dispensed by a member that does not list it (G5)
    in_hospital_preparation: Mapped[bool] = mapped_column(Boolean, default=False)
    supplier: Mapped[str | None] = mapped_column(String(200))  # who the network buys it from
    unit_price_cny: Mapped[Decimal | None] = mapped_column(PRICE)  # the group's price


class Listing(Base):
    """An item a member institution lists in its own catalogue, as its system names it; the
    code either matches a line of its network's catalogue or shows the member is out of line."""

    __tablename__ = "pharmacy_listing"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    code: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(200))
    listed_on: Mapped[date] = mapped_column(Date)


class ProcurementAccount(Base):
    """The network's one procurement account (G2): a second one is refused, and the database
    holds one row per network."""

    __tablename__ = "pharmacy_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    account_number: Mapped[str] = mapped_column(String(40))
    opened_on: Mapped[date] = mapped_column(Date)
    opened_by: Mapped[str] = mapped_column(String(100))


class StockLot(Base):
    """Units of one item's lot held at one institution. The check keeps the quantity from
    going below zero whatever a writer does; the services subtract with a guarded UPDATE."""

    __tablename__ = "pharmacy_lot"
    __table_args__ = (
        UniqueConstraint("institution_id", "item_id", "lot_number"),
        CheckConstraint("quantity >= 0", name="not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_item.id"))
    lot_number: Mapped[str] = mapped_column(String(40))
    expires_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)


class Transfer(Base):
    """Units of one lot sent from one member to another (G2 distribution); receipt by the
    receiving member is the proof of delivery."""

    __tablename__ = "pharmacy_transfer"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="positive"),
        CheckConstraint("from_institution_id <> to_institution_id", name="two_places"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_lot.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # the requisition line it delivers, when it distributes a consolidated order
    requisition_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("pharmacy_requisition_line.id")
    )
    # the regimen line of a down referral it brings to the receiving member (G6)
    regimen_line_id: Mapped[int | None] = mapped_column(ForeignKey("pharmacy_regimen_line.id"))
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Requisition(Base):
    """A member's request for goods, to be bought in the network's next consolidated order."""

    __tablename__ = "pharmacy_requisition"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    state: Mapped[str] = mapped_column(String(12), index=True)
    version: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class RequisitionLine(Base):
    __tablename__ = "pharmacy_requisition_line"
    __table_args__ = (
        UniqueConstraint("requisition_id", "item_id"),
        CheckConstraint("quantity > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_requisition.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_item.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("pharmacy_order_line.id"), index=True
    )
    delivered: Mapped[int | None] = mapped_column(Integer)  # allotted when the order arrived


class ProcurementOrder(Base):
    """One consolidated purchase order to one supplier, from the network's one account (G2),
    received at one institution of the network and paid once."""

    __tablename__ = "pharmacy_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_account.id"))
    supplier: Mapped[str] = mapped_column(String(200))
    receiving_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    state: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    placed_by: Mapped[str] = mapped_column(String(100))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_by: Mapped[str | None] = mapped_column(String(100))
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(60))
    paid_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class OrderLine(Base):
    """An item's units summed over the order's requisitions, at the catalogue's price when
    the order was placed."""

    __tablename__ = "pharmacy_order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "item_id"),
        CheckConstraint("quantity > 0", name="positive"),
        CheckConstraint("received <= quantity", name="no_more_than_ordered"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_order.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_item.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cny: Mapped[Decimal] = mapped_column(PRICE)
    received: Mapped[int | None] = mapped_column(Integer)


class Prescription(Base):
    """A prescription written at one member and dispensed by the pharmacy of the same or
    another member of the network (G5 cloud prescription, J7)."""

    __tablename__ = "pharmacy_prescription"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))  # written at
    prescriber: Mapped[str] = mapped_column(String(100))
    prescriber_name: Mapped[str] = mapped_column(String(200))
    diagnosis_code: Mapped[str] = mapped_column(String(20))
    dispensing_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))  # who dispensed, refused, cancelled
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refusal: Mapped[str | None] = mapped_column(Text)  # the pharmacy's reason
    source: Mapped[str] = mapped_column(String(12))  # "caregrid" or "fhir" (a member's system)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class PrescriptionItem(Base):
    __tablename__ = "pharmacy_prescription_item"
    __table_args__ = (
        UniqueConstraint("prescription_id", "item_id"),
        CheckConstraint("quantity > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_prescription.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_item.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    dosage: Mapped[str] = mapped_column(String(200))  # as the label reads: 每日1次，每次1片
    days: Mapped[int | None] = mapped_column(Integer)
    # why a non-essential drug where the catalogue has an essential one of its class (G3)
    reason: Mapped[str | None] = mapped_column(Text)


class Dispensed(Base):
    """Units of one lot handed over for one prescription item."""

    __tablename__ = "pharmacy_dispensed"
    __table_args__ = (CheckConstraint("quantity > 0", name="positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_item_id: Mapped[int] = mapped_column(
        ForeignKey("pharmacy_prescription_item.id"), index=True
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_lot.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class RegimenCheck(Base):
    """The check of a down-referred patient's discharge regimen against the receiving
    member's list and stock, made when the referral was written (G6). It is kept as it was:
    what arrives later shows in the proposed transfers, not by rewriting the finding."""

    __tablename__ = "pharmacy_regimen_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id"), unique=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    diagnosis_code: Mapped[str] = mapped_column(String(20))
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RegimenLine(Base):
    """A drug of the regimen, the units needed until the next supply, and what the check found."""

    __tablename__ = "pharmacy_regimen_line"
    __table_args__ = (
        UniqueConstraint("check_id", "position"),
        CheckConstraint("quantity > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_regimen_check.id"))
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("pharmacy_item.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(12))
    held: Mapped[int] = mapped_column(Integer)  # unexpired units of the drug at the receiver
    substitute_item_id: Mapped[int | None] = mapped_column(ForeignKey("pharmacy_item.id"))
    substitute_held: Mapped[int | None] = mapped_column(Integer)
    lead_held: Mapped[int] = mapped_column(Integer)  # unexpired units of the drug at the lead
