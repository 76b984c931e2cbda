"""Disease catalogs (B2, B8): ICD-10 entries read from CSV files or a profile, validated.

A catalog file is CSV with the header `entry,name_zh,name_en,basis`; `entry` is one WHO ICD-10
code or an inclusive range (`I10-I15`). Shipped starter files live in `caregrid/data/catalogs`
(their sources are in the README there); a deployment's own files in
`CAREGRID_DATA_DIR/catalogs` win over shipped files of the same name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from caregrid.errors import InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.policy import icd10
from caregrid.policy.schema import CatalogKind, CatalogSpec, Profile

COLUMNS = ("entry", "name_zh", "name_en", "basis")

KIND_LABELS: dict[CatalogKind, tuple[str, str]] = {
    "member_first_visit": ("成员单位首诊病种目录", "member first-visit catalog"),
    "lead_down_referral": ("牵头医院下转病种目录", "lead downward-referral catalog"),
    "keep_in_city": ("不出市病种目录", "keep-in-city catalog"),
    "tier_city": ("市级诊疗病种目录", "city tier catalog"),
    "tier_district": ("区级诊疗病种目录", "district tier catalog"),
    "tier_county": ("县级诊疗病种目录", "county tier catalog"),
    "tier_township": ("乡镇级诊疗病种目录", "township tier catalog"),
}


@dataclass(frozen=True)
class CatalogEntry:
    entry: str
    name_zh: str
    name_en: str
    basis: str

    @property
    def range(self) -> icd10.CodeRange:
        return icd10.parse_entry(self.entry)


@dataclass(frozen=True)
class Catalog:
    """The entries of one catalog and where they came from (a network's CSV or a profile)."""

    kind: CatalogKind
    origin: str
    requirement: str
    entries: tuple[CatalogEntry, ...]

    def match(self, code: str) -> CatalogEntry | None:
        """The first entry containing the diagnosis (WHO or clinical-edition code)."""
        for entry in self.entries:
            if entry.range.contains(code):
                return entry
        return None


def parse_csv(text: str, *, file: str) -> list[CatalogEntry]:
    """All rows or none: every bad row is reported with its line and column."""
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
    entries: list[CatalogEntry] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        raw = (row.get("entry") or "").strip()
        try:
            code_range = icd10.parse_entry(raw)
        except icd10.Icd10Error as exc:
            problems.append(Problem("entry", exc.message, file, line))
            continue
        key = str(code_range)
        if key in seen:
            problems.append(
                Problem(
                    "entry", msg("{key} repeats line {seen}", key=key, seen=seen[key]), file, line
                )
            )
            continue
        seen[key] = line
        name_zh = (row.get("name_zh") or "").strip()
        if not name_zh:
            problems.append(Problem("name_zh", "must not be empty", file, line))
        entries.append(
            CatalogEntry(
                entry=key,
                name_zh=name_zh,
                name_en=(row.get("name_en") or "").strip(),
                basis=(row.get("basis") or "").strip(),
            )
        )
    if problems:
        raise InvalidInput(problems)
    if not entries:
        raise InvalidInput([Problem("entry", "the catalog has no entries", file, None)])
    return entries


def _file(name: str) -> Path:
    from caregrid.config import get_settings

    for folder in (
        get_settings().data_dir / "catalogs",
        Path(str(resources.files("caregrid.data").joinpath("catalogs"))),
    ):
        path = folder / name
        if path.is_file():
            return path
    raise NotFound("no catalog file {name!r} (shipped or in CAREGRID_DATA_DIR/catalogs)", name=name)


def from_spec(kind: CatalogKind, spec: CatalogSpec, *, profile: str) -> Catalog:
    """A profile's catalog: its CSV file, or its inline entries."""
    if spec.file is not None:
        path = _file(spec.file)
        entries = parse_csv(path.read_text(encoding="utf-8"), file=spec.file)
        origin = f"profile {profile}: {spec.file}"
    else:
        text = "\n".join([",".join(COLUMNS), *(f"{e},{e},," for e in spec.entries or [])])
        entries = parse_csv(text, file=f"profile {profile}: catalogs.{kind}")
        origin = f"profile {profile}"
    return Catalog(kind, origin, spec.requirement, tuple(entries))


def profile_catalog(profile: Profile, kind: CatalogKind) -> Catalog | None:
    spec = profile.catalogs.get(kind)
    return None if spec is None else from_spec(kind, spec, profile=profile.name)
