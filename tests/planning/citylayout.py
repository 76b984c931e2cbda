"""A small city for the planner's registry tests: nine townships on a 3 x 3 lattice with
populations, centroids and borders, three tertiary hospitals that may lead and one secondary
that may not, and two grids today."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

POPULATION = {
    "t11": 52_000, "t12": 31_000, "t13": 47_000,
    "t21": 28_000, "t22": 90_000, "t23": 26_000,
    "t31": 35_000, "t32": 22_000, "t33": 61_000,
}  # fmt: skip
TODAY = {
    "pv-grid-a": ["t11", "t12", "t21", "t22", "t31"],
    "pv-grid-b": ["t13", "t23", "t32", "t33"],
}


def _cells() -> list[tuple[str, int, int]]:
    return [(f"t{r}{c}", r, c) for r in (1, 2, 3) for c in (1, 2, 3)]


def planville(pilot_level: str = "other") -> dict[str, Any]:
    cells = _cells()
    divisions: list[dict[str, Any]] = [
        {"code": "pv", "name_zh": "规划县", "name_en": "Planville", "level": "county"}
    ]
    for code, r, c in cells:
        borders = [f"t{r2}{c2}" for _, r2, c2 in cells if abs(r - r2) + abs(c - c2) == 1]
        divisions.append(
            {
                "code": code,
                "name_zh": f"{code}镇",
                "level": "township",
                "parent": "pv",
                "population": POPULATION[code],
                "population_source": "test figures",
                "lat": 30.0 + 0.05 * r,
                "lon": 120.0 + 0.05 * c,
                "adjacent": [b for b in borders if b > code],
            }
        )

    def hospital(code: str, division: str, level: str, beds: int) -> dict[str, Any]:
        return {
            "code": code,
            "name_zh": f"{code}医院",
            "name_en": f"{code} hospital",
            "level": level,
            "category": "general_hospital",
            "division": division,
            "beds": beds,
        }

    return {
        "format": "caregrid-layout/1",
        "city": {
            "code": "planville",
            "name_zh": "规划市",
            "name_en": "Planville",
            "pilot_level": pilot_level,
            "area": ["pv"],
        },
        "divisions": divisions,
        "grids": [
            {"code": code, "name_zh": f"{code}网格", "divisions": areas}
            for code, areas in TODAY.items()
        ],
        "networks": [
            {
                "code": "pv-net-a",
                "name_zh": "甲集团",
                "kind": "urban_group",
                "grid": "pv-grid-a",
                "profile": "fujian",
                "members": [
                    {"institution": "h11", "role": "lead", "tier": "city"},
                    {"institution": "s22", "role": "member", "tier": "district"},
                ],
            },
            {
                "code": "pv-net-b",
                "name_zh": "乙集团",
                "kind": "urban_group",
                "grid": "pv-grid-b",
                "profile": "fujian",
                "members": [{"institution": "h13", "role": "lead", "tier": "city"}],
            },
        ],
        "institutions": [
            hospital("h11", "t11", "tertiary", 500),
            hospital("h13", "t13", "tertiary", 300),
            hospital("h33", "t33", "tertiary", 400),
            hospital("s22", "t22", "secondary", 200),
        ],
    }


def write(tmp_path: Path, data: dict[str, Any], name: str = "planville.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def division(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(d for d in data["divisions"] if d["code"] == code)
