"""Import and export of layout files: all or nothing; every problem with file, line, field."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from caregrid import clock, yamlio
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.policy import service as policy
from caregrid.registry import layout as fmt
from caregrid.registry.models import (
    City,
    CityArea,
    CrossGridService,
    Division,
    DivisionAdjacency,
    Grid,
    Institution,
    LayoutVersion,
    MemberClass,
    Membership,
    Network,
)
from caregrid.registry.vocab import Level, NetworkRole


@dataclass
class ImportReport:
    city: str
    counts: dict[str, int]
    warnings: list[Problem] = field(default_factory=list)
    version: int = 0  # the layout version this import wrote


@dataclass
class _Checked:
    layout: fmt.LayoutFile
    warnings: list[Problem]


def _dedupe_institutions(
    located: yamlio.Located,
    specs: list[fmt.InstitutionSpec],
    where: Sequence[tuple[str, int | None]],
    problems: list[Problem],
    warnings: list[Problem],
) -> list[fmt.InstitutionSpec]:
    """A verbatim repeat is reported and kept once; a reused code or name is an error."""
    by_code: dict[str, fmt.InstitutionSpec] = {}
    by_name: dict[tuple[str, str], str] = {}
    kept: list[fmt.InstitutionSpec] = []
    for spec, (file, line) in zip(specs, where, strict=True):
        earlier = by_code.get(spec.code)
        if earlier is not None:
            if earlier == spec:
                warnings.append(
                    Problem(
                        "institutions.code",
                        msg(
                            "duplicate entry {code!r} ({name_zh}) listed again; kept one",
                            code=spec.code,
                            name_zh=spec.name_zh,
                        ),
                        file,
                        line,
                    )
                )
            else:
                problems.append(
                    Problem(
                        "institutions.code",
                        msg(
                            "duplicate institution code {code!r} with different details",
                            code=spec.code,
                        ),
                        file,
                        line,
                    )
                )
            continue
        other = by_name.get((spec.name_zh, spec.division))
        if other is not None:
            problems.append(
                Problem(
                    "institutions.name_zh",
                    msg(
                        "{name_zh!r} is already listed in the same division under code {other!r}",
                        name_zh=spec.name_zh,
                        other=other,
                    ),
                    file,
                    line,
                )
            )
            continue
        by_code[spec.code] = spec
        by_name[(spec.name_zh, spec.division)] = spec.code
        kept.append(spec)
    return kept


def check(located: yamlio.Located, base_dir: Path | None = None) -> _Checked:
    """Validate shape and references; raise InvalidInput listing every problem."""
    layout = fmt.parse(located)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    here = located.problem

    if layout.institutions_csv and base_dir is None:
        raise InvalidInput(
            [
                here(
                    ["institutions_csv"],
                    "a CSV reference is only read from a "
                    "layout file on disk; send institutions inline",
                )
            ]
        )
    if layout.institutions_csv and base_dir is not None:
        csv_path = base_dir / layout.institutions_csv
        specs, csv_problems, csv_lines = fmt.read_institutions_csv(csv_path)
        problems.extend(csv_problems)
        where: list[tuple[str, int | None]] = [(str(csv_path), ln) for ln in csv_lines]
    else:
        specs = layout.institutions
        where = [(located.file, located.line_of(["institutions", i])) for i in range(len(specs))]
    institutions = _dedupe_institutions(located, specs, where, problems, warnings)
    layout = layout.model_copy(update={"institutions": institutions, "institutions_csv": None})
    inst_by_code = {i.code: i for i in institutions}
    inst_where = {s.code: w for s, w in zip(specs, where, strict=True)}

    def unique(kind: str, codes: list[str]) -> set[str]:
        seen: set[str] = set()
        for i, code in enumerate(codes):
            if code in seen:
                problems.append(here([kind, i, "code"], f"duplicate code {code!r}"))
            seen.add(code)
        return seen

    divisions = unique("divisions", [d.code for d in layout.divisions])
    grids = unique("grids", [g.code for g in layout.grids])
    networks = unique("networks", [n.code for n in layout.networks])
    unique("cross_grid_services", [c.code for c in layout.cross_grid_services])

    def ref(path: list[str | int], code: str | None, known: Collection[str], what: str) -> None:
        if code is not None and code not in known:
            problems.append(here(path, f"{what} {code!r} is not defined in this file"))

    for i, code in enumerate(layout.city.area):
        ref(["city", "area", i], code, divisions, "division")
    for i, d in enumerate(layout.divisions):
        ref(["divisions", i, "parent"], d.parent, divisions, "division")
        if d.population is not None and not d.population_source:
            problems.append(
                here(["divisions", i, "population_source"], "say where the population comes from")
            )
        if (d.lat is None) != (d.lon is None):
            problems.append(here(["divisions", i, "lat"], "give both lat and lon, or neither"))
        for j, (code, _via) in enumerate(d.neighbours()):
            ref(["divisions", i, "adjacent", j], code, divisions, "division")
            if code == d.code:
                problems.append(
                    here(["divisions", i, "adjacent", j], "a division cannot border itself")
                )
    for i, g in enumerate(layout.grids):
        for j, code in enumerate(g.divisions):
            ref(["grids", i, "divisions", j], code, divisions, "division")
    for spec in institutions:
        file, line = inst_where[spec.code]
        for attr, known, what in (
            ("division", divisions, "division"),
            ("parent", inst_by_code, "institution"),
        ):
            code = getattr(spec, attr)
            if code is not None and code not in known:
                problems.append(
                    Problem(
                        f"institutions.{attr}",
                        msg(
                            "{what} {code!r} of {code2!r} is not defined",
                            what=what,
                            code=code,
                            code2=spec.code,
                        ),
                        file,
                        line,
                    )
                )

    for i, net in enumerate(layout.networks):
        ref(["networks", i, "grid"], net.grid, grids, "grid")
        bad_profile = policy.known_or_problem(
            net.profile,
            file=located.file,
            line=located.line_of(["networks", i, "profile"]),
            field=yamlio.dotted(["networks", i, "profile"]),
        )
        if bad_profile:
            problems.append(bad_profile)
        seen_members: dict[str, fmt.MemberSpec] = {}
        kept_members: list[fmt.MemberSpec] = []
        for j, member in enumerate(net.members):
            path: list[str | int] = ["networks", i, "members", j]
            if member.institution not in inst_by_code:
                problems.append(
                    here(
                        [*path, "institution"],
                        f"membership points to unknown institution {member.institution!r}",
                    )
                )
                continue
            earlier = seen_members.get(member.institution)
            if earlier is not None:
                if earlier == member:
                    warnings.append(
                        here(path, f"duplicate membership of {member.institution!r}; kept one")
                    )
                else:
                    problems.append(
                        here(
                            path,
                            f"{member.institution!r} is listed twice in "
                            f"{net.code!r} with different details",
                        )
                    )
                continue
            seen_members[member.institution] = member
            kept_members.append(member)
            if member.role is NetworkRole.LEAD and not bad_profile:
                refusal = _lead_refusal(net.profile, inst_by_code[member.institution])
                if refusal:
                    problems.append(here([*path, "institution"], refusal))
        net.members[:] = kept_members
    for i, svc in enumerate(layout.cross_grid_services):
        ref(["cross_grid_services", i, "lead"], svc.lead, inst_by_code, "institution")
        for j, code in enumerate(svc.institutions):
            ref(["cross_grid_services", i, "institutions", j], code, inst_by_code, "institution")
        for j, code in enumerate(svc.networks):
            ref(["cross_grid_services", i, "networks", j], code, networks, "network")

    if problems:
        raise InvalidInput(problems)
    return _Checked(layout=layout, warnings=warnings)


def _lead_refusal(profile_name: str, lead: fmt.InstitutionSpec) -> str | None:
    """A2 at import: refuse a lead of a stated level the profile does not allow."""
    rule = policy.get(profile_name).structure.lead
    if rule is None or lead.level is Level.UNKNOWN or not rule.levels or lead.level in rule.levels:
        return None
    allowed = ", ".join(level.value for level in rule.levels)
    return (
        f"lead {lead.code!r} is {lead.level.value}; profile {profile_name!r} "
        f"requires {allowed} ({rule.requirement})"
    )


def load(path: Path) -> _Checked:
    """Read and check a layout file without touching the database."""
    return check(yamlio.load_file(path), base_dir=path.parent)


def apply(
    session: Session, checked: _Checked, *, actor: Principal, purpose: str = "layout import"
) -> ImportReport:
    """Write a checked layout: upsert by code, drop what the file no longer lists. Only flushes.

    Planning grids and networks is the regulator's (or the system's, for the demo); audited.
    """
    access.require_plan_layout(actor)
    layout = checked.layout
    spec = layout.city
    city = session.scalar(select(City).where(City.code == spec.code)) or City(code=spec.code)
    city.name_zh, city.name_en, city.province_zh = spec.name_zh, spec.name_en, spec.province_zh
    city.pilot_level, city.source, city.note = spec.pilot_level.value, spec.source, spec.note
    session.add(city)
    session.flush()

    existing_div = {
        d.code: d
        for d in session.scalars(
            select(Division).where(Division.code.in_([d.code for d in layout.divisions]))
        )
    }
    for d in layout.divisions:
        div = existing_div.get(d.code) or Division(code=d.code)
        div.name_zh, div.name_en, div.level = d.name_zh, d.name_en, d.level.value
        div.parent_code, div.note = d.parent, d.note
        div.population, div.population_source = d.population, d.population_source
        div.lat, div.lon = d.lat, d.lon
        existing_div[d.code] = div
        session.add(div)
    session.flush()
    city.divisions = [existing_div[d.code] for d in layout.divisions]
    _write_adjacency(session, layout.divisions)
    city.area = [CityArea(division_code=c) for c in layout.city.area]

    insts = {
        i.code: i
        for i in session.scalars(select(Institution).where(Institution.city_id == city.id))
    }
    for i in layout.institutions:
        inst = insts.get(i.code) or Institution(code=i.code, city_id=city.id)
        for attr in ("name_zh", "name_en", "lat", "lon", "beds", "source", "note"):
            setattr(inst, attr, getattr(i, attr))
        inst.level, inst.category, inst.division_code = i.level.value, i.category.value, i.division
        insts[i.code] = inst
        session.add(inst)
    session.flush()
    for i in layout.institutions:
        insts[i.code].parent_id = insts[i.parent].id if i.parent else None

    grids = {g.code: g for g in session.scalars(select(Grid).where(Grid.city_id == city.id))}
    divisions = existing_div
    for g in layout.grids:
        grid = grids.get(g.code) or Grid(code=g.code, city_id=city.id)
        grid.name_zh, grid.name_en, grid.note = g.name_zh, g.name_en, g.note
        grid.divisions = [divisions[c] for c in g.divisions]
        grids[g.code] = grid
        session.add(grid)
    session.flush()

    nets = {
        n.code: n
        for n in session.scalars(select(Network).join(Grid).where(Grid.city_id == city.id))
    }
    for n in layout.networks:
        net = nets.get(n.code) or Network(code=n.code)
        net.name_zh, net.name_en, net.kind, net.profile = (
            n.name_zh,
            n.name_en,
            n.kind.value,
            n.profile,
        )
        net.grid_id, net.source, net.note = grids[n.grid].id, n.source, n.note
        net.memberships = [
            Membership(
                institution_id=insts[m.institution].id,
                role=m.role.value,
                tier=m.tier.value,
                key_construction=m.key_construction,
                position=pos,
                note=m.note,
            )
            for pos, m in enumerate(n.members)
        ]
        net.member_classes = [
            MemberClass(
                position=pos,
                description_zh=c.description_zh,
                role=c.role.value,
                categories=" ".join(cat.value for cat in c.categories),
                tier=c.tier.value,
                source=c.source,
            )
            for pos, c in enumerate(n.member_classes)
        ]
        nets[n.code] = net
        session.add(net)
    session.flush()

    services = {
        s.code: s
        for s in session.scalars(
            select(CrossGridService).where(CrossGridService.city_id == city.id)
        )
    }
    for c in layout.cross_grid_services:
        svc = services.get(c.code) or CrossGridService(code=c.code, city_id=city.id)
        svc.kind, svc.name_zh, svc.name_en = c.kind.value, c.name_zh, c.name_en
        svc.lead_id = insts[c.lead].id if c.lead else None
        svc.source, svc.note = c.source, c.note
        svc.institutions = [insts[code] for code in c.institutions]
        svc.networks = [nets[code] for code in c.networks]
        services[c.code] = svc
        session.add(svc)
    session.flush()

    _drop_unlisted(session, services, {c.code for c in layout.cross_grid_services})
    _drop_unlisted(session, nets, {n.code for n in layout.networks})
    _drop_unlisted(session, grids, {g.code for g in layout.grids})
    _drop_unlisted(session, insts, {i.code for i in layout.institutions})
    session.flush()
    session.expire_all()  # loaded collections (city.grids, grid.networks) still hold dropped rows
    report = ImportReport(
        city=city.code,
        counts={
            "divisions": len(layout.divisions),
            "grids": len(layout.grids),
            "networks": len(layout.networks),
            "institutions": len(layout.institutions),
            "memberships": sum(len(n.members) for n in layout.networks),
            "member_classes": sum(len(n.member_classes) for n in layout.networks),
            "cross_grid_services": len(layout.cross_grid_services),
        },
        warnings=checked.warnings,
    )
    version = _new_version(session, city, actor=actor, purpose=purpose)
    report.version = version.number
    audit.record(
        session,
        actor,
        action="layout.import",
        subject_type="city",
        subject_id=report.city,
        purpose=purpose,
        detail={**report.counts, "version": version.number, "sha256": version.sha256},
    )
    return report


def _new_version(session: Session, city: City, *, actor: Principal, purpose: str) -> LayoutVersion:
    """Keep the layout as it now stands, numbered after the city's last one."""
    content = to_yaml(export(session, city.code))
    last = session.scalar(
        select(func.max(LayoutVersion.number)).where(LayoutVersion.city_id == city.id)
    )
    version = LayoutVersion(
        city_id=city.id,
        number=(last or 0) + 1,
        created_at=clock.now(),
        actor=actor.username,
        purpose=purpose,
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        content=content,
    )
    session.add(version)
    session.flush()
    return version


