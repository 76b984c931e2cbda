"""The network's one catalogue and the members' lists (G1, G3): the shipped starter set, the
import from CSV and Excel with every bad cell reported and nothing written, the national
code's shape, who may import, and alignment measured by the indicator engine (PH1, PH2)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import Forbidden, InvalidInput
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.api import network_measures
from caregrid.pharmacy.models import CatalogueItem
from caregrid.registry import service as registry
from tests.conftest import bearer, make_principal
from tests.pharmacy.conftest import LEAD, NETWORK, UNIT
from tests.world import NOW, World

HEADER = "code,kind,name_zh,national_code,essential,insurance_class,source\n"
GOOD_DRUG_CODE = "XC08CAA017A001010100443"  # 23 characters: the western drug shape
GOOD_CONSUMABLE_CODE = "C" + "0" * 26


def _network_id(session: Session) -> int:
    return registry.get_network(session, NETWORK).id


def _count(session: Session) -> int:
    query = select(func.count()).select_from(CatalogueItem)
    return session.scalar(query.where(CatalogueItem.network_id == _network_id(session))) or 0


def _problems(exc: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[str, int | None, str]]:
    return [(p.field, p.line, p.message) for p in exc.value.problems]


def test_the_starter_set_holds_the_essential_hypertension_and_diabetes_drugs(
    session: Session, world: World
) -> None:
    items = pharmacy.items(session, _network_id(session))
    assert len(items) == 17
    assert all(i.essential for i in items)
    assert all(i.source.startswith("国家基本药物目录（2018年版）") for i in items)
    classes = {i.drug_class for i in items}
    assert {"acei", "arb", "ccb", "diuretic", "beta_blocker"} <= classes  # hypertension
    assert {"biguanide", "sulfonylurea", "alpha_glucosidase_inhibitor", "insulin"} <= classes
    assert {i.molecule for i in items} >= {"amlodipine", "metformin", "valsartan"}


def test_a_bad_file_reports_every_bad_cell_and_writes_nothing(
    session: Session, world: World
) -> None:
    before = _count(session)
    text = (
        HEADER
        + "NEW-1,drug,新药一,XC08CAA017A00101010044,yes,A,ours\n"  # 22 characters
        + "NEW-2,pill,新药二,,yes,,ours\n"
        + "NEW-3,drug,,,maybe,C,ours\n"
        + "NEW-1,drug,新药一,,no,,ours\n"
        + "bad code,drug,新药四,,no,,ours\n"
    )
    with pytest.raises(InvalidInput) as exc:
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, text.encode(), file="c.csv")
    found = _problems(exc)
    fields = {(field, line) for field, line, _ in found}
    assert ("national_code", 2) in fields
    assert ("kind", 3) in fields
    assert {("name_zh", 4), ("essential", 4), ("insurance_class", 4)} <= fields
    assert ("code", 5) in fields  # repeats line 2
    assert ("code", 6) in fields
    assert any("repeats line 2" in m for f, line, m in found if line == 5)
    assert any(GOOD_DRUG_CODE in m for f, _, m in found if f == "national_code")
    assert _count(session) == before


def test_national_codes_are_checked_by_their_kind(session: Session, world: World) -> None:
    good = (
        HEADER
        + f"N-DRUG,drug,某药,{GOOD_DRUG_CODE},yes,甲,ours\n"
        + f"N-CONS,consumable,某耗材,{GOOD_CONSUMABLE_CODE},no,,ours\n"
    )
    pharmacy.import_catalogue(session, SYSTEM, NETWORK, good.encode(), file="c.csv")
    drug = pharmacy.item_by_code(session, _network_id(session), "N-DRUG")
    assert drug is not None and drug.insurance_class == "A" and drug.national_code == GOOD_DRUG_CODE
    swapped = HEADER + f"N-X,consumable,某耗材,{GOOD_DRUG_CODE},no,,ours\n"
    with pytest.raises(InvalidInput) as exc:
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, swapped.encode(), file="c.csv")
    assert [(f, line) for f, line, _ in _problems(exc)] == [("national_code", 2)]
    lowercase = HEADER + f"N-Y,drug,某药,{GOOD_DRUG_CODE.lower()},no,,ours\n"
    with pytest.raises(InvalidInput):
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, lowercase.encode(), file="c.csv")


def test_importing_again_replaces_details_without_adding_lines(
    session: Session, world: World
) -> None:
    before = _count(session)
    text = HEADER + "EML18-AMLODIPINE-T5,drug,苯磺酸氨氯地平片（集采）,,yes,甲,ours\n"
    pharmacy.import_catalogue(session, SYSTEM, NETWORK, text.encode(), file="c.csv")
    assert _count(session) == before
    item = pharmacy.item_by_code(session, _network_id(session), "EML18-AMLODIPINE-T5")
    assert item is not None and item.name_zh == "苯磺酸氨氯地平片（集采）"


def test_an_excel_workbook_imports_like_the_csv(session: Session, world: World) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["code", "kind", "name_zh", "essential", "negotiated", "source"])
    sheet.append(["XLS-1", "drug", "达格列净片", "否", "是", "ours"])
    sheet.append([None, None, None, None, None, None])  # a blank row is skipped
    sheet.append(["XLS-2", "consumable", "一次性使用无菌注射器", "no", "no", "ours"])
    out = io.BytesIO()
    book.save(out)
    rows = pharmacy.import_catalogue(session, SYSTEM, NETWORK, out.getvalue(), file="c.xlsx")
    assert [(r.code, r.kind, r.essential, r.negotiated) for r in rows] == [
        ("XLS-1", "drug", False, True),
        ("XLS-2", "consumable", False, False),
    ]
    sheet.append(["XLS-3", "drug", "某药", "perhaps", "no", "ours"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InvalidInput) as exc:
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, out.getvalue(), file="c.xlsx")
    assert [(f, line) for f, line, _ in _problems(exc)] == [("essential", 5)]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("code,kind,name_zh,colour,source\nA,drug,某药,red,ours\n", "header"),
        ("code,kind,name_zh\nA,drug,某药\n", "header"),
        ("", "header"),
        (HEADER, "row"),
        ("code,kind,name_zh,source\nA,drug,某药,ours,extra\n", "row"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(
    session: Session, world: World, text: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, text.encode(), file="c.csv")
    assert exc.value.problems[0].field == field


def test_only_the_network_office_and_the_commission_keep_the_catalogue(
    session: Session, world: World
) -> None:
    text = (HEADER + "NEW-1,drug,新药一,,yes,,ours\n").encode()
    for who in (world.cardiologist, world.lead_admin, world.other_grid_doctor):
        with pytest.raises(Forbidden):
            pharmacy.import_catalogue(session, who, NETWORK, text, file="c.csv")
    other_office = make_principal(
        session, "office-zx", Role.NETWORK_ADMIN, network="jh-zxyy-jindong"
    )
    with pytest.raises(Forbidden):
        pharmacy.import_catalogue(session, other_office, NETWORK, text, file="c.csv")
    pharmacy.import_catalogue(session, world.office, NETWORK, text, file="c.csv")
    commission = make_principal(session, "commission-ph", Role.REGULATOR)
    pharmacy.import_catalogue(session, commission, NETWORK, text, file="c.csv")


def _lists(session: Session, world: World) -> None:
    lead_lines = "".join(
        f"{i.code},{i.name_zh}\n" for i in pharmacy.items(session, _network_id(session))
    )
    pharmacy.import_listing(
        session, world.lead_admin, LEAD, f"code,name_zh\n{lead_lines}".encode(), file="lead.csv"
    )
    unit = (
        "code,name_zh\n"
        "EML18-AMLODIPINE-T5,苯磺酸氨氯地平片\n"
        "EML18-METFORMIN-T05,盐酸二甲双胍片\n"
        "EML18-VALSARTAN-C80,缬沙坦胶囊\n"
        "HIS-0231,复方丹参片\n"
    )
    pharmacy.import_listing(session, world.community_admin, UNIT, unit.encode(), file="unit.csv")


def test_alignment_counts_each_members_lines_in_the_catalogue(
    session: Session, world: World, fresh_store: object
) -> None:
    with clock.frozen(NOW):
        _lists(session, world)
        found = network_measures(session, world.office, NETWORK, NOW.year)
    members = {m.institution_code: m for m in found.members}
    unit = members[UNIT]
    assert (unit.figures["PH1"].numerator, unit.figures["PH1"].denominator) == (3, 4)
    assert (unit.figures["PH2"].numerator, unit.figures["PH2"].denominator) == (3, 4)
    assert [line.code for line in unit.outside] == ["HIS-0231"]
    lead = members[LEAD]
    assert (lead.figures["PH1"].numerator, lead.figures["PH1"].denominator) == (17, 17)
    assert lead.outside == []
    network = found.figures["PH1"]
    assert (network.numerator, network.denominator) == (20, 21)
    silent = [m for code, m in members.items() if code not in (UNIT, LEAD)]
    assert silent and all(m.figures["PH1"].denominator == 0 for m in silent)


def test_a_new_list_replaces_the_old_one(
    session: Session, world: World, fresh_store: object
) -> None:
    with clock.frozen(NOW):
        _lists(session, world)
        pharmacy.import_listing(
            session,
            world.community_admin,
            UNIT,
            b"code,name_zh\nEML18-AMLODIPINE-T5,\xe6\xb0\xa8\xe6\xb0\xaf\xe5\x9c\xb0\xe5\xb9\xb3\n",
            file="unit.csv",
        )
        unit = registry.require_institution(session, UNIT)
        assert [r.code for r in pharmacy.listing(session, unit.id)] == ["EML18-AMLODIPINE-T5"]
        found = network_measures(session, world.office, NETWORK, NOW.year)
    figures = next(m for m in found.members if m.institution_code == UNIT).figures
    assert (figures["PH1"].numerator, figures["PH1"].denominator) == (1, 1)


def test_a_member_sends_only_its_own_list(session: Session, world: World) -> None:
    with pytest.raises(Forbidden):
        pharmacy.import_listing(
            session, world.community_admin, LEAD, b"code,name_zh\nA,x\n", file="l.csv"
        )
    with pytest.raises(InvalidInput) as exc:
        pharmacy.import_listing(
            session,
            world.community_admin,
            UNIT,
            b"code,name_zh\nA,x\nA,y\nbad code,z\nB,\n",
            file="l.csv",
        )
    assert {(p.field, p.line) for p in exc.value.problems} == {
        ("code", 3),
        ("code", 4),
        ("name_zh", 5),
    }


def test_the_api_imports_csv_and_names_bad_cells(
    session: Session, world: World, client: TestClient
) -> None:
    headers = bearer(session, world.office) | {"Content-Type": "text/csv"}
    bad = HEADER + "NEW-1,drug,新药一,X123,yes,,ours\n"
    answer = client.post(f"/api/networks/{NETWORK}/catalogue/import", content=bad, headers=headers)
    assert answer.status_code == 422
    assert "catalogue:2: national_code" in answer.json()["detail"]
    good = HEADER + "NEW-1,drug,新药一,,yes,,ours\n"
    answer = client.post(f"/api/networks/{NETWORK}/catalogue/import", content=good, headers=headers)
    assert answer.status_code == 201 and answer.json()[0]["code"] == "NEW-1"
    listed = client.get(f"/api/networks/{NETWORK}/catalogue", headers=headers).json()
    assert len(listed) == 18 and listed[0]["essential"] is True
    wrong = client.post(
        f"/api/networks/{NETWORK}/catalogue/import",
        content=good,
        headers=headers | {"Content-Type": "application/pdf"},
    )
    assert wrong.status_code == 415
    nul = client.post(
        f"/api/networks/{NETWORK}/catalogue/import",
        content=b"code,kind\n\xff\xfe\n",
        headers=headers,
    )
    assert nul.status_code == 422 and "UTF-8" in nul.json()["detail"]
