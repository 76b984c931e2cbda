"""API input and output of the catalogue, members' listings, the procurement account,
requisitions, consolidated orders, stock and transfers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from caregrid.pharmacy.vocab import (
    InsuranceClass,
    ItemKind,
    PrescriptionState,
    ProcurementOrderState,
    RegimenOutcome,
    RequisitionState,
    TransferState,
)

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
ROW_ID = Field(ge=1, le=2_147_483_647)
VERSION = Field(ge=1, le=2_147_483_647, description="the version you saw")
UNITS = Field(ge=1, le=10_000_000)
MAX_LINES = 5_000


class ItemIn(BaseModel):
    """A catalogue line as the import reads it (one CSV or Excel row)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE)
    kind: ItemKind
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    molecule: str | None = Field(default=None, max_length=100)
    drug_class: str | None = Field(default=None, max_length=100)
    dosage_form: str | None = Field(default=None, max_length=60)
    strength: str | None = Field(default=None, max_length=60)
    pack: str | None = Field(default=None, max_length=60)
    approval_number: str | None = Field(default=None, max_length=60)
    national_code: str | None = Field(default=None, max_length=40)
    insurance_class: InsuranceClass | None = None
    essential: bool = False
    negotiated: bool = False
    volume_procurement: bool = False
    in_hospital_preparation: bool = False
    source: str = Field(min_length=1, max_length=2000)
    supplier: str | None = Field(default=None, min_length=1, max_length=200)
    unit_price_cny: Decimal | None = Field(
        default=None, ge=0, le=100_000_000, decimal_places=4, allow_inf_nan=False
    )


class ItemOut(ItemIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class ListingOut(BaseModel):
    """A member's listed item; `in_catalogue` says whether its network's catalogue has it."""

    code: str
    name_zh: str
    listed_on: date
    in_catalogue: bool


class AccountIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    account_number: str = Field(pattern=r"^[0-9A-Za-z-]{4,40}$")
    opened_on: date | None = Field(default=None, description="today if omitted")


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    network_code: str
    name: str
    account_number: str
    opened_on: date


class LotIn(BaseModel):
    """Goods received into an institution's stock: one lot of one catalogue item."""

    item_code: str = Field(pattern=CODE)
    lot_number: str = Field(pattern=CODE)
    expires_on: date
    quantity: int = Field(ge=1, le=10_000_000)
    opening_balance: bool = Field(
        default=False,
        description="stock the member held when purchasing was integrated (G4), counted and "
        "recorded by the network's office",
    )


class LotOut(BaseModel):
    id: int
    institution_code: str
    item_code: str
    item_name_zh: str
    lot_number: str
    expires_on: date
    quantity: int


class TransferIn(BaseModel):
    lot_id: int = ROW_ID
    to_institution_code: str = Field(min_length=1, max_length=60)
    quantity: int = Field(ge=1, le=10_000_000)


class TransferOut(BaseModel):
    id: int
    state: TransferState
    version: int
    from_institution_code: str
    to_institution_code: str
    item_code: str
    lot_number: str
    quantity: int
    requested_by: str
    requested_at: datetime
    shipped_at: datetime | None
    received_by: str | None
    received_at: datetime | None


class RequisitionLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str = Field(pattern=CODE)
    quantity: int = UNITS


class RequisitionIn(BaseModel):
    """What a member asks the network to buy for it in the next consolidated order."""

    model_config = ConfigDict(extra="forbid")
    institution_code: str = Field(min_length=1, max_length=60)
    lines: list[RequisitionLineIn] = Field(min_length=1, max_length=MAX_LINES)


class RequisitionLineOut(BaseModel):
    item_code: str
    item_name_zh: str
    quantity: int
    order_id: int | None
    delivered: int | None  # units allotted to it when its order arrived


class RequisitionOut(BaseModel):
    id: int
    network_code: str
    institution_code: str
    state: RequisitionState
    version: int
    submitted_by: str
    submitted_at: datetime
    lines: list[RequisitionLineOut]


class ConsolidateIn(BaseModel):
    """Where the suppliers deliver: the network's lead unless another member is named."""

    model_config = ConfigDict(extra="forbid")
    receiving_institution_code: str | None = Field(default=None, min_length=1, max_length=60)


class OrderLineOut(BaseModel):
    item_code: str
    item_name_zh: str
    quantity: int
    unit_price_cny: Decimal
    received: int | None


class OrderOut(BaseModel):
    id: int
    network_code: str
    supplier: str
    account_number: str
    receiving_institution_code: str
    state: ProcurementOrderState
    version: int
    placed_by: str
    placed_at: datetime
    ordered_cny: Decimal  # the lines' units at their prices
    received_by: str | None
    received_at: datetime | None
    due_cny: Decimal | None  # what was received, at the same prices: what is paid
    paid_by: str | None
    paid_on: date | None
    payment_reference: str | None
    paid_cny: Decimal | None
    requisition_ids: list[int]
    lines: list[OrderLineOut]


class ReceiptLotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str = Field(pattern=CODE)
    lot_number: str = Field(pattern=CODE)
    expires_on: date
    quantity: int = UNITS


class ReceiptIn(BaseModel):
    """The goods that arrived for an order, by lot; an item missing or short is a shortfall
    that the members' requisitions share in the order they were submitted."""

    model_config = ConfigDict(extra="forbid")
    version: int = VERSION
    lots: list[ReceiptLotIn] = Field(min_length=1, max_length=MAX_LINES)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = VERSION
    reference: str = Field(pattern=r"^[0-9A-Za-z-]{4,60}$", description="the bank's reference")
    paid_on: date | None = Field(default=None, description="today if omitted")


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = VERSION


class PrescriptionItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str = Field(pattern=CODE)
    quantity: int = Field(ge=1, le=100_000)
    dosage: str = Field(min_length=1, max_length=200, description="每日1次，每次1片")
    days: int | None = Field(default=None, ge=1, le=365)
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="why a non-essential drug where the catalogue has an essential one (G3)",
    )


