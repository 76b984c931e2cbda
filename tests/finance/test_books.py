"""The members' books (I1, I2, I5, I6) and Jinhua's special funds (I4) on hand-set
statements: warning lines met exactly and missed by a point, the pay-revenue correlation,
the surplus growth a year apart with the lead's 30%, the evaluation's pass mark at its edge;
files refused whole, naming row and column; a member's staff refused."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid.activity.facts import fact
from caregrid.activity.models import TABLES
from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import Forbidden, InvalidInput
from caregrid.finance import books, funds
from caregrid.indicators.models import Evaluation, EvaluationItem
from caregrid.registry import importer
from tests.conftest import make_principal
from tests.factories import layout, network, write_layout

NET, LEAD, SEC, CHC = "t-net-a", "t-lead-a", "t-sec-a", "t-chc-a"
HEADER = ",".join(fact("financial_statement").names)


def _row(code: str, month_end: str, **cny: float) -> str:
    values: dict[str, float] = {
        "revenue_cny": 100_000, "drug_revenue_cny": 30_000, "consumable_revenue_cny": 10_000,
        "test_revenue_cny": 20_000, "expenditure_cny": 90_000,
        "business_expenditure_cny": 80_000, "personnel_cost_cny": 28_000,
        "performance_pay_cny": 9_000, "budget_expenditure_cny": 90_000,
        "assets_cny": 1_000_000, "liabilities_cny": 500_000,
    }  # fmt: skip
    values.update(cny)
    fields = fact("financial_statement").names[2:]
    return ",".join([code, month_end, *(str(values[f]) for f in fields)])


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


ENDS = ["2025-01-31", "2025-02-28", "2025-03-31"]


@pytest.fixture
def group(session: Session, tmp_path: Path, fresh_store: object) -> str:
    """t-net-a as a Jinhua urban group: 35% personnel share, 0.5 asset-liability ratio,
    expenses within budget, correlation up to 0.5 (CareGrid's defaults in jinhua.yaml)."""
    data = layout()
    network(data, NET)["kind"], network(data, NET)["profile"] = "urban_group", "jinhua"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    return NET


def test_the_warning_lines_met_on_the_dot_and_missed_by_a_point(
    session: Session, group: str
) -> None:
    statements = _csv(
        # the centre: 28,000 of 80,000 is exactly 35%; pay follows drug revenue exactly
        *(
            _row(CHC, end, drug_revenue_cny=d, performance_pay_cny=d * 0.3)
            for end, d in zip(ENDS, (30_000, 40_000, 20_000), strict=True)
        ),
        # the secondary member: 27,200 of 80,000 is 34%; 92,000 of a 90,000 budget; its
        # March balance sheet 510,000 of 1,000,000; pay flat
        *(_row(SEC, end, personnel_cost_cny=27_200, expenditure_cny=92_000) for end in ENDS[:2]),
        _row(SEC, ENDS[2], personnel_cost_cny=27_200, expenditure_cny=92_000,
             liabilities_cny=510_000),
    )  # fmt: skip
    report = books.import_statements(session, SYSTEM, group, statements, file="books.csv")
    assert (report.rows, report.stored) == (6, 6)
    found = {m.code: m for m in books.network_books(session, SYSTEM, group, 2025).members}
    chc, sec = found[CHC], found[SEC]
    assert chc.year["FB10"].numerator == 3
    assert chc.year["FB1"].value == pytest.approx(0.35)
    assert chc.year["FB1"].assessment.state == "green"  # at the line is not below it
    assert chc.latest_month == "2025-03" and chc.balance is not None
    assert chc.balance.value == pytest.approx(0.5) and chc.balance.assessment.state == "green"
    drug, consumables, tested = chc.correlations
    assert drug.line == "FB7" and drug.r == pytest.approx(1.0) and drug.warned
    assert consumables.r is None and not consumables.warned  # a flat line has no correlation
    assert tested.r is None and tested.months == 3
    assert chc.warnings == ["I5:FB7"]
    assert chc.surplus == pytest.approx(3 * 10_000)
    assert sec.year["FB1"].assessment.state == "amber"  # one point under 35%
    assert sec.year["FB3"].value == pytest.approx(92 / 90)
    assert sec.year["FB3"].assessment.state == "amber"  # 2.2 points over the budget
    assert sec.balance is not None and sec.balance.value == pytest.approx(0.51)
    assert sorted(sec.warnings) == ["FB1", "FB2", "FB3"]
    assert [c.r for c in sec.correlations] == [None, None, None]  # pay flat
    assert found[LEAD].latest_month is None and found[LEAD].surplus is None  # no books


def test_a_bad_row_or_a_stranger_refuses_the_whole_file(session: Session, group: str) -> None:
    table = TABLES["financial_statement"]
    bad = _csv(_row(CHC, ENDS[0]), _row(CHC, ENDS[1], drug_revenue_cny=100_001))
    with pytest.raises(InvalidInput) as refused:
        books.import_statements(session, SYSTEM, group, bad, file="bad.csv")
    (problem,) = refused.value.problems
    assert (problem.field, problem.line) == ("drug_revenue_cny", 3)
    assert "revenue_cny" in str(problem.reason)
    stranger = _csv(_row(CHC, ENDS[0]), _row("t-chc-b", ENDS[0]))  # t-net-b's centre
    with pytest.raises(InvalidInput) as refused:
        books.import_statements(session, SYSTEM, group, stranger, file="other.csv")
    (problem,) = refused.value.problems
    assert (problem.field, problem.line) == ("institution_code", 3)
    assert "t-chc-b" in str(problem.reason)
    assert session.scalar(select(func.count()).select_from(table)) == 0
    with pytest.raises(InvalidInput) as refused:
        books.import_statements(session, SYSTEM, group, b"PK\x03\x04broken", file="x.xlsx")
    assert refused.value.problems[0].field == "file"


def test_an_excel_workbook_reads_as_its_csv_would(session: Session, group: str) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(fact("financial_statement").names))
    for end in ENDS:
        line = _row(CHC, end).split(",")
        sheet.append([line[0], date.fromisoformat(line[1]), *(float(v) for v in line[2:])])
    data = io.BytesIO()
    book.save(data)
    report = books.import_statements(session, SYSTEM, group, data.getvalue(), file="b.xlsx")
    assert report.stored == 3
    found = {m.code: m for m in books.network_books(session, SYSTEM, group, 2025).members}
    assert found[CHC].year["FB4"].numerator == 300_000


