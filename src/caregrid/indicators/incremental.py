"""Incremental computation by month over the Parquet facts: an indicator's cells for a month
are kept with a fingerprint of the files they were computed from (and of the definition), and
reused until one of those files changes. A new month of facts, or a corrected one, recomputes
that month only. The cache lives beside the facts (`<root>/_cells/`) and is disposable."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from caregrid.activity.facts import fact
from caregrid.activity.parquet import month_dir
from caregrid.indicators.definitions import Indicator
from caregrid.indicators.engine import Cell, Dims, Period, label, read_facts

Run = Callable[[Path, Dims, Iterable[Indicator], Period], list[Cell]]


@dataclass
class Stats:
    computed: list[str] = field(default_factory=list)  # "indicator month" recomputed
    reused: int = 0


def months_between(period: Period) -> list[str]:
    year, month = map(int, period[0].split("-"))
    last = tuple(map(int, period[1].split("-")))
    found = []
    while (year, month) <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _files(root: Path, indicator: Indicator, months: list[str]) -> list[str]:
    listed = []
    for name in sorted(read_facts([indicator])):
        folders = (
            [month_dir(root, fact(name), m) for m in months]
            if indicator.period == "month"
            else sorted((root / name).glob("month=*"))
        )
        for folder in folders:
            for path in sorted(folder.glob("*.parquet")):
                status = path.stat()
                listed.append(f"{path.relative_to(root)}:{status.st_size}:{status.st_mtime_ns}")
    return listed


@functools.lru_cache(maxsize=512)
def _definition(indicator: Indicator) -> str:
    """The definition's text, once per definition: a warm cockpit fingerprints every
    indicator-month, and rendering a definition costs more than statting its files."""
    return repr(indicator)


def _fingerprint(root: Path, indicator: Indicator, months: list[str], dims: str) -> str:
    text = json.dumps([_definition(indicator), dims, _files(root, indicator, months)])
    return hashlib.sha256(text.encode()).hexdigest()


def compute(
    root: Path,
    dims: Dims,
    indicators: Iterable[Indicator],
    period: Period,
    run: Run,
    stats: Stats | None = None,
) -> list[Cell]:
    """Institution (and area) cells for the period, recomputing only what changed."""
    stats = stats if stats is not None else Stats()
    cache = root / "_cells"
    cache.mkdir(parents=True, exist_ok=True)
    dims_key = dims.key()
    out: list[Cell] = []
    for indicator in indicators:
        whole = label(indicator, period)
        wanted = [whole] if whole is not None else months_between(period)
        stale: list[tuple[str, str, Path]] = []
        for key in wanted:
            covered = months_between(period) if indicator.period == "year" else [key]
            fingerprint = _fingerprint(root, indicator, covered, dims_key)
            path = cache / indicator.id / f"{key.replace('..', '_')}.json"
            if path.exists():
                saved = json.loads(path.read_text(encoding="utf-8"))
                if saved["fingerprint"] == fingerprint:
                    out += [Cell(**c) for c in saved["cells"]]
                    stats.reused += 1
                    continue
            stale.append((key, fingerprint, path))
        if not stale:
            continue
        span = period if len(stale) == len(wanted) else None
        fresh: list[Cell] = []
        if span is not None:
            fresh = run(root, dims, [indicator], span)
        else:
            for key, _, _ in stale:
                fresh += run(root, dims, [indicator], (key, key))
        for key, fingerprint, path in stale:
            mine = [c for c in fresh if c.month == key]
            path.parent.mkdir(parents=True, exist_ok=True)
            body = {"fingerprint": fingerprint, "cells": [asdict(c) for c in mine]}
            path.write_text(json.dumps(body), encoding="utf-8")
            stats.computed.append(f"{indicator.id} {key}")
            out += mine
    return out
