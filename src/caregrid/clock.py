"""The one source of "now". Nothing else reads the wall clock, so tests can move time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from caregrid.config import get_settings

_override: Callable[[], datetime] | None = None


def now() -> datetime:
    """Current time, timezone-aware (UTC)."""
    if _override is not None:
        return _override()
    return datetime.now(UTC)


def today() -> date:
    """Today's date in the deployment's timezone (policy dates are local dates)."""
    return now().astimezone(ZoneInfo(get_settings().timezone)).date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Pin "now" to a fixed instant for the duration of the block."""
    global _override
    if at.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    previous = _override
    pinned = at.astimezone(UTC)  # now() promises UTC, whatever zone the caller wrote
    _override = lambda: pinned  # noqa: E731
    try:
        yield
    finally:
        _override = previous


def start_of(day: date) -> datetime:
    """The instant a local day begins: policy dates (a contract's term) become timestamps."""
    return datetime.combine(day, time.min, ZoneInfo(get_settings().timezone)).astimezone(UTC)


def local(moment: datetime) -> datetime:
    """A moment in the deployment's timezone (slot release days are local days)."""
    return moment.astimezone(ZoneInfo(get_settings().timezone))


def local_input(text: str) -> datetime:
    """A date and time typed in a form (`2026-11-23T14:30`), read in the deployment's
    timezone unless it carries its own offset."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return moment