class PrescriptionIn(BaseModel):
    """A prescription written at the prescriber's institution, dispensed by its own pharmacy
    or, named here, another member's (a cloud prescription)."""

    model_config = ConfigDict(extra="forbid")
    resident_id: int = ROW_ID
    diagnosis_code: str = Field(min_length=1, max_length=20, description="ICD-10, e.g. I10")
    dispensing_institution_code: str | None = Field(default=None, min_length=1, max_length=60)
    items: list[PrescriptionItemIn] = Field(min_length=1, max_length=50)


class DispensedOut(BaseModel):
    lot_number: str
    expires_on: date
    quantity: int


class PrescriptionItemOut(BaseModel):
    item_code: str
    item_name_zh: str
    national_code: str | None
    essential: bool
    quantity: int
    dosage: str
    days: int | None
    reason: str | None
    dispensed: list[DispensedOut]


class PrescriptionOut(BaseModel):
    id: int
    network_code: str
    resident_id: int
    institution_code: str
    prescriber_name: str
    diagnosis_code: str
    dispensing_institution_code: str
    cross_institution: bool  # dispensed by another member than the one it was written at
    state: PrescriptionState
    version: int
    written_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    refusal: str | None
    source: str
    items: list[PrescriptionItemOut]


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = VERSION
    dispensing_institution_code: str = Field(min_length=1, max_length=60)


class DispenseLotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str = Field(pattern=CODE)
    lot_id: int = ROW_ID
    quantity: int = Field(ge=1, le=100_000)


class DispenseIn(BaseModel):
    """The lots handed over; none named: the soonest-expiring lots that hold the units."""

    model_config = ConfigDict(extra="forbid")
    version: int = VERSION
    lots: list[DispenseLotIn] = Field(default_factory=list, max_length=500)


class RefuseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = VERSION
    reason: str = Field(min_length=1, max_length=2000)


class RegimenLineIn(BaseModel):
    """A drug of the discharge regimen and the units the patient needs until the next supply."""

    model_config = ConfigDict(extra="forbid")
    item_code: str = Field(pattern=CODE)
    quantity: int = Field(ge=1, le=100_000)


REGIMEN: Any = Field(default_factory=list, max_length=30, description="the discharge regimen (G6)")


class RegimenCheckIn(BaseModel):
    """The regimen checked against a receiving member before the down referral is sent."""

    model_config = ConfigDict(extra="forbid")
    to_institution_code: str = Field(min_length=1, max_length=60)
    regimen: list[RegimenLineIn] = Field(min_length=1, max_length=30)


class RegimenLineOut(BaseModel):
    """One drug of the regimen as checked (G6): what the receiver holds of it and of the
    substitute, and the transfers proposed from the lead."""

    position: int
    item_code: str
    item_name_zh: str
    strength: str | None
    quantity: int
    outcome: RegimenOutcome
    held: int  # unexpired units the receiving member held of the drug
    substitute_code: str | None
    substitute_name_zh: str | None
    substitute_held: int | None
    lead_held: int  # unexpired units the referring lead held of the drug
    transfers: list[TransferOut]


class RegimenCheckOut(BaseModel):
    """A down-referred patient's regimen as checked at the receiving member (G6); a preview
    before sending has no referral yet."""

    referral_id: int | None
    resident_id: int | None
    from_institution_code: str
    to_institution_code: str
    diagnosis_code: str | None
    checked_at: datetime
    lines: list[RegimenLineOut]

    @property
    def flagged(self) -> int:
        return sum(line.outcome == RegimenOutcome.FLAGGED for line in self.lines)
