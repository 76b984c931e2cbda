"""Booking rush: concurrent HTTP clients race for the reserved slots of a lead hospital.

Starts the real app (uvicorn in a subprocess) on PostgreSQL, publishes sessions holding exactly
--slots reserved slots at the lead of the Jinhua urban group (jh-rmyy), open to its member
community centres now, and lets --clients concurrent HTTP clients (asyncio, one keep-alive
connection and bearer token each, accounts at three member centres) book them until none is
left or the time cap passes. SQL then counts live bookings per slot: `overbooked` must be 0.

`sql_ceiling_per_s`: the statements and round trips of one booking request, sent straight to
PostgreSQL with psycopg (no HTTP, no ORM) from as many connections as the clients, or as the
server allows, on a fresh set of slots; `http_to_sql_ratio` is what the
HTTP stack keeps of it. Smaller SQL races (--sql-sweep) show how the rate depends on the number
of connections. No phase opens more than max_connections - 10 connections, the bench's own
included (server workers x pool in the HTTP race, lowered to fit if need be; the SQL clients
after the server has stopped); the figures are printed. The HTTP races book each centre's
residents in rotation, enough of them that none holds more future reserved bookings than the
profile allows. Everything is set up through the real services on a scratch database
(caregrid_bench, dropped and recreated each run); the audit chain is verified at the end.

Prints its figures, the machine, where the CPU went and what PostgreSQL's backends were doing,
then one final JSON line. Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth).

    .venv/bin/python bench/booking_rush.py [--clients 200] [--slots 1000] [--workers 2]
        [--endpoint session|slot] [--time-cap 120] [--sql-sweep 2,8] [--app module:factory]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from psycopg.types.json import Json

if TYPE_CHECKING:
    from caregrid.auth.roles import Principal

DB_NAME = "caregrid_bench"
PG = "postgresql://postgres@127.0.0.1:5432"
SA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
LEAD = "jh-rmyy"
# Member community centres of the lead's urban group (jh-rmyy-wucheng) and their divisions.
CENTRES = {
    "jh-wc-chengdong": "330702-chengdong",
    "jh-wc-chengzhong": "330702-chengzhong",
    "jh-wc-chengxi": "330702-chengxi",
}
SESSION_CAPACITY = 200  # slots per published session (the service allows up to 500)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def configure(workdir: Path) -> None:
    """CAREGRID_* settings for this process and the server it starts (before any import)."""
    os.environ.update(
        {
            "CAREGRID_DATABASE_URL": SA_URL,
            "CAREGRID_ENVIRONMENT": "test",  # cheap argon2 for account creation
            "CAREGRID_ARGON2_TIME_COST": "1",
            "CAREGRID_ARGON2_MEMORY_KIB": "1024",
            "CAREGRID_DATA_DIR": str(workdir),
        }
    )


def recreate_database() -> int:
    """Drop and create the scratch database; returns PostgreSQL's max_connections."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
        row = conn.execute("SHOW max_connections").fetchone()
    assert row is not None
    return int(row[0])


# --- the world: layout, department, accounts, tokens, residents, sessions -----------------


@dataclass
class Booker:
    username: str
    user_id: int
    institution_id: int
    residents: list[int]


@dataclass
class World:
    department_id: int
    lead_id: int
    lead_admin: Principal
    bookers: list[Booker]
    clients: list[tuple[Booker, str]]  # one (account, bearer token) per client
    # Whose turn it is at each centre (institution id): the HTTP races book its residents in
    # rotation, so that no resident holds more than the profile's reserved bookings at once.
    turns: dict[int, Iterator[int]] = field(default_factory=dict)


RESERVED_CAP = "reserved_slot_bookings_per_resident_max"


