"""Fuzz the whole API from its OpenAPI document (schemathesis, derandomized) and count server
errors: there must be none. Each operation gets --examples generated requests, half with a
community clinician's token and half with a regulator's, against a scratch database holding
the shipped layouts (SQLite by default; --database-url for PostgreSQL, whose schema is
dropped and recreated). Stops after --max-seconds. Prints every 5xx with the request that
caused it, the statuses seen, then one final JSON line; exits 1 on any server error.

    .venv/bin/python bench/fuzz.py [--examples 10] [--max-seconds 240]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/caregrid_fuzz]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

PASSWORD = "fuzz correct horse battery"


def _prepare(url: str) -> dict[str, str]:
    """Schema, shipped layouts, and one token per role; returns the Authorization headers."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from caregrid.auth import service as auth
    from caregrid.auth.roles import SYSTEM, Role
    from caregrid.cli.demo import shipped_layouts
    from caregrid.db.migrate import upgrade
    from caregrid.db.session import get_engine
    from caregrid.registry import importer
    from caregrid.registry import service as registry

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    headers: dict[str, str] = {}
    with Session(engine) as session:
        for path in shipped_layouts():
            importer.apply(session, importer.load(path), actor=SYSTEM)
        centre = registry.require_institution(session, "jh-wc-chengdong")
        for name, role, institution in (
            ("clinician", Role.CLINICIAN, centre.id),
            ("regulator", Role.REGULATOR, None),
        ):
            user = auth.create_user(
                session, SYSTEM, username=f"fuzz-{name}", display_name=name,
                password=PASSWORD, roles={role}, institution_id=institution,
            )  # fmt: skip
            token = auth.issue_token(session, user, kind="api", hours=4)
            headers[name] = f"Bearer {token}"
        session.commit()
    return headers


def _fuzz(
    operation: Any,
    role: str,
    header: str,
    examples: int,
    statuses: Counter[int],
    failures: list[dict[str, Any]],
) -> None:
    """`examples` derandomized requests to one operation with one role's token."""
    from hypothesis import HealthCheck, given, settings

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        try:
            response = case.call(headers={"Authorization": header})
            status, body = response.status_code, response.text[:300]
        except Exception as exc:  # an exception escaping the app is a server error
            status, body = 500, repr(exc)[:300]
        statuses[status] += 1
        if status >= 500:
            failures.append(
                {
                    "operation": f"{operation.method.upper()} {operation.path}",
                    "role": role,
                    "status": status,
                    "body": body,
                    "request": case.as_curl_command(),
                }
            )

    call()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10, help="requests per operation")
    parser.add_argument("--max-seconds", type=float, default=240.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(scratch.name) / 'fuzz.db'}"
    os.environ["CAREGRID_DATABASE_URL"] = url
    os.environ.setdefault("CAREGRID_ENVIRONMENT", "test")
    os.environ.setdefault("CAREGRID_ARGON2_TIME_COST", "1")
    os.environ.setdefault("CAREGRID_ARGON2_MEMORY_KIB", "1024")
    os.environ["CAREGRID_DATA_DIR"] = scratch.name

    import schemathesis

    from caregrid.web.app import create_app

    tokens = _prepare(url)
    app = create_app()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter[int] = Counter()
    failures: list[dict[str, Any]] = []
    began = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if time.perf_counter() - began > args.max_seconds:
            break
        for role, header in tokens.items():
            _fuzz(operation, role, header, max(1, args.examples // len(tokens)), statuses, failures)
    seconds = time.perf_counter() - began
    for failure in failures[:50]:
        print(f"{failure['status']} {failure['operation']} as {failure['role']}: {failure['body']}")
        print(f"    {failure['request']}")
    total = sum(statuses.values())
    print(
        f"{total} requests over {len(operations)} operations in {seconds:.1f} s; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(
        json.dumps(
            {
                "database": database,
                "operations": len(operations),
                "requests": total,
                "statuses": {str(k): v for k, v in sorted(statuses.items())},
                "server_errors": sum(v for k, v in statuses.items() if k >= 500),
                "seconds": round(seconds, 1),
            }
        )
    )
    scratch.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
