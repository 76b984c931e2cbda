"""Indicator definitions, declared as data (`data/indicators/*.yaml`) and checked when loaded.

An indicator is a numerator and an optional denominator, each a sum over one fact: `count`
of rows or `sum` of a number field, filtered by a `where` expression and attributed to the
institution a field names (`by`). Following DHIS2, numerator and denominator are summed
separately at every level (institution, network, city) and divided last.

`where` is parsed by SQLGlot and allowed only comparisons, AND/OR/NOT, IN, LIKE, BETWEEN,
IS NULL, literals and the fact's own fields (plus `institution_level` from the registry), so
a definition that names an unknown field fails here, not when it is computed, and the same
expression is written out for DuckDB, PostgreSQL and Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

from caregrid.activity.facts import Fact, Kind, fact
from caregrid.chronic.standard import Condition, load_standard

SIDE_KEYS = (
    "fact", "by", "where", "sum", "max", "distinct", "distinct_chars", "having", "last",
    "last_where", "among", "min_age", "weight",
)  # fmt: skip
ROLL_UPS = ("sum", "min")
AREA_FIELDS = ("in_area",)  # the row's institution is a member of the area's network
DIMENSION_FIELDS = ("institution_level", *AREA_FIELDS)
PERIOD_FIELDS = ("period_start", "period_end")  # the first and last day computed over
AGGREGATES = (exp.Count, exp.Sum, exp.Max, exp.Min, exp.Star)
ALLOWED = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Like,
    exp.Between,
    exp.Is,
    exp.Null,
    exp.Boolean,
    exp.Literal,
    exp.Column,
    exp.Identifier,
    exp.Neg,
    exp.Tuple,
)


class Evidence(StrEnum):
    """INDICATORS.md: how sure we are the formula is the official one."""

    VERIFIED = "verified"
    LIKELY = "likely"
    OURS = "ours"


class DefinitionError(ValueError):
    """A definition that cannot be computed; the message names the indicator and field."""


@dataclass(frozen=True)
class Among:
    """Keep only rows whose `field` value appears in another fact's rows matching `where`
    (a semi-join), e.g. contracts of residents the register lists in a key population (FD2)."""

    fact: Fact
    field: str
    where: exp.Expr | None


@dataclass(frozen=True)
class Side:
    fact: Fact
    by: str
    where: exp.Expr | None
    sum: str | None  # None: count rows
    distinct: str | None = None  # count distinct values of this field (patients)...
    having: exp.Expr | None = None  # ...whose own rows satisfy this, e.g. count(*) >= 4
    last: str | None = None  # ...or whose last row by this date field...
    last_where: exp.Expr | None = None  # ...satisfies this, e.g. controlled (CD2)
    among: Among | None = None
    min_age: int | None = None  # only rows whose birth_date makes them this old at period_end
    weight: Fraction | None = None  # each counted row or patient counts this much (CD3)
    max: str | None = None  # the largest value of a number field instead of a sum (J5)
    distinct_chars: int | None = None  # distinct values by their first characters (K6)

    @property
    def distinct_sql(self) -> str:
        """What distinct counts: the field, or its first `distinct_chars` characters (an
        ICD-10 code's category)."""
        if self.distinct_chars is None:
            return str(self.distinct)
        return f"substr({self.distinct}, 1, {self.distinct_chars})"

    def filter_sql(self, dialect: str, days: tuple[str, str] | None = None) -> str:
        """The filter in the engine's dialect, `period_start` and `period_end` as dates, and
        `min_age` as a latest birth date on the period's last day."""
        where = self.where
        if self.min_age is not None:
            if days is None:
                raise DefinitionError("min_age is only known for a year indicator")
            born_by = exp.LTE(this=exp.column("birth_date"), expression=_date(_years_before(
                date.fromisoformat(days[1]), self.min_age
            )))  # fmt: skip
            where = born_by if where is None else exp.and_(where, born_by)
        if where is None:
            return "TRUE"
        bound = dict(zip(PERIOD_FIELDS, days or ("", ""), strict=True))

        def fill(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Column) and node.name in PERIOD_FIELDS:
                if days is None:
                    raise DefinitionError(f"{node.name} is only known for a year indicator")
                return _date(date.fromisoformat(bound[node.name]))
            return node

        return where.copy().transform(fill).sql(dialect=dialect)

    @property
    def uses_level(self) -> bool:
        """Whether the filter reads the registry's institution level (a join)."""
        return self.where is not None and _names(self.where, ("institution_level",))

    @property
    def area(self) -> bool:
        """Attributed to a network, not to an institution: to the networks whose grid covers
        the division `by` names (where the patient lives or is insured: CC1, CC2), or to the
        network a network field names (the group's own records: its meetings, L2)."""
        found = self.fact.field(self.by)
        return found is not None and (found.division or found.network)

    @property
    def division(self) -> bool:
        """Attributed through the grids: the engine joins the division to its networks."""
        found = self.fact.field(self.by)
        return found is not None and found.division

    @property
    def unit(self) -> str:
        """The column that names a row's unit once the engine has joined the registry."""
        return "area_unit" if self.division else self.by

    @property
    def institution_field(self) -> str:
        return "institution_code" if self.area else self.by

    def having_sql(self, dialect: str) -> str:
        return "TRUE" if self.having is None else self.having.sql(dialect=dialect)

    def among_sql(self, dialect: str, days: tuple[str, str], source: str) -> str:
        """The semi-join as a filter; `source` is the other fact's rows."""
        if self.among is None:
            return "TRUE"
        inner = Side(self.among.fact, "", self.among.where, None).filter_sql(dialect, days)
        field = self.among.field
        return f"{field} IN (SELECT a.{field} FROM {source} AS a WHERE ({inner}))"

    def last_where_sql(self, dialect: str) -> str:
        return "TRUE" if self.last_where is None else self.last_where.sql(dialect=dialect)


@dataclass(frozen=True)
class Indicator:
    id: str
    name_zh: str
    name_en: str
    evidence: Evidence
    requirements: tuple[str, ...]
    source: str
    numerator: Side
    denominator: Side | None
    factor: int
    decimals: int
    direction: str  # up | down | monitor
    target: str | None  # the policy profile parameter holding the target
    description: str
    target_increase: str | None = None  # the parameter of a "+N points a year" alternative
    period: str = "month"  # month: summed over months; year: computed over the whole period
    target_growth: str | None = None  # the parameter of a relative rise on a year earlier
    unit: str = ""  # what the value is in: "%" for a share (the default), "h", "CNY", ...
    roll_up: str = "sum"  # sum: members' sides added; min: the lowest member's value (J5, K6)


def _side(indicator: str, part: str, raw: Any) -> Side:
    where = f"{indicator}.{part}"
    if not isinstance(raw, dict):
        raise DefinitionError(f"{where}: a mapping with fact, by, where")
    unknown = set(raw) - set(SIDE_KEYS)
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    try:
        found = fact(str(raw.get("fact")))
    except KeyError as exc:
        raise DefinitionError(f"{where}.fact: {exc.args[0]}") from exc
    by = str(raw.get("by", "institution_code"))
    field = found.field(by)
    if field is None or not (field.institution or field.division or field.network):
        raise DefinitionError(
            f"{where}.by: {by!r} is not an institution, division or network field of {found.name}"
        )
    if field.division and found.field("institution_code") is None:
        raise DefinitionError(f"{where}.by: {found.name} has no institution_code to place it")
    for key in ("sum", "max"):
        named = raw.get(key)
        if named is not None:
            summed = found.field(str(named))
            if summed is None or summed.kind not in (Kind.INT, Kind.NUMBER):
                raise DefinitionError(
                    f"{where}.{key}: {named!r} is not a number field of {found.name}"
                )
    total, largest = raw.get("sum"), raw.get("max")
    if total is not None and largest is not None:
        raise DefinitionError(f"{where}: a sum or a max, not both")
    expression = None
    if raw.get("where"):
        expression = _parse(f"{where}.where", str(raw["where"]), found)
        if not field.division and _names(expression, AREA_FIELDS):
            raise DefinitionError(f"{where}.where: in_area needs `by` a division field")
    distinct = raw.get("distinct")
    if distinct is not None and found.field(str(distinct)) is None:
        raise DefinitionError(f"{where}.distinct: {found.name} has no field {distinct!r}")
    if distinct is not None and largest is not None:
        raise DefinitionError(f"{where}.max: counts rows, not distinct values")
    chars = raw.get("distinct_chars")
    if chars is not None:
        if distinct is None:
            raise DefinitionError(f"{where}.distinct_chars: needs `distinct`, the field it cuts")
        if not isinstance(chars, int) or isinstance(chars, bool) or chars < 1:
            raise DefinitionError(f"{where}.distinct_chars: a whole number, 1 or more")
    having = None
    if raw.get("having"):
        if distinct is None:
            raise DefinitionError(f"{where}.having: needs `distinct`, the rows it groups")
        having = _parse(f"{where}.having", str(raw["having"]), found, aggregates=True)
    last = raw.get("last")
    last_where = None
    if last is not None:
        ordered = found.field(str(last))
        if ordered is None or ordered.kind is not Kind.DATE:
            raise DefinitionError(f"{where}.last: {last!r} is not a date field of {found.name}")
        if distinct is None or having is not None:
            raise DefinitionError(f"{where}.last: needs `distinct` and no `having`")
        if not raw.get("last_where"):
            raise DefinitionError(f"{where}.last_where: what the last row must satisfy")
        last_where = _parse(f"{where}.last_where", str(raw["last_where"]), found)
    elif raw.get("last_where"):
        raise DefinitionError(f"{where}.last_where: needs `last`, the date that orders rows")
    return Side(
        found,
        by,
        expression,
        str(total) if total is not None else None,
        str(distinct) if distinct is not None else None,
        having,
        str(last) if last is not None else None,
        last_where,
        _among(f"{where}.among", raw["among"], found) if raw.get("among") else None,
        _min_age(where, raw.get("min_age"), found),
        _weight(where, raw.get("weight")),
        str(largest) if largest is not None else None,
        chars,
    )


def _min_age(where: str, raw: Any, found: Fact) -> int | None:
    if raw is None:
        return None
    if found.field("birth_date") is None:
        raise DefinitionError(f"{where}.min_age: {found.name} has no birth_date")
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 < raw < 130:
        raise DefinitionError(f"{where}.min_age: a whole number of years, 1 to 129")
    return raw


def _weight(where: str, raw: Any) -> Fraction | None:
    if raw is None:
        return None
    try:
        weight = Fraction(str(raw))
    except ValueError as exc:
        raise DefinitionError(f"{where}.weight: {raw!r} is not a number") from exc
    if weight <= 0:
        raise DefinitionError(f"{where}.weight: above 0")
    return weight


def _among(where: str, raw: Any, outer: Fact) -> Among:
    if not isinstance(raw, dict) or set(raw) - {"fact", "field", "where"}:
        raise DefinitionError(f"{where}: a mapping with fact, field, where")
    try:
        found = fact(str(raw.get("fact")))
    except KeyError as exc:
        raise DefinitionError(f"{where}.fact: {exc.args[0]}") from exc
    field = str(raw.get("field", "patient_id"))
    for side in (outer, found):
        if side.field(field) is None:
            raise DefinitionError(f"{where}.field: {side.name} has no field {field!r}")
    expression = _parse(f"{where}.where", str(raw["where"]), found) if raw.get("where") else None
    if expression is not None and _names(expression, DIMENSION_FIELDS):
        raise DefinitionError(f"{where}.where: registry fields are not known here")
    return Among(found, field, expression)


def _date(day: date) -> exp.Expr:
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.build("date"))


