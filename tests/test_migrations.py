"""The migrations build exactly the tables the models declare, on the database under test: a
column added to a model without its migration (or the other way round) fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from caregrid.db.base import Base, import_all_models


def test_migrations_match_the_models(engine: Engine) -> None:
    import_all_models()
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
