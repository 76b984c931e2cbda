"""Chinese resident identity numbers (居民身份证号, GB 11643-1999), 18 characters only.

Belongs to the resident record (DESIGN.md, security model). Requirement: "national ID
validated (GB 11643 check digit, birth date and sex consistent with the digits)".

Layout: 6-digit address code, 8-digit birth date YYYYMMDD, 3-digit sequence (odd last digit
= male, even = female), 1 check character (ISO 7064 MOD 11-2, "X" stands for 10).

Deliberately out of scope:

- 15-digit legacy IDs (pre-1999, no check digit, 2-digit year). They are refused with
  reason "length"; converting them needs a century guess and is a registration-desk job.
- The address code is not checked against the GB/T 2260 division table: codes get retired
  when districts merge, but IDs issued under them stay valid for life.

Pure: no clock, no I/O. The caller passes ``today`` (from ``caregrid.clock.today()``).
Error messages never echo the ID itself, so they are safe to log and show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from caregrid import gb11643

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "NationalIdError",
    "NationalIdReason",
    "ParsedNationalId",
    "Sex",
    "check_digit",
    "normalise",
    "parse",
    "validate",
]

Sex = Literal["male", "female"]
NationalIdReason = Literal[
    "length",
    "characters",
    "check_digit",
    "birth_date",
    "birth_date_future",
    "sex_mismatch",
    "birth_date_mismatch",
]

LENGTH: Final = gb11643.LENGTH
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
_DIGITS: Final = frozenset("0123456789")


class NationalIdError(ValueError):
    """A national ID that cannot be accepted; ``reason`` is a stable machine code for UIs/APIs."""

    field: str
    reason: NationalIdReason

    def __init__(self, reason: NationalIdReason, detail: str) -> None:
        self.field = "national_id"
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.field}: {detail}")


@dataclass(frozen=True)
class ParsedNationalId:
    """A national ID that passed every check, with the facts its digits encode."""

    value: str
    address_code: str
    birth_date: date
    sex: Sex


def normalise(value: str) -> str:
    """Drop all whitespace (people type IDs in groups) and upper-case a trailing x."""
    return "".join(value.split()).upper()


def _require_digits(body: str) -> None:
    if len(body) != LENGTH - 1:
        raise NationalIdError(
            "length", f"the first part must be {LENGTH - 1} digits, got {len(body)} characters"
        )
    if not set(body) <= _DIGITS:
        raise NationalIdError("characters", f"the first {LENGTH - 1} characters must be digits 0-9")


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"-"9" or "X") for the first 17 digits."""
    _require_digits(first17)
    return gb11643.check_character(first17)


def parse(value: str, *, today: date) -> ParsedNationalId:
    """Normalise and check an ID; refuse it with a :class:`NationalIdError` naming the reason.

    Checks run in a fixed order (length, characters, check digit, birth date) so that any
    single mistyped digit is reported as a check-digit error, which is what the clerk needs.
    """
    if isinstance(today, datetime):
        # datetime is a date subclass but does not compare with date: fail loudly, not later.
        raise TypeError("today must be a date, not a datetime (use caregrid.clock.today())")
    normalised = normalise(value)
    if len(normalised) != LENGTH:
        raise NationalIdError("length", f"must be {LENGTH} characters, got {len(normalised)}")
    body, last = normalised[:-1], normalised[-1]
    if not set(body) <= _DIGITS:
        raise NationalIdError("characters", f"the first {LENGTH - 1} characters must be digits 0-9")
    if last not in _DIGITS and last != "X":
        raise NationalIdError("characters", "the last character must be a digit 0-9 or X")
    expected = check_digit(body)
    if last != expected:
        raise NationalIdError("check_digit", f"check digit is {last} but should be {expected}")

    birth = _birth_date(body[6:14])
    if birth > today:
        raise NationalIdError("birth_date_future", f"birth date {birth.isoformat()} is after today")
    sex: Sex = "male" if int(body[16]) % 2 == 1 else "female"
    return ParsedNationalId(value=normalised, address_code=body[:6], birth_date=birth, sex=sex)


def _birth_date(digits: str) -> date:
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise NationalIdError(
            "birth_date", f"birth date digits {digits} are not a real date"
        ) from None
    if birth < EARLIEST_BIRTH_DATE:
        raise NationalIdError(
            "birth_date",
            f"birth date {birth.isoformat()} is before {EARLIEST_BIRTH_DATE.isoformat()}",
        )
    return birth


def validate(
    value: str,
    *,
    today: date,
    birth_date: date | None = None,
    sex: str | None = None,
) -> ParsedNationalId:
    """Parse, then require the recorded birth date and sex (when given) to match the digits.

    A ``sex`` other than "male"/"female" can never match the digits, so it is a mismatch too.
    """
    parsed = parse(value, today=today)
    if birth_date is not None and birth_date != parsed.birth_date:
        raise NationalIdError(
            "birth_date_mismatch",
            f"birth date given as {birth_date.isoformat()} but the ID digits say "
            f"{parsed.birth_date.isoformat()}",
        )
    if sex is not None and sex != parsed.sex:
        raise NationalIdError(
            "sex_mismatch", f"sex given as {sex!r} but the ID digits say {parsed.sex}"
        )
    return parsed
