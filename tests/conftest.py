"""Test fixtures: a migrated database (SQLite file, or PostgreSQL via CAREGRID_TEST_DATABASE_URL),
the shipped layouts loaded once, and a session per test rolled back at the end."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="caregrid-test-"))
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
_url = os.environ.get("CAREGRID_TEST_DATABASE_URL") or f"sqlite:///{_tmp / 'test.db'}"
os.environ["CAREGRID_DATABASE_URL"] = _url
os.environ["CAREGRID_ENVIRONMENT"] = "test"
os.environ["CAREGRID_ARGON2_TIME_COST"] = "1"
os.environ["CAREGRID_ARGON2_MEMORY_KIB"] = "1024"
os.environ["CAREGRID_DATA_DIR"] = str(_tmp)
(_tmp / "profiles").mkdir()
for _profile in ("test-rules.yaml", "test-county.yaml"):
    (_tmp / "profiles" / _profile).write_bytes(
        (Path(__file__).parent / "data" / _profile).read_bytes()
    )

from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.world import World

from caregrid.auth import service as auth  # noqa: E402
from caregrid.auth.roles import SYSTEM, Principal, Role  # noqa: E402
from caregrid.cli.demo import shipped_layouts  # noqa: E402
from caregrid.config import get_settings  # noqa: E402
from caregrid.db.migrate import upgrade  # noqa: E402
from caregrid.db.session import get_engine  # noqa: E402
from caregrid.registry import importer  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


def require_shared(path: Path) -> Path:
    """A file or folder under ../shared that a test reads: missing, the test fails (a skip
    would let a checkout without the source documents pass unseen)."""
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need ../shared beside the repository")
    return path


def _reset(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = get_engine()
    _reset(engine)
    upgrade(engine)
    with Session(engine) as session:
        for path in shipped_layouts():
            importer.apply(session, importer.load(path), actor=SYSTEM)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a savepoint inside a transaction rolled back afterwards."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty analytics store for this test: the live measures count the member systems'
    parts of the store, and other tests leave a synthetic city in the shared one."""
    store = tmp_path / "store"
    monkeypatch.setattr(get_settings(), "facts_dir", store)
    return store


@pytest.fixture
def system() -> Principal:
    return SYSTEM


def make_principal(
    session: Session,
    username: str,
    role: Role,
    *,
    institution: str | None = None,
    network: str | None = None,
) -> Principal:
    """A real account created through the auth service, returned as its principal."""
    from caregrid.registry import service as registry

    inst = registry.require_institution(session, institution) if institution else None
    net = registry.get_network(session, network) if network else None
    user = auth.create_user(
        session,
        SYSTEM,
        username=username,
        display_name=username,
        password="correct horse battery",
        roles={role},
        institution_id=inst.id if inst else None,
        network_id=net.id if net else None,
    )
    return auth.principal_of(user)


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """The real app over HTTP (TestClient), sharing the test's rolled-back session."""
    from fastapi.testclient import TestClient

    from caregrid.web.app import create_app
    from caregrid.web.deps import db_session

    app = create_app()

    def _session() -> Iterator[Session]:
        yield session
        session.flush()

    app.dependency_overrides[db_session] = _session
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


def bearer(session: Session, principal: Principal) -> dict[str, str]:
    """An Authorization header with a real API token for the principal's account."""
    user = auth.get_by_username(session, principal.username)
    assert user is not None
    return {"Authorization": f"Bearer {auth.issue_token(session, user, kind='api', hours=1)}"}


@pytest.fixture
def committed_world(engine: Engine) -> Iterator[World]:
    """The Jinhua slice (tests.world) with a unique tag, committed for racing clients or a
    live server; everything it led to is deleted afterwards."""
    import secrets

    from caregrid import clock
    from caregrid.db.session import session_scope
    from tests.races import UTC_NOW
    from tests.world import build, remove

    with clock.frozen(UTC_NOW), session_scope() as session:
        world = build(session, tag=f"-cc{secrets.token_hex(3)}")
    try:
        yield world
    finally:
        remove(world)


def form_token(client: TestClient, path: str = "/login") -> str:
    """The security token the page at `path` gives its forms, as a browser would read it."""
    page = client.get(path, headers={"Accept": "text/html"})
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, f"{path} has no form token"
    return found.group(1)