def _years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _names(tree: exp.Expr, names: tuple[str, ...]) -> bool:
    return any(isinstance(n, exp.Column) and n.name in names for n in tree.walk())


def _conditions(where: str, tree: exp.Expr) -> exp.Expr:
    """`condition(diagnosis_code, 'hypertension')` becomes the national standard's ICD-10
    categories for the condition (`chronic.standard`), so the catalogue and the workflows
    count the same patients: one definition, kept in data/standards."""

    def expand(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.Anonymous) and str(node.this).lower() == "condition"):
            return node
        args = node.expressions
        if (
            len(args) != 2
            or not isinstance(args[0], exp.Column)
            or not isinstance(args[1], exp.Literal)
            or not args[1].is_string
        ):
            raise DefinitionError(f"{where}: condition() takes a field and a condition's name")
        try:
            condition = Condition(args[1].this)
        except ValueError:
            known = ", ".join(c.value for c in Condition)
            raise DefinitionError(
                f"{where}: no condition {args[1].this!r}; known: {known}"
            ) from None
        likes = [
            exp.Like(this=args[0].copy(), expression=exp.Literal.string(f"{prefix}%"))
            for prefix in load_standard().icd10_prefixes(condition)
        ]
        return exp.Paren(this=exp.or_(*likes))

    return tree.transform(expand)


