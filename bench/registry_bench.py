"""Layout import and structural checks at the scale of a large city.

Builds a synthetic layout (G grids, one network each, N township centres per network plus
village clinics under each), then times validation, the database write and the checks on a
fresh SQLite file (or CAREGRID_DATABASE_URL). Prints its figures and the machine.

    uv run python bench/registry_bench.py [--grids 10] [--centres 40] [--villages 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import yaml


def build(grids: int, centres: int, villages: int) -> dict[str, object]:
    divisions = [{"code": "990000", "name_zh": "基准市", "level": "city", "parent": None}]
    institutions, networks, grid_specs = [], [], []
    for g in range(grids):
        district = f"98{g:04d}"
        divisions.append(
            {"code": district, "name_zh": f"区{g}", "level": "county", "parent": "990000"}
        )
        grid_specs.append({"code": f"b-grid-{g}", "name_zh": f"网格{g}", "divisions": [district]})
        lead, second = f"b-lead-{g}", f"b-sec-{g}"
        institutions += [
            {
                "code": lead,
                "name_zh": f"区{g}三级医院",
                "level": "tertiary",
                "category": "general_hospital",
                "division": district,
            },
            {
                "code": second,
                "name_zh": f"区{g}二级医院",
                "level": "secondary",
                "category": "general_hospital",
                "division": district,
            },
        ]
        members = [
            {"institution": lead, "role": "lead", "tier": "city"},
            {"institution": second, "role": "member", "tier": "district"},
        ]
        for c in range(centres):
            centre = f"b-thc-{g}-{c}"
            institutions.append(
                {
                    "code": centre,
                    "name_zh": f"区{g}卫生院{c}",
                    "level": "primary",
                    "category": "township_health_center",
                    "division": district,
                }
            )
            members.append({"institution": centre, "role": "member", "tier": "township"})
            for v in range(villages):
                clinic = f"b-vc-{g}-{c}-{v}"
                institutions.append(
                    {
                        "code": clinic,
                        "name_zh": f"区{g}卫生院{c}村{v}",
                        "level": "primary",
                        "category": "village_clinic",
                        "division": district,
                        "parent": centre,
                    }
                )
                members.append({"institution": clinic, "role": "member", "tier": "village"})
        networks.append(
            {
                "code": f"b-net-{g}",
                "name_zh": f"集团{g}",
                "kind": "urban_group",
                "grid": f"b-grid-{g}",
                "profile": "fujian",
                "members": members,
            }
        )
    return {
        "format": "caregrid-layout/1",
        "city": {"code": "bench", "name_zh": "基准市", "pilot_level": "other", "area": ["990000"]},
        "divisions": divisions,
        "grids": grid_specs,
        "networks": networks,
        "institutions": institutions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grids", type=int, default=10)
    parser.add_argument("--centres", type=int, default=40)
    parser.add_argument("--villages", type=int, default=12)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="caregrid-bench-"))
    os.environ.setdefault("CAREGRID_DATABASE_URL", f"sqlite:///{workdir / 'bench.db'}")
    os.environ["CAREGRID_DATA_DIR"] = str(workdir)

    from sqlalchemy.orm import Session

    from caregrid.auth.roles import SYSTEM
    from caregrid.db.migrate import upgrade
    from caregrid.db.session import get_engine
    from caregrid.registry import checks, importer

    data = build(args.grids, args.centres, args.villages)
    path = workdir / "bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    engine = get_engine()
    upgrade(engine)

    t0 = time.perf_counter()
    checked = importer.load(path)
    t1 = time.perf_counter()
    with Session(engine) as session:
        importer.apply(session, checked, actor=SYSTEM, purpose="benchmark")
        session.commit()
    t2 = time.perf_counter()
    with Session(engine) as session:
        importer.apply(session, importer.load(path), actor=SYSTEM, purpose="benchmark")
        session.commit()
    t3 = time.perf_counter()
    with Session(engine) as session:
        results = checks.run(session)
    t4 = time.perf_counter()

    size = path.stat().st_size / 1e6
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"python={platform.python_version()} db={engine.dialect.name}"
    )
    print(
        f"layout: {args.grids} grids, {len(data['institutions'])} institutions, "  # type: ignore[arg-type]
        f"{size:.1f} MB YAML"
    )
    print(f"validate (parse + references):  {t1 - t0:7.2f} s")
    print(f"first import (insert):          {t2 - t1:7.2f} s")
    print(f"re-import (update in place):    {t3 - t2:7.2f} s")
    print(f"structural checks ({len(results)} results): {t4 - t3:7.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
