"""Disease catalogs (B2, B8): shipped starter lists valid against WHO ICD-10, CSVs all-or-nothing
with row-level errors, a network's own catalog replacing its profile's, exact ratios."""

from __future__ import annotations

from fractions import Fraction
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal

from caregrid.auth.roles import SYSTEM, Role
from caregrid.errors import Forbidden, InvalidInput
from caregrid.policy import catalogs
from caregrid.policy import service as policy
from caregrid.policy.schema import as_ratio
from caregrid.referral import catalogs as network_catalogs
from caregrid.registry import service as registry

CATALOGS = Path(str(resources.files("caregrid.data").joinpath("catalogs")))
HEADER = "entry,name_zh,name_en,basis\n"


def test_shipped_catalogs_are_valid_and_documented() -> None:
    readme = (CATALOGS / "README.md").read_text(encoding="utf-8")
    files = sorted(CATALOGS.glob("*.csv"))
    assert len(files) == 4
    for path in files:
        entries = catalogs.parse_csv(path.read_text(encoding="utf-8"), file=path.name)
        assert entries and path.name in readme
        assert {e.basis for e in entries} <= {"national-standard", "ours"}


def test_hypertension_range_holds_its_members() -> None:
    jinhua = policy.get("jinhua")
    first_visit = catalogs.profile_catalog(jinhua, "member_first_visit")
    assert first_visit is not None
    assert first_visit.match("I15.0") is not None and first_visit.match("I16") is None
    assert first_visit.match("E11.900") is not None  # clinical-edition code via its WHO stem
    assert first_visit.match("E10.9") is None


def test_bad_rows_are_all_reported_and_nothing_kept() -> None:
    text = HEADER + "I10-I15,高血压,,ours\nK94,坏码,,ours\nI15-I10,倒序,,ours\nI10-I15,重复,,ours\n"
    with pytest.raises(InvalidInput) as caught:
        catalogs.parse_csv(text, file="mine.csv")
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (3, "entry"),
        (4, "entry"),
        (5, "entry"),
    ]
    assert "backwards" in caught.value.problems[1].message
    assert "repeats line 2" in caught.value.problems[2].message


def test_wrong_header_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        catalogs.parse_csv("code,name\nI10,高血压\n", file="x.csv")
    assert caught.value.problems[0].field == "header"


def test_ratio_is_exact_and_bounded() -> None:
    assert as_ratio("1/3") == Fraction(1, 3)
    assert as_ratio(0.25) == Fraction(1, 4)
    for bad in ("1/0", "a/b", 1.5, True):
        with pytest.raises(ValueError):
            as_ratio(bad)


def test_profile_with_a_bad_ratio_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad-share.yaml"
    text = (Path(__file__).parents[1] / "data" / "test-rules.yaml").read_text(encoding="utf-8")
    path.write_text(
        text.replace("name: test-rules", "name: bad-share").replace(
            "- {effective: 2024-12-31, value: 0.20}", "- {effective: 2024-12-31, value: 1/0}"
        ),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        policy.load_file(path)
    assert any("ratio" in p.message and p.line for p in caught.value.problems)


def test_network_csv_replaces_the_profile_catalog(session: Session) -> None:
    network = registry.get_network(session, "jh-rmyy-wucheng")
    before = network_catalogs.catalog(session, network.id, "keep_in_city")
    assert before is not None and before.origin.startswith("profile jinhua")
    network_catalogs.replace(
        session,
        SYSTEM,
        network_code="jh-rmyy-wucheng",
        kind="keep_in_city",
        csv_text=HEADER + "C50,乳腺恶性肿瘤,Malignant neoplasm of breast,ours\n",
        file="jh-keep.csv",
    )
    after = network_catalogs.catalog(session, network.id, "keep_in_city")
    assert after is not None and [e.entry for e in after.entries] == ["C50"]
    assert after.origin == "network jh-rmyy-wucheng: jh-keep.csv"
    other = registry.get_network(session, "jh-zxyy-jindong")
    untouched = network_catalogs.catalog(session, other.id, "keep_in_city")
    assert untouched is not None and untouched.origin.startswith("profile jinhua")


def test_only_the_office_or_commission_replaces_a_catalog(session: Session) -> None:
    doctor = make_principal(session, "cat-doc", Role.CLINICIAN, institution="jh-rmyy")
    with pytest.raises(Forbidden):
        network_catalogs.replace(
            session, doctor, network_code="jh-rmyy-wucheng", kind="keep_in_city",
            csv_text=HEADER + "C50,乳腺,,ours\n", file="x.csv",
        )  # fmt: skip


def test_catalog_upload_over_http_is_all_or_nothing(client: TestClient, session: Session) -> None:
    office = make_principal(session, "cat-office", Role.NETWORK_ADMIN, network="jh-rmyy-wucheng")
    headers = {**bearer(session, office), "Content-Type": "text/csv"}
    url = "/api/networks/jh-rmyy-wucheng/catalogs/member_first_visit"
    bad = client.put(url, headers=headers, content=HEADER + "I10,高血压,,ours\nZZZ,坏,,ours\n")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    listed = client.get("/api/networks/jh-rmyy-wucheng/catalogs", headers=headers).json()
    first = next(c for c in listed if c["kind"] == "member_first_visit")
    assert first["origin"].startswith("profile jinhua") and len(first["entries"]) == 15
    good = client.put(url, headers=headers, content=HEADER + "I10,高血压,,ours\n")
    assert good.status_code == 200 and good.json()["entries"][0]["entry"] == "I10"
    wrong_kind = client.put(
        "/api/networks/jh-rmyy-wucheng/catalogs/favourites", headers=headers, content=HEADER
    )
    assert wrong_kind.status_code == 422
