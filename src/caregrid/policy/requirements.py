"""The catalog of requirement ids (REQUIREMENTS.md), shipped as data."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache
def requirement_catalog() -> dict[str, str]:
    """Requirement id -> text, e.g. "C3" -> "The lead's outpatient slots open ... 14 days ahead"."""
    text = resources.files("caregrid.data").joinpath("requirements.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {rid: entry["text"] for rid, entry in data["requirements"].items()}
