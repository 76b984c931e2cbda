"""Names of the finance domain's states and places (no rules, no policy numbers)."""

from __future__ import annotations

from enum import StrEnum


class SettlementState(StrEnum):
    """An open settlement may be computed again; a closed one is immutable (corrections are
    adjustment rows)."""

    OPEN = "open"
    CLOSED = "closed"


class Place(StrEnum):
    """Where the network's insured were cared for, as the settlement splits spend."""

    NETWORK = "network"  # at a member of the network
    COUNTY = "county"  # in the pool's county (area), outside the network
    OUTSIDE = "outside"  # outside the county (异地就医)


class Treatment(StrEnum):
    """How a DIP group's cases were treated."""

    CONSERVATIVE = "conservative"
    OPERATION = "operation"
