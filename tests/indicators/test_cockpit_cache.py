"""The cockpit read from the stored monthly cells is the cockpit computed afresh: every tile,
trend point, member value and flow; a month whose facts change is recomputed before it is
shown, so no stale figure reaches the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.activity.export import export
from caregrid.activity.facts import fact
from caregrid.activity.importer import import_file
from caregrid.auth.roles import Principal, Role
from caregrid.config import get_settings
from caregrid.indicators import cockpit
from tests.indicators.conftest import LEAD, NET, PRIMARY
from tests.world import NOW

REGULATOR = Principal("commission", frozenset({Role.REGULATOR}))


@pytest.fixture
def store(facts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CAREGRID_FACTS_DIR", str(facts))
    get_settings.cache_clear()
    with clock.frozen(NOW):
        yield facts
    get_settings.cache_clear()


def _screen(screen: cockpit.Cockpit) -> tuple[object, ...]:
    return (
        [(t.indicator.id, t.numerator, t.denominator, t.shown, t.trend, t.assessment)
         for t in screen.tiles],
        screen.referrals,
        screen.flows,
        [(m.code, m.values) for m in screen.members],
    )  # fmt: skip


@pytest.mark.parametrize("member", [None, PRIMARY, LEAD])
def test_the_stored_cells_give_the_live_cockpit(
    session: Session, store: Path, member: str | None
) -> None:
    live = cockpit.build(session, REGULATOR, NET, 2025, member, cached=False)
    assert not (store / "_cells").exists()  # the live path leaves the store alone
    cold = cockpit.build(session, REGULATOR, NET, 2025, member)
    warm = cockpit.build(session, REGULATOR, NET, 2025, member)
    assert _screen(cold) == _screen(live) == _screen(warm)
    assert live.tiles and (member is not None or live.members)


def test_the_stored_cells_give_the_live_comparison(session: Session, store: Path) -> None:
    city = "jinhua"
    live = cockpit.compare(session, REGULATOR, city, 2025, cached=False)
    cold = cockpit.compare(session, REGULATOR, city, 2025)
    warm = cockpit.compare(session, REGULATOR, city, 2025)
    for one in (cold, warm):
        assert one.tiles.keys() == live.tiles.keys()
        for code, found in one.tiles.items():
            assert _screen_tiles(found) == _screen_tiles(live.tiles[code])


def _screen_tiles(found: list[cockpit.Tile]) -> list[object]:
    return [(t.indicator.id, t.numerator, t.denominator, t.trend, t.assessment) for t in found]


def test_a_changed_month_is_shown_with_its_new_facts(
    session: Session, store: Path, tmp_path: Path
) -> None:
    before = cockpit.build(session, REGULATOR, NET, 2025)
    stored = {t.indicator.id: t for t in before.tiles}["CC3"]
    header = ",".join(fact("encounter").names)
    late = tmp_path / "late.csv"
    late.write_text(
        header + f"\ne12,{PRIMARY},,P9,330702-chengdong,outpatient,2025-02-20,I10,,,,0,10,,\n"
    )
    import_file(session, late, fact("encounter"))
    export(session, store)  # February's encounter file changes; January's is kept
    after = cockpit.build(session, REGULATOR, NET, 2025)
    assert _screen(after) == _screen(cockpit.build(session, REGULATOR, NET, 2025, cached=False))
    tile = {t.indicator.id: t for t in after.tiles}["CC3"]
    assert stored.denominator is not None
    assert (tile.numerator, tile.denominator) == (stored.numerator + 1, stored.denominator + 1)
    assert dict(tile.trend)["2025-01"] == dict(stored.trend)["2025-01"]
    assert dict(tile.trend)["2025-02"] != dict(stored.trend)["2025-02"]
