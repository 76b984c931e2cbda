"""Grid planner solver on published instances: time to a proven optimum and gap, ours
(warm start + Lagrangian bound + branch-and-bound / reduced HiGHS MIP) beside the plain HiGHS
model, on OR-Library pmed1-40 (optima in pmedopt.txt), the Osman-Christofides and Lorena-Senne
capacitated instances (gap to the best known value) and a synthetic 10,000-area city.
Each solve has its own time limit. Prints one line per solve and one final JSON line.

    .venv/bin/python bench/planner.py [--pmed 1-10] [--limit 60] [--plain] [--cap 1-20]
        [--sjc SJC1,SJC2] [--city10k] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from caregrid.planning import instances, solver
from caregrid.planning.problem import Bound, Problem

# Best known values published for the Lorena-Senne instances (shared/data ORIGIN.md).
SJC_BEST = {
    "SJC1": 17288.99,
    "SJC2": 33270.94,
    "SJC3a": 45335.16,
    "SJC3b": 40635.90,
    "SJC4a": 61925.51,
    "SJC4b": 52458.00,
}


def numbers(spec: str) -> list[int]:
    """``1-5,8`` to [1, 2, 3, 4, 5, 8]."""
    found: list[int] = []
    for part in filter(None, spec.split(",")):
        low, _, high = part.partition("-")
        found += list(range(int(low), int(high or low) + 1))
    return found


def line(kind: str, name: str, method: str, bound: Bound, best: float | None) -> dict[str, object]:
    off = None if best is None or bound.plan is None else 100 * (bound.upper - best) / best
    row: dict[str, object] = {
        "kind": kind,
        "instance": name,
        "method": method,
        "value": round(bound.upper, 2),
        "lower": round(bound.lower, 2),
        "best_known": best,
        "optimal": bound.optimal,
        "seconds": round(bound.seconds, 2),
        "gap_pct": round(100 * bound.gap, 3),
        "above_best_pct": None if off is None else round(off, 3),
    }
    print(
        f"{name:>14} {method:<6} value {bound.upper:>11.2f} lower {bound.lower:>11.2f} "
        f"best {best if best is not None else '-':>9} gap {100 * bound.gap:6.3f}% "
        f"{'optimal' if bound.optimal else 'limit  '} {bound.seconds:7.2f}s",
        flush=True,
    )
    return row


def city(areas: int, leads: int, k: int, most: float = 1.2, seed: int = 7) -> Problem:
    """A synthetic city: areas around a few dense centres plus a sparse fringe (km), lognormal
    populations, candidate leads drawn where people live; cost = population x distance,
    each lead's own area in its grid, grids of at most ``most`` x the mean population (at
    1.2 the bound binds: the cheapest grids' largest holds 1.18x the mean)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 40, size=(8, 2))
    which = rng.integers(0, len(centres), size=areas)
    xy = centres[which] + rng.normal(0, 3, size=(areas, 2))
    fringe = rng.random(areas) < 0.2
    xy[fringe] = rng.uniform(-5, 45, size=(int(fringe.sum()), 2))
    population = np.round(rng.lognormal(8, 0.6, size=areas))
    sites = rng.choice(areas, size=leads, replace=False, p=population / population.sum())
    dist = np.sqrt(((xy[:, None, :] - xy[None, sites, :]) ** 2).sum(axis=2))
    return Problem(
        name=f"city{areas // 1000}k",
        cost=population[:, None] * dist,
        k=k,
        demand=population,
        population_max=float(most * population.sum() / k),
        site_area=sites,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmed", default="1-10", help="pmed instance numbers, e.g. 1-40")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--plain", action="store_true", help="also the plain HiGHS model")
    parser.add_argument("--cap", default="", help="Osman-Christofides numbers, e.g. 1-20")
    parser.add_argument("--sjc", default="", help="Lorena-Senne names, e.g. SJC1,SJC2")
    parser.add_argument("--city10k", action="store_true", help="the 10,000-area city")
    parser.add_argument("--city-max", type=float, default=1.2, help="grid population cap / mean")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"limit {args.limit:g}s per solve")  # fmt: skip
    rows: list[dict[str, object]] = []
    pmed = [f"pmed{n}" for n in numbers(args.pmed)]
    for name in pmed:
        ref = instances.orlib_pmed(args.data / "orlib_pmed", name)
        rows.append(
            line(
                "pmed", name, "ours", solver.solve(ref.problem, seconds=args.limit), ref.best_known
            )
        )
        if args.plain:
            plain = solver.plain(ref.problem, seconds=args.limit)
            rows.append(line("pmed", name, "highs", plain, ref.best_known))
    capacitated = [
        instances.orlib_pmedcap(args.data / "orlib_pmedcap1" / f"pmedcap1_{n:02d}.txt")
        for n in numbers(args.cap)
    ] + [
        instances.sjc(args.data / "sjc_lorena_senne" / f"{name}.dat", SJC_BEST[name])
        for name in filter(None, args.sjc.split(","))
    ]
    cap_rows = []
    for ref in capacitated:
        found = line("cap", ref.problem.name, "ours", solver.solve(ref.problem, seconds=args.limit),
                     ref.best_known)  # fmt: skip
        rows.append(found)
        cap_rows.append(found)
        if args.plain:
            plain = solver.plain(ref.problem, seconds=args.limit)
            rows.append(line("cap", ref.problem.name, "highs", plain, ref.best_known))
    city_bound = None
    if args.city10k:
        began = time.perf_counter()
        problem = city(10_000, 60, 10, args.city_max)
        print(f"city10k built in {time.perf_counter() - began:.2f}s", flush=True)
        city_bound = solver.solve(problem, seconds=args.limit)
        rows.append(line("city", problem.name, "ours", city_bound, None))
    ours = [r for r in rows if r["method"] == "ours" and r["kind"] == "pmed"]
    at_optimum = [r for r in ours if r["optimal"] and r["value"] == r["best_known"]]
    gaps = [r["above_best_pct"] for r in cap_rows if r["above_best_pct"] is not None]
    plain_rows = [r for r in rows if r["method"] == "highs" and r["kind"] == "pmed"]
    if plain_rows:
        solved = [r for r in plain_rows if r["optimal"] and r["value"] == r["best_known"]]
        print(f"plain HiGHS: {len(solved)}/{len(plain_rows)} pmed at the proven optimum, "
              f"max {max(float(str(r['seconds'])) for r in plain_rows):.2f}s")  # fmt: skip
    result = {
        "pmed_at_optimum": len(at_optimum) if ours else None,
        "pmed_instances": len(ours) if ours else None,
        "pmed_max_seconds": max(float(str(r["seconds"])) for r in ours) if ours else None,
        "cap_max_gap_pct": max(float(str(g)) for g in gaps) if gaps else None,
        "city10k_seconds": None if city_bound is None else round(city_bound.seconds, 2),
        "city10k_gap_pct": None if city_bound is None else round(100 * city_bound.gap, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