def test_a_member_account_cannot_read_or_send_the_books(session: Session, group: str) -> None:
    staff = make_principal(session, "books-member", Role.CLINICIAN, institution=CHC)
    with pytest.raises(Forbidden):
        books.network_books(session, staff, group, 2025)
    with pytest.raises(Forbidden):
        books.import_statements(session, staff, group, _csv(_row(CHC, ENDS[0])), file="a.csv")
    with pytest.raises(Forbidden):
        funds.special_funds(session, staff, group, 2025)


def _evaluated(session: Session, group: str, met: int, criteria: int) -> None:
    from caregrid.registry import service as registry

    session.add(
        Evaluation(
            network_id=registry.get_network(session, group).id, period="2025H2",
            criteria="national", created_by="t", created_at=datetime(2026, 1, 5, tzinfo=UTC),
            items=[EvaluationItem(criterion=n + 1, verdict="met" if n < met else "not_met")
                   for n in range(criteria)],
        )
    )  # fmt: skip
    session.flush()


def _two_years(session: Session, group: str) -> None:
    """The centre: 10,000 of surplus in 2024, 30,000 in 2025 (growth 20,000); the secondary
    member 50,000, then 40,000 (it fell: counted as nothing); the lead's own books ignored."""
    statements = _csv(
        _row(CHC, "2024-06-30", revenue_cny=100_000, expenditure_cny=90_000),
        _row(CHC, "2025-06-30", revenue_cny=130_000, expenditure_cny=100_000),
        _row(SEC, "2024-06-30", revenue_cny=140_000, expenditure_cny=90_000),
        _row(SEC, "2025-06-30", revenue_cny=130_000, expenditure_cny=90_000),
        _row(LEAD, "2024-06-30", revenue_cny=100_000, expenditure_cny=90_000),
        _row(LEAD, "2025-06-30", revenue_cny=900_000, expenditure_cny=90_000),
    )
    books.import_statements(session, SYSTEM, group, statements, file="two.csv")


def test_the_lead_receives_the_fund_and_30_percent_of_growth_at_the_pass_mark(
    session: Session, group: str
) -> None:
    _two_years(session, group)
    _evaluated(session, group, met=9, criteria=15)  # 60%: exactly the pass mark
    found = funds.special_funds(session, SYSTEM, group, 2025)
    assert found is not None and found.passed
    by = {m.code: m for m in found.members}
    assert LEAD not in by
    assert (by[CHC].surplus, by[CHC].previous, by[CHC].counted) == (
        Decimal("30000.00"), Decimal("10000.00"), Decimal("20000.00")
    )  # fmt: skip
    assert by[SEC].growth == Decimal("-10000.00") and by[SEC].counted == 0
    assert found.growth_total == Decimal("20000.00")
    assert found.growth_share == Decimal("6000.00")
    assert found.district_fund == Decimal("5000000.00")
    assert found.to_lead == Decimal("5006000.00")
    assert found.city_fund == Decimal("5000000.00")


def test_below_the_pass_mark_or_unevaluated_the_lead_receives_nothing(
    session: Session, group: str
) -> None:
    _two_years(session, group)
    unevaluated = funds.special_funds(session, SYSTEM, group, 2025)
    assert unevaluated is not None and unevaluated.evaluation is None
    assert not unevaluated.passed and unevaluated.to_lead == 0
    _evaluated(session, group, met=8, criteria=15)  # 53%
    below = funds.special_funds(session, SYSTEM, group, 2025)
    assert below is not None and not below.passed and below.to_lead == 0
    assert below.growth_share == Decimal("6000.00")  # computed and shown, not paid


def test_a_profile_without_the_fund_has_no_special_funds(
    session: Session, tmp_path: Path, fresh_store: object
) -> None:
    data = layout()
    network(data, NET)["kind"], network(data, NET)["profile"] = "county_community", "ganzhou-county"
    importer.apply(session, importer.load(write_layout(tmp_path, data)), actor=SYSTEM)
    assert funds.special_funds(session, SYSTEM, NET, 2025) is None
