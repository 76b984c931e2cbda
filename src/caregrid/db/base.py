"""Declarative base with a naming convention so Alembic migrations are stable on both backends."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def import_all_models() -> None:
    """Import every domain's models so Base.metadata is complete (Alembic, tests)."""
    from caregrid.activity import models as _activity  # noqa: F401
    from caregrid.auth import models as _auth  # noqa: F401
    from caregrid.chronic import models as _chronic  # noqa: F401
    from caregrid.diagnostics import models as _diagnostics  # noqa: F401
    from caregrid.familydoctor import models as _familydoctor  # noqa: F401
    from caregrid.finance import models as _finance  # noqa: F401
    from caregrid.governance import models as _governance  # noqa: F401
    from caregrid.indicators import models as _indicators  # noqa: F401
    from caregrid.pharmacy import models as _pharmacy  # noqa: F401
    from caregrid.planning import models as _planning  # noqa: F401
    from caregrid.referral import models as _referral  # noqa: F401
    from caregrid.registry import models as _registry  # noqa: F401
    from caregrid.residents import models as _residents  # noqa: F401
    from caregrid.scheduling import models as _scheduling  # noqa: F401
    from caregrid.workforce import models as _workforce  # noqa: F401
