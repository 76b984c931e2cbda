"""The auditors' audit-log viewer over real HTTP: filters by actor, action, person and local
days (the edges of the range included), 50 rows a page with a link to older ones, the seal
state and an on-demand verification; a malformed filter is 422 naming the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal

from caregrid import clock
from caregrid.auth import audit
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings

HTML = {"Accept": "text/html"}
# 2026-03-02 00:30 in Asia/Shanghai is 2026-03-01 16:30 UTC: the local day decides.
EARLY = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)


@pytest.fixture
def auditor(session: Session) -> dict[str, str]:
    return {**bearer(session, make_principal(session, "av-auditor", Role.AUDITOR)), **HTML}


def _write(session: Session, actor: str, action: str, subject: int, at: datetime) -> int:
    who = Principal(username=actor, roles=frozenset({Role.CLINICIAN}))
    with clock.frozen(at):
        return audit.record_for(session, who, action, subject, purpose="care").seq


def _seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', page)]


def test_filters_narrow_the_log_by_actor_action_person_and_local_day(
    session: Session, client: TestClient, auditor: dict[str, str]
) -> None:
    assert get_settings().timezone == "Asia/Shanghai"
    a = _write(session, "av-one", "referral.submit", 7001, EARLY)
    b = _write(session, "av-two", "referral.accept", 7002, EARLY + timedelta(days=1))
    c = _write(session, "av-one", "resident.read", 7001, EARLY + timedelta(days=2))

    def shown(query: str) -> set[int]:
        page = client.get(f"/audit?{query}", headers=auditor)
        assert page.status_code == 200, page.text
        return set(_seqs(page.text)) & {a, b, c}

    assert shown("actor=av-one") == {a, c}
    assert shown("action=referral.") == {a, b}
    assert shown("action=referral.accept") == {b}
    assert shown("person=7001") == {a, c}
    assert shown("since=2026-03-02&until=2026-03-02") == {a}  # 00:30 local on the 2nd
    assert shown("until=2026-03-01") == set()
    assert shown("since=2026-03-03&until=2026-03-04") == {b, c}
    assert shown("actor=av-one&since=2026-03-03") == {c}
    # The filters stay in the form.
    assert 'value="av-one"' in client.get("/audit?actor=av-one", headers=auditor).text


def test_fifty_rows_a_page_and_the_older_link_follows_the_filters(
    session: Session, client: TestClient, auditor: dict[str, str]
) -> None:
    seqs = [_write(session, "av-many", "chronic.visit", 7100 + i, EARLY) for i in range(55)]
    first = client.get("/audit?actor=av-many", headers=auditor).text
    assert _seqs(first) == sorted(seqs, reverse=True)[:50]
    older = re.search(r'id="older" href="([^"]+)"', first)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "actor=av-many" in link
    second = client.get(link, headers=auditor).text
    assert _seqs(second) == sorted(seqs, reverse=True)[50:]
    assert 'id="older"' not in second


def test_the_seal_state_and_the_verification_are_shown(
    session: Session, client: TestClient, auditor: dict[str, str]
) -> None:
    _write(session, "av-seal", "resident.read", 7200, EARLY)
    page = client.get("/audit", headers=auditor).text
    pending = int(re.search(r'data-pending="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert pending >= 1 and 'id="verify-link"' in page and 'id="verify-result"' not in page
    head = audit.seal(session, get_settings().audit_key_bytes, rows=100_000)
    assert head is not None
    sealed = client.get("/audit?verify=true", headers=auditor).text
    assert f'data-size="{head.size}"' in sealed and 'data-signature="ok"' in sealed
    assert 'data-pending="0"' in sealed
    assert 'id="verify-result" class="status pass" data-ok="true"' in sealed


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-02-30", "since"),
        ("since=2026-03-05&until=2026-03-04", "until"),
        ("person=0", "person"),
        ("person=99999999999", "person"),
        ("before=abc", "before"),
    ],
)
def test_a_malformed_filter_is_422_naming_the_field(
    client: TestClient, auditor: dict[str, str], query: str, field: str
) -> None:
    page = client.get(f"/audit?{query}", headers=auditor)
    assert page.status_code == 422 and field in page.text
    api = client.get(f"/api/audit?{query}", headers={"Authorization": auditor["Authorization"]})
    assert api.status_code == 422 and field in api.text


def test_only_auditors_see_the_viewer(session: Session, client: TestClient) -> None:
    doctor = make_principal(session, "av-doctor", Role.CLINICIAN, institution="jh-wc-chengdong")
    assert client.get("/audit", headers={**bearer(session, doctor), **HTML}).status_code == 403


def test_the_empty_fields_a_browser_sends_filter_nothing(
    session: Session, client: TestClient, auditor: dict[str, str]
) -> None:
    seq = _write(session, "av-blank", "referral.submit", 7300, EARLY)
    page = client.get("/audit?actor=av-blank&action=&person=&since=&until=", headers=auditor)
    assert page.status_code == 200 and _seqs(page.text) == [seq]
    assert client.get("/audit?person=abc", headers=auditor).status_code == 422
