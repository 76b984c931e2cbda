"""Bulk import of fact files (CSV or Parquet) into the operational store.

Validation is vectorised (Arrow compute) and reports every bad row with file, row, column and
reason. By default a file with any bad row stores nothing; with `skip_bad` the good rows are
stored and the bad ones written to a rejects file. Rows are upserted on the fact's natural
key, so importing the same file twice changes nothing. PostgreSQL loads through COPY.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import bindparam, column, func, literal, or_, select
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from caregrid.activity.facts import FACTS, Fact, Kind
from caregrid.activity.models import TABLES
from caregrid.activity.parquet import schema
from caregrid.errors import DomainError
from caregrid.policy import icd10
from caregrid.registry import service as registry
from caregrid.spreadsheet import safe_row, xlsx_rows

PATTERNS = {
    Kind.INT: r"^-?[0-9]+$",
    Kind.NUMBER: r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$",
    Kind.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
}
NOT_A = {
    Kind.INT: "not a whole number",
    Kind.NUMBER: "not a number",
    Kind.DATE: "not a date (YYYY-MM-DD)",
    Kind.BOOL: "not true or false",
}
TRUE, FALSE = ("true", "t", "1", "yes", "y"), ("false", "f", "0", "no", "n")
CHUNK = 20_000
Arrow = Any  # an Arrow array or chunked array: pyarrow's stubs do not type compute kernels


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # CSV: the line in the file (the header is line 1); Parquet: 1-based row
    column: str
    reason: str


@dataclass
class ImportReport:
    file: str
    fact: str
    rows: int
    stored: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejects: Path | None = None
    ignored_columns: list[str] = field(default_factory=list)


class FactsRejected(DomainError):
    """A file with bad rows, nothing of it stored."""

    status = 422
    title = "Fact file refused"

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        first = report.errors[0]
        super().__init__(
            f"{len(report.errors)} problem(s) in {report.file}; nothing stored. First: row "
            f"{first.row}, {first.column}: {first.reason}"
        )


def _read(path: Path, fact: Fact) -> tuple[pa.Table, int]:
    """Every column as text, and the offset from row index to the row number users see."""
    if path.suffix.lower() == ".parquet":
        table = pq.read_table(path)
        columns = {}
        for name in table.column_names:
            column = table[name]
            if pa.types.is_boolean(column.type):
                column = pc.if_else(column, "true", "false")
            columns[name] = column.cast(pa.string())
        return pa.table(columns), 1
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path.name}: a fact file is .csv, .xlsx or .parquet")
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8-sig").strip()
    names = next(csv.reader([header]))
    options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False
    )
    table = pacsv.read_csv(path, convert_options=options)
    return table, 2


def _read_xlsx(path: Path) -> tuple[pa.Table, int]:
    """The first sheet, its first row the header, every cell as text as a CSV export gives."""
    rows = xlsx_rows(path.read_bytes())
    if not rows:
        raise ValueError(f"{path.name}: the sheet is empty")
    names = [n.strip() for n in rows[0]]
    body = rows[1:]
    columns = {
        name: pa.array([r[i] if i < len(r) else "" for r in body], pa.string())
        for i, name in enumerate(names)
        if name
    }
    return pa.table(columns), 2


def _strip(column: Arrow) -> Arrow:
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def validate(
    path: Path,
    fact: Fact,
    institutions: set[str],
    period: tuple[date, date] | None = None,
    networks: set[str] | None = None,
) -> tuple[pa.Table, ImportReport]:
    """The file's rows typed as the fact's schema, and a report of every bad row. Raises
    FactsRejected for a file-level problem (a missing column, an unreadable file)."""
    report = ImportReport(path.name, fact.name, 0)
    try:
        raw, offset = _read(path, fact)
    except (pa.ArrowInvalid, ValueError, UnicodeDecodeError) as exc:
        report.errors.append(RowError(path.name, 0, "file", f"cannot be read: {exc}"))
        raise FactsRejected(report) from exc
    report.rows = raw.num_rows
    missing = [f.name for f in fact.fields if f.required and f.name not in raw.column_names]
    if missing:
        report.errors += [RowError(path.name, 1, n, "missing column") for n in missing]
        raise FactsRejected(report)
    for name in fact.names:  # an optional column left out is empty (a field added later)
        if name not in raw.column_names:
            raw = raw.append_column(name, pa.nulls(raw.num_rows, pa.string()))
    report.ignored_columns = [n for n in raw.column_names if n not in fact.names]
    bad = [pa.array([False] * raw.num_rows)]
    problems: list[tuple[str, Any, str]] = []  # (column, mask, reason)
    typed: dict[str, Arrow] = {}
    for f in fact.fields:
        text = _strip(raw[f.name])
        present = pc.is_valid(text)
        if f.required:
            problems.append((f.name, pc.invert(present), "required"))
        wrong = pa.array([False] * raw.num_rows)
        if f.kind in PATTERNS:
            wrong = pc.and_(present, pc.invert(pc.match_substring_regex(text, PATTERNS[f.kind])))
        if f.kind == Kind.BOOL:
            wrong = pc.and_(
                present, pc.invert(pc.is_in(pc.utf8_lower(text), pa.array(TRUE + FALSE)))
            )
        ok = pc.and_kleene(present, pc.invert(wrong))
        safe = pc.if_else(ok, text, pa.scalar(None, pa.string()))
        value: Arrow
        if f.kind == Kind.DATE:
            stamp = pc.strptime(safe, format="%Y-%m-%d", unit="s", error_is_null=True)
            # strptime rolls 2025-02-30 over to March: a real day prints back the same
            again = pc.strftime(stamp, format="%Y-%m-%d")
            not_a_day = pc.and_(ok, pc.invert(pc.fill_null(pc.equal(again, safe), False)))
            problems.append((f.name, not_a_day, "not a date (YYYY-MM-DD)"))
            value = stamp.cast(pa.date32())
        elif f.kind == Kind.INT:
            value = safe.cast(pa.int64())
        elif f.kind == Kind.NUMBER:
            value = safe.cast(pa.float64())
        elif f.kind == Kind.BOOL:
            value = pc.is_in(pc.utf8_lower(safe), pa.array(TRUE))
            value = pc.if_else(pc.is_valid(safe), value, pa.scalar(None, pa.bool_()))
        else:
            value = safe
        if f.kind != Kind.TEXT:
            problems.append((f.name, wrong, NOT_A[f.kind]))
        if f.choices:
            outside = pc.and_(ok, pc.invert(pc.is_in(safe, pa.array(f.choices))))
            problems.append((f.name, outside, f"not one of {', '.join(f.choices)}"))
        if f.low is not None:
            problems.append(
                (f.name, pc.fill_null(pc.less(value, f.low), False), f"below {f.low:g}")
            )
        if f.high is not None:
            above = pc.fill_null(pc.greater(value, f.high), False)
            problems.append((f.name, above, f"above {f.high:g}"))
        if f.institution:
            known = pa.array(sorted(institutions), pa.string())  # typed: the registry may be empty
            unknown = pc.and_(ok, pc.invert(pc.is_in(safe, known)))
            problems.append((f.name, unknown, "not an institution of the registry"))
        if f.network:
            known = pa.array(sorted(networks or ()), pa.string())
            unknown = pc.and_(ok, pc.invert(pc.is_in(safe, known)))
            problems.append((f.name, unknown, "not a network of the registry"))
        if f.icd10:
            problems.append((f.name, _bad_icd10(safe), "not an ICD-10 code"))
        if period is not None and f.name == fact.date:
            start, end = (pa.scalar(d, pa.date32()) for d in period)
            out = pc.fill_null(pc.or_(pc.less(value, start), pc.greater(value, end)), False)
            problems.append((f.name, out, f"outside the period {period[0]}..{period[1]}"))
        typed[f.name] = value
    for name, other in fact.at_most:
        above = pc.fill_null(pc.greater(typed[name], typed[other]), False)
        problems.append((name, above, f"above {other}"))
    problems.append((",".join(fact.key), _duplicates(raw, fact), "duplicate of an earlier row"))
    for name, mask, reason in problems:
        mask = pc.fill_null(mask, False)
        for index in pc.indices_nonzero(mask).to_pylist():
            report.errors.append(RowError(path.name, index + offset, name, reason))
        bad.append(mask)
    report.errors.sort(key=lambda e: (e.row, e.column))
    any_bad = bad[0]
    for mask in bad[1:]:
        any_bad = pc.or_(any_bad, mask)
    good = pa.table(typed).filter(pc.invert(any_bad))
    return good.cast(schema(fact)), report


def _bad_icd10(codes: Arrow) -> Arrow:
    wrong = []
    for code in pc.unique(codes).to_pylist():
        if code is None:
            continue
        if not icd10.well_formed(code):
            wrong.append(code)
    return pc.is_in(codes, pa.array(wrong, pa.string()))


def _duplicates(raw: pa.Table, fact: Fact) -> Arrow:
    """Rows whose natural key an earlier row of the file already has."""
    keys = pc.binary_join_element_wise(
        *[pc.fill_null(_strip(raw[k]), "") for k in fact.key], "\x1f"
    )
    indexed = pa.table({"k": keys, "i": pa.array(range(raw.num_rows), pa.int64())})
    first = indexed.group_by("k").aggregate([("i", "min")])
    joined = indexed.join(first, "k").sort_by("i")
    return pc.not_equal(joined["i"], joined["i_min"]).combine_chunks()


def registry_codes(session: Session) -> set[str]:
    return registry.institution_codes(session)


def store(session: Session, fact: Fact, rows: pa.Table) -> int:
    """Upsert rows on the natural key; returns how many were new or changed."""
    if rows.num_rows == 0:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, fact, rows)
    return _upsert(session, fact, rows)


def _upsert(session: Session, fact: Fact, rows: pa.Table) -> int:
    """SQLite: one INSERT ... ON CONFLICT compiled once and run by the driver over the rows
    as tuples (dates as SQLAlchemy stores them, ISO text); only rows that are new or differ
    are written. Per-row parameter handling by the ORM cost more than the writes."""
    table = TABLES[fact.name]
    names = list(fact.names)
    statement = sqlite.insert(table).values({n: bindparam(n) for n in names})
    others = [n for n in names if n not in fact.key]
    if others:
        differs = or_(*[table.c[n].is_not(statement.excluded[n]) for n in others])
        statement = statement.on_conflict_do_update(
            index_elements=list(fact.key),
            set_={n: statement.excluded[n] for n in others},
            where=differs,
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(fact.key))
    compiled = statement.compile(dialect=session.get_bind().dialect)
    order = list(compiled.positiontup or [])
    columns = {n: _stored(rows.column(n)) for n in names}
    values = list(zip(*(columns[n] for n in order), strict=True))
    before = session.scalar(select(func.total_changes()))
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    for start in range(0, len(values), CHUNK):
        cursor.executemany(str(compiled), values[start : start + CHUNK])
    after = session.scalar(select(func.total_changes()))
    return int(after or 0) - int(before or 0)


def _stored(values: pa.ChunkedArray) -> list[Any]:
    """A column as the SQLite driver is given it: dates as ISO text, the rest as they are."""
    found: list[Any] = values.to_pylist()
    if pa.types.is_date(values.type):
        return [None if d is None else d.isoformat() for d in found]
    return found


def _copy(session: Session, fact: Fact, rows: pa.Table) -> int:
    """COPY into a temporary table, then one INSERT ... ON CONFLICT that touches only rows
    that are new or differ."""
    table = TABLES[fact.name]
    names = list(fact.names)
    connection = session.connection()
    temp = f"load_{fact.name}"
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE {temp} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    buffer = io.BytesIO()
    pacsv.write_csv(rows, buffer, pacsv.WriteOptions(include_header=False))
    raw = connection.connection.driver_connection
    statement = f"COPY {temp} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        copy.write(buffer.getvalue())
    source: Any = select(*[column(n) for n in names]).select_from(sql_table(temp))
    staged = postgresql.insert(table).from_select(names, source)
    others = [n for n in names if n not in fact.key]
    if others:
        differs = or_(*[table.c[n].is_distinct_from(staged.excluded[n]) for n in others])
        staged = staged.on_conflict_do_update(
            constraint=f"uq_fact_{fact.name}_key",
            set_={n: staged.excluded[n] for n in others},
            where=differs,
        )
    else:
        staged = staged.on_conflict_do_nothing(constraint=f"uq_fact_{fact.name}_key")
    touched = staged.returning(literal(1)).cte("touched")
    changed = connection.scalar(select(func.count()).select_from(touched))
    connection.exec_driver_sql(f"DROP TABLE {temp}")
    return int(changed or 0)


def import_file(
    session: Session,
    path: Path,
    fact: Fact,
    *,
    period: tuple[date, date] | None = None,
    skip_bad: bool = False,
    rejects_dir: Path | None = None,
) -> ImportReport:
    """Validate and store one file. Bad rows refuse the whole file unless `skip_bad`, when
    they go to `<name>.rejects.csv` beside the file (or in `rejects_dir`)."""
    rows, report = validate(
        path, fact, registry_codes(session), period, {n.code for n in registry.networks(session)}
    )
    if report.errors and not skip_bad:
        raise FactsRejected(report)
    if report.errors:
        report.rejects = (rejects_dir or path.parent) / f"{path.stem}.rejects.csv"
        _write_rejects(report)
    with session.begin_nested():
        report.stored = store(session, fact, rows)
    return report


def _write_rejects(report: ImportReport) -> None:
    assert report.rejects is not None
    with report.rejects.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "column", "reason"])
        for e in report.errors:
            writer.writerow(safe_row([e.file, e.row, e.column, e.reason]))


def load_tree(session: Session, root: Path) -> dict[str, ImportReport]:
    """Import every Parquet file under `<root>/<fact>/month=*/` (what `caregrid synth` or
    an export wrote) in the caller's transaction: a refused file raises FactsRejected, and
    the caller's rollback leaves nothing of any file. Returns, per fact, the rows read and
    the rows new or changed over all its files."""
    found: dict[str, ImportReport] = {}
    for declared in FACTS:
        files = sorted((root / declared.name).glob("month=*/*.parquet"))
        if not files:
            continue
        total = ImportReport(str(root / declared.name), declared.name, 0)
        for path in files:
            report = import_file(session, path, declared)
            total.rows += report.rows
            total.stored += report.stored
        found[declared.name] = total
    return found
