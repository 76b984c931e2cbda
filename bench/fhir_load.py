"""The FHIR facade under load, beside the plain API in the same run, on PostgreSQL.

1. Paging: a community centre's HIS reads every Patient registered there (100,000 by
   default) through `GET /fhir/Patient?_count=100`, following the Bundle's `next` links to
   the end; then the same residents through the plain API's list (`GET /api/residents`,
   `after` the last id), the floor the facade's mapping adds to.
2. Booking: --clients concurrent clients (one keep-alive connection each, accounts at three
   member centres) book --slots reserved slots of the lead's department with
   `POST /fhir/Appointment`; then the same race on as many fresh slots through
   `POST /api/slots/{id}/bookings`. SQL counts live bookings per slot: `overbooked` must be 0.
   HAPI FHIR's published write rate on a 4-core laptop (about 12 POST/s at 8 users) is the
   aim's yardstick: 20x that is 240 bookings/s.

The world (layout, department, accounts, tokens, sessions) is set up through the services as
in bench/booking_rush.py, whose helpers this reuses; the 100,000 residents are written in bulk
(one COPY, with the registration's care relationship each), since a clinician may list only
residents registered at the institution. Prints its figures, then one final JSON line. (Not
named bench/fhir.py: a script in bench/ has the folder first on its path, and a fhir.py
there hides the fhir.resources package from every other bench.)

    .venv/bin/python bench/fhir_load.py [--patients 100000] [--clients 200] [--slots 1000]
        [--workers 2] [--time-cap 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import booking_rush as rush

CENTRE, CENTRE_DIVISION = "jh-wc-chengdong", "330702-chengdong"


def bulk_residents(count: int) -> None:
    """`count` residents registered at the centre, each with the care relationship that its
    registration writes (residents.service.create does the same one at a time)."""
    from caregrid.auth.access import Relationship
    from caregrid.residents import national_id

    with psycopg.connect(f"{rush.PG}/{rush.DB_NAME}") as conn:
        row = conn.execute("SELECT id FROM institution WHERE code = %s", (CENTRE,)).fetchone()
        assert row is not None
        centre = int(row[0])
        born = date(1930, 1, 1)
        with conn.cursor() as cur:
            copy_sql = (
                "COPY resident (national_id, name, sex, birth_date, phone, "
                "address_division_code, registered_institution_id, created_at) FROM STDIN"
            )
            with cur.copy(copy_sql) as copy:
                for i in range(count):
                    day = born + timedelta(days=i // 500)
                    body = f"330702{day:%Y%m%d}{i % 500:03d}"
                    sex = "M" if int(body[-1]) % 2 else "F"
                    copy.write_row(
                        (body + national_id.check_digit(body), f"居民{i}", sex, day,
                         None, CENTRE_DIVISION, centre, "2026-01-01T00:00:00+00:00")
                    )  # fmt: skip
            cur.execute(
                "INSERT INTO care_relationship (institution_id, resident_id, kind, source_id, "
                "started_at) SELECT registered_institution_id, id, %s, id, created_at "
                "FROM resident r WHERE registered_institution_id = %s AND NOT EXISTS "
                "(SELECT 1 FROM care_relationship c WHERE c.resident_id = r.id)",
                (Relationship.REGISTERED_AT_INSTITUTION.value, centre),
            )
        conn.execute("ANALYZE resident")
        conn.execute("ANALYZE care_relationship")


def page_through(base: str, token: str, first: str, nxt: Any) -> tuple[int, int, float]:
    """(records, pages, seconds) reading `first` and then whatever `nxt(body)` says is next."""
    records = pages = 0
    url: str | None = first
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as c:
        t0 = time.perf_counter()
        while url:
            answer = c.get(url)
            if answer.status_code != 200:
                raise SystemExit(f"{url}: HTTP {answer.status_code} {answer.text[:300]}")
            body = answer.json()
            found, url = nxt(body)
            records += found
            pages += 1
        return records, pages, time.perf_counter() - t0


def fhir_next(body: dict[str, Any]) -> tuple[int, str | None]:
    link = next((x["url"] for x in body["link"] if x["relation"] == "next"), None)
    return sum(e["search"]["mode"] == "match" for e in body["entry"]), link


def api_next(body: list[dict[str, Any]]) -> tuple[int, str | None]:
    return len(body), (f"/api/residents?limit=100&after={body[-1]['id']}" if body else None)


async def booking_race(
    port: int, clients: list[tuple[Any, str]], turns: Any, slots: list[int], fhir: bool, cap: float
) -> rush.Race:
    """Every client books a random slot not yet known taken until none is left."""
    race = rush.Race()
    open_slots = rush.OpenSlots(slots)
    connections = [rush.HttpConnection(port) for _ in clients]
    await asyncio.gather(*(c.request("GET", "/healthz", None, b"") for c in connections))
    deadline = time.perf_counter() + cap

    async def client(connection: rush.HttpConnection, booker: Any, token: str) -> None:
        while time.perf_counter() < deadline and (slot := open_slots.pick()) is not None:
            patient = next(turns[booker.institution_id])
            if fhir:
                path = "/fhir/Appointment"
                body = {
                    "resourceType": "Appointment",
                    "status": "booked",
                    "slot": [{"reference": f"Slot/{slot}"}],
                    "participant": [
                        {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}
                    ],
                }
            else:
                path, body = f"/api/slots/{slot}/bookings", {"resident_id": patient}
            t0 = time.perf_counter()
            try:
                status = await asyncio.wait_for(
                    connection.request("POST", path, token, json.dumps(body).encode()), 60
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                race.errors[type(exc).__name__] += 1
                continue
            ms = (time.perf_counter() - t0) * 1000
            if status == 201:
                race.booked += 1
                race.latencies_ms.append(ms)
                open_slots.discard(slot)
            elif status == 409:
                race.conflicts += 1
                open_slots.discard(slot)
            else:
                race.errors[f"HTTP {status}"] += 1
                if sum(race.errors.values()) > len(slots):
                    return

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c, b, t) for c, (b, t) in zip(connections, clients, strict=True)))
    race.wall_s = time.perf_counter() - t0
    for connection in connections:
        connection.close()
    return race


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-cap", type=float, default=120.0)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="caregrid-fhir-bench-"))
    rush.configure(workdir)
    rush.recreate_database()
    per_centre, _cap = rush.residents_needed(90, 2 * args.slots)
    t0 = time.perf_counter()
    world = rush.build_world(args.clients, per_centre)
    fhir_slots = [s for ids in rush.publish(world, args.slots, 0).values() for s in ids]
    api_slots = [s for ids in rush.publish(world, args.slots, 1).values() for s in ids]
    bulk_residents(args.patients)
    print(f"set up in {time.perf_counter() - t0:.1f} s: {args.patients:,} residents at {CENTRE}")

    port = rush.free_port()
    log = workdir / "server.log"
    server = rush.start_server(port, args.workers, "caregrid.web.app:create_app", log)
    try:
        base = f"http://127.0.0.1:{port}"
        reader = next(t for b, t in world.clients if b.username == f"fd-{CENTRE}")
        patients, fhir_pages, fhir_s = page_through(
            base, reader, "/fhir/Patient?_count=100", fhir_next
        )
        listed, api_pages, api_s = page_through(base, reader, "/api/residents?limit=100", api_next)
        fhir_race = asyncio.run(
            booking_race(port, world.clients, world.turns, fhir_slots, True, args.time_cap)
        )
        api_race = asyncio.run(
            booking_race(port, world.clients, world.turns, api_slots, False, args.time_cap)
        )
    finally:
        rush.stop_server(server)
    live, overbooked = rush.verify(fhir_slots + api_slots)

    def rate(race: rush.Race) -> float:
        return race.booked / race.wall_s if race.wall_s else 0.0

    print(f"paging  FHIR: {patients:,} Patients in {fhir_pages} pages, {fhir_s:.1f} s, "
          f"{fhir_pages / fhir_s:.1f} pages/s")  # fmt: skip
    print(f"paging  API:  {listed:,} residents in {api_pages} pages, {api_s:.1f} s, "
          f"{api_pages / api_s:.1f} pages/s (the floor)")  # fmt: skip
    for name, race in (("FHIR", fhir_race), ("API ", api_race)):
        errors = ", ".join(f"{k} x{v}" for k, v in race.errors.items()) or "none"
        print(f"booking {name}: {race.booked} booked, {race.conflicts} lost races, "
              f"{rate(race):.1f}/s, p50 {rush.percentile(race.latencies_ms, 50):.0f} ms, "
              f"p99 {rush.percentile(race.latencies_ms, 99):.0f} ms, errors {errors}")  # fmt: skip
    print(f"live bookings {live}, overbooked {overbooked}; HAPI's ~12 POST/s x 20 = 240/s")
    print(
        json.dumps(
            {
                "patients_paged": patients,
                "pages_per_s": round(fhir_pages / fhir_s, 1),
                "api_pages_per_s": round(api_pages / api_s, 1),
                "bookings": fhir_race.booked,
                "bookings_per_s": round(rate(fhir_race), 1),
                "api_bookings_per_s": round(rate(api_race), 1),
                "p99_ms": round(rush.percentile(fhir_race.latencies_ms, 99), 1),
                "overbooked": overbooked,
            }
        )
    )


if __name__ == "__main__":
    main()
