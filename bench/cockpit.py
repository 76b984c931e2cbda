"""Cockpit pages on the demo: cold and warm loads read from the stored monthly cells, beside
the live computation (every month afresh, no store) in the same run.

Loads the demo into a scratch data directory with the demo's own steps (`load_demo`: the
shipped layouts, the demo accounts, a synthetic year of Jinhua's activity), serves the app
with uvicorn on 127.0.0.1, and times over HTTP the network cockpit, a member's drill-down and
the city comparison: cold (the cell store deleted first), then warm. The live figure builds
the same screen with `cached=False` in this process (the pages always read the store).
Prints the figures and one final JSON line. Aim: every warm load under 300 ms.

    .venv/bin/python bench/cockpit.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path


def _ms(run: Callable[[], object], repeat: int) -> float:
    """The median of `repeat` runs, in milliseconds."""
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        found.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(found), 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="caregrid-bench-cockpit-"))
    os.environ["CAREGRID_DATA_DIR"] = str(scratch)
    os.environ.pop("CAREGRID_DATABASE_URL", None)
    os.environ.pop("CAREGRID_FACTS_DIR", None)
    try:
        _run(args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(repeat: int) -> None:
    import httpx
    import uvicorn
    from rich.progress import Progress

    from caregrid.auth import service as auth
    from caregrid.auth.roles import Principal, Role
    from caregrid.cli.demo import load_demo
    from caregrid.config import get_settings
    from caregrid.db.session import session_scope
    from caregrid.indicators import cockpit
    from caregrid.registry import service as registry
    from caregrid.web.app import create_app

    get_settings.cache_clear()
    with Progress(transient=True) as progress:
        load_demo(progress)
    with session_scope() as session:
        office = auth.get_by_username(session, "office")
        unit = auth.get_by_username(session, "unit-admin")
        commission = auth.get_by_username(session, "commission")
        assert office and unit and commission and office.network_id and unit.institution_id
        network = registry.get_network_by_id(session, office.network_id)
        member = registry.get_institution_by_id(session, unit.institution_id)
        assert network is not None and member is not None
        code, member_code = network.code, member.code
        city = registry.network_city_codes(session)[code]
        token = auth.issue_token(session, commission, kind="api", hours=1)
    year = cockpit.latest_year(cockpit.facts_root())
    assert year is not None
    regulator = Principal("commission", frozenset({Role.REGULATOR}))

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start within 30 s")
        time.sleep(0.05)
    pages = {
        "cockpit": f"/networks/{code}/cockpit?year={year}",
        "member": f"/networks/{code}/cockpit/members/{member_code}?year={year}",
        "comparison": f"/cities/{city}/comparison?year={year}",
    }
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
    store = cockpit.facts_root() / "_cells"
    figures: dict[str, float] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as c:

            def get(url: str) -> None:
                response = c.get(url)
                response.raise_for_status()

            for name, url in pages.items():
                shutil.rmtree(store, ignore_errors=True)
                figures[f"{name}_cold_ms"] = _ms(lambda url=url: get(url), 1)
                figures[f"{name}_warm_ms"] = _ms(lambda url=url: get(url), repeat)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with session_scope() as session:
        live: dict[str, Callable[[], object]] = {
            "cockpit": lambda: cockpit.build(session, regulator, code, year, cached=False),
            "member": lambda: cockpit.build(
                session, regulator, code, year, member_code, cached=False
            ),
            "comparison": lambda: cockpit.compare(session, regulator, city, year, cached=False),
        }
        for name, run in live.items():
            figures[f"{name}_live_ms"] = _ms(run, max(1, repeat // 2))
    print(f"demo year {year}, network {code}, member {member_code}, city {city}")
    print(f"{'page':<12}{'cold ms':>10}{'warm ms':>10}{'live ms':>10}")
    for name in pages:
        cold, warm, now = (figures[f"{name}_{k}_ms"] for k in ("cold", "warm", "live"))
        print(f"{name:<12}{cold:>10}{warm:>10}{now:>10}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
