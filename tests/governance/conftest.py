"""The Jinhua slice of tests.world: the group jh-rmyy-wucheng, its office and members."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from caregrid import clock
from tests.world import NOW, World, build


@pytest.fixture
def world(session: Session) -> Iterator[World]:
    with clock.frozen(NOW):
        yield build(session)
