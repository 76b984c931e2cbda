"""The first-post draw (H2: 岗位需要、成绩优先、抽签), as pure functions anyone can replay.

Algorithm `caregrid-draw/1` (docs/workforce.md):

1. Before the draw the office publishes the commitment: the SHA-256 of the seed's UTF-8
   bytes, in hex. Posts (code, seats, need) and candidates (reference, score, preferred
   posts in order) are frozen with it.
2. After, the seed is revealed; it must hash to the commitment.
3. Each candidate's lottery number is SHA-256(seed, 0x1F, reference) in hex.
4. Candidates are ranked by score, highest first; equal scores by lottery number, lowest first.
5. In rank order each candidate takes a seat of the first of their preferred posts with a
   seat left; one whose preferred posts are full (or who named none) takes a seat of the
   neediest post with a seat left (lowest need number; equal need by the post's lottery
   number, SHA-256(seed, 0x1F, "post", 0x1F, code)); when no seat is left, none.
6. The digest is the SHA-256 of the canonical JSON of the draw without its digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from caregrid.workforce.vocab import DRAW_FORMAT

UNIT = "\x1f"


@dataclass(frozen=True)
class Seat:
    code: str
    institution_code: str
    title: str
    seats: int
    need: int  # 1 is the neediest


@dataclass(frozen=True)
class Candidate:
    ref: str
    score: Decimal
    preferences: tuple[str, ...]


@dataclass(frozen=True)
class Placed:
    ref: str
    rank: int
    lottery: str
    post: str | None


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _lottery(seed: str, *parts: str) -> str:
    return hashlib.sha256(UNIT.join((seed, *parts)).encode("utf-8")).hexdigest()


def run(seed: str, posts: list[Seat], candidates: list[Candidate]) -> list[Placed]:
    """The draw's result, in rank order (steps 3 to 5)."""
    lottery = {c.ref: _lottery(seed, c.ref) for c in candidates}
    ranked = sorted(candidates, key=lambda c: (-c.score, lottery[c.ref]))
    left = {p.code: p.seats for p in posts}
    by_need = sorted(posts, key=lambda p: (p.need, _lottery(seed, "post", p.code)))
    placed = []
    for rank, candidate in enumerate(ranked, start=1):
        chosen = next((code for code in candidate.preferences if left.get(code, 0) > 0), None)
        if chosen is None:
            chosen = next((p.code for p in by_need if left[p.code] > 0), None)
        if chosen is not None:
            left[chosen] -= 1
        placed.append(Placed(candidate.ref, rank, lottery[candidate.ref], chosen))
    return placed


def document(
    *,
    network: str,
    name: str,
    commitment: str,
    seed: str | None,
    posts: list[Seat],
    candidates: list[Candidate],
    result: list[Placed],
) -> dict[str, Any]:
    """The published draw: everything a replay needs, and the digest over it."""
    body: dict[str, Any] = {
        "format": DRAW_FORMAT,
        "network": network,
        "name": name,
        "commitment": commitment,
        "seed": seed,
        "posts": [
            {
                "code": p.code,
                "institution_code": p.institution_code,
                "title": p.title,
                "seats": p.seats,
                "need": p.need,
            }
            for p in posts
        ],
        "candidates": [
            {"ref": c.ref, "score": str(c.score), "preferences": list(c.preferences)}
            for c in candidates
        ],
        "result": [
            {"ref": r.ref, "rank": r.rank, "lottery": r.lottery, "post": r.post} for r in result
        ],
    }
    return {**body, "digest": digest(body)}


def digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify(published: dict[str, Any]) -> list[str]:
    """Replay a published draw; every difference found, in words (empty: it replays)."""
    if published.get("format") != DRAW_FORMAT:
        return [f"format: {published.get('format')!r} is not {DRAW_FORMAT}"]
    seed = published.get("seed")
    if not isinstance(seed, str):
        return ["seed: not revealed yet, so the draw cannot be replayed"]
    try:
        posts = [
            Seat(p["code"], p["institution_code"], p["title"], int(p["seats"]), int(p["need"]))
            for p in published["posts"]
        ]
        candidates = [
            Candidate(c["ref"], Decimal(c["score"]), tuple(c["preferences"]))
            for c in published["candidates"]
        ]
        result = published["result"]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return [f"the file is not a complete {DRAW_FORMAT} draw: {exc!r}"]
    differences = []
    if commitment(seed) != published.get("commitment"):
        differences.append("seed: its SHA-256 is not the published commitment")
    replayed = run(seed, posts, candidates)
    if len(result) != len(replayed):
        differences.append(f"result: {len(result)} rows published, {len(replayed)} replayed")
    for n, (shown, again) in enumerate(zip(result, replayed, strict=False), start=1):
        expected = {
            "ref": again.ref,
            "rank": again.rank,
            "lottery": again.lottery,
            "post": again.post,
        }
        if shown != expected:
            differences.append(f"result row {n}: published {shown}, replayed {expected}")
    body = {k: v for k, v in published.items() if k != "digest"}
    if digest(body) != published.get("digest"):
        differences.append("digest: the file was changed after it was published")
    return differences