def _parse(where: str, text: str, found: Fact, *, aggregates: bool = False) -> exp.Expr:
    try:
        tree = _conditions(where, sqlglot.parse_one(text, dialect="duckdb"))
    except sqlglot.errors.ParseError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc
    allowed = ALLOWED + AGGREGATES if aggregates else ALLOWED
    for node in tree.walk():
        if not isinstance(node, allowed):
            raise DefinitionError(f"{where}: {node.key} is not allowed in a filter")
        if isinstance(node, exp.Column) and (
            node.name not in found.names
            and node.name not in DIMENSION_FIELDS
            and node.name not in PERIOD_FIELDS
        ):
            raise DefinitionError(f"{where}: {found.name} has no field {node.name!r}")
    return tree


def _indicator(raw: Any) -> Indicator:
    if not isinstance(raw, dict) or "id" not in raw:
        raise DefinitionError("an indicator needs an id")
    ident = str(raw["id"])
    for key in ("name_zh", "name_en", "evidence", "source", "numerator"):
        if key not in raw:
            raise DefinitionError(f"{ident}: {key} is required")
    try:
        evidence = Evidence(raw["evidence"])
    except ValueError as exc:
        raise DefinitionError(f"{ident}.evidence: one of verified, likely, ours") from exc
    direction = str(raw.get("direction", "up"))
    if direction not in ("up", "down", "monitor"):
        raise DefinitionError(f"{ident}.direction: one of up, down, monitor")
    denominator = raw.get("denominator")
    period = str(raw.get("period", "month"))
    if period not in ("month", "year"):
        raise DefinitionError(f"{ident}.period: month or year")
    indicator = Indicator(
        id=ident,
        name_zh=str(raw["name_zh"]),
        name_en=str(raw["name_en"]),
        evidence=evidence,
        requirements=tuple(str(r) for r in raw.get("requirements", [])),
        source=str(raw["source"]),
        numerator=_side(ident, "numerator", raw["numerator"]),
        denominator=_side(ident, "denominator", denominator) if denominator else None,
        factor=int(raw.get("factor", 100 if denominator else 1)),
        decimals=int(raw.get("decimals", 1)),
        direction=direction,
        target=str(raw["target"]) if raw.get("target") else None,
        description=str(raw.get("description", "")),
        target_increase=str(raw["target_increase"]) if raw.get("target_increase") else None,
        period=period,
        target_growth=str(raw["target_growth"]) if raw.get("target_growth") else None,
        unit=str(raw.get("unit", "%" if denominator and raw.get("factor", 100) == 100 else "")),
        roll_up=str(raw.get("roll_up", "sum")),
    )
    if indicator.roll_up not in ROLL_UPS:
        raise DefinitionError(f"{ident}.roll_up: one of {', '.join(ROLL_UPS)}")
    lowest = indicator.roll_up == "min"
    if lowest and (indicator.denominator is not None or period != "year"):
        raise DefinitionError(f"{ident}.roll_up: min takes no denominator and period: year")
    if indicator.target and indicator.target_growth:
        raise DefinitionError(f"{ident}: a target or a target_growth, not both")
    if indicator.target and indicator.denominator is None and not lowest:
        raise DefinitionError(f"{ident}.target: a count has no share to meet; use target_growth")
    sides = [indicator.numerator, *([indicator.denominator] if indicator.denominator else [])]
    if len({side.area for side in sides}) > 1:
        raise DefinitionError(f"{ident}: both sides are attributed to institutions or to areas")
    for key in ("among", "min_age", "weight", "max"):
        if period == "month" and any(getattr(side, key) is not None for side in sides):
            raise DefinitionError(f"{ident}: `{key}` is for period: year")
    if period == "month" and any(side.distinct for side in sides):
        raise DefinitionError(f"{ident}: distinct counts do not add up over months; period: year")
    dated = any(side.where is not None and _names(side.where, PERIOD_FIELDS) for side in sides)
    if period == "month" and dated:
        raise DefinitionError(f"{ident}: period_start and period_end are for period: year")
    return indicator


