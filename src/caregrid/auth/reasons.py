"""The coded reasons for emergency access, read from `data/catalogs/emergency-reasons.yaml`
(or the deployment's `CAREGRID_DATA_DIR/catalogs/emergency-reasons.yaml`, which wins)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from caregrid import yamlio
from caregrid.config import get_settings

FILE = "emergency-reasons.yaml"


class ReasonLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)


class ReasonCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: dict[str, ReasonLabel] = Field(min_length=1)


def _path() -> Path:
    own = get_settings().data_dir / "catalogs" / FILE
    if own.is_file():
        return own
    return Path(str(resources.files("caregrid.data").joinpath("catalogs", FILE)))


@lru_cache
def _load(path: Path) -> dict[str, ReasonLabel]:
    located = yamlio.load_text(path.read_text(encoding="utf-8"), FILE)
    return yamlio.validate(ReasonCatalog, located).reasons


def emergency_reasons() -> dict[str, ReasonLabel]:
    """Code → labels, in the file's order (a malformed file is refused naming the field)."""
    return _load(_path())
