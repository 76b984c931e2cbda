"""The network's one catalogue of drugs and consumables and the members' own lists (G1, G3).

The network office imports its catalogue from CSV or Excel: every bad cell is reported with
its row and column and then nothing is written; rows upsert by `code`, so the same file can
be imported again. A member's list is what its own system lists, imported whole (a line the
network's catalogue lacks is kept and shown: that is what alignment measures). The national
code's shape is data (`data/pharmacy/national-codes.yaml`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from caregrid import clock, yamlio
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.config import get_settings
from caregrid.errors import Forbidden, InvalidInput, Problem, validation_problems
from caregrid.i18n import msg
from caregrid.pharmacy.models import CatalogueItem, Listing, StockLot
from caregrid.pharmacy.schemas import CODE, ItemIn, ListingOut
from caregrid.pharmacy.vocab import ItemKind
from caregrid.registry import service as registry
from caregrid.spreadsheet import xlsx_rows

ITEM_COLUMNS = tuple(ItemIn.model_fields)
REQUIRED_COLUMNS = ("code", "kind", "name_zh", "source")
LISTING_COLUMNS = ("code", "name_zh")
MAX_ROWS = 100_000
_YES = {"yes", "true", "1", "y", "是"}
_NO = {"no", "false", "0", "n", "否", ""}
_CLASS = {"甲": "A", "乙": "B", "a": "A", "b": "B"}


class CodeShape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    pattern: str
    example: str


class CodeShapes(BaseModel):
    """The accepted shapes of a national code, per kind of item."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    format: str = Field(pattern=r"^caregrid-national-codes/1$")
    drug: tuple[CodeShape, ...]
    consumable: tuple[CodeShape, ...]

    def problem(self, kind: ItemKind, code: str) -> str | None:
        """Why `code` is not a national code of that kind, or None when it has a known shape."""
        shapes = self.drug if kind == ItemKind.DRUG else self.consumable
        if any(re.fullmatch(s.pattern, code) for s in shapes):
            return None
        return ", ".join(f"{s.name} {s.example}" for s in shapes)


@lru_cache(maxsize=1)
def code_shapes() -> CodeShapes:
    """The deployment's file (`CAREGRID_DATA_DIR/pharmacy/national-codes.yaml`) or ours."""
    local = get_settings().data_dir / "pharmacy" / "national-codes.yaml"
    if local.is_file():
        text, name = local.read_text("utf-8"), str(local)
    else:
        text = (resources.files("caregrid.data") / "pharmacy" / "national-codes.yaml").read_text(
            "utf-8"
        )
        name = "national-codes.yaml"
    return yamlio.validate(CodeShapes, yamlio.load_text(text, name))


def starter_file() -> Path:
    """The shipped first catalogue: essential hypertension and diabetes drugs (README)."""
    return Path(str(resources.files("caregrid.data") / "pharmacy" / "starter-catalogue.csv"))


# --- reading a sheet -----------------------------------------------------------------------


