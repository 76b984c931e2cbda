"""The admission gate: requests beyond the limit wait in the event loop, and get 503 with
Retry-After (RFC 9457 problem) if the wait passes; a finished request frees its place."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from tests.races import run_async

from caregrid.web.admission import AdmissionGate


def test_a_request_beyond_the_limit_waits_then_gets_503_and_the_place_frees_up() -> None:
    release = asyncio.Event()
    served: list[str] = []

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/hold":
            await release.wait()
        served.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = AdmissionGate(slow_app, limit=1, wait_seconds=0.2)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            holder = asyncio.create_task(client.get("/hold"))
            await asyncio.sleep(0.05)  # the holder is inside
            refused = await client.get("/next")
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["retry-after"]) >= 1
            problem = json.loads(refused.content)
            assert problem["status"] == 503 and "0.2 s" in problem["detail"]
            assert served == []  # the refused request never reached the app

            static = await client.get("/static/app.css")  # served from memory: not gated
            assert static.status_code == 200

            release.set()
            assert (await holder).status_code == 200
            assert (await client.get("/next")).status_code == 200
            assert served == ["/static/app.css", "/hold", "/next"]

    run_async(scenario)


def test_a_limit_below_one_is_refused() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
        raise AssertionError

    with pytest.raises(ValueError, match="at least 1"):
        AdmissionGate(app, limit=0, wait_seconds=1)
