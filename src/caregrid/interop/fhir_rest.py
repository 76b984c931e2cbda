"""The FHIR R4 REST layer's own rules (J3, J7): search parameters, Bundle paging, errors as
OperationOutcome, and the check of every resource against the FHIR models.

A resource kind declares the search parameters it understands (`Param`); the CapabilityStatement
is built from those declarations, so it lists exactly what a search honours. A search pages in
id order: the `next` link carries `_cursor`, the last id of the page, so a client that follows
the links reads every match once even while rows are added. An unknown parameter is refused
with `Prefer: handling=strict` and ignored (and named in an OperationOutcome entry) otherwise.

fhir.resources ships R4B (4.3.0) models, not R4 (4.0.1); the resources emitted here use no
element that differs between the two, so each is checked with the R4B model of its type.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from caregrid.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Problem,
    RuleViolation,
    Unauthenticated,
)
from caregrid.i18n import msg

FHIR_VERSION = "4.0.1"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
NATIONAL_ID = "urn:cn:gb11643"  # 公民身份号码, the resident's national ID (GB 11643)
DEFAULT_COUNT = 50
MAX_COUNT = 500
CURSOR = "_cursor"
# Parameters every search understands (besides each kind's own).
COMMON = ("_id", "_count", CURSOR, "_format")


@dataclass(frozen=True)
class Param:
    """A search parameter a kind honours: its name, FHIR type and what it matches."""

    name: str
    type: str  # token | string | reference | date
    documentation: str


@dataclass(frozen=True)
class Search:
    """A parsed search: each parameter's values (repeats AND, commas OR), the page size, the
    cursor and the parameters that were ignored."""

    values: dict[str, list[str]]
    count: int = DEFAULT_COUNT
    after: int = 0
    ignored: tuple[str, ...] = ()

    def one(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[-1] if found else None

    def ids(self, name: str = "_id") -> frozenset[int] | None:
        """The numeric ids a token or `_id` parameter names (any id that is not ours matches
        nothing), or None without the parameter."""
        if name not in self.values:
            return None
        found: set[int] = set()
        for value in self.values[name]:
            found |= {n for part in value.split(",") if (n := as_id(part)) is not None}
        return frozenset(found)


def as_id(text: str) -> int | None:
    """A CareGrid id from a FHIR id or reference tail, or None for anything else."""
    tail = text.rsplit("/", 1)[-1]
    if tail.isascii() and tail.isdigit() and len(tail) <= 10 and 0 < int(tail) < 2**31:
        return int(tail)
    return None


def parse_search(
    params: Sequence[Param], query: Iterable[tuple[str, str]], prefer: str | None
) -> Search:
    """The search a query string asks for, or InvalidInput naming each bad parameter."""
    known = {p.name for p in params} | set(COMMON)
    strict = "handling=strict" in (prefer or "").replace(" ", "")
    values: dict[str, list[str]] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for name, value in query:
        if name in known:
            values.setdefault(name, []).append(value)
        elif strict:
            problems.append(Problem(name, "is not a search parameter of this resource"))
        else:
            ignored.append(name)
    count = DEFAULT_COUNT
    if "_count" in values:
        raw = values.pop("_count")[-1]
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_COUNT):
            problems.append(Problem("_count", msg("must be from 1 to {max}", max=MAX_COUNT)))
        else:
            count = int(raw)
    after = 0
    if CURSOR in values:
        raw = values.pop(CURSOR)[-1]
        cursor = as_id(raw) if raw != "0" else 0
        if cursor is None:
            problems.append(Problem(CURSOR, "is not a cursor this server issued"))
        else:
            after = cursor
    values.pop("_format", None)
    if problems:
        raise InvalidInput(problems)
    return Search(values, count, after, tuple(dict.fromkeys(ignored)))


def token(value: str) -> tuple[str | None, str]:
    """`system|code` split; a bare code has no system."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system or None, code
    return None, value


