"""GB 11643-1999 national IDs: check digit, birth date, sex, and the error codes UIs rely on."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caregrid.residents.national_id import (
    NationalIdError,
    ParsedNationalId,
    check_digit,
    parse,
    validate,
)

TODAY = date(2025, 6, 1)
SAMPLE = "11010519491231002X"  # the public sample from GB 11643-1999 documentation


def reference_check_digit(first17: str) -> str:
    """Independent MOD 11-2: weights are 2**(17-i) mod 11, check value is (12 - sum) mod 11."""
    total = sum(int(ch) * pow(2, 17 - i, 11) for i, ch in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(address: str, birth: date, sequence: int) -> str:
    body = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return body + reference_check_digit(body)


def make_body(birth: str, sequence: str = "123", address: str = "330702") -> str:
    """An 18-character ID with a correct check digit but a possibly impossible birth date."""
    body = address + birth + sequence
    return body + reference_check_digit(body)


def reason_of(value: str, today: date = TODAY) -> str:
    with pytest.raises(NationalIdError) as excinfo:
        parse(value, today=today)
    return excinfo.value.reason


# --- check digit -------------------------------------------------------------------------


def test_public_sample_is_valid() -> None:
    parsed = parse(SAMPLE, today=TODAY)
    assert parsed == ParsedNationalId(
        value=SAMPLE, address_code="110105", birth_date=date(1949, 12, 31), sex="female"
    )


def test_check_digit_x_for_remainder_two() -> None:
    # 11010519491231002: weighted sum mod 11 == 2, which maps to "X".
    assert check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Worked by hand: weighted sum, then remainder mod 11, then "10X98765432"[remainder].
        ("11010519491231002", "X"),  # 167 -> 2
        ("33070219900101002", "3"),  # 174 -> 9
        ("00000000000000000", "1"),  # 0 -> 0
        ("00000001000000000", "0"),  # weight 1 -> 1
        ("10000000000000000", "5"),  # weight 7 -> 7
    ],
)
def test_check_digit_known_values(body: str, expected: str) -> None:
    assert reference_check_digit(body) == expected
    assert check_digit(body) == expected


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_matches_reference(body: str) -> None:
    assert check_digit(body) == reference_check_digit(body)


@pytest.mark.parametrize(
    ("body", "reason"), [("1234", "length"), ("1101051949123100A", "characters")]
)
def test_check_digit_refuses_bad_input(body: str, reason: str) -> None:
    with pytest.raises(NationalIdError) as excinfo:
        check_digit(body)
    assert excinfo.value.reason == reason


def test_bad_check_digit_refused_with_message() -> None:
    with pytest.raises(NationalIdError) as excinfo:
        parse("110105194912310025", today=TODAY)
    err = excinfo.value
    assert err.reason == "check_digit"
    assert err.field == "national_id"
    assert str(err) == "national_id: check digit is 5 but should be X"
    assert isinstance(err, ValueError)


def test_error_message_does_not_echo_the_id() -> None:
    value = make_id("330702", date(2030, 1, 1), 21)
    with pytest.raises(NationalIdError) as excinfo:
        parse(value, today=TODAY)
    assert excinfo.value.reason == "birth_date_future"
    assert value not in str(excinfo.value)


# --- normalisation and shape -------------------------------------------------------------


def test_lower_case_x_accepted_and_normalised() -> None:
    parsed = parse(SAMPLE.lower(), today=TODAY)
    assert parsed.value == SAMPLE


def test_spaces_are_stripped() -> None:
    assert parse(" 110105 19491231 002x ", today=TODAY).value == SAMPLE


@pytest.mark.parametrize("value", [SAMPLE[:17], SAMPLE + "1", "", "110105490101002"])
def test_wrong_length_refused(value: str) -> None:
    assert reason_of(value) == "length"


@pytest.mark.parametrize(
    "value",
    [
        "1101051949123100AX",  # letter in the body
        "X1010519491231002X",  # X is only allowed last
        "11010519491231002Y",  # last character neither digit nor X
        "１1010519491231002X",  # full-width digit
        "11010519491231-02X",
    ],
)
def test_bad_characters_refused(value: str) -> None:
    assert reason_of(value) == "characters"


# --- birth date --------------------------------------------------------------------------


def test_feb_29_in_leap_year_accepted() -> None:
    assert parse(make_id("330702", date(2000, 2, 29), 1), today=TODAY).birth_date == date(
        2000, 2, 29
    )


@pytest.mark.parametrize("birth", ["19000229", "20230229", "19900230", "19901301", "19900100"])
def test_impossible_birth_date_refused(birth: str) -> None:
    assert reason_of(make_body(birth)) == "birth_date"


def test_birth_date_before_1900_refused() -> None:
    assert reason_of(make_body("18991231")) == "birth_date"
    assert parse(make_body("19000101"), today=TODAY).birth_date == date(1900, 1, 1)


def test_birth_date_today_accepted_tomorrow_refused() -> None:
    assert parse(make_id("330702", TODAY, 2), today=TODAY).birth_date == TODAY
    tomorrow = make_id("330702", TODAY + timedelta(days=1), 2)
    assert reason_of(tomorrow) == "birth_date_future"


def test_today_must_be_a_date_not_a_datetime() -> None:
    with pytest.raises(TypeError):
        parse(SAMPLE, today=datetime(2025, 6, 1, 12, 0))


# --- sex and consistency with the record -------------------------------------------------


@pytest.mark.parametrize(
    ("sequence", "sex"), [(1, "male"), (21, "male"), (2, "female"), (0, "female")]
)
def test_sex_from_seventeenth_digit(sequence: int, sex: str) -> None:
    assert parse(make_id("330702", date(1990, 1, 1), sequence), today=TODAY).sex == sex


def test_validate_accepts_consistent_record() -> None:
    parsed = validate(SAMPLE, today=TODAY, birth_date=date(1949, 12, 31), sex="female")
    assert parsed.value == SAMPLE


@pytest.mark.parametrize("sex", ["male", "M", ""])
def test_validate_sex_mismatch(sex: str) -> None:
    with pytest.raises(NationalIdError) as excinfo:
        validate(SAMPLE, today=TODAY, sex=sex)
    assert excinfo.value.reason == "sex_mismatch"
    assert str(excinfo.value).startswith("national_id: ")


def test_validate_birth_date_mismatch() -> None:
    with pytest.raises(NationalIdError) as excinfo:
        validate(SAMPLE, today=TODAY, birth_date=date(1949, 12, 30), sex="female")
    assert excinfo.value.reason == "birth_date_mismatch"
    assert "1949-12-30" in str(excinfo.value)
    assert "1949-12-31" in str(excinfo.value)


def test_validate_still_parses() -> None:
    with pytest.raises(NationalIdError) as excinfo:
        validate("110105194912310025", today=TODAY, birth_date=date(1949, 12, 31))
    assert excinfo.value.reason == "check_digit"


# --- properties --------------------------------------------------------------------------

addresses = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(addresses, births, sequences)
def test_round_trip(address: str, birth: date, sequence: int) -> None:
    body = f"{address}{birth:%Y%m%d}{sequence:03d}"
    parsed = parse(body + check_digit(body), today=TODAY)
    assert parsed.birth_date == birth
    assert parsed.sex == ("male" if sequence % 2 else "female")
    assert parsed.address_code == address


@given(
    addresses,
    births,
    sequences,
    st.integers(min_value=0, max_value=17),
    st.sampled_from("0123456789X"),
)
def test_any_single_substitution_is_caught(
    address: str, birth: date, sequence: int, position: int, replacement: str
) -> None:
    valid = make_id(address, birth, sequence)
    if position < 17 and replacement == "X":
        replacement = "0"  # X in the body is a different error; keep this about substitutions
    if valid[position] == replacement:
        replacement = str((int(replacement) + 1) % 10) if replacement != "X" else "0"
    mutated = valid[:position] + replacement + valid[position + 1 :]
    assert mutated != valid
    with pytest.raises(NationalIdError) as excinfo:
        parse(mutated, today=TODAY)
    assert excinfo.value.reason == "check_digit"
