"""Over real HTTP on a live server: what a handler writes is committed before its response.

A form post that redirects (sign-in) must never be followed by a page that cannot yet see what
the post wrote; a commit that ran after the response was sent made this fail intermittently.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from caregrid.auth import service as auth

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

ROUNDS = 40


def test_sign_in_then_at_once_the_home_page(live_server: LiveServer) -> None:
    failures = 0
    for _ in range(ROUNDS):
        with httpx.Client(base_url=live_server.base_url, timeout=10) as client:
            form = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
            assert token, "the sign-in form has no security token"
            signed_in = client.post(
                "/login",
                data={
                    "username": live_server.username,
                    "password": live_server.password,
                    "next": "/",
                    "csrf_token": token.group(1),
                },
            )
            assert signed_in.status_code == 303
            home = client.get("/", headers={"Accept": "text/html"})
            failures += home.status_code != 200
    assert failures == 0, f"{failures} of {ROUNDS} sign-ins were not yet visible to the next page"


def test_a_large_layout_import_does_not_stall_other_requests(
    live_server: LiveServer, engine: Engine
) -> None:
    """`POST /api/layouts` parses in a worker thread: /healthz answers while it runs."""
    with Session(engine) as session:
        user = auth.get_by_username(session, live_server.username)
        assert user is not None
        token = auth.issue_token(session, user, kind="api", hours=1)
        session.commit()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}
    with httpx.Client(base_url=live_server.base_url, timeout=60) as client:
        # Several megabytes that parse for a second or more and then fail the layout check.
        body = "items:\n" + "".join(
            f"  - {{code: X{i}, name: n{i}, beds: {i}}}\n" for i in range(120_000)
        )
        finished: dict[str, float] = {}

        def post() -> None:
            with httpx.Client(base_url=live_server.base_url, timeout=120) as poster:
                response = poster.post("/api/layouts", content=body, headers=headers)
                finished["import"] = time.perf_counter()
                finished["status"] = response.status_code

        worker = threading.Thread(target=post)
        worker.start()
        answered = 0
        while worker.is_alive() and answered < 200:
            assert client.get("/healthz").status_code == 200
            if worker.is_alive():
                answered += 1
            time.sleep(0.02)
        worker.join(timeout=120)
    assert finished.get("status") == 422  # not a layout: refused, nothing written
    assert answered >= 3, "/healthz did not answer while the import was being parsed"
