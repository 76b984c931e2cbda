"""The layout of a shipped city reduced to index arrays: which institutions there are and at
what level, where residents live, whom they register with and which hospitals serve them.
The draws then pick institutions by index, never by looking codes up row by row."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa

from caregrid.errors import DomainError
from caregrid.registry import importer
from caregrid.registry.layout import LayoutFile
from caregrid.registry.vocab import Category, DivisionLevel, Level, NetworkRole
from caregrid.synth.draws import PRIMARY, SECONDARY, TERTIARY, Array, by_level
from caregrid.synth.rates import Rates

PRIMARY_CATEGORIES = frozenset(
    {
        Category.COMMUNITY_HEALTH_CENTER,
        Category.TOWNSHIP_HEALTH_CENTER,
        Category.COMMUNITY_HEALTH_STATION,
        Category.VILLAGE_CLINIC,
    }
)


def layout_names() -> list[str]:
    folder = resources.files("caregrid.data").joinpath("layouts")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_layout(name: str) -> LayoutFile:
    """A shipped layout by name (file stem, e.g. `jinhua`), read and checked as the importer
    reads it (institutions from a CSV resolved), or a layout file given by path."""
    path = Path(str(resources.files("caregrid.data").joinpath("layouts", f"{name}.yaml")))
    if not path.is_file():
        given = Path(name)
        if not (given.suffix in {".yaml", ".yml"} and given.is_file()):
            raise DomainError(
                "--layout: no layout {name!r}; shipped: {layout_names}",
                name=name,
                layout_names=", ".join(layout_names()),
            )
        path = given
    return importer.load(path).layout


@dataclass(frozen=True)
class City:
    """The layout reduced to the index arrays the draws need."""

    name: str
    institutions: pa.Array  # codes, layout order
    level: Array  # effective level per institution (PRIMARY, SECONDARY, TERTIARY)
    beds: Array
    lead_of: Array  # per institution: the lead of its first network (-1: none)
    network_of: Array  # per institution: the first network it is a member of, not its lead
    profile_of: list[str | None]  # per institution: the policy profile of its first network
    networks: pa.Array  # network codes, layout order
    divisions: pa.Array  # where residents live
    insured: pa.Array  # per residence division: the insurance pool's division (its county)
    div_weight: Array
    div_county: Array  # county index per residence division (-1: not in a county)
    div_pool: Array  # hospital pool per residence division
    candidates: Array  # (division, j): primary institutions residents register with
    candidates_len: Array
    pool_lead: Array  # per pool: the lead hospital
    pool_others: Array  # (pool, j): the pool's other hospitals
    pool_others_len: Array
    away_primary: Array  # (county, j): primary institutions of other counties
    away_primary_len: Array
    away_hospital: Array  # (county, j): hospitals of other counties
    away_hospital_len: Array


def _padded(rows: list[list[int]]) -> tuple[Array, Array]:
    """Ragged lists as a -1-padded table and lengths, so a draw picks `table[row, u * len]`."""
    width = max([1, *(len(r) for r in rows)])
    table = np.full((max(1, len(rows)), width), -1, dtype=np.int32)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table, np.array([len(r) for r in rows] or [0], dtype=np.int32)


def _effective_level(level: Level, category: Category) -> int:
    """Stated level first; an unstated one from the category (health centres are primary, any
    other institution a hospital of the secondary tier)."""
    if level is Level.PRIMARY:
        return PRIMARY
    if level is Level.TERTIARY:
        return TERTIARY
    if level is Level.SECONDARY:
        return SECONDARY
    return PRIMARY if category in PRIMARY_CATEGORIES else SECONDARY


def build_city(layout: LayoutFile, rates: Rates) -> City:
    """Institutions, where residents live, whom they register with and which hospitals serve
    them: residents live in the divisions the grids list (a county when a grid lists a whole
    county), in proportion to the primary institutions there."""
    name = layout.city.code
    insts = layout.institutions
    codes = [i.code for i in insts]
    index = {c: k for k, c in enumerate(codes)}
    level = np.array([_effective_level(i.level, i.category) for i in insts], dtype=np.int8)
    primaries = [k for k in range(len(insts)) if level[k] == PRIMARY]
    hospitals = [k for k in range(len(insts)) if level[k] != PRIMARY]
    if not primaries or not hospitals:
        missing = "primary-level institution" if not primaries else "hospital"
        raise DomainError(
            "--layout: the layout of {name} lists no {missing} by code; the synthetic city "
            "needs named primary institutions (residents register there) and hospitals",
            name=name,
            missing=missing,
        )
    default_beds = by_level(rates.capacity.default_beds)  # china.yaml capacity.default_beds
    beds = np.array(
        [i.beds if i.beds else default_beds[level[k]] for k, i in enumerate(insts)], dtype=np.int32
    )

    divisions = {d.code: d for d in layout.divisions}

    def county_of(code: str) -> str | None:
        seen: set[str] = set()
        here = divisions.get(code)
        while here is not None and here.code not in seen:
            if here.level is DivisionLevel.COUNTY:
                return here.code
            seen.add(here.code)
            here = divisions.get(here.parent) if here.parent else None
        return None

    inst_county_code = [county_of(i.division) for i in insts]

    # Hospital pools: one per network (its lead first), and a city pool for the rest.
    in_network = {m.institution for n in layout.networks for m in n.members}
    unaffiliated = [k for k in hospitals if codes[k] not in in_network]

    def by_rank(ks: list[int]) -> list[int]:
        return sorted(ks, key=lambda k: -int(level[k]))  # stable: layout order within a level

    pool_lead: list[int] = []
    pool_others: list[list[int]] = []
    for net in layout.networks:
        members = [index[m.institution] for m in net.members if m.institution in index]
        leads = [index[m.institution] for m in net.members if m.role is NetworkRole.LEAD]
        mine = [k for k in members if level[k] != PRIMARY]
        lead = next((k for k in leads if level[k] != PRIMARY), None)
        if lead is None:
            lead = by_rank(mine or hospitals)[0]
        pool_lead.append(lead)
        pool_others.append([k for k in [*mine, *unaffiliated] if k != lead])
    city_lead = by_rank(hospitals)[0]
    pool_lead.append(city_lead)
    pool_others.append([k for k in hospitals if k != city_lead])
    city_pool = len(pool_lead) - 1

    lead_of = np.full(len(insts), -1, dtype=np.int32)
    network_of = np.full(len(insts), -1, dtype=np.int32)
    profile_of: list[str | None] = [None] * len(insts)
    for p, net in enumerate(layout.networks):
        for m in net.members:
            k = index.get(m.institution)
            if k is not None and lead_of[k] < 0 and k != pool_lead[p]:
                lead_of[k] = pool_lead[p]
                network_of[k] = p
            if k is not None and profile_of[k] is None:
                profile_of[k] = net.profile

    # Residence divisions and the pool serving each (the first network on its grid).
    grid_pool: dict[str, int] = {}
    for p, net in enumerate(layout.networks):
        grid_pool.setdefault(net.grid, p)
    residence: dict[str, int] = {}
    for grid in layout.grids:
        for code in grid.divisions:
            residence.setdefault(code, grid_pool.get(grid.code, city_pool))
    if not residence:
        residence = {code: city_pool for code in layout.city.area}
    res_codes = list(residence)

    counties = sorted({c for c in [*inst_county_code, *map(county_of, res_codes)] if c})
    county_index = {c: i for i, c in enumerate(counties)}
    inst_county = [county_index[c] if c else -1 for c in inst_county_code]

    candidates: list[list[int]] = []
    weights: list[float] = []
    for code in res_codes:
        here = [k for k in primaries if insts[k].division == code]
        county = county_of(code)
        pool = residence[code]
        serving = set(pool_others[pool]) | {pool_lead[pool]}
        if pool < city_pool:
            net = layout.networks[pool]
            serving = {index[m.institution] for m in net.members if m.institution in index}
        fallbacks = (
            here,
            [k for k in primaries if county and inst_county_code[k] == county],
            [k for k in primaries if k in serving],
            primaries,
        )
        candidates.append(next(c for c in fallbacks if c))
        weights.append(float(max(1, len(here))))
    cand, cand_len = _padded(candidates)

    away_p, away_p_len = _padded(
        [[k for k in primaries if inst_county[k] not in (-1, c)] for c in range(len(counties))]
    )
    away_h, away_h_len = _padded(
        [[k for k in hospitals if inst_county[k] not in (-1, c)] for c in range(len(counties))]
    )
    others, others_len = _padded(pool_others)
    return City(
        name=name,
        institutions=pa.array(codes, pa.string()),
        level=level,
        beds=beds,
        lead_of=lead_of,
        network_of=network_of,
        profile_of=profile_of,
        networks=pa.array([n.code for n in layout.networks], pa.string()),
        divisions=pa.array(res_codes, pa.string()),
        insured=pa.array([county_of(c) or c for c in res_codes], pa.string()),
        div_weight=np.array(weights),
        div_county=np.array(
            [county_index.get(county_of(c) or "", -1) for c in res_codes], dtype=np.int32
        ),
        div_pool=np.array([residence[c] for c in res_codes], dtype=np.int32),
        candidates=cand,
        candidates_len=cand_len,
        pool_lead=np.array(pool_lead, dtype=np.int32),
        pool_others=others,
        pool_others_len=others_len,
        away_primary=away_p,
        away_primary_len=away_p_len,
        away_hospital=away_h,
        away_hospital_len=away_h_len,
    )
