"""The GB 11643-1999 check character of an 18-character resident identity number.

One rule, in one place: the resident record (``caregrid.residents.national_id``) refuses an ID
whose last character is not this, and the log filter (``caregrid.privacy``) masks only digit
runs that carry it, so an 18-digit row id or order number in a log line stays readable.
Infrastructure: pure, no imports from the domains.

ISO 7064 MOD 11-2: the first 17 digits weighted 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8,
4, 2, the sum taken mod 11 and read from "10X98765432" ("X" stands for 10).
"""

from __future__ import annotations

from typing import Final

__all__ = ["BODY_LENGTH", "LENGTH", "check_character", "has_valid_check"]

LENGTH: Final = 18
BODY_LENGTH: Final = LENGTH - 1
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS: Final = "10X98765432"
_DIGITS: Final = frozenset("0123456789")


def check_character(first17: str) -> str:
    """The check character ("0"-"9" or "X") of 17 ASCII digits; ValueError for anything else."""
    if len(first17) != BODY_LENGTH or not set(first17) <= _DIGITS:
        raise ValueError(f"expected {BODY_LENGTH} ASCII digits")
    total = sum(int(ch) * weight for ch, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def has_valid_check(value: str) -> bool:
    """True when ``value`` is 17 ASCII digits followed by their check character (x or X)."""
    if len(value) != LENGTH or not set(value[:-1]) <= _DIGITS:
        return False
    return value[-1].upper() == check_character(value[:-1])