def versions(session: Session, city_code: str) -> list[LayoutVersion]:
    """A city's layout versions, newest first."""
    return list(
        session.scalars(
            select(LayoutVersion)
            .join(City, City.id == LayoutVersion.city_id)
            .where(City.code == city_code)
            .order_by(LayoutVersion.number.desc())
        )
    )


def _write_adjacency(session: Session, divisions: Sequence[fmt.DivisionSpec]) -> None:
    """The layout's borders replace those stored between its own divisions; a pair listed
    from both sides is one border, and a crossing named on either side names it."""
    codes = [d.code for d in divisions]
    pairs: dict[tuple[str, str], str | None] = {}
    for d in divisions:
        for other, via in d.neighbours():
            key = (min(d.code, other), max(d.code, other))
            pairs[key] = pairs.get(key) or via
    session.execute(
        delete(DivisionAdjacency).where(
            DivisionAdjacency.first_code.in_(codes), DivisionAdjacency.second_code.in_(codes)
        )
    )
    session.add_all(
        DivisionAdjacency(first_code=a, second_code=b, crossing=via)
        for (a, b), via in sorted(pairs.items())
    )
    session.flush()


def adjacency(session: Session, codes: Collection[str]) -> list[tuple[str, str, str | None]]:
    """Borders among these divisions: (first, second, crossing or None), first < second."""
    rows = session.scalars(
        select(DivisionAdjacency)
        .where(DivisionAdjacency.first_code.in_(codes), DivisionAdjacency.second_code.in_(codes))
        .order_by(DivisionAdjacency.first_code, DivisionAdjacency.second_code)
    )
    return [(r.first_code, r.second_code, r.crossing) for r in rows]


