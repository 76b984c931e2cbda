"""The administrators' day in a real browser against the live server, in Chinese then in
English: the community centre's admin opens Accounts from the navigation, creates a doctor's
account, sees it confirmed, and disables it after ticking the confirmation; the auditor then
finds both actions by filtering the log on the admin's name, and verifies the log.
The accounts are committed with a unique tag and removed afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from tests.conftest import make_principal
from tests.e2e.conftest import WORLD_PASSWORD, sign_in, sign_out

from caregrid.auth.models import User
from caregrid.auth.roles import Role

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer


@pytest.fixture
def admins(engine: Engine, live_server: LiveServer) -> Iterator[dict[str, str]]:
    tag = secrets.token_hex(3)
    names = {"admin": f"e2e-unit-admin-{tag}", "auditor": f"e2e-auditor-{tag}"}
    with Session(engine) as session:
        make_principal(
            session, names["admin"], Role.INSTITUTION_ADMIN, institution="jh-wc-chengdong"
        )
        make_principal(session, names["auditor"], Role.AUDITOR)
        session.commit()
    names["new"] = f"e2e-new-doctor-{tag}"
    try:
        yield names
    finally:
        with Session(engine) as session:
            gone = [*names.values(), names["new"] + "-en"]
            session.execute(delete(User).where(User.username.in_(gone)))
            session.commit()


def _create_and_disable(page: Page, base: str, username: str, created: str, disabled: str) -> None:
    page.locator("#nav-users").click()
    expect(page).to_have_url(f"{base}/users")
    form = page.locator("#create-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=display_name]").fill("新来的医生")
    form.locator("input[name=password]").fill(WORLD_PASSWORD)
    form.locator("input[name=roles][value=clinician]").check()
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/users/{username}?created=1")
    expect(page.locator("#notice")).to_have_text(created)
    disable = page.locator("#active-form button[type=submit]")
    disable.click()  # the unticked confirmation stops the form in the browser
    expect(page).to_have_url(f"{base}/users/{username}?created=1")
    page.locator("#confirm-disable").check()
    disable.click()
    expect(page).to_have_url(f"{base}/users/{username}?done=disabled")
    expect(page.locator("#notice")).to_have_text(disabled)


def test_an_admin_creates_and_disables_an_account_and_the_auditor_finds_it(
    page: Page, live_server: LiveServer, admins: dict[str, str]
) -> None:
    base = live_server.base_url
    sign_in(page, base, admins["admin"], target="/users")
    expect(page.locator("#nav-users")).to_have_text("账号管理")
    _create_and_disable(
        page, base, admins["new"], "账号已创建。", "账号已停用，其所有登录会话已结束。"
    )
    expect(page.locator("#state")).to_have_text("已停用")
    page.locator("#lang-switch").click()
    expect(page).to_have_url(f"{base}/users/{admins['new']}?done=disabled")
    expect(page.locator("#state")).to_have_text("Account disabled")
    _create_and_disable(
        page, base, admins["new"] + "-en", "Account created.",
        "Account disabled; its sessions have ended.",
    )  # fmt: skip
    page.screenshot(path="var/e2e-admin-account.png", full_page=True)
    sign_out(page, base)

    sign_in(page, base, admins["auditor"], target="/audit")
    page.locator("#audit-filter input[name=actor]").fill(admins["admin"])
    page.locator("#audit-filter button[type=submit]").click()
    actions = page.locator("#audit-entries tbody tr td.mono")
    expect(actions).to_have_text(
        ["user.disable", "user.create", "user.disable", "user.create", "session.login"]
    )
    page.locator("#verify-link").click()
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "true")
    expect(page.locator("#verify-result")).to_contain_text("Log intact")
    expect(page.locator("#audit-filter input[name=actor]")).to_have_value(admins["admin"])
    page.screenshot(path="var/e2e-audit-viewer.png", full_page=True)
