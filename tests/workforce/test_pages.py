"""The draws pages over HTTP: the office commits a draw from CSV lines (a short line named),
reveals it (a wrong seed refused at its field), reads the ranking in Chinese and in English;
nobody but the office and the commission opens them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.web.i18n import COOKIE
from caregrid.workforce import draw as algorithm
from caregrid.workforce import service as workforce
from tests.conftest import bearer
from tests.web.test_untranslated import ENGLISH, _visible
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
SEED = "page-test-seed-0123456789"
POSTS = "CHC-GP,jh-wc-chengdong,全科医生,1,1\nRMYY-CARD,jh-rmyy,心内科医师,1,2\n"
CANDIDATES = "E1,甲,90.00,RMYY-CARD\nE2,乙,90.00,RMYY-CARD;CHC-GP\nE3,丙,60.5,\n"


def _as(session: Session, who: Principal) -> dict[str, str]:
    return {**bearer(session, who), "Accept": "text/html"}


def _form(**changes: str) -> dict[str, str]:
    return {
        "name": "首次分配",
        "commitment": algorithm.commitment(SEED).upper(),  # hex in either case
        "posts": POSTS,
        "candidates": CANDIDATES,
        **changes,
    }


def test_the_office_commits_reveals_and_reads_the_draw(
    client: TestClient, session: Session, world: World
) -> None:
    office = _as(session, world.office)
    base = f"/networks/{NETWORK}/draws"
    with clock.frozen(NOW):
        short = client.post(base, headers=office, data=_form(posts="CHC-GP,jh-wc-chengdong,1\n"))
        assert short.status_code == 422
        assert 'id="error-draw-posts"' in short.text and "第 1 行有 3 个值" in short.text
        made = client.post(base, headers=office, data=_form(), follow_redirects=False)
        assert made.status_code == 303
        url = made.headers["location"]
        page = client.get(url, headers=office).text
        assert 'data-state="committed"' in page and 'id="reveal-draw"' in page
        draw_id = int(url.rsplit("/", 1)[1])
        wrong = client.post(
            f"{url}/reveal", headers=office, data={"version": "1", "seed": "not-the-seed-at-all"}
        )
        assert wrong.status_code == 422 and 'id="error-reveal-seed"' in wrong.text
        assert "与公布的承诺值不符" in wrong.text
        done = client.post(
            f"{url}/reveal",
            headers=office,
            data={"version": "1", "seed": SEED},
            follow_redirects=False,
        )
        assert done.status_code == 303
        shown = client.get(url, headers=office)
    text = _visible(shown.text)
    assert ENGLISH.findall(text) == [], ENGLISH.findall(text)
    row = workforce.get_draw(session, draw_id)
    ranked = [c.ref for c in workforce.draw_view(session, row).candidates]
    assert [r for r in ranked if r != "E3"] == sorted(
        ("E1", "E2"), key=lambda ref: algorithm._lottery(SEED, ref)
    )
    assert 'id="published-link"' in shown.text and SEED in shown.text
    client.cookies.set(COOKIE, "en")
    english = client.get(url, headers=office).text
    assert "Seed revealed, drawn" in english and "Lottery number" in english
    client.cookies.delete(COOKIE)
    doctor = _as(session, world.cardiologist)
    assert client.get(base, headers=doctor).status_code == 403
    assert client.get(url, headers=doctor).status_code == 403
