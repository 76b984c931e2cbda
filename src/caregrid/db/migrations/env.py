"""Alembic environment: the connection from caregrid.db.migrate, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from caregrid.db.base import Base, import_all_models
from caregrid.db.session import make_engine

import_all_models()
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