PREFIXES = ("eq", "ge", "gt", "le", "lt")


def date_bounds(search: Search, name: str) -> tuple[datetime | None, datetime | None]:
    """The half-open interval [from, before) the date parameter's values ask for (`ge`, `gt`,
    `lt`, `le`, `eq` on a date or a date-time with its offset)."""
    start: datetime | None = None
    end: datetime | None = None
    for value in search.values.get(name, []):
        prefix, text = (value[:2], value[2:]) if value[:2] in PREFIXES else ("eq", value)
        low, high = _instant_range(name, text)
        lower = {"eq": low, "ge": low, "gt": high}.get(prefix)
        upper = {"eq": high, "lt": low, "le": high}.get(prefix)
        if lower is not None:
            start = lower if start is None else max(start, lower)
        if upper is not None:
            end = upper if end is None else min(end, upper)
    return start, end


def _instant_range(name: str, text: str) -> tuple[datetime, datetime]:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            low = datetime.combine(day, time.min, tzinfo=UTC)
            return low, low + timedelta(days=1)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            [Problem(name, msg("{value!r} is not a FHIR date or dateTime", value=text))]
        ) from None
    if instant.tzinfo is None:
        raise InvalidInput([Problem(name, "a time needs its offset (e.g. +08:00)")])
    return instant, instant + timedelta(seconds=1)


def reference_ids(search: Search, name: str, resource_type: str) -> frozenset[int] | None:
    """Ids of `resource_type` a reference parameter names (`Type/1`, or a bare `1`); a
    reference to another type is refused, so a mistyped chain never silently matches all."""
    if name not in search.values:
        return None
    found: set[int] = set()
    for value in search.values[name]:
        for part in value.split(","):
            kind, _, _ = part.rpartition("/")
            if kind and kind.rsplit("/", 1)[-1] != resource_type:
                raise InvalidInput(
                    [Problem(name, msg("must reference a {type}", type=resource_type))]
                )
            if (n := as_id(part)) is not None:
                found.add(n)
    return frozenset(found)


LAST_UPDATED = Param("_lastUpdated", "date", "when the resource last changed (ge, gt, lt, le, eq)")


