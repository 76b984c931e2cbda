"""Scheduling vocabulary: the states of a booking and of a bed stay (names from GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    BOOKED = "booked"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class StayStatus(StrEnum):
    """A bed stay: reserved -> admitted -> discharged, or a reservation cancelled."""

    RESERVED = "reserved"
    ADMITTED = "admitted"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"
