"""Admission gate: no more requests inside the app than the database pool has connections.

Sync handlers run in anyio's thread pool, and one request takes several hops through it (the
dependency that resolves the caller opens the transaction, the handler runs in a later hop).
Without a gate, a burst fills every thread with requests blocked on pool checkout while the
requests that hold the connections wait for a thread: nothing moves until the pool times out.
With at most `db_pool_size` requests admitted, and at least as many threads, every admitted
request gets its connection and its threads; the rest wait here, in the event loop, where
waiting costs nothing, and get 503 with Retry-After if the wait passes `admission_wait_seconds`.
"""

from __future__ import annotations

import asyncio
import json
import math

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

# Served from memory without touching the database.
UNGATED_PREFIXES = ("/static/",)


class AdmissionGate:
    def __init__(self, app: ASGIApp, *, limit: int, wait_seconds: float) -> None:
        if limit < 1:
            raise ValueError("admission limit must be at least 1")
        self.app = app
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._slots: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        # Created inside the server's event loop, with the thread pool raised to match.
        if self._slots is None:
            limiter = to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, self.limit)
            self._slots = asyncio.Semaphore(self.limit)
        return self._slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNGATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        slots = self._semaphore()
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            await _busy(send, self.wait_seconds)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


async def _busy(send: Send, waited: float) -> None:
    """RFC 9457 problem: the server is saturated, try again shortly."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Server busy",
            "status": 503,
            "detail": f"no capacity freed up within {waited:g} s; retry shortly",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, math.ceil(waited / 10))).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
