"""A hand-computed January settlement of a county community (I3, B7, K9) on every engine
the store has, and the refusals: negative sums, overlapping periods, an unknown DIP group, a
closed settlement settled again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.importer import store
from caregrid.activity.parquet import schema
from caregrid.auth.roles import SYSTEM
from caregrid.errors import Conflict, InvalidInput
from caregrid.finance import service as finance
from caregrid.finance.vocab import SettlementState
from caregrid.indicators import service as indicators
from caregrid.registry import importer
from tests.factories import layout, network, write_layout

JAN = date(2025, 1, 1)
FS = ("FS1", "FS2", "FS3", "FS4")


def _claim(
    claim_id: str, institution: str | None, kind: str, paid: str, **more: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "claim_id": claim_id,
        "institution_code": institution,
        "patient_id": more.pop("patient", f"P-{claim_id}"),
        "kind": kind,
        "date": more.pop("on", date(2025, 1, 15)),
        "insured_division_code": more.pop("insured", "900101"),
        "out_of_county": more.pop("out_of_county", False),
        "total_cost_cny": float(paid) * 1.5,
        "insurance_paid_cny": float(paid),
    }
    row.update(more)
    return row


CLAIMS = [
    # referred up from the primary member: the lead's deductible is waived (B7)
    _claim(
        "c1",
        "t-lead-a",
        "inpatient",
        "5000",
        dip_group="J18-C",
        deductible_cny=800.0,
        referral_id="R1",
        first_visit_institution_code="t-chc-a",
        patient="P1",
    ),
    # referred from the secondary member: no waiver
    _claim(
        "c2",
        "t-lead-a",
        "inpatient",
        "20000",
        dip_group="I63-S",
        deductible_cny=800.0,
        referral_id="R2",
        first_visit_institution_code="t-sec-a",
        patient="P2",
    ),
    _claim("c3", "t-sec-a", "inpatient", "6000", dip_group="K35-S", deductible_cny=500.0),
    _claim("c4", "t-chc-a", "outpatient", "100"),
    _claim("c5", "t-lead-b", "inpatient", "3000", dip_group="I10-C"),  # in the county, not a member
    _claim("c6", None, "outpatient", "700", out_of_county=True),  # 异地就医
    _claim("c7", "t-lead-a", "outpatient", "999", insured="900102"),  # another pool's insured
    _claim("c8", "t-lead-a", "outpatient", "55", on=date(2025, 2, 1)),  # February
]


@pytest.fixture
def county(session: Session, tmp_path: Path) -> str:
    """t-net-a as a Ganzhou county community (B7 applies)."""
    return _budgeted(session, tmp_path, "county_community", "ganzhou-county")


@pytest.fixture
def group(session: Session, tmp_path: Path) -> str:
    """t-net-a as a Jinhua urban group (evaluated every half-year)."""
    return _budgeted(session, tmp_path, "urban_group", "jinhua")


def _budgeted(session: Session, tmp_path: Path, kind: str, profile: str) -> str:
    data = layout()
    community = network(data, "t-net-a")
    community["kind"], community["profile"] = kind, profile
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    declared = fact("claim")
    store(session, declared, pa.Table.from_pylist(CLAIMS, schema(declared)))
    finance.set_budget(
        session, SYSTEM, "t-net-a", 2025,
        lump_sum_cny=Decimal("1200000.00"), dip_pool_cny=Decimal("365000.00"),
    )  # fmt: skip
    finance.add_months(session, SYSTEM, "t-net-a", 2025)
    return "t-net-a"


def _engines(session: Session) -> list[str]:
    return ["duckdb", "postgres"] if session.get_bind().dialect.name == "postgresql" else ["duckdb"]


def test_january_by_hand_on_every_engine(session: Session, county: str) -> None:
    seen = []
    for using in _engines(session):
        s = finance.settle(session, SYSTEM, county, JAN, using=using)  # type: ignore[arg-type]
        # pool: 365,000 x 31/365 = 31,000; points 620 + 3900 + 1150 = 5670
        assert s.pool_cny == Decimal("31000.00") and s.points == Decimal("5670")
        lines = {line.institution_code: line for line in s.lines}
        assert lines["t-lead-a"].points == 4520
        assert lines["t-lead-a"].dip_paid_cny == Decimal("24712.52")  # 4520 x 31000/5670
        assert lines["t-sec-a"].dip_paid_cny == Decimal("6287.48")  # 1150 x 31000/5670
        assert lines["t-chc-a"].other_paid_cny == Decimal("100.00")
        assert "t-lead-b" not in lines
        assert s.spend_network_cny == Decimal("31100.00")
        assert s.spend_county_cny == Decimal("3000.00")
        assert s.spend_outside_cny == Decimal("700.00")
        assert s.claims == 6  # c7 is another pool's, c8 February's
        # B7: only P1, whose first visit was at the primary member
        assert [(w.patient_id, w.stays, w.amount_cny) for w in s.waivers] == [
            ("P1", 1, Decimal("800.00"))
        ]
        assert (s.waived_cny, s.waived_patients) == (Decimal("800.00"), 1)
        # forecast: 34,800 x 365/31; surplus 790,258.06, kept 60,000 + 30,000 (bands)
        assert s.forecast_spend_cny == Decimal("409741.94")
        assert s.forecast_result_cny == Decimal("790258.06")
        assert s.forecast_network_cny == Decimal("90000.00")
        inputs = finance.inputs(s)
        assert inputs["engine"] == using and inputs["evaluation"] is None
        assert inputs["profile"]["B7 no_second_inpatient_deductible"] is True  # type: ignore[index]
        assert inputs["dip_table"]["evidence"] == "ours"  # type: ignore[index]
        seen.append((s.spend_network_cny, s.point_value_cny, [w.amount_cny for w in s.waivers]))
    assert all(found == seen[0] for found in seen)  # the engines agree


def test_a_closed_settlement_is_immutable_and_corrected_by_adjustment(
    session: Session, county: str
) -> None:
    finance.settle(session, SYSTEM, county, JAN)
    closed = finance.close(session, SYSTEM, county, JAN)
    assert closed.state == SettlementState.CLOSED
    with pytest.raises(Conflict, match="closed"):
        finance.settle(session, SYSTEM, county, JAN)
    with pytest.raises(Conflict, match="already closed"):
        finance.close(session, SYSTEM, county, JAN)
    fix = finance.adjust(
        session, SYSTEM, county, JAN, amount_cny=Decimal("-120.50"),
        reason="claim c4 paid twice", institution_code="t-chc-a",
    )  # fmt: skip
    assert closed.adjustments == [fix] and closed.spend_network_cny == Decimal("31100.00")
    # February counts January as adjusted: (34,800 - 120.50 + 55) x 365/59 = 214,882.92
    february = finance.settle(session, SYSTEM, county, date(2025, 2, 1))
    assert february.forecast_spend_cny == Decimal("214882.92")
    with pytest.raises(InvalidInput, match="institution_code"):
        finance.adjust(session, SYSTEM, county, JAN, amount_cny=Decimal("1"), reason="x",
                       institution_code="t-lead-b")  # fmt: skip


def test_an_open_settlement_is_computed_afresh(session: Session, county: str) -> None:
    first = finance.settle(session, SYSTEM, county, JAN)
    assert first.claims == 6
    declared = fact("claim")
    store(session, declared, pa.Table.from_pylist([_claim("c9", "t-chc-a", "outpatient", "40")],
                                                  schema(declared)))  # fmt: skip
    again = finance.settle(session, SYSTEM, county, JAN)
    assert again.claims == 7 and again.spend_network_cny == Decimal("31140.00")
    assert len(finance.get_period(session, county, JAN).budget.periods) == 12


def test_a_claim_with_a_group_not_in_the_table_refuses_the_settlement(
    session: Session, county: str
) -> None:
    declared = fact("claim")
    bad = _claim("c10", "t-lead-a", "inpatient", "900", dip_group="ZZ9-X")
    store(session, declared, pa.Table.from_pylist([bad], schema(declared)))
    with pytest.raises(InvalidInput, match="claim c10: group 'ZZ9-X' is not in the DIP table"):
        finance.settle(session, SYSTEM, county, JAN)
    assert finance.get_period(session, county, JAN).settlement is None


def test_negative_sums_and_overlapping_periods_are_refused(session: Session, county: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        finance.set_budget(session, SYSTEM, county, 2026, lump_sum_cny=Decimal("-1"),
                           dip_pool_cny=Decimal("-2"))  # fmt: skip
    assert [p.field for p in refused.value.problems] == ["lump_sum_cny", "dip_pool_cny"]
    with pytest.raises(InvalidInput, match="dip_pool_cny: is part of the lump sum"):
        finance.set_budget(session, SYSTEM, county, 2026, lump_sum_cny=Decimal("10"),
                           dip_pool_cny=Decimal("20"))  # fmt: skip
    with pytest.raises(InvalidInput, match=r"overlaps the period 2025-01-01\.\.2025-01-31"):
        finance.add_period(session, SYSTEM, county, date(2025, 1, 20), date(2025, 1, 25))
    with pytest.raises(InvalidInput, match="ends_on"):
        finance.add_period(session, SYSTEM, county, date(2025, 12, 30), date(2026, 1, 2))


def test_a_profile_without_a_global_budget_gets_none(session: Session, county: str) -> None:
    from caregrid.errors import RuleViolation

    with pytest.raises(RuleViolation, match="no insurance global budget"):
        finance.set_budget(session, SYSTEM, "t-net-b", 2025, lump_sum_cny=Decimal("1"),
                           dip_pool_cny=Decimal("0"))  # fmt: skip


def test_the_settlement_records_the_evaluation_in_force(session: Session, group: str) -> None:
    """K9: the latest evaluation whose period ended by the period's last day."""
    from caregrid.indicators.evaluation import interval_months, label
    from caregrid.indicators.models import Evaluation, EvaluationItem
    from caregrid.policy import service as policy
    from caregrid.registry import service as registry

    community = registry.get_network(session, group)
    months = interval_months(policy.get(community.profile), JAN)
    late_2024, early_2025 = label(2024, months, 12 // months), label(2025, months, 1)
    for period in (late_2024, early_2025):
        session.add(
            Evaluation(
                network_id=community.id, period=period, criteria="fj-sc-15",
                created_by="t", created_at=datetime(2025, 1, 1, tzinfo=UTC),
                items=[EvaluationItem(criterion=1, verdict="met"),
                       EvaluationItem(criterion=2, automatic="not_met")],
            )
        )  # fmt: skip
    session.flush()
    found = finance.settle(session, SYSTEM, group, JAN)
    assert found.evaluation_period == late_2024
    assert finance.inputs(found)["evaluation"] == {
        "id": found.evaluation_id, "period": late_2024, "met": 1, "criteria": 2
    }  # fmt: skip
    # Jinhua's profile does not set B7: P1's referred stay is not waived there
    assert found.waivers == [] and found.waived_cny == 0


def test_an_urban_groups_insured_are_told_apart_by_where_they_live(
    session: Session, group: str
) -> None:
    """A city-wide pool (900100) holds both grids' insured: a claim saying where its insured
    lives counts for the grid that covers it, and only there."""
    declared = fact("claim")
    extra = [
        _claim("u1", "t-lead-a", "outpatient", "40", insured="900100", home_division_code="900101"),
        _claim("u2", "t-lead-a", "outpatient", "60", insured="900100", home_division_code="900102"),
        _claim("u3", "t-lead-a", "outpatient", "80", insured="900100"),  # city pool, no home
    ]
    store(session, declared, pa.Table.from_pylist(extra, schema(declared)))
    for using in _engines(session):
        s = finance.settle(session, SYSTEM, group, JAN, using=using)  # type: ignore[arg-type]
        assert s.claims == 7  # the six of January's hand set, and u1
        assert s.spend_network_cny == Decimal("31140.00")


def test_what_the_fund_paid_a_budget_is_drawn_up_from(session: Session, county: str) -> None:
    """January's hand set: 34,800 paid for the pool's insured (c7 is another pool's, c8
    February's), 31,000 of it on the members' stays with a DIP group (c5 is not a member's)."""
    assert finance.claims_paid(session, SYSTEM, county, JAN) == (
        Decimal("34800.00"), Decimal("31000.00")
    )  # fmt: skip


def _fs(session: Session, unit: str) -> dict[str, float | None]:
    """FS1-FS4 of the year for `unit`, as the engine computes them over the facts."""
    rows = indicators.network_rows(session, unit, FS, ("2025-01", "2025-12"))
    total = next(r for r in rows if r.code == unit)
    return {i: f.value for i, f in total.figures.items() if f.value is not None}


def test_a_closed_settlement_is_a_fact_the_budget_indicators_read(
    session: Session, county: str
) -> None:
    finance.settle(session, SYSTEM, county, JAN)
    # an open settlement is not yet a result: nothing paid against no budget
    assert _fs(session, county) == {"FS1": 0, "FS3": 0, "FS4": 0}
    finance.close(session, SYSTEM, county, JAN)
    # share: 1,200,000 x 31/365 = 101,917.81; paid 31,100 + 3,000 + 700 = 34,800
    assert _fs(session, county) == pytest.approx(
        {"FS1": 67117.81, "FS2": 34800 / 101917.81, "FS3": 800.0, "FS4": 1.0}
    )
    finance.adjust(session, SYSTEM, county, JAN, amount_cny=Decimal("-120.50"), reason="twice")
    after = _fs(session, county)
    assert after["FS1"] == pytest.approx(67238.31) and after["FS3"] == 800.0
    # an overspent February: a budget share of 92,054.79 (28 days) against a 100,000 claim
    more = [_claim("c9", "t-chc-a", "outpatient", "100000", on=date(2025, 2, 10))]
    declared = fact("claim")
    store(session, declared, pa.Table.from_pylist(more, schema(declared)))
    finance.settle(session, SYSTEM, county, date(2025, 2, 1))
    finance.close(session, SYSTEM, county, date(2025, 2, 1))
    # February: 1,200,000 x 28/365 = 92,054.79 less 100,055 paid = -8,000.21
    assert _fs(session, county)["FS1"] == pytest.approx(67238.31 - 8000.21)


def test_claims_a_member_system_sent_are_settled_on_either_backend(
    session: Session, county: str, fresh_store: Path
) -> None:
    """The analytics store's parts (a member's HIS, the demo's synthetic city) count beside
    the operational store's claims by default, on PostgreSQL too."""
    import pyarrow.parquet as pq

    before = finance.settle(session, SYSTEM, county, JAN)
    declared = fact("claim")
    part = fresh_store / "claim" / "month=2025-01" / "part-member-his.parquet"
    part.parent.mkdir(parents=True)
    row = _claim("m1", "t-chc-a", "outpatient", "40")
    pq.write_table(pa.Table.from_pylist([row], schema(declared)), part)
    after = finance.settle(session, SYSTEM, county, JAN)
    assert after.claims == before.claims + 1
    assert after.spend_network_cny == before.spend_network_cny + Decimal("40.00")
