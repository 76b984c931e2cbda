"""Names of the pharmacy domain's kinds, classes and states (no rules, no policy numbers)."""

from __future__ import annotations

from enum import StrEnum


class ItemKind(StrEnum):
    """A catalogue line is a drug or a medical consumable (G1: one catalogue for both)."""

    DRUG = "drug"
    CONSUMABLE = "consumable"


class InsuranceClass(StrEnum):
    """The national insurance drug list's class: 甲 (class A, fully covered) or 乙 (class B,
    covered after a co-payment)."""

    A = "A"
    B = "B"


class TransferState(StrEnum):
    """A stock transfer between two institutions of the network (G2 distribution): requested,
    shipped (the units have left the sender's lot) and received (proof of delivery), or
    cancelled before shipping."""

    REQUESTED = "requested"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class TransferAction(StrEnum):
    SHIP = "ship"
    RECEIVE = "receive"
    CANCEL = "cancel"