# --- answers -------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a search: the resources, the id to continue after (None at the end) and
    the number of matches when it is known without a count (all of them on the first page)."""

    resources: list[dict[str, Any]]
    next_after: int | None
    total: int | None = None
    included: list[dict[str, Any]] = field(default_factory=list)


def searchset(base: str, resource_type: str, search: Search, page: Page) -> dict[str, Any]:
    """The Bundle of a page with `self` and (while more may match) `next` links."""

    def link(after: int) -> str:
        pairs = [(k, v) for k, vs in search.values.items() for v in vs]
        pairs.append(("_count", str(search.count)))
        if after:
            pairs.append((CURSOR, str(after)))
        return f"{base}/{resource_type}?{urlencode(pairs)}"

    links = [{"relation": "self", "url": link(search.after)}]
    if page.next_after is not None:
        links.append({"relation": "next", "url": link(page.next_after)})
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in page.resources
    ]
    entries += [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "include"},
        }
        for r in page.included
    ]
    if search.ignored:
        entries.append(
            {
                "resource": operation_outcome(
                    "information",
                    "not-supported",
                    f"ignored: {', '.join(search.ignored)} (not search parameters of "
                    f"{resource_type}; send Prefer: handling=strict to be refused)",
                    search.ignored,
                ),
                "search": {"mode": "outcome"},
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": entries,
    }
    if page.total is not None:
        bundle["total"] = page.total
    return bundle


def paged(
    fetch: Callable[[int, int], list[Any]],
    keep: Callable[[Any], bool],
    key: Callable[[Any], int],
    search: Search,
) -> tuple[list[Any], int | None]:
    """Rows after the search's cursor that `keep` accepts, at most `count`, and the cursor of
    the next page. `fetch(after, limit)` reads in id order; rows `keep` refuses are skipped
    in batches, so a filter the database cannot apply still fills a page."""
    found: list[Any] = []
    after = search.after
    batch = search.count + 1
    for _ in range(64):  # bounded: a page never scans more than 64 batches
        rows = fetch(after, batch)
        for row in rows:
            if len(found) == search.count:
                return found, key(found[-1])
            if keep(row):
                found.append(row)
            after = key(row)
        if len(rows) < batch:
            return found, None
    return found, after


def from_list(rows: list[Any], key: Callable[[Any], int]) -> Callable[[int, int], list[Any]]:
    """A `fetch` over rows already in memory, in `key` order."""
    return lambda after, limit: [row for row in rows if key(row) > after][:limit]


def page_of(
    search: Search,
    fetch: Callable[[int, int], list[Any]],
    to_resource: Callable[[Any], dict[str, Any]],
    keep: Callable[[Any], bool] = lambda _: True,
    key: Callable[[Any], int] = lambda row: int(row.id),
) -> Page:
    rows, next_after = paged(fetch, keep, key, search)
    total = len(rows) if next_after is None and search.after == 0 else None
    return Page([to_resource(r) for r in rows], next_after, total)


# --- errors --------------------------------------------------------------------------------

_CODES: tuple[tuple[type[DomainError], str], ...] = (
    (InvalidInput, "invalid"),
    (NotFound, "not-found"),
    (Forbidden, "forbidden"),
    (Unauthenticated, "login"),
    (Conflict, "conflict"),
    (RuleViolation, "business-rule"),
)


def operation_outcome(
    severity: str, code: str, diagnostics: str, expression: Iterable[str] = ()
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if paths := [p for p in expression if p]:
        issue["expression"] = paths
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_of(exc: DomainError) -> dict[str, Any]:
    """A refusal as an OperationOutcome: one issue per problem, with the element's path."""
    code = next((c for kind, c in _CODES if isinstance(exc, kind)), "processing")
    if isinstance(exc, InvalidInput):
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                operation_outcome("error", code, p.message, [p.field])["issue"][0]
                for p in exc.problems
            ],
        }
    detail = exc.detail
    if isinstance(exc, RuleViolation):
        detail = f"{detail} ({exc.requirement})"
    return operation_outcome("error", code, detail)


def outcome_of_status(status: int, detail: str) -> dict[str, Any]:
    code = {404: "not-found", 405: "not-supported", 413: "too-costly"}.get(status, "processing")
    return operation_outcome("error", code, detail)


# --- the models ------------------------------------------------------------------------------


def model(resource_type: str) -> Any:
    """The R4B model class of a resource type (fhir.resources names modules in lower case)."""
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def element_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's location as a FHIR-style path: entry[3].resource.status."""
    parts: list[str] = []
    for step in loc:
        if isinstance(step, int) and parts:
            parts[-1] += f"[{step}]"
        else:
            parts.append(str(step))
    return ".".join(parts)


def parse(resource_type: str, data: Any, where: str = "") -> Any:
    """A resource read with its model, or InvalidInput naming the path of each problem."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise InvalidInput(
            [Problem(where or "(body)", "a FHIR resource (a JSON object) is expected")]
        )
    if data.get("resourceType") != resource_type:
        raise InvalidInput(
            [
                Problem(
                    f"{prefix}resourceType",
                    msg("must be {type}, not {found!r}", type=resource_type,
                        found=data.get("resourceType")),
                )
            ]
        )  # fmt: skip
    try:
        return model(resource_type).model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            [Problem(prefix + element_path(e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None


def emit(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource CareGrid answers with, checked against its model first: an emitted resource
    that the model refuses is a bug here, not the client's, so it raises."""
    model(resource["resourceType"]).model_validate(resource)
    return resource


def instant(moment: datetime) -> str:
    """A FHIR instant: an aware time, to the second, with its offset."""
    return moment.isoformat(timespec="seconds")