def _drop_unlisted(session: Session, rows: Mapping[str, object], listed: set[str]) -> None:
    for code, row in rows.items():
        if code not in listed:
            session.delete(row)


def export(session: Session, city_code: str) -> fmt.LayoutFile:
    """The city's layout as stored, in file order, so export-then-import is the identity."""
    city = session.scalar(select(City).where(City.code == city_code))
    if city is None:
        raise NotFound("no city with code {city_code!r}", city_code=city_code)
    divisions = sorted(city.divisions, key=lambda d: d.code)
    borders: dict[str, list[str | fmt.CrossingSpec]] = {}
    for first, second, via in adjacency(session, [d.code for d in divisions]):
        borders.setdefault(first, []).append(
            second if via is None else fmt.CrossingSpec(division=second, via=via)
        )
    institutions = session.scalars(
        select(Institution).where(Institution.city_id == city.id).order_by(Institution.code)
    ).all()
    code_of = {i.id: i.code for i in institutions}
    networks = session.scalars(
        select(Network).join(Grid).where(Grid.city_id == city.id).order_by(Network.code)
    ).all()
    services = session.scalars(
        select(CrossGridService)
        .where(CrossGridService.city_id == city.id)
        .order_by(CrossGridService.code)
    ).all()
    return fmt.LayoutFile(
        format="caregrid-layout/1",
        city=fmt.CitySpec(
            code=city.code,
            name_zh=city.name_zh,
            name_en=city.name_en,
            province_zh=city.province_zh,
            pilot_level=city.pilot_level,
            area=sorted(a.division_code for a in city.area),
            source=city.source,
            note=city.note,
        ),
        divisions=[
            fmt.DivisionSpec(
                code=d.code,
                name_zh=d.name_zh,
                name_en=d.name_en,
                level=d.level,
                parent=d.parent_code,
                note=d.note,
                population=d.population,
                population_source=d.population_source,
                lat=d.lat,
                lon=d.lon,
                adjacent=borders.get(d.code, []),
            )
            for d in divisions
        ],
        grids=[
            fmt.GridSpec(
                code=g.code,
                name_zh=g.name_zh,
                name_en=g.name_en,
                divisions=sorted(d.code for d in g.divisions),
                note=g.note,
            )
            for g in city.grids
        ],
        networks=[
            fmt.NetworkSpec(
                code=n.code,
                name_zh=n.name_zh,
                name_en=n.name_en,
                kind=n.kind,
                grid=n.grid.code,
                profile=n.profile,
                source=n.source,
                note=n.note,
                members=[
                    fmt.MemberSpec(
                        institution=code_of[m.institution_id],
                        role=m.role,
                        tier=m.tier,
                        key_construction=m.key_construction,
                        note=m.note,
                    )
                    for m in sorted(n.memberships, key=lambda m: m.position)
                ],
                member_classes=[
                    fmt.MemberClassSpec(
                        description_zh=c.description_zh,
                        role=c.role,
                        tier=c.tier,
                        categories=c.categories.split(),
                        source=c.source,
                    )
                    for c in n.member_classes
                ],
            )
            for n in networks
        ],
        institutions=[
            fmt.InstitutionSpec(
                code=i.code,
                name_zh=i.name_zh,
                name_en=i.name_en,
                level=i.level,
                category=i.category,
                division=i.division_code,
                lat=i.lat,
                lon=i.lon,
                beds=i.beds,
                parent=code_of.get(i.parent_id) if i.parent_id else None,
                source=i.source,
                note=i.note,
            )
            for i in institutions
        ],
        cross_grid_services=[
            fmt.CrossGridSpec(
                code=s.code,
                kind=s.kind,
                name_zh=s.name_zh,
                name_en=s.name_en,
                lead=code_of.get(s.lead_id) if s.lead_id else None,
                institutions=sorted(i.code for i in s.institutions),
                networks=sorted(n.code for n in s.networks),
                source=s.source,
                note=s.note,
            )
            for s in services
        ],
    )


def to_yaml(layout: fmt.LayoutFile) -> str:
    data = layout.model_dump(mode="json", exclude={"institutions_csv"})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
