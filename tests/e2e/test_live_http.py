"""Over real HTTP on a live server: what a handler writes is committed before its response.

A form post that redirects (sign-in) must never be followed by a page that cannot yet see what
the post wrote; a commit that ran after the response was sent made this fail intermittently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

ROUNDS = 40


def test_sign_in_then_at_once_the_home_page(live_server: LiveServer) -> None:
    failures = 0
    for _ in range(ROUNDS):
        with httpx.Client(base_url=live_server.base_url, timeout=10) as client:
            signed_in = client.post(
                "/login",
                data={
                    "username": live_server.username,
                    "password": live_server.password,
                    "next": "/",
                },
            )
            assert signed_in.status_code == 303
            home = client.get("/", headers={"Accept": "text/html"})
            failures += home.status_code != 200
    assert failures == 0, f"{failures} of {ROUNDS} sign-ins were not yet visible to the next page"
