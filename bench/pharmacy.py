"""Pharmacy at scale: a network of 300 members and a 3,000-item catalogue.

On a scratch store (the embedded SQLite by default, or --database-url), loads Jinhua's layout
and grows one network to --members members through the registry's own layout import, then:

1. imports a --items catalogue (CSV, through the product's import) and one list per member
   (--listed lines each, one in twenty outside the catalogue);
2. **alignment**: the office's measures of every member's list against the catalogue (PH1
   and PH2 per member and for the network), as the pharmacy page and API compute them: the
   listing facts collected live and the indicator engine over them;
3. **order**: --members requisitions of --lines lines each, submitted through the service,
   then one month's consolidation into one order per supplier, timed.

Beside each, in the same run and on the same rows, the floor: one plain SQL statement that
computes the same numbers (alignment: a grouped join of listings and catalogue; order: a
grouped sum of the waiting lines per supplier and item), with no rules, no audit and no facts.

    .venv/bin/python bench/pharmacy.py [--members 300] [--items 3000] [--listed 600]
                                       [--lines 40] [--database-url URL]

Ends with one JSON line: members, items, alignment_seconds, order_seconds, peak_rss_mb, and
the floors alignment_floor_seconds and order_floor_seconds. Aim: each under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

NETWORK = "jh-rmyy-wucheng"
SUPPLIERS = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--listed", type=int, default=600, help="lines in each member's list")
    parser.add_argument("--lines", type=int, default=40, help="lines in each requisition")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="caregrid-bench-pharmacy-")
    os.environ["CAREGRID_DATA_DIR"] = work
    os.environ["CAREGRID_ENVIRONMENT"] = "test"
    if args.database_url:
        os.environ["CAREGRID_DATABASE_URL"] = args.database_url
    run(args, Path(work))


def run(args: argparse.Namespace, work: Path) -> None:
    from sqlalchemy import text

    from caregrid import clock
    from caregrid.auth.roles import SYSTEM
    from caregrid.db.migrate import upgrade
    from caregrid.db.session import get_engine, session_scope
    from caregrid.pharmacy import service as pharmacy
    from caregrid.pharmacy.api import network_measures
    from caregrid.pharmacy.schemas import (
        AccountIn,
        ConsolidateIn,
        RequisitionIn,
        RequisitionLineIn,
    )
    from caregrid.registry import service as registry

    engine = get_engine()
    print(f"store: {engine.url.render_as_string()}  ({platform.python_version()})")
    upgrade(engine)
    rng = random.Random(7)
    now = clock.now()
    with clock.frozen(now):
        started = time.perf_counter()
        with session_scope() as session:
            members = _grow(session, args.members)
        print(f"layout: {len(members)} members in {NETWORK} ({_since(started)})")

        codes = [f"BENCH-{n:05d}" for n in range(args.items)]
        started = time.perf_counter()
        with session_scope() as session:
            pharmacy.import_catalogue(
                session, SYSTEM, NETWORK, _catalogue(codes, rng), file="bench.csv"
            )
            pharmacy.open_account(
                session, SYSTEM, NETWORK, AccountIn(name="统一采购账户", account_number="BENCH-1")
            )
        print(f"catalogue: {args.items} items imported ({_since(started)})")

        started = time.perf_counter()
        with session_scope() as session:
            for n, member in enumerate(members):
                chosen = rng.sample(codes, min(args.listed, len(codes)))
                lines = [c if k % 20 else f"OWN-{n}-{k}" for k, c in enumerate(chosen)]
                body = "code,name_zh\n" + "".join(f"{c},药品{c}\n" for c in lines)
                pharmacy.import_listing(session, SYSTEM, member, body.encode(), file="list.csv")
        print(f"lists: {len(members)} x {args.listed} lines imported ({_since(started)})")

        started = time.perf_counter()
        with session_scope() as session:
            found = network_measures(session, SYSTEM, NETWORK, now.year)
        alignment = time.perf_counter() - started
        ph1 = found.figures["PH1"]
        print(
            f"alignment: PH1 {ph1.numerator}/{ph1.denominator}, "
            f"{len(found.members)} members, {alignment:.2f} s"
        )
        started = time.perf_counter()
        with engine.connect() as conn:
            floor_rows = conn.execute(text(ALIGNMENT_FLOOR), {"network": NETWORK}).all()
        alignment_floor = time.perf_counter() - started
        floor_in = sum(r[1] for r in floor_rows)
        print(f"alignment floor: {floor_in} in catalogue, {alignment_floor:.3f} s")
        if floor_in != ph1.numerator:
            raise SystemExit(f"PH1 numerator {ph1.numerator} but the floor counts {floor_in}")

        started = time.perf_counter()
        with session_scope() as session:
            for member in members:
                wanted = rng.sample(codes, min(args.lines, len(codes)))
                pharmacy.submit_requisition(
                    session,
                    SYSTEM,
                    NETWORK,
                    RequisitionIn(
                        institution_code=member,
                        lines=[
                            RequisitionLineIn(item_code=c, quantity=rng.randint(10, 500))
                            for c in wanted
                        ],
                    ),
                )
        print(f"requisitions: {len(members)} x {args.lines} lines submitted ({_since(started)})")
        started = time.perf_counter()
        with engine.connect() as conn:
            floor_lines = conn.execute(text(ORDER_FLOOR)).all()
        order_floor = time.perf_counter() - started
        started = time.perf_counter()
        with session_scope() as session:
            placed = pharmacy.consolidate(session, SYSTEM, NETWORK, ConsolidateIn())
            network_id = registry.get_network(session, NETWORK).id
            orders = pharmacy.orders(session, network_id, [o.id for o in placed])
        order = time.perf_counter() - started
        lines = sum(len(o.lines) for o in orders)
        print(f"order: {len(orders)} orders, {lines} lines, {order:.2f} s")
        print(f"order floor: {len(floor_lines)} supplier-item sums, {order_floor:.3f} s")
        if lines != len(floor_lines):
            raise SystemExit(f"{lines} order lines but the floor sums {len(floor_lines)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB")
    print(
        json.dumps(
            {
                "members": len(members),
                "items": args.items,
                "alignment_seconds": round(alignment, 3),
                "order_seconds": round(order, 3),
                "peak_rss_mb": round(peak, 1),
                "alignment_floor_seconds": round(alignment_floor, 4),
                "order_floor_seconds": round(order_floor, 4),
            }
        )
    )


ALIGNMENT_FLOOR = """
SELECT l.institution_id, COUNT(i.id) AS in_catalogue, COUNT(*) AS listed
FROM pharmacy_listing l
JOIN membership m ON m.institution_id = l.institution_id
JOIN network n ON n.id = m.network_id AND n.code = :network
LEFT JOIN pharmacy_item i ON i.network_id = n.id AND i.code = l.code
GROUP BY l.institution_id
"""

ORDER_FLOOR = """
SELECT i.supplier, l.item_id, SUM(l.quantity)
FROM pharmacy_requisition_line l
JOIN pharmacy_requisition r ON r.id = l.requisition_id AND r.state = 'submitted'
JOIN pharmacy_item i ON i.id = l.item_id
WHERE l.order_line_id IS NULL
GROUP BY i.supplier, l.item_id
"""


def _grow(session: object, count: int) -> list[str]:
    """Jinhua's layout, with the network grown to `count` members by new township centres
    (a copy of one of its own), through the registry's layout import."""
    from caregrid.auth.roles import SYSTEM
    from caregrid.cli.demo import shipped_layouts
    from caregrid.registry import importer
    from caregrid.registry import service as registry

    path = next(p for p in shipped_layouts() if p.stem == "jinhua")
    importer.apply(session, importer.load(path), actor=SYSTEM, purpose="bench")  # type: ignore[arg-type]
    layout = registry.layout(session, "jinhua")  # type: ignore[arg-type]
    network = next(n for n in layout.networks if n.code == NETWORK)
    have = [m.institution for m in network.members]
    model = next(i for i in layout.institutions if i.code == "jh-wc-chengdong")
    unit = next(m for m in network.members if m.institution == model.code)
    extra = [f"jh-bench-{n:03d}" for n in range(max(0, count - len(have)))]
    institutions = layout.institutions + [
        model.model_copy(update={"code": c, "name_zh": f"基准乡镇卫生院{c[-3:]}", "name_en": None})
        for c in extra
    ]
    members = network.members + [unit.model_copy(update={"institution": c}) for c in extra]
    grown = network.model_copy(update={"members": members})
    networks = [grown if n.code == NETWORK else n for n in layout.networks]
    new = layout.model_copy(update={"institutions": institutions, "networks": networks})
    registry.replace_layout(session, SYSTEM, new, purpose="bench")  # type: ignore[arg-type]
    return [*have, *extra][:count]


def _catalogue(codes: list[str], rng: random.Random) -> bytes:
    rows = ["code,kind,name_zh,essential,source,supplier,unit_price_cny"]
    for n, code in enumerate(codes):
        essential = "yes" if n % 3 == 0 else "no"
        supplier = f"配送企业{n % SUPPLIERS:02d}"
        price = f"{rng.uniform(0.01, 50):.4f}"
        rows.append(f"{code},drug,药品{code},{essential},bench,{supplier},{price}")
    return ("\n".join(rows) + "\n").encode()


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.1f} s"


if __name__ == "__main__":
    print(datetime.now().isoformat(timespec="seconds"))
    main()