def read_sheet(data: bytes, *, file: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV (UTF-8) or Excel workbook (first sheet) with their line numbers,
    keyed by the header row; blank rows are skipped."""
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            [Problem("file", msg("is not UTF-8 text (byte {at})", at=exc.start), file)]
        ) from None
    reader = csv.reader(io.StringIO(text))
    return _keyed(((reader.line_num, row) for row in reader), file)


def _read_xlsx(data: bytes, file: str) -> list[tuple[int, dict[str, str]]]:
    try:
        rows = xlsx_rows(data)
    except ValueError:
        raise InvalidInput([Problem("file", "is not a readable Excel workbook", file)]) from None
    return _keyed(enumerate(rows, start=1), file)


def _keyed(rows: Iterable[tuple[int, list[str]]], file: str) -> list[tuple[int, dict[str, str]]]:
    header: list[str] | None = None
    found: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    for line, raw in rows:
        cells = [c.strip() for c in raw]
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        if len(found) >= MAX_ROWS:
            raise InvalidInput(
                [Problem("file", msg("has more than {count} rows", count=MAX_ROWS), file, line)]
            )
        if len(cells) > len(header) and any(cells[len(header) :]):
            problems.append(
                Problem("row", msg("more than {count} columns", count=len(header)), file, line)
            )
            continue
        padded = (cells + [""] * len(header))[: len(header)]
        found.append((line, dict(zip(header, padded, strict=True))))
    if header is None:
        raise InvalidInput([Problem("header", "the file is empty", file, 1)])
    if problems:
        raise InvalidInput(problems)
    return found


def _header(
    rows: list[tuple[int, dict[str, str]]],
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    file: str,
) -> None:
    names = list(rows[0][1]) if rows else []
    problems = []
    for name in names:
        if name not in allowed:
            problems.append(
                Problem(
                    "header",
                    msg(
                        "{column!r} is not a column ({columns})",
                        column=name,
                        columns=", ".join(allowed),
                    ),
                    file,
                    1,
                )
            )
    for name in required:
        if rows and name not in names:
            problems.append(Problem("header", msg("{column!r} is missing", column=name), file, 1))
    if len(set(names)) != len(names):
        problems.append(Problem("header", "a column appears twice", file, 1))
    if problems:
        raise InvalidInput(problems)


# --- the network's catalogue --------------------------------------------------------------


def _cell_values(cells: dict[str, str]) -> dict[str, object]:
    """Cells as the schema reads them: blanks absent, yes/no and 甲/乙 spelled as ours."""
    values: dict[str, object] = {}
    for name, cell in cells.items():
        if cell == "":
            continue
        if name in ("essential", "negotiated", "volume_procurement", "in_hospital_preparation"):
            lowered = cell.lower()
            values[name] = True if lowered in _YES else False if lowered in _NO else cell
        elif name == "insurance_class":
            values[name] = _CLASS.get(cell.lower(), cell)
        else:
            values[name] = cell
    return values


def parse_items(data: bytes, *, file: str) -> list[tuple[int, ItemIn]]:
    """Every row as a catalogue line, or every bad cell with its row and column."""
    rows = read_sheet(data, file=file)
    if not rows:
        raise InvalidInput([Problem("row", "the file has no items", file)])
    _header(rows, ITEM_COLUMNS, REQUIRED_COLUMNS, file)
    shapes = code_shapes()
    problems: list[Problem] = []
    items: list[tuple[int, ItemIn]] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        try:
            item = ItemIn.model_validate(_cell_values(cells))
        except ValidationError as exc:
            found = validation_problems(exc.errors())
            problems += [Problem(p.field, p.reason, file, line) for p in found]
            continue
        if item.national_code is not None:
            expected = shapes.problem(item.kind, item.national_code)
            if expected is not None:
                problems.append(
                    Problem(
                        "national_code",
                        msg(
                            "is not a national {kind} code (like {expected})",
                            kind=item.kind,
                            expected=expected,
                        ),
                        file,
                        line,
                    )
                )
        if item.code in seen:
            problems.append(
                Problem("code", msg("repeats line {seen}", seen=seen[item.code]), file, line)
            )
        seen.setdefault(item.code, line)
        items.append((line, item))
    if problems:
        raise InvalidInput(problems)
    return items


def import_catalogue(
    session: Session, principal: Principal, network_code: str, data: bytes, *, file: str
) -> list[CatalogueItem]:
    """The network office's catalogue file, all rows or none; a row whose code is already a
    line replaces that line's details."""
    network = registry.get_network(session, network_code)
    access.require_network_office(
        principal, network.id, "a network's catalogue is kept by its office and the commission"
    )
    items = parse_items(data, file=file)
    existing = {
        i.code: i
        for i in session.scalars(
            select(CatalogueItem).where(CatalogueItem.network_id == network.id)
        )
    }
    written = []
    added = 0
    for _, item in items:
        row = existing.get(item.code)
        if row is None:
            row = CatalogueItem(network_id=network.id, code=item.code)
            session.add(row)
            added += 1
        for name, value in item.model_dump(exclude={"code"}).items():
            setattr(row, name, value)
        written.append(row)
    session.flush()
    audit.record_for(
        session,
        principal,
        "catalogue.import",
        network.id,
        purpose="pharmacy",
        subject_type="network",
        detail={"file": file, "rows": len(items), "added": added},
    )
    return written


def items(session: Session, network_id: int) -> list[CatalogueItem]:
    """The network's catalogue, essential medicines first (G3), then by name. Any signed-in
    user may read it: prescribers choose from it."""
    return list(
        session.scalars(
            select(CatalogueItem)
            .where(CatalogueItem.network_id == network_id)
            .order_by(CatalogueItem.essential.desc(), CatalogueItem.name_zh, CatalogueItem.code)
        )
    )


def item_by_code(session: Session, network_id: int, code: str) -> CatalogueItem | None:
    return session.scalar(
        select(CatalogueItem).where(
            CatalogueItem.network_id == network_id, CatalogueItem.code == code
        )
    )


# --- members' own lists ---------------------------------------------------------------------


def _codes_of(session: Session, networks: Collection[int]) -> dict[str, bool]:
    """Codes of the catalogues of these networks, with whether a line is an essential
    medicine (an institution in two groups is aligned with either)."""
    rows = session.execute(
        select(CatalogueItem.code, CatalogueItem.essential).where(
            CatalogueItem.network_id.in_(networks)
        )
    )
    found: dict[str, bool] = {}
    for code, essential in rows:
        found[code] = found.get(code, False) or essential
    return found


def _catalogues(session: Session) -> Callable[[int], dict[str, bool]]:
    """An institution's catalogue codes (`_codes_of` its networks), read once per distinct
    set of networks: the members of one group share one read."""
    networks = registry.network_ids_by_institution(session)
    cache: dict[frozenset[int], dict[str, bool]] = {}

    def of(institution_id: int) -> dict[str, bool]:
        key = frozenset(networks.get(institution_id, ()))
        if key not in cache:
            cache[key] = _codes_of(session, key)
        return cache[key]

    return of


def import_listing(
    session: Session, principal: Principal, institution_code: str, data: bytes, *, file: str
) -> list[Listing]:
    """A member's whole list (`code,name_zh`) as its system holds it today, replacing the one
    before; its own administrators or its network's office send it."""
    institution = registry.require_institution(session, institution_code)
    if not access.can_manage_institution(session, principal, institution.id):
        raise Forbidden("a member's list is sent by its administrators or its network's office")
    rows = read_sheet(data, file=file)
    _header(rows, LISTING_COLUMNS, LISTING_COLUMNS, file)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        code, name = cells["code"], cells["name_zh"]
        if not re.fullmatch(CODE[1:-1], code):
            problems.append(Problem("code", "is not in the expected form", file, line))
        if not name or len(name) > 200:
            problems.append(Problem("name_zh", "needs 1 to 200 characters", file, line))
        if code in seen:
            problems.append(
                Problem("code", msg("repeats line {seen}", seen=seen[code]), file, line)
            )
        seen.setdefault(code, line)
    if problems:
        raise InvalidInput(problems)
    session.execute(delete(Listing).where(Listing.institution_id == institution.id))
    today = clock.today()
    written = [
        Listing(
            institution_id=institution.id, code=c["code"], name_zh=c["name_zh"], listed_on=today
        )
        for _, c in rows
    ]
    session.add_all(written)
    session.flush()
    audit.record_for(
        session,
        principal,
        "listing.import",
        institution.id,
        purpose="pharmacy",
        subject_type="institution",
        detail={"file": file, "rows": len(written)},
    )
    return written


def listing(session: Session, institution_id: int) -> list[ListingOut]:
    """A member's list, the lines its network's catalogue lacks first."""
    known = _codes_of(session, registry.network_ids_of_institution(session, institution_id))
    rows = session.execute(
        select(Listing.code, Listing.name_zh, Listing.listed_on).where(
            Listing.institution_id == institution_id
        )
    )
    found = [
        ListingOut(code=code, name_zh=name, listed_on=on, in_catalogue=code in known)
        for code, name, on in rows
    ]
    return sorted(found, key=lambda r: (r.in_catalogue, r.code))


def outside(session: Session, network_id: int) -> dict[int, list[ListingOut]]:
    """Per member of the network, the listed lines its catalogue lacks (G1: the office sees
    who lists what outside it)."""
    of = _catalogues(session)
    found: dict[int, list[ListingOut]] = {}
    rows = session.execute(
        select(Listing.institution_id, Listing.code, Listing.name_zh, Listing.listed_on)
        .where(Listing.institution_id.in_(registry.network_member_ids(session, network_id)))
        .order_by(Listing.institution_id, Listing.code)
    )
    for member, code, name, on in rows:
        if code not in of(member):
            found.setdefault(member, []).append(
                ListingOut(code=code, name_zh=name, listed_on=on, in_catalogue=False)
            )
    return found


def listing_facts(session: Session, on: date) -> list[dict[str, object]]:
    """Every member's list read on `on`, as `catalogue_listing` facts (docs/activity.md):
    each line it lists, and each national negotiated drug of its networks' catalogues it
    does not, with the unexpired units it holds that day (alignment, availability, stock-outs)."""
    codes = registry.codes_by_id(session)
    networks = registry.network_ids_by_institution(session)
    lines: dict[int, dict[str, tuple[bool, bool]]] = {}
    for network_id, code, essential, negotiated in session.execute(
        select(
            CatalogueItem.network_id,
            CatalogueItem.code,
            CatalogueItem.essential,
            CatalogueItem.negotiated,
        )
    ):
        lines.setdefault(network_id, {})[code] = (essential, negotiated)
    held: dict[tuple[int, str], int] = {}
    for member, code, units in session.execute(
        select(StockLot.institution_id, CatalogueItem.code, func.sum(StockLot.quantity))
        .join(CatalogueItem, CatalogueItem.id == StockLot.item_id)
        .where(StockLot.expires_on >= on)
        .group_by(StockLot.institution_id, CatalogueItem.code)
    ):
        held[member, code] = int(units or 0)
    listed: dict[int, list[str]] = {}
    for member, code in session.execute(
        select(Listing.institution_id, Listing.code).order_by(Listing.institution_id, Listing.code)
    ):
        listed.setdefault(member, []).append(code)
    merged: dict[frozenset[int], dict[str, tuple[bool, bool]]] = {}
    rows: list[dict[str, object]] = []
    for member in sorted(set(listed) | set(networks)):
        key = frozenset(networks.get(member, ()))
        if key not in merged:  # the members of one group share one reading of its catalogue
            found: dict[str, tuple[bool, bool]] = {}
            for network_id in key:
                for code, (essential, negotiated) in lines.get(network_id, {}).items():
                    was = found.get(code, (False, False))
                    found[code] = (was[0] or essential, was[1] or negotiated)
            merged[key] = found
        catalogue = merged[key]
        own = listed.get(member, [])
        unlisted = sorted(set(c for c, (_, n) in catalogue.items() if n) - set(own))
        for code, is_listed in [*((c, True) for c in own), *((c, False) for c in unlisted)]:
            essential, negotiated = catalogue.get(code, (False, False))
            rows.append(
                {
                    "institution_code": codes[member],
                    "item_code": code,
                    "in_catalogue": code in catalogue,
                    "essential": essential,
                    "listed": is_listed,
                    "negotiated": negotiated,
                    "on_hand": held.get((member, code), 0),
                    "as_of": on,
                }
            )
    return rows
