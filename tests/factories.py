"""Small builders for test inputs: a minimal valid layout that each test bends one way."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

BASE_LAYOUT: dict[str, Any] = {
    "format": "caregrid-layout/1",
    "city": {
        "code": "testcity",
        "name_zh": "测试市",
        "name_en": "Test City",
        "pilot_level": "other",
        "area": ["900100"],
        "source": "tests",
    },
    "divisions": [
        {"code": "900100", "name_zh": "测试市", "level": "city", "parent": None},
        {"code": "900101", "name_zh": "甲区", "level": "county", "parent": "900100"},
        {"code": "900102", "name_zh": "乙区", "level": "county", "parent": "900100"},
    ],
    "grids": [
        {"code": "t-grid-a", "name_zh": "甲网格", "divisions": ["900101"]},
        {"code": "t-grid-b", "name_zh": "乙网格", "divisions": ["900102"]},
    ],
    "networks": [
        {
            "code": "t-net-a",
            "name_zh": "甲集团",
            "kind": "urban_group",
            "grid": "t-grid-a",
            "profile": "test-rules",
            "members": [
                {"institution": "t-lead-a", "role": "lead", "tier": "city"},
                {"institution": "t-sec-a", "role": "member", "tier": "district"},
                {"institution": "t-chc-a", "role": "member", "tier": "township"},
            ],
        },
        {
            "code": "t-net-b",
            "name_zh": "乙集团",
            "kind": "urban_group",
            "grid": "t-grid-b",
            "profile": "test-rules",
            "members": [
                {"institution": "t-lead-b", "role": "lead", "tier": "city"},
                {"institution": "t-chc-b", "role": "member", "tier": "township"},
            ],
        },
    ],
    "institutions": [
        {
            "code": "t-lead-a",
            "name_zh": "甲市人民医院",
            "level": "tertiary",
            "category": "general_hospital",
            "division": "900101",
        },
        {
            "code": "t-sec-a",
            "name_zh": "甲区人民医院",
            "level": "secondary",
            "category": "general_hospital",
            "division": "900101",
        },
        {
            "code": "t-chc-a",
            "name_zh": "甲区社区卫生服务中心",
            "level": "primary",
            "category": "community_health_center",
            "division": "900101",
        },
        {
            "code": "t-lead-b",
            "name_zh": "乙市中医医院",
            "level": "tertiary",
            "category": "tcm_hospital",
            "division": "900102",
        },
        {
            "code": "t-chc-b",
            "name_zh": "乙区卫生院",
            "level": "primary",
            "category": "township_health_center",
            "division": "900102",
        },
    ],
}


def layout(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE_LAYOUT)
    data.update(changes)
    return data


def write_layout(folder: Path, data: dict[str, Any], name: str = "layout.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def institution(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(i for i in data["institutions"] if i["code"] == code)


def network(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(n for n in data["networks"] if n["code"] == code)
