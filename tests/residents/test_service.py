"""Resident records: every bad field reported at once, key populations at their age edges,
grid from the address division, audited reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.factories import layout, write_layout

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Conflict, InvalidInput
from caregrid.registry import importer
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import ResidentIn


def nid(birth: str, seq: str = "001") -> str:
    body = f"900101{birth}{seq}"
    return body + national_id.check_digit(body)


@pytest.fixture
def city(session: Session, tmp_path: Path) -> None:
    importer.apply(session, importer.load(write_layout(tmp_path, layout())), actor=SYSTEM)


def _new(value: str, **extra: object) -> ResidentIn:
    fields: dict[str, object] = {
        "national_id": value,
        "name": "测试",
        "phone": "13912345678",
        "address_division_code": "900101",
        "registered_institution_code": "t-chc-a",
    }
    fields.update(extra)
    return ResidentIn.model_validate(fields)


def test_sex_and_birth_date_come_from_the_id(session: Session, city: None) -> None:
    resident = residents.create(session, SYSTEM, _new(nid("19580312", "002")))
    assert resident.sex == "female" and resident.birth_date == date(1958, 3, 12)


def test_bad_check_digit_is_refused_with_the_reason(session: Session, city: None) -> None:
    good = nid("19580312")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as caught:
        residents.create(session, SYSTEM, _new(bad))
    assert [p.field for p in caught.value.problems] == ["national_id"]
    assert "check digit" in caught.value.problems[0].message


def test_impossible_birth_date_is_refused(session: Session, city: None) -> None:
    with pytest.raises(InvalidInput) as caught:
        residents.create(session, SYSTEM, _new(nid("20230229")))
    assert "birth" in caught.value.problems[0].message


def test_every_problem_is_listed_and_nothing_written(session: Session, city: None) -> None:
    with pytest.raises(InvalidInput) as caught:
        residents.create(
            session,
            SYSTEM,
            _new(
                nid("19580312", "001"),
                sex="female",
                phone="12345",
                address_division_code="nowhere",
                registered_institution_code="t-none",
                tags=["vampire"],
            ),
        )
    fields = sorted(p.field for p in caught.value.problems)
    assert fields == [
        "address_division_code",
        "national_id",
        "phone",
        "registered_institution_code",
        "tags[0]",
    ]
    assert residents.list_visible(session, SYSTEM, purpose="test") == []


def test_same_id_twice_is_a_conflict(session: Session, city: None) -> None:
    residents.create(session, SYSTEM, _new(nid("19580312")))
    with pytest.raises(Conflict):
        residents.create(session, SYSTEM, _new(nid("19580312").lower()))


@pytest.mark.parametrize(
    ("birth", "today", "expected"),
    [
        ("19610601", "2026-05-31", []),  # 64 the day before the birthday
        ("19610601", "2026-06-01", ["elderly"]),  # 65 on the birthday
        ("20200601", "2027-05-31", ["children"]),  # still 6
        ("20200601", "2027-06-01", []),  # 7 on the birthday
    ],
)
def test_age_bands_at_their_edges(
    session: Session, city: None, birth: str, today: str, expected: list[str]
) -> None:
    resident = residents.create(session, SYSTEM, _new(nid(birth)))
    assert residents.key_populations(resident, date.fromisoformat(today)) == expected


def test_grid_is_derived_from_the_address_division(session: Session, city: None) -> None:
    resident = residents.create(session, SYSTEM, _new(nid("19800101"), tags=["diabetes"]))
    with clock.frozen(datetime(2026, 11, 22, 12, tzinfo=UTC)):
        view = residents.get(session, SYSTEM, resident.id, purpose="test")
    assert view.grid == "t-grid-a" and view.key_populations == ["diabetes"] and view.age == 46


def test_reads_are_audited_with_purpose(session: Session, city: None) -> None:
    resident = residents.create(session, SYSTEM, _new(nid("19800101")))
    residents.get(session, SYSTEM, resident.id, purpose="follow-up visit")
    last = audit.entries(session, limit=1)[0]
    assert (last.action, last.subject_id, last.purpose) == (
        "resident.read",
        str(resident.id),
        "follow-up visit",
    )
    assert nid("19800101") not in str(last.detail)  # the identifier itself is never logged
