"""Navigation shows a role only what it may open: every link in the top bar answers 200 for
the account it is shown to."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer, make_principal

from caregrid.auth.roles import Role

HTML = {"Accept": "text/html"}
ACCOUNTS = [
    (Role.REGULATOR, None, None),
    (Role.NETWORK_ADMIN, "jh-rmyy", "jh-rmyy-wucheng"),
    (Role.INSTITUTION_ADMIN, "jh-wc-chengdong", None),
    (Role.CLINICIAN, "jh-rmyy", None),
    (Role.FAMILY_DOCTOR, "jh-wc-chengdong", None),
    (Role.AUDITOR, None, None),
]


@pytest.mark.parametrize(("role", "institution", "network"), ACCOUNTS)
def test_every_navigation_link_opens_for_the_role_it_is_shown_to(
    session: Session,
    client: TestClient,
    role: Role,
    institution: str | None,
    network: str | None,
) -> None:
    who = make_principal(
        session, f"nav-{role.value}", role, institution=institution, network=network
    )
    headers = {**bearer(session, who), **HTML}
    home = client.get("/", headers=headers)
    assert home.status_code == 200
    nav = re.search(r"<nav>(.*?)</nav>", home.text, re.S)
    assert nav is not None
    links = re.findall(r'href="([^"]+)"', nav.group(1))
    assert links
    refused = {link: client.get(link, headers=headers).status_code for link in links}
    assert {k: v for k, v in refused.items() if v != 200} == {}