def residents_needed(residents: int, bookings: int) -> tuple[int, int | None]:
    """(residents per centre, the cap): enough that `bookings` HTTP bookings, taken in
    rotation at one centre even if every one of them goes there, give no resident more than
    the Jinhua profile's future reserved bookings (`reserved_slot_bookings_per_resident_max`;
    the service would refuse the next with 409 and the race would count it as lost)."""
    from caregrid.policy import service as policy

    cap = policy.get("jinhua").parameter(RESERVED_CAP, datetime.now(SHANGHAI).date())
    per_centre = max(1, residents // len(CENTRES))
    if cap is not None:
        per_centre = max(per_centre, -(-bookings // int(cap)))
    return per_centre, None if cap is None else int(cap)


def build_world(clients: int, per_centre: int) -> World:
    from caregrid.auth import service as auth
    from caregrid.auth.roles import SYSTEM, Role
    from caregrid.cli.demo import shipped_layouts
    from caregrid.db.migrate import upgrade
    from caregrid.db.session import get_engine, session_scope
    from caregrid.registry import importer
    from caregrid.registry import service as registry
    from caregrid.residents import national_id
    from caregrid.residents import service as resident_service
    from caregrid.residents.schemas import ResidentIn

    upgrade(get_engine())
    jinhua = next(p for p in shipped_layouts() if p.stem == "jinhua")
    with session_scope() as session:
        importer.apply(session, importer.load(jinhua), actor=SYSTEM, purpose="benchmark")

    def account(session: Any, username: str, role: Role, institution_id: int) -> Any:
        return auth.create_user(
            session,
            SYSTEM,
            username=username,
            display_name=username,
            password="correct horse battery staple",
            roles={role},
            institution_id=institution_id,
            network_id=None,
        )

    with session_scope() as session:
        lead_id = registry.require_institution(session, LEAD).id
        department = registry.create_department(
            session, SYSTEM, institution_code=LEAD, code="card", name_zh="心血管内科"
        )
        lead_admin = auth.principal_of(
            account(session, "rmyy-admin", Role.INSTITUTION_ADMIN, lead_id)
        )
        bookers: list[Booker] = []
        born = datetime(1940, 1, 1).date()
        for c, (code, division) in enumerate(CENTRES.items()):
            centre_id = registry.require_institution(session, code).id
            users = [
                account(session, f"fd-{code}", Role.FAMILY_DOCTOR, centre_id),
                account(session, f"dr-{code}", Role.CLINICIAN, centre_id),
            ]
            people = []
            for i in range(per_centre):
                body = f"330702{born + timedelta(days=c * per_centre + i):%Y%m%d}{c:02d}{i % 2 + 1}"
                people.append(
                    resident_service.create(
                        session,
                        auth.principal_of(users[0]),
                        ResidentIn(
                            national_id=body + national_id.check_digit(body),
                            name=f"居民{c}-{i}",
                            address_division_code=division,
                            registered_institution_code=code,
                        ),
                    ).id
                )
            bookers += [Booker(u.username, u.id, centre_id, people) for u in users]
        pairs: list[tuple[Booker, str]] = []
        for i in range(clients):
            booker = bookers[i % len(bookers)]
            user = auth.get_by_username(session, booker.username)
            assert user is not None
            pairs.append((booker, auth.issue_token(session, user, kind="api", hours=2)))
    turns = {b.institution_id: itertools.cycle(b.residents) for b in bookers}
    return World(department.id, lead_id, lead_admin, bookers, pairs, turns)


def publish(world: World, slots: int, phase: int) -> dict[int, list[int]]:
    """Sessions holding exactly `slots` reserved slots, open to member units now.

    Starts 2..n days ahead (the Jinhua profile opens reserved slots to members 14 days ahead at
    local midnight, and returns them to the public pool 24 h before the start); each phase gets
    its own hours so that the phases never share a slot.
    """
    from caregrid.db.session import session_scope
    from caregrid.scheduling import service as scheduling

    today = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    out: dict[int, list[int]] = {}
    with session_scope() as session:
        day = 0
        while slots > 0:
            capacity = min(SESSION_CAPACITY, slots)
            starts = today + timedelta(days=2 + day, hours=7 + 2 * phase)
            clinic = scheduling.publish_session(
                session,
                world.lead_admin,
                department_id=world.department_id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                capacity=capacity,
                reserved_count=capacity,
            )
            out[clinic.id] = [s.id for s in clinic.slots]
            slots -= capacity
            day += 1
    return out


# --- CPU accounting (where the two cores went) -----------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_snapshot(server_pid: int | None) -> dict[str, float]:
    """CPU seconds so far of the bench (with its client processes), the server (with its
    workers) and PostgreSQL (every backend alive now)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    bench, server, me = own.ru_utime + own.ru_stime, 0.0, os.getpid()
    for entry in Path("/proc").iterdir():
        stat = _proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is None:
            continue
        if server_pid is not None and server_pid in (int(entry.name), stat[0]):
            server += stat[1]
        elif stat[0] == me:
            bench += stat[1]
    postgres = sum(stat[1] for pid in _pids_named("postgres") if (stat := _proc_stat(pid)))
    # The whole machine (other services included): user, nice, system, irq, softirq, steal.
    jiffies = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    machine = sum(int(jiffies[i]) for i in (0, 1, 2, 5, 6, 7)) / TICK
    return {"bench": bench, "server": server, "postgres": postgres, "machine": machine}


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    # Backends that exited during the phase took their CPU time with them: a lower bound.
    return {k: round(max(0.0, after[k] - before[k]), 2) for k in before}


# --- the HTTP race ------------------------------------------------------------------------


@dataclass
class Race:
    booked: int = 0
    conflicts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    conflict_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    waits: dict[str, object] = field(default_factory=dict)


class OpenSlots:
    """The slots not yet known to be taken: what a client sees when it refreshes the list."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = list(ids)
        self.at = {s: i for i, s in enumerate(self.ids)}

    def pick(self) -> int | None:
        return random.choice(self.ids) if self.ids else None

    def discard(self, slot_id: int) -> None:
        i = self.at.pop(slot_id, None)
        if i is None:
            return
        last = self.ids.pop()
        if i < len(self.ids):
            self.ids[i] = last
            self.at[last] = i


class HttpConnection:
    """One keep-alive HTTP/1.1 connection with the least client work per request.

    (httpx.AsyncClient with 200 pooled connections spent about 20 ms of client CPU per booking
    on a 2-core machine, taken from the cores the server needs; this spends under 1 ms.)
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, token: str | None, body: bytes) -> int:
        """Send one request; return the status code (the body is read and dropped)."""
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            status = int(head[9:12])
            length = re.search(r"\r\ncontent-length: *(\d+)", head)
            if length is not None:
                await reader.readexactly(int(length.group(1)))
            elif "transfer-encoding: chunked" in head:
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            if "\r\nconnection: close" in head:
                self.close()
            return status
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def http_race(
    port: int,
    clients: list[tuple[Booker, str]],
    turns: dict[int, Iterator[int]],
    sessions: dict[int, list[int]],
    endpoint: str,
    time_cap: float,
    server_pid: int,
) -> Race:
    """Every client books until no slot is left (or the time cap); one connection each."""
    total = sum(len(v) for v in sessions.values())
    race = Race()
    open_slots = OpenSlots([s for ids in sessions.values() for s in ids])
    exhausted: set[int] = set()  # sessions whose server-side booking answered 409
    connections = [HttpConnection(port) for _ in clients]
    # Open every keep-alive connection before the start (not part of the race).
    opened = await asyncio.gather(
        *(asyncio.wait_for(c.request("GET", "/healthz", None, b""), 60) for c in connections),
        return_exceptions=True,
    )
    for failed in [o for o in opened if isinstance(o, BaseException)]:
        race.errors[f"connect: {type(failed).__name__}"] += 1
    start = asyncio.Event()
    deadline = 0.0

    async def client(connection: HttpConnection, booker: Booker, token: str) -> None:
        slot = 0
        await start.wait()
        while race.booked < total and time.perf_counter() < deadline:
            if sum(race.errors.values()) > 10 * total:
                return
            if endpoint == "slot":
                picked = open_slots.pick()
                if picked is None:
                    return
                slot = picked
                path = f"/api/slots/{slot}/bookings"
            else:
                candidates = [s for s in sessions if s not in exhausted]
                if not candidates:
                    # Every session said "none left for you now"; bookings still in flight
                    # elsewhere may yet roll back, so look again shortly.
                    await asyncio.sleep(0.05)
                    exhausted.clear()
                    continue
                path = f"/api/sessions/{random.choice(candidates)}/bookings"
            body = json.dumps({"resident_id": next(turns[booker.institution_id])}).encode()
            t0 = time.perf_counter()
            try:
                # A request may outlive the cap by 5 s at most (then it counts as an error).
                wait = min(60.0, max(1.0, deadline + 5 - t0))
                status = await asyncio.wait_for(connection.request("POST", path, token, body), wait)
            except (
                TimeoutError,
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as exc:
                race.errors[type(exc).__name__] += 1
                continue
            ms = (time.perf_counter() - t0) * 1000
            if status == 201:
                race.booked += 1
                race.latencies_ms.append(ms)
                if endpoint == "slot":
                    open_slots.discard(slot)
            elif status == 409:
                race.conflicts += 1
                race.conflict_ms.append(ms)
                if endpoint == "slot":
                    open_slots.discard(slot)
                else:
                    exhausted.add(int(path.split("/")[3]))
            else:
                race.errors[f"HTTP {status}"] += 1

    tasks = [
        asyncio.create_task(client(c, b, t)) for c, (b, t) in zip(connections, clients, strict=True)
    ]
    await asyncio.sleep(0.2)
    before = cpu_snapshot(server_pid)
    with Sampler() as sampler:
        t0 = time.perf_counter()
        deadline = t0 + time_cap
        start.set()
        await asyncio.gather(*tasks)
        race.wall_s = time.perf_counter() - t0
    race.cpu = cpu_delta(before, cpu_snapshot(server_pid))
    race.waits = sampler.summary()
    for connection in connections:
        connection.close()
    return race


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, workers: int, app: str, logfile: Path) -> subprocess.Popen[bytes]:
    """uvicorn in its own process group (so that stopping it reaches its workers too)."""
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with logfile.open("wb") as log:
        server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=os.environ, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited ({server.returncode}); see {logfile}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit(f"server did not answer /healthz within 60 s; see {logfile}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop uvicorn and its workers (SIGKILL when requests hang), then wait until PostgreSQL
    has let go of their backends (those stuck on a lock end when the holder's client dies)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            time.sleep(0.5)  # workers leave after the supervisor; make sure they did
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
        break
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for _ in range(100):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
            ).fetchone()
            if row is None or row[0] == 0:
                return
            time.sleep(0.1)
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
        )


def server_log_digest(logfile: Path) -> list[str]:
    """The most frequent exceptions the server logged (the last line of each traceback)."""
    counts: Counter[str] = Counter()
    lines = logfile.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            if j < len(lines):
                counts[lines[j].split(" (Background on this error")[0][:160]] += 1
    return [f"{n} x {text}" for text, n in counts.most_common(3)]


# --- the SQL ceiling: the same transaction, straight to PostgreSQL --------------------------

# The statements the HTTP request's unit of work issues (traced from the app through
# SQLAlchemy's before_cursor_execute; deps.current_principal, then scheduling.book or
# scheduling.book_any, then audit.record), in the same order and round trips.
TOKEN = (  # token, account and roles in one statement (auth.service.resolve_token)
    "SELECT t.revoked, t.expires_at, u.id, u.username, u.institution_id, u.network_id, "
    "u.display_name, u.active, r.role FROM auth_token t JOIN app_user u ON u.id = t.user_id "
    "LEFT JOIN user_role r ON r.user_id = u.id WHERE t.token_hash = %s AND t.kind = 'api'"
)
SLOT = "SELECT id, session_id, position, starts_at, reserved FROM slot WHERE id = %s"
HOME = "SELECT registered_institution_id FROM resident WHERE id = %s"
CLINIC = (
    "SELECT id, institution_id, department_id, practitioner_id, starts_at, ends_at, capacity, "
    "reserved_count, reserved_share_target, opens_to_members_at, returns_to_public_at, "
    "published_at, published_by FROM clinic_session WHERE id = %s"
)
MEMBER = (
    "SELECT count(*) FROM membership WHERE institution_id = %s AND network_id IN "
    "(SELECT network_id FROM membership WHERE institution_id = %s)"
)
LIVE = "SELECT slot_id FROM booking WHERE slot_id IN (%s) AND status != 'cancelled'"
FREE = (
    "SELECT id FROM slot WHERE session_id = %s AND starts_at > %s AND NOT (EXISTS (SELECT * "
    "FROM booking WHERE booking.slot_id = slot.id AND booking.status != 'cancelled')) "
    "LIMIT 1 FOR UPDATE OF slot SKIP LOCKED"
)
# book_any picks the first free slot and books it in one statement (scheduling.slots).
PICK_AND_BOOK = (
    "INSERT INTO booking (slot_id, pool, resident_id, referral_id, booked_by, "
    "booked_by_institution_id, status, created_at, updated_at) SELECT slot.id, CASE WHEN "
    "slot.reserved THEN 'reserved' ELSE 'public' END, %s, NULL, %s, %s, 'booked', %s, %s "
    "FROM slot WHERE session_id = %s AND starts_at > %s AND NOT (EXISTS (SELECT * FROM booking "
    "WHERE booking.slot_id = slot.id AND booking.status != 'cancelled')) "
    "ORDER BY reserved DESC, position LIMIT 1 FOR UPDATE OF slot SKIP LOCKED "
    "ON CONFLICT DO NOTHING RETURNING id, slot_id"
)
# The cap on a resident's future reserved bookings (added by hand after the service): the
# host's placements for the profile, the per-resident advisory lock, the count.
PLACEMENTS = (
    "SELECT membership.network_id, membership.role, network.profile FROM membership "
    "JOIN network ON network.id = membership.network_id WHERE membership.institution_id = %s "
    "ORDER BY membership.role <> 'lead', network.code"
)
RESIDENT_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
RESIDENT_LOCK_CLASS = 0x43475242  # caregrid.scheduling.slots.RESIDENT_BOOKING_LOCK
HELD = (
    "SELECT count(*) FROM booking JOIN slot ON slot.id = booking.slot_id "
    "WHERE booking.resident_id = %s AND booking.pool = 'reserved' "
    "AND booking.status = 'booked' AND slot.starts_at > %s"
)
INSERT_BOOKING = (
    "INSERT INTO booking (slot_id, resident_id, referral_id, booked_by, booked_by_institution_id,"
    " pool, status, created_at, updated_at) VALUES (%s, %s, NULL, %s, %s, %s, 'booked', %s, %s) "
    "RETURNING id"
)
INSERT_AUDIT = (
    "INSERT INTO audit_log (at, actor, actor_id, action, subject_type, subject_id, purpose,"
    " detail, hash) VALUES (%s, %s, %s, 'booking.create', 'resident', %s, "
    "'booking', %s::json, %s) RETURNING seq"
)
# audit.record on PostgreSQL: the entry and its pending marker in one statement.
AUDIT_AND_PENDING = (
    "WITH written AS (" + INSERT_AUDIT + ") INSERT INTO audit_pending (seq) "
    "SELECT seq FROM written RETURNING seq"
)


class Taken(Exception):
    """The slot (or every slot of the session) went to someone else: HTTP 409."""


def sql_booking(
    conn: psycopg.Connection[Any], token: str, resident_id: int, target: int, endpoint: str
) -> int:
    """One booking, as the service does it; returns the slot id. Raises Taken on a lost race."""
    from caregrid.auth.audit import row_hash

    now = datetime.now(UTC)
    with conn.transaction():
        cur = conn.cursor()
        cur.execute("SELECT 1")  # the pool's pre-ping on checkout (pool_pre_ping=True)
        rows = cur.execute(TOKEN, (hashlib.sha256(token.encode()).hexdigest(),)).fetchall()
        assert rows and not rows[0][0] and (rows[0][1] is None or rows[0][1] > now)
        user_id, username, institution_id = rows[0][2], rows[0][3], rows[0][4]
        stamp = datetime.now(UTC)
        if endpoint == "slot":
            slot = cur.execute(SLOT, (target,)).fetchone()
            assert slot is not None
            home = cur.execute(HOME, (resident_id,)).fetchone()
            assert home is not None and home[0] == institution_id  # care relationship
            clinic = cur.execute(CLINIC, (slot[1],)).fetchone()
            assert clinic is not None
            member = cur.execute(MEMBER, (clinic[1], institution_id)).fetchone()
            assert member is not None and member[0] > 0
            if cur.execute(LIVE, (slot[0],)).fetchone() is not None or slot[3] <= now:
                raise Taken
            reserved_cap(cur, clinic[1], resident_id, now)
            try:
                with conn.transaction():  # the service's SAVEPOINT around the insert
                    cur.execute(
                        INSERT_BOOKING,
                        (slot[0], resident_id, username, institution_id, "reserved", stamp, stamp),
                    )
            except psycopg.errors.UniqueViolation:
                raise Taken from None
            slot_id: int = slot[0]
        else:
            clinic = cur.execute(CLINIC, (target,)).fetchone()
            assert clinic is not None
            home = cur.execute(HOME, (resident_id,)).fetchone()
            assert home is not None and home[0] == institution_id
            member = cur.execute(MEMBER, (clinic[1], institution_id)).fetchone()
            assert member is not None and member[0] > 0
            reserved_cap(cur, clinic[1], resident_id, now)
            while True:
                booked = cur.execute(
                    PICK_AND_BOOK,
                    (resident_id, username, institution_id, stamp, stamp, target, now),
                ).fetchone()
                if booked is not None:
                    slot_id = booked[1]
                    break
                if cur.execute(FREE, (target, now)).fetchone() is None:
                    raise Taken
        detail = {"slot": slot_id, "pool": "reserved", "referral": None}
        at = datetime.now(UTC)
        digest = row_hash(
            at, username, user_id, "booking.create", "resident", str(resident_id), "booking",
            detail,
        )  # fmt: skip
        seq = cur.execute(
            AUDIT_AND_PENDING, (at, username, user_id, str(resident_id), Json(detail), digest)
        ).fetchone()
        assert seq is not None
        return slot_id


def reserved_cap(cur: psycopg.Cursor[Any], host_id: int, resident_id: int, now: datetime) -> None:
    """The cap's statements, as the service sends them before a reserved booking. The ceiling
    books random residents and does not refuse on the count: it measures the statements."""
    cur.execute(PLACEMENTS, (host_id,)).fetchall()
    cur.execute(RESIDENT_LOCK, (RESIDENT_LOCK_CLASS, resident_id))
    cur.execute(HELD, (resident_id, now)).fetchone()


@dataclass
class Shared:
    """What the ceiling's worker processes share: slots and sessions known taken, the count."""

    slot_ids: list[int]
    session_ids: list[int]
    taken: Any  # multiprocessing Array of 0/1 per slot id
    exhausted: Any  # multiprocessing Array of 0/1 per session
    booked: Any  # multiprocessing Value
    deadline: Any  # multiprocessing Value: perf_counter() at which to stop


def _sql_worker(shared: Shared, booker: Booker, token: str, endpoint: str, sync: Any) -> None:
    """One client process with one connection: book until nothing is left; report figures."""
    ready, go, out, done = sync
    random.seed()
    total = len(shared.slot_ids)
    position = {s: i for i, s in enumerate(shared.slot_ids)}
    race = Race()
    conn: psycopg.Connection[Any] | None = None
    try:
        conn = psycopg.connect(f"{PG}/{DB_NAME}")
    except psycopg.Error as exc:
        race.errors[f"connect: {type(exc).__name__}"] += 1
    try:
        ready.wait(timeout=120)
    except threading.BrokenBarrierError:
        race.errors["start: BrokenBarrierError"] += 1
    go.wait(timeout=120)
    while conn is not None and shared.booked.value < total:
        if time.perf_counter() >= shared.deadline.value or sum(race.errors.values()) > total:
            break
        if endpoint == "slot":
            free = [i for i in random.sample(range(total), min(total, 32)) if not shared.taken[i]]
            if not free:
                free = [i for i in range(total) if not shared.taken[i]]
                if not free:
                    break
            target = shared.slot_ids[random.choice(free)]
        else:
            open_ = [i for i in range(len(shared.session_ids)) if not shared.exhausted[i]]
            if not open_:
                time.sleep(0.05)  # in-flight bookings elsewhere may yet roll back
                for i in range(len(shared.session_ids)):
                    shared.exhausted[i] = 0
                continue
            target = shared.session_ids[random.choice(open_)]
        t0 = time.perf_counter()
        try:
            slot_id = sql_booking(conn, token, random.choice(booker.residents), target, endpoint)
        except Taken:
            race.conflicts += 1
            race.conflict_ms.append((time.perf_counter() - t0) * 1000)
            if endpoint == "slot":
                shared.taken[position[target]] = 1
            else:
                shared.exhausted[shared.session_ids.index(target)] = 1
            continue
        except Exception as exc:  # counted and reported
            race.errors[type(exc).__name__] += 1
            continue
        race.latencies_ms.append((time.perf_counter() - t0) * 1000)
        race.booked += 1
        shared.taken[position[slot_id]] = 1
        with shared.booked.get_lock():
            shared.booked.value += 1
    out.put(race)
    done.wait(timeout=600)  # keep the backend (and its CPU time) until the parent's snapshot
    if conn is not None:
        conn.close()


def sql_race(
    clients: list[tuple[Booker, str]],
    sessions: dict[int, list[int]],
    endpoint: str,
    connections: int,
    time_cap: float,
) -> Race:
    """`connections` client processes (forked, so no shared GIL), one PostgreSQL connection
    each, book until no slot is left. The clock starts once every connection is open."""
    ctx = multiprocessing.get_context("fork")
    slot_ids = [s for ids in sessions.values() for s in ids]
    shared = Shared(
        slot_ids=slot_ids,
        session_ids=list(sessions),
        taken=ctx.Array("b", len(slot_ids), lock=False),
        exhausted=ctx.Array("b", len(sessions), lock=False),
        booked=ctx.Value("i", 0),
        deadline=ctx.Value("d", 0.0, lock=False),
    )
    ready, go, out, done = ctx.Barrier(connections + 1), ctx.Event(), ctx.Queue(), ctx.Event()
    gc.freeze()  # children would otherwise copy every page their collector touches
    procs = [
        ctx.Process(
            target=_sql_worker,
            args=(shared, *clients[i % len(clients)], endpoint, (ready, go, out, done)),
            daemon=True,
        )
        for i in range(connections)
    ]
    for proc in procs:
        proc.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=120)
    before = cpu_snapshot(None)
    with Sampler() as sampler:
        t0 = time.perf_counter()
        shared.deadline.value = t0 + time_cap
        go.set()
        parts = [out.get(timeout=time_cap + 180) for _ in procs]
        wall = time.perf_counter() - t0
    after = cpu_snapshot(None)
    done.set()
    gc.unfreeze()
    for proc in procs:
        proc.join(timeout=10)
    race = Race(wall_s=wall, cpu=cpu_delta(before, after), waits=sampler.summary())
    for part in parts:
        race.booked += part.booked
        race.conflicts += part.conflicts
        race.errors.update(part.errors)
        race.latencies_ms += part.latencies_ms
        race.conflict_ms += part.conflict_ms
    return race


# --- what PostgreSQL's backends were doing ----------------------------------------------------

SAMPLE = (
    "SELECT state, coalesce(wait_event_type, ''), coalesce(wait_event, '') "
    "FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
    "AND pid <> pg_backend_pid()"
)


def _kind(state: str, wait_type: str, wait: str) -> str:
    if state == "idle":
        return "idle (between transactions)"
    if state.startswith("idle in transaction"):
        return "idle in transaction (waiting for the app)"
    if wait_type == "Lock":
        return f"waiting for a row lock ({wait})"
    if wait.startswith("WAL"):
        return f"writing WAL ({wait})"
    if wait_type:
        return f"{wait_type}:{wait}"
    return "running"


class Sampler:
    """Samples pg_stat_activity every 50 ms in a thread: what the benchmark's backends are
    doing. (pg_blocking_pids would name the lock holder, but it takes every lock-manager
    partition and slowed the race it watched.)"""

    def __init__(self) -> None:
        self.backends: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            while not self._stop.wait(0.05):
                rows = conn.execute(SAMPLE, (DB_NAME,)).fetchall()
                self.samples += 1
                self.backends.update(_kind(state or "", wt, w) for state, wt, w in rows)

    def summary(self) -> dict[str, object]:
        total = sum(self.backends.values()) or 1
        return {
            "samples": self.samples,
            "backends_pct": {k: round(100 * v / total, 1) for k, v in self.backends.most_common(6)},
        }


# --- checks and figures ---------------------------------------------------------------------


def verify(slot_ids: list[int]) -> tuple[int, int]:
    """(live bookings on these slots, extra live bookings on any slot: must be 0)."""
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        live = conn.execute(
            "SELECT count(*) FROM booking WHERE status <> 'cancelled' AND slot_id = ANY(%s)",
            (slot_ids,),
        ).fetchone()
        extra = conn.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT slot_id, count(*) AS n FROM booking "
            "WHERE status <> 'cancelled' GROUP BY slot_id HAVING count(*) > 1) AS twice"
        ).fetchone()
    assert live is not None and extra is not None
    return int(live[0]), int(extra[0])


def audit_chain_ok() -> tuple[bool, int]:
    """Seal what the server and the ceiling appended (the server here runs no sealer), then
    verify every row against its signed tree head."""
    from caregrid.auth import audit
    from caregrid.auth.sealer import seal_all
    from caregrid.config import get_settings
    from caregrid.db.session import session_scope

    key = get_settings().audit_key_bytes
    seal_all(key, rows=get_settings().audit_seal_rows, head_file=None)
    with session_scope() as session:
        result = audit.verify(session, key)
    return result.ok, result.rows


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def describe(name: str, race: Race, live: int) -> str:
    rate = race.booked / race.wall_s if race.wall_s else 0.0
    errors = ", ".join(f"{k} x{v}" for k, v in race.errors.items()) or "none"
    ms = race.latencies_ms
    return "\n".join(
        [
            f"{name}: {race.booked} booked ({live} live in the database), {race.conflicts} "
            f"lost races (409), errors: {errors}",
            f"  {race.wall_s:.2f} s wall, {rate:.1f} bookings/s; latency of a booking: p50 "
            f"{percentile(ms, 50):.1f} ms, p90 {percentile(ms, 90):.1f} ms, p99 "
            f"{percentile(ms, 99):.1f} ms, max {max(ms, default=0):.1f} ms; of a 409: p50 "
            f"{percentile(race.conflict_ms, 50):.1f} ms",
            f"  CPU seconds meanwhile: {race.cpu} "
            f"(available: {(os.cpu_count() or 1) * race.wall_s:.1f})",
            f"  PostgreSQL backends (% of {race.waits.get('samples')} samples): "
            f"{race.waits.get('backends_pct')}",
        ]
    )


# --- connections: never more than the server allows ---------------------------------------

# Connections the bench opens itself while a race runs: the pg_stat_activity sampler. (Its
# engine is disposed before the races; setup, checks and the audit verify run between them.)
OWN_CONNECTIONS = 1
HEADROOM = 10  # left to PostgreSQL's superuser slots, psql and whatever else runs on it


@dataclass(frozen=True)
class Budget:
    """How many connections each phase opens, all within max_connections - HEADROOM. The
    phases run one after another (the server is stopped, and its backends gone, before the
    SQL races), so each phase has the whole budget."""

    max_connections: int
    limit: int
    workers: int
    pool: int  # per server worker (CAREGRID_DB_POOL_SIZE; fixed, no overflow)
    pool_lowered_from: int | None
    sql: int
    sweep: list[int]

    @property
    def server(self) -> int:
        return self.workers * self.pool

    @property
    def peak(self) -> int:
        return OWN_CONNECTIONS + max([self.server, self.sql, *self.sweep])

    def describe(self) -> str:
        lowered = (
            f" (lowered from {self.pool_lowered_from} to fit)" if self.pool_lowered_from else ""
        )
        sweep = ", ".join(f"{n} + {OWN_CONNECTIONS}" for n in self.sweep) or "none"
        return (
            f"connections: max_connections {self.max_connections}, budget {self.limit} "
            f"(max_connections - {HEADROOM}); HTTP race: {self.workers} server workers x pool "
            f"{self.pool}{lowered} = {self.server} + bench {OWN_CONNECTIONS} = "
            f"{self.server + OWN_CONNECTIONS}; SQL ceiling: {self.sql} clients + bench "
            f"{OWN_CONNECTIONS} = {self.sql + OWN_CONNECTIONS}; SQL sweep: {sweep}; peak "
            f"{self.peak} <= {self.limit}"
        )


def connection_budget(max_connections: int, workers: int, clients: int, sweep: list[int]) -> Budget:
    """Size every phase to max_connections - HEADROOM, counting the bench's own connection. A
    server pool that would not fit is lowered for the server process (CAREGRID_DB_POOL_SIZE in
    the environment it inherits); SQL races get at most what is left."""
    from caregrid.config import get_settings

    limit = max_connections - HEADROOM
    room = limit - OWN_CONNECTIONS
    if room < workers:
        raise SystemExit(
            f"max_connections {max_connections} leaves {room} connections after the headroom "
            f"of {HEADROOM} and the bench's own; {workers} server workers need one each"
        )
    pool = get_settings().db_pool_size
    lowered = None
    if workers * pool > room:
        lowered, pool = pool, room // workers
        os.environ["CAREGRID_DB_POOL_SIZE"] = str(pool)
    budget = Budget(
        max_connections=max_connections,
        limit=limit,
        workers=workers,
        pool=pool,
        pool_lowered_from=lowered,
        sql=min(clients, room),
        sweep=[min(n, room) for n in sweep],
    )
    assert budget.peak <= limit, budget
    return budget


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--residents", type=int, default=999, help="spread over 3 centres")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--endpoint",
        choices=("slot", "session"),
        default="session",
        help="slot: POST /api/slots/{id}/bookings on a random slot not yet known taken;\n"
        "session: POST /api/sessions/{id}/bookings (the server picks, SKIP LOCKED)",
    )
    parser.add_argument(
        "--app",
        default="caregrid.web.app:create_app",
        help="the ASGI app factory uvicorn starts (to try a variant of the app)",
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="slots booked by 20 clients before the race"
    )
    parser.add_argument("--time-cap", type=float, default=120.0, help="seconds per race")
    parser.add_argument(
        "--sql-sweep",
        default="2,8",
        help="further SQL races with these numbers of connections ('' for none)",
    )
    args = parser.parse_args()
    sweep = [int(n) for n in args.sql_sweep.split(",") if n.strip()]

    workdir = Path(tempfile.mkdtemp(prefix="caregrid-rush-"))
    configure(workdir)
    max_connections = recreate_database()
    budget = connection_budget(max_connections, args.workers, args.clients, sweep)
    connections = budget.sql
    sweep = budget.sweep
    t0 = time.perf_counter()
    per_centre, cap = residents_needed(args.residents, args.warmup + args.slots)
    world = build_world(args.clients, per_centre)
    warm = publish(world, args.warmup, phase=0) if args.warmup else {}
    rush = publish(world, args.slots, phase=1)
    ceiling_slots = publish(world, args.slots, phase=2)
    sweep_slots = [publish(world, args.slots, phase=3 + i) for i in range(len(sweep))]
    setup_s = time.perf_counter() - t0
    from caregrid.db.session import get_engine

    get_engine().dispose()  # the bench holds no connection during the races

    port = free_port()
    logfile = workdir / "server.log"
    server = start_server(port, args.workers, args.app, logfile)
    try:
        if warm:  # compiled-statement caches, prepared statements, worker threads
            warmers = world.clients[: min(20, len(world.clients))]
            asyncio.run(http_race(port, warmers, world.turns, warm, args.endpoint, 30, server.pid))
        race = asyncio.run(
            http_race(
                port, world.clients, world.turns, rush, args.endpoint, args.time_cap, server.pid
            )
        )
    finally:
        stop_server(server)
    bookings, overbooked = verify([s for ids in rush.values() for s in ids])

    ceiling = sql_race(world.clients, ceiling_slots, args.endpoint, connections, args.time_cap)
    ceiling_live, ceiling_over = verify([s for ids in ceiling_slots.values() for s in ids])
    swept = [
        (n, sql_race(world.clients, slots, args.endpoint, n, args.time_cap))
        for n, slots in zip(sweep, sweep_slots, strict=True)
    ]
    chain_ok, chain_rows = audit_chain_ok()

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"python={platform.python_version()} db=postgresql"
    )
    with psycopg.connect(f"{PG}/postgres") as conn:
        version = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
    print(
        f"postgresql {version[0] if version else '?'} synchronous_commit="
        f"{sync[0] if sync else '?'} max_connections={max_connections}"
    )
    endpoint = (
        "POST /api/slots/{id}/bookings" if args.endpoint == "slot"
        else "POST /api/sessions/{id}/bookings"
    )  # fmt: skip
    print(budget.describe())
    print(
        f"setup: {len(world.bookers)} accounts at {len(CENTRES)} member centres, "
        f"{sum(len(b.residents) for b in world.bookers) // 2} residents, {args.clients} tokens, "
        f"{args.slots} reserved slots in {len(rush)} sessions at {LEAD}: {setup_s:.1f} s"
    )
    print(
        f"residents: {per_centre} per centre, booked in rotation by the HTTP races, so none "
        f"holds more than {cap if cap is not None else 'any'} future reserved bookings "
        f"({RESERVED_CAP}) after {args.warmup + args.slots} bookings"
    )
    print(
        f"HTTP: {args.app} under uvicorn --workers {args.workers} (no access log); "
        f"{args.clients} clients, one keep-alive connection and bearer token each, {endpoint}; "
        f"{args.warmup} bookings by 20 clients first to warm up; time cap {args.time_cap:.0f} s"
    )
    print(describe("HTTP race", race, bookings))
    for line in server_log_digest(logfile):
        print(f"  server log: {line}")
    print(
        f"SQL ceiling: the statements and round trips of one booking request (pool pre-ping, "
        f"token with account and roles, booking checks, the insert that picks the slot, the "
        f"audit entry with its pending marker, commit) "
        f"sent with psycopg, no HTTP and no ORM, from {connections} "
        f"client processes with a connection each (of a budget of max_connections "
        f"{max_connections} - 10, less the bench's own)"
    )
    print(describe("SQL race", ceiling, ceiling_live))
    for n, other in swept:
        rate_n = other.booked / other.wall_s if other.wall_s else 0.0
        print(
            f"SQL race with {n} connections: {other.booked} booked, {rate_n:.1f} bookings/s, "
            f"p50 {percentile(other.latencies_ms, 50):.1f} ms, "
            f"p99 {percentile(other.latencies_ms, 99):.1f} ms"
        )
    print(f"overbooked: {overbooked}; audit chain intact: {chain_ok} ({chain_rows} rows)")
    rate = race.booked / race.wall_s if race.wall_s else 0.0
    sql_rate = ceiling.booked / ceiling.wall_s if ceiling.wall_s else 0.0
    p99 = percentile(race.latencies_ms, 99)
    best = max([(sql_rate, connections)] + [(o.booked / o.wall_s, n) for n, o in swept if o.wall_s])
    result = {
        "bookings": bookings,
        "overbooked": overbooked,
        "bookings_per_s": round(rate, 1),
        "p50_ms": round(percentile(race.latencies_ms, 50), 1),
        "p99_ms": round(p99, 1),
        "sql_ceiling_per_s": round(sql_rate, 1),
        "http_to_sql_ratio": round(rate / sql_rate, 3) if sql_rate else None,
        "clients": args.clients,
        "slots": args.slots,
        "endpoint": endpoint,
        "workers": args.workers,
        "errors": sum(race.errors.values()),
        "errors_by_kind": dict(race.errors),
        "lost_races_409": race.conflicts,
        "http_booked_201": race.booked,
        "wall_s": round(race.wall_s, 2),
        "time_capped": race.wall_s >= args.time_cap,
        "sql_connections": connections,
        "max_connections": max_connections,
        "connection_budget": budget.limit,
        "server_connections": budget.server,
        "peak_connections": budget.peak,
        "sql_p50_ms": round(percentile(ceiling.latencies_ms, 50), 1),
        "sql_p99_ms": round(percentile(ceiling.latencies_ms, 99), 1),
        "sql_overbooked": ceiling_over,
        "sql_best_per_s": round(best[0], 1),
        "sql_best_connections": best[1],
        "audit_chain_ok": chain_ok,
        "aim_met": rate >= 500 and 0 < p99 < 200 and overbooked == 0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
