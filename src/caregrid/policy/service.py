"""Loading profiles: the shipped ones by name, or any file a user writes."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from caregrid import yamlio
from caregrid.errors import InvalidInput, NotFound, Problem
from caregrid.policy import catalogs, parameters
from caregrid.policy.schema import Profile

_cache: dict[str, Profile] = {}


def shipped_dir() -> Path:
    return Path(str(resources.files("caregrid.data").joinpath("profiles")))


def search_path() -> list[Path]:
    """Shipped profiles, then the deployment's own (CAREGRID_DATA_DIR/profiles), which win."""
    from caregrid.config import get_settings

    return [shipped_dir(), get_settings().data_dir / "profiles"]


def load_file(path: Path) -> Profile:
    """Validate a profile file; every problem names file, line and field."""
    located = yamlio.load_file(path)
    profile = yamlio.validate(Profile, located)
    if profile.name != path.stem:
        raise InvalidInput([located.problem(["name"], f"must equal the file name {path.stem!r}")])
    problems: list[Problem] = [
        located.problem(["parameters", key, *path], message)
        for key, entry in profile.parameters.items()
        for path, message in parameters.problems(key, entry)
    ]
    for kind, spec in profile.catalogs.items():
        try:
            catalogs.from_spec(kind, spec, profile=profile.name)
        except (InvalidInput, NotFound) as exc:
            problems.append(located.problem(["catalogs", kind], exc.detail))
    if problems:
        raise InvalidInput(problems)
    return profile


def names() -> list[str]:
    found: set[str] = set()
    for folder in search_path():
        if folder.is_dir():
            found.update(p.stem for p in folder.glob("*.yaml"))
    return sorted(found)


def get(name: str) -> Profile:
    """The profile called `name` (later folders on the search path win)."""
    if name in _cache:
        return _cache[name]
    for folder in reversed(search_path()):
        path = folder / f"{name}.yaml"
        if path.is_file():
            _cache[name] = load_file(path)
            return _cache[name]
    raise NotFound(
        "no policy profile named {name!r}; known: {value}",
        name=name,
        value=", ".join(names()) or "none",
    )


def resolve(profile: Profile, when: date) -> dict[str, Any]:
    """The profile as in force on `when`: every parameter resolved, with citations."""
    params: dict[str, Any] = {}
    for key, entry in sorted(profile.parameters.items()):
        upcoming = entry.next_phase(when)
        declared = parameters.declaration(key)
        params[key] = {
            "value": entry.at(when),
            "unit": declared.unit,
            "read_by": declared.read_by,
            "recorded": declared.recorded,
            "comparison": entry.comparison,
            "requirement": entry.requirement,
            "source": entry.source,
            "next": None
            if upcoming is None
            else {"effective": upcoming.effective.isoformat(), "value": upcoming.value},
        }
    return {
        "name": profile.name,
        "title_zh": profile.title_zh,
        "title_en": profile.title_en,
        "network_kind": profile.network_kind.value,
        "at": when.isoformat(),
        "structure": profile.structure.model_dump(mode="json", exclude_none=True),
        "parameters": params,
    }


def known_or_problem(name: str, *, file: str, line: int | None, field: str) -> Problem | None:
    """A Problem when `name` is not a known profile (used by layout import)."""
    try:
        get(name)
    except NotFound as exc:
        return Problem(field, exc.detail, file, line)
    return None