@dataclass(frozen=True)
class Catalogue:
    indicators: tuple[Indicator, ...]
    amber_within_points: Fraction

    def get(self, ident: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == ident:
                return indicator
        raise KeyError(ident)


def parse(text: str) -> tuple[Indicator, ...]:
    return parse_catalogue(text).indicators


def parse_catalogue(text: str) -> Catalogue:
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("indicators"), list):
        raise DefinitionError("an indicator file has a list under `indicators`")
    found = _unique(tuple(_indicator(item) for item in raw["indicators"]))
    amber = raw.get("amber_within_points", 0)
    try:
        margin = Fraction(str(amber))
    except ValueError as exc:
        raise DefinitionError(f"amber_within_points: {amber!r} is not a number") from exc
    return Catalogue(found, margin)


def _unique(found: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
    seen: set[str] = set()
    for indicator in found:
        if indicator.id in seen:
            raise DefinitionError(f"{indicator.id}: declared twice")
        seen.add(indicator.id)
    return found


@cache
def catalogue() -> Catalogue:
    return load_folder(resources.files("caregrid.data").joinpath("indicators"))


def load_folder(folder: Traversable) -> Catalogue:
    """`core.yaml` (with the catalogue's settings) and each domain's file beside it, so a
    domain's indicators are kept next to one another rather than in one long file."""
    core = parse_catalogue(folder.joinpath("core.yaml").read_text(encoding="utf-8"))
    found = core.indicators
    others = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".yaml") and e.name != "core.yaml"),
        key=lambda e: e.name,
    )
    for entry in others:
        try:
            found += parse(entry.read_text(encoding="utf-8"))
        except DefinitionError as exc:
            raise DefinitionError(f"{entry.name}: {exc}") from exc
    return Catalogue(_unique(found), core.amber_within_points)


def shipped() -> tuple[Indicator, ...]:
    return catalogue().indicators
