"""Engine and session factory. Services only flush; the request, command or job commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from caregrid.config import get_settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (below), so the driver must not start transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Units of work take SQLite's write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads and then writes cannot upgrade its lock once another
    writer has committed (SQLITE_BUSY_SNAPSHOT, "database is locked"); taking the lock at
    BEGIN makes concurrent requests queue on the busy timeout instead. Connections opened
    without the `immediate` option (test fixtures, read-only tools) begin deferred.
    """
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_deferred(session: Session) -> None:
    """Start the session's transaction without SQLite's write lock, for a unit of work that
    reads first and may end without writing (sign-in). A session already in a transaction
    keeps it."""
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_immediate": False})


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get WAL, foreign keys and a busy timeout.

    The pool is fixed at `db_pool_size` with no overflow: the web app's admission gate lets in
    exactly that many requests, so a request never waits for a connection.
    """
    settings = get_settings()
    pool: dict[str, Any] = {"pool_size": settings.db_pool_size, "max_overflow": 0}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            pool = {}  # one in-memory database per connection: SQLAlchemy's own pool
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


@lru_cache
def _factory() -> sessionmaker[Session]:
    engine = get_engine()
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_immediate=True)
    return sessionmaker(bind=engine, expire_on_commit=False)


def new_session() -> Session:
    return _factory()()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
