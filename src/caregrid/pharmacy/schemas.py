"""API input and output of the catalogue, members' listings, the procurement account, stock
and transfers."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from caregrid.pharmacy.vocab import InsuranceClass, ItemKind, TransferState

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
ROW_ID = Field(ge=1, le=2_147_483_647)


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
    source: str = Field(min_length=1, max_length=2000)


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


class TransferActionIn(BaseModel):
    version: int = Field(ge=1, le=2_147_483_647, description="the version you saw")
