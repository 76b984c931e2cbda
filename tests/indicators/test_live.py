"""`indicators.service.live`: the measures pages' figures over what the workflows recorded up
to now, by the engine of the store, without writing a row, and counting what member systems
sent to the analytics store as the cockpit does."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.facts import fact
from caregrid.activity.models import TABLES
from caregrid.activity.parquet import schema, write_month
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, ReadingIn
from caregrid.chronic.standard import Condition
from caregrid.indicators import service
from caregrid.indicators.definitions import Indicator, shipped
from caregrid.indicators.engine import Cell
from tests.world import SHANGHAI, World, build

NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
UNIT = "jh-wc-chengdong"
YEAR = ("2026-01", "2026-12")


def chosen(*ids: str) -> tuple[Indicator, ...]:
    return tuple(i for i in shipped() if i.id in ids)


def follow_up(session: Session, world: World, resident_id: int, sbp: int) -> None:
    chronic.enrol(
        session,
        world.community_doctor,
        EnrolIn(
            resident_id=resident_id,
            condition=Condition.HYPERTENSION,
            confirmed_on=date(2025, 6, 1),
        ),
    )
    chronic.record_follow_up(
        session,
        world.community_doctor,
        FollowUpIn(
            resident_id=resident_id,
            condition=Condition.HYPERTENSION,
            visited_on=date(2026, 11, 1),
            reading=ReadingIn(sbp=sbp, dbp=80),
        ),
    )


def cd2(cells: list[Cell]) -> tuple[float, float | None]:
    found = next(c for c in cells if (c.indicator, c.unit) == ("CD2", UNIT))
    return found.numerator, found.denominator


def fact_rows(session: Session, name: str) -> int:
    return session.scalar(select(func.count()).select_from(TABLES[name])) or 0


def test_a_follow_up_counts_at_once_and_nothing_is_written(
    session: Session, tmp_path: Path
) -> None:
    with clock.frozen(NOVEMBER):
        world = build(session)
        follow_up(session, world, world.patient, sbp=130)
        before = {name: fact_rows(session, name) for name in TABLES}
        assert cd2(service.live(session, YEAR, chosen("CD2"), store=tmp_path)) == (1, 1)
        follow_up(session, world, world.unsigned_patient, sbp=150)
        assert cd2(service.live(session, YEAR, chosen("CD2"), store=tmp_path)) == (1, 2)
        assert {name: fact_rows(session, name) for name in TABLES} == before


def test_duckdb_counts_the_member_systems_parts_of_the_store(
    session: Session, tmp_path: Path
) -> None:
    """A resident sent by a member system to the analytics store counts on the page too;
    the store's own export part is not read twice (live writes it fresh)."""
    with clock.frozen(NOVEMBER):
        world = build(session)
        follow_up(session, world, world.patient, sbp=130)
        declared = fact("resident")
        sent = {
            "patient_id": ["his-1"],
            "home_division_code": ["330702-chengdong"],
            "birth_date": [date(1950, 1, 1)],
            "sex": ["female"],
            "registered_institution_code": [UNIT],
            "as_of": [date(2026, 11, 1)],
        }
        names = [f.name for f in declared.fields]
        row = {name: sent.get(name, [None]) for name in names}
        table = pa.table(row, schema=schema(declared))
        write_month(tmp_path, declared, "2026-11", table, part="his")
        stale = table.set_column(0, "patient_id", pa.array(["exported-earlier"]))
        write_month(tmp_path, declared, "2026-11", stale, part="db")
        cells = service.live(session, YEAR, chosen("FD1"), using="duckdb", store=tmp_path)
        fd1 = next(c for c in cells if (c.indicator, c.unit) == ("FD1", UNIT))
        everyone = service.live(session, YEAR, chosen("FD1"), using="duckdb", store=tmp_path / "x")
        alone = next(c for c in everyone if (c.indicator, c.unit) == ("FD1", UNIT))
        assert fd1.denominator == (alone.denominator or 0) + 1
