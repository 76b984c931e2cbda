"""The Jinhua slice of tests.world with the starter catalogue imported into its group
(jh-rmyy-wucheng: the lead jh-rmyy and the community centre jh-wc-chengdong)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import SYSTEM
from caregrid.pharmacy import service as pharmacy
from tests.world import NOW, World, build

NETWORK = "jh-rmyy-wucheng"
LEAD = "jh-rmyy"
UNIT = "jh-wc-chengdong"


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        built = build(session)
        starter = pharmacy.starter_file()
        pharmacy.import_catalogue(session, SYSTEM, NETWORK, starter.read_bytes(), file="starter")
        yield built
