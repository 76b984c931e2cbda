"""External quality assessment (室间质评, EQA) of the institutions that issue results (D3).

Only results issued while their issuer held a passed assessment for the item's category are
offered for recognition (`recognition.offers`), so these rows are what makes D3 reachable.
The health commission records them one at a time or as a year's list in CSV, all rows or
none; a failed assessment is recorded too and makes nothing eligible. An assessment counts
from the day it was assessed (`valid_from`) to `valid_until`, both inclusive.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid.auth import access, audit
from caregrid.auth.roles import Principal, Role
from caregrid.diagnostics import catalog as catalogs
from caregrid.diagnostics.models import QualityAssessment
from caregrid.diagnostics.schemas import QualityAssessmentIn, QualityAssessmentOut
from caregrid.diagnostics.vocab import AssessmentResult
from caregrid.errors import Conflict, InvalidInput, Problem, validation_problems
from caregrid.i18n import msg
from caregrid.registry import service as registry

COLUMNS = ("institution_code", "category", "scheme", "assessed_on", "result", "valid_until")


def categories() -> list[str]:
    """The item categories of the recognition catalog, which an assessment names."""
    return sorted({i.category for i in catalogs.starter().items})


def _problems(data: QualityAssessmentIn, known: set[str]) -> list[Problem]:
    problems = []
    if data.institution_code not in known:
        problems.append(
            Problem(
                "institution_code",
                msg("no institution {institution_code!r}", institution_code=data.institution_code),
            )
        )
    if data.category not in categories():
        problems.append(
            Problem(
                "category",
                msg(
                    "no category {category!r} in the recognition catalog ({categories})",
                    category=data.category,
                    categories=", ".join(categories()),
                ),
            )
        )
    if data.valid_until < data.assessed_on:
        problems.append(Problem("valid_until", "ends before the day it was assessed"))
    return problems


def _existing(
    session: Session, institution_id: int, data: QualityAssessmentIn
) -> QualityAssessment | None:
    return session.scalar(
        select(QualityAssessment).where(
            QualityAssessment.institution_id == institution_id,
            QualityAssessment.category == data.category,
            QualityAssessment.scheme == data.scheme,
            QualityAssessment.valid_from == data.assessed_on,
        )
    )


def _audit(session: Session, principal: Principal, row: QualityAssessment, action: str) -> None:
    audit.record_for(
        session,
        principal,
        f"quality_assessment.{action}",
        row.institution_id,
        purpose="diagnostics",
        subject_type="institution",
        detail={
            "assessment": row.id,
            "category": row.category,
            "scheme": row.scheme,
            "passed": row.passed,
        },
    )


def record(session: Session, principal: Principal, data: QualityAssessmentIn) -> QualityAssessment:
    """One assessment; the same institution, category, scheme and day twice is a conflict."""
    access.require_role(principal, Role.REGULATOR)
    institution = registry.get_institution(session, data.institution_code)
    known = {institution.code} if institution is not None else set()
    problems = _problems(data, known)
    if problems:
        raise InvalidInput(problems)
    assert institution is not None
    if _existing(session, institution.id, data) is not None:
        raise Conflict(
            "{institution_code} already has {scheme!r} for {category} assessed on {assessed_on}",
            institution_code=data.institution_code,
            scheme=data.scheme,
            category=data.category,
            assessed_on=data.assessed_on,
        )
    row = QualityAssessment(
        institution_id=institution.id,
        category=data.category,
        scheme=data.scheme,
        valid_from=data.assessed_on,
        valid_until=data.valid_until,
        passed=data.result == AssessmentResult.PASSED,
    )
    session.add(row)
    session.flush()
    _audit(session, principal, row, "record")
    return row


def record_quality_assessment(
    session: Session,
    principal: Principal,
    *,
    institution_code: str,
    category: str,
    valid_from: date,
    valid_until: date,
    scheme: str,
) -> QualityAssessment:
    """A passed external quality assessment: what makes an institution's results eligible."""
    return record(
        session,
        principal,
        QualityAssessmentIn(
            institution_code=institution_code,
            category=category,
            scheme=scheme,
            assessed_on=valid_from,
            result=AssessmentResult.PASSED,
            valid_until=valid_until,
        ),
    )


