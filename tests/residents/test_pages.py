"""The resident list over HTTP: searched by name, national-ID suffix and phone suffix, 50 a
page in record-number order; a bad suffix is refused naming the field; each page is one
audited read."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import bearer
from tests.world import NOW, World, add_patients, build

from caregrid import clock
from caregrid.auth.models import AuditEntry
from caregrid.residents import pages
from caregrid.residents import service as residents


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)


def _listed(client: TestClient, session: Session, world: World, query: str = "") -> list[int]:
    headers = {**bearer(session, world.community_doctor), "Accept": "text/html"}
    page = client.get(f"/residents{query}", headers=headers)
    assert page.status_code == 200, page.text[:300]
    return [int(i) for i in re.findall(r'<tr data-resident="(\d+)">', page.text)]


def test_the_list_searches_and_pages(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clock.frozen(NOW):
        made = add_patients(session, world, 3)  # 居民0, 居民1, 居民2
        every = _listed(client, session, world)
        assert set(made) <= set(every) and every == sorted(every)
        assert _listed(client, session, world, "?name=居民1") == [made[1]]
        assert _listed(client, session, world, "?name=居民&id_suffix=&phone_suffix=") == made
        assert _listed(client, session, world, "?name=%25") == []  # a character, not a pattern
        national_id = residents.record(session, made[2]).national_id
        assert made[2] in _listed(client, session, world, f"?id_suffix={national_id[-4:]}")
        assert _listed(client, session, world, "?phone_suffix=9999") == []

        monkeypatch.setattr(pages, "LIST_ROWS", 2)
        headers = {**bearer(session, world.community_doctor), "Accept": "text/html"}
        first = client.get("/residents?name=居民", headers=headers).text
        more = re.search(r'id="more" href="([^"]+)"', first)
        assert more and more.group(1).endswith(f"after={made[1]}")
        rest = client.get(more.group(1).replace("&amp;", "&"), headers=headers).text
        assert re.findall(r'<tr data-resident="(\d+)">', rest) == [str(made[2])]
        [read] = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "resident.list")
                .order_by(AuditEntry.seq.desc())
                .limit(1)
            )
        )
        assert read.detail == {"ids": [made[2]]} and read.purpose == "resident list page"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?id_suffix=12", "id_suffix"),
        ("?phone_suffix=12a4", "phone_suffix"),
        ("?name=" + "王" * 51, "name"),
    ],
)
def test_a_bad_search_names_its_field(
    client: TestClient, session: Session, world: World, query: str, field: str
) -> None:
    answer = client.get(f"/residents{query}", headers=bearer(session, world.community_doctor))
    assert answer.status_code == 422 and field in answer.text
