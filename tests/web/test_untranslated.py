"""No page of the demo shows English to a zh-CN reader: every role's pages reachable from its
desk (two links deep) are read as a browser would get them, and any run of three English
words in the visible text, a raw JSON body or a stack trace fails the test, naming the page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import bearer
from tests.world import NOW

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.cli import demo

pytestmark = pytest.mark.usefixtures("fresh_store")

ROLES = ("commission", "office", "unit-admin", "doctor", "family-doctor", "auditor")
SKIP = re.compile(r"/logout|/lang|\.(pdf|xlsx|csv|yaml|json)$|/export|/report|/static/|/api/")
ENGLISH = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z][a-z]+(?: [a-z]{2,}){2,}(?![A-Za-z0-9-])")
# Text the page marks as English: WHO's ICD-10 titles and the layouts' source notes, quoted
# as their authors wrote them.
QUOTED = re.compile(r'<(\w+)\b[^>]*\blang="en"[^>]*>.*?</\1>', re.S)
PAGES_PER_ROLE = 80


def _visible(page: str) -> str:
    body = page.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = QUOTED.sub(" ", body)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(body)


def _links(page: str) -> set[str]:
    return {
        html.unescape(link).split("#", 1)[0]
        for link in re.findall(r'href="(/[^"]*)"', page)
        if not SKIP.search(link.split("?", 1)[0])
    }


def _crawl(client: TestClient, headers: dict[str, str]) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    frontier = ["/"]
    for _depth in range(3):
        following: list[str] = []
        for url in frontier:
            if url in seen or len(seen) >= PAGES_PER_ROLE:
                continue
            seen.add(url)
            page = client.get(url, headers=headers)
            if page.headers.get("content-type", "").startswith("text/html"):
                yield url, page.text
                following += sorted(_links(page.text) - seen)
        frontier = following


def test_no_demo_page_shows_english_in_zh_cn(client: TestClient, session: Session) -> None:
    network = demo._demo_network(session)
    found: dict[str, list[str]] = {}
    with clock.frozen(NOW):
        demo.load_network(session, network)
        for username in ROLES:
            user = auth.get_by_username(session, username)
            assert user is not None
            headers = {**bearer(session, auth.principal_of(user)), "Accept": "text/html"}
            pages = 0
            for url, page in _crawl(client, headers):
                pages += 1
                text = _visible(page)
                hits = ENGLISH.findall(text)
                if '"type": "about:blank"' in page or "Traceback" in page:
                    hits.append("raw error body")
                if hits:
                    found[f"{username} {url}"] = sorted(set(hits))
            assert pages >= 3, username
    assert found == {}