def parse_csv(text: str, *, file: str) -> list[tuple[int, QualityAssessmentIn]]:
    """The rows of a CSV list with their line numbers (the header is line 1); every bad cell
    is reported with its line and column, and then none is returned."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(reader.fieldnames or ())
    if header != COLUMNS:
        raise InvalidInput(
            [
                Problem(
                    "header",
                    msg(
                        "must be {columns}, got {header}",
                        columns=",".join(COLUMNS),
                        header=",".join(header),
                    ),
                    file,
                    1,
                )
            ]
        )
    problems: list[Problem] = []
    rows: list[tuple[int, QualityAssessmentIn]] = []
    for raw in reader:
        line = reader.line_num
        if None in raw:
            problems.append(
                Problem("row", msg("more than {count} columns", count=len(COLUMNS)), file, line)
            )
            continue
        cells = {k: (v or "").strip() for k, v in raw.items()}
        try:
            rows.append((line, QualityAssessmentIn.model_validate(cells)))
        except ValidationError as exc:
            found = validation_problems(exc.errors())
            problems += [Problem(p.field, p.reason, file, line) for p in found]
    if problems:
        raise InvalidInput(problems)
    if not rows:
        raise InvalidInput([Problem("row", "the list has no assessments", file, None)])
    return rows


def import_csv(
    session: Session, principal: Principal, csv_text: str, *, file: str
) -> list[QualityAssessment]:
    """A year's list (`institution_code,category,scheme,assessed_on,result,valid_until`), all
    rows or none. A row naming an assessment already recorded (institution, category, scheme
    and day) replaces its result and end, so the same list can be imported again."""
    access.require_role(principal, Role.REGULATOR)
    rows = parse_csv(csv_text, file=file)
    ids = {code: i for i, code in registry.codes_by_id(session).items()}
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str, date], int] = {}
    for line, data in rows:
        problems += [Problem(p.field, p.reason, file, line) for p in _problems(data, set(ids))]
        key = (data.institution_code, data.category, data.scheme, data.assessed_on)
        if key in seen:
            problems.append(
                Problem("scheme", msg("repeats line {seen}", seen=seen[key]), file, line)
            )
        seen.setdefault(key, line)
    if problems:
        raise InvalidInput(problems)
    written = []
    for _, data in rows:
        row = _existing(session, ids[data.institution_code], data)
        action = "import"
        if row is None:
            row = QualityAssessment(
                institution_id=ids[data.institution_code],
                category=data.category,
                scheme=data.scheme,
                valid_from=data.assessed_on,
            )
            session.add(row)
        else:
            action = "reimport"
        row.valid_until = data.valid_until
        row.passed = data.result == AssessmentResult.PASSED
        session.flush()
        _audit(session, principal, row, action)
        written.append(row)
    return written


def assessments(
    session: Session, principal: Principal, institution_code: str | None = None
) -> list[QualityAssessmentOut]:
    """Recorded assessments, newest first, of one institution or all. Whether an issuer is
    quality-assured is no secret: any signed-in user may see why a result is or is not
    offered for recognition."""
    query = select(QualityAssessment)
    if institution_code is not None:
        institution = registry.get_institution(session, institution_code)
        if institution is None:
            raise InvalidInput(
                [
                    Problem(
                        "institution_code",
                        msg(
                            "no institution {institution_code!r}", institution_code=institution_code
                        ),
                    )
                ]
            )
        query = query.where(QualityAssessment.institution_id == institution.id)
    codes = registry.codes_by_id(session)
    rows = session.scalars(
        query.order_by(QualityAssessment.valid_from.desc(), QualityAssessment.id.desc())
    )
    return [view(r, codes[r.institution_id]) for r in rows]


def view(row: QualityAssessment, institution_code: str) -> QualityAssessmentOut:
    return QualityAssessmentOut(
        id=row.id,
        institution_code=institution_code,
        category=row.category,
        scheme=row.scheme,
        assessed_on=row.valid_from,
        result=AssessmentResult.PASSED if row.passed else AssessmentResult.FAILED,
        valid_until=row.valid_until,
    )
