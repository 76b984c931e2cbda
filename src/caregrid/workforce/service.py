"""The workforce domain's entry: members' posts and vacancies, postings and the promotion
gate (`postings`, H1, C6, H4), the network's first-post draws (H2), committed, revealed,
published and replayed (`draw` holds the algorithm, pure and documented), experts' schedules
and days served (`sinking`, C5), the key members they serve (`key_members`, C5) and the
members' specialty brands (`brands`, C5), and training (`training`, H5): modules, sessions and
results, teaching plans, mentorships; and village doctors with their monthly pay
(`village`, H7); staff's internal evaluations (`evaluation`, K2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import access, audit
from caregrid.auth.roles import Principal
from caregrid.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.workforce import brands, evaluation, key_members, regions, sinking, training, village
from caregrid.workforce import draw as algorithm
from caregrid.workforce.models import Draw, DrawCandidate, DrawPost, Post
from caregrid.workforce.postings import (
    open_post,
    posting_facts,
    postings,
    posts,
    promote,
    record_posting,
    service_end,
    whole_months,
)
from caregrid.workforce.postings import service as primary_service
from caregrid.workforce.postings import view as posting_view
from caregrid.workforce.schemas import (
    DrawCandidateOut,
    DrawIn,
    DrawOut,
    DrawPostOut,
    PostingIn,
    RevealIn,
    TakeUpIn,
)
from caregrid.workforce.vocab import DrawState, PostingPurpose

__all__ = [
    "Draw",
    "brands",
    "commit_draw",
    "commitment",
    "draw_view",
    "draws",
    "evaluation",
    "get_draw",
    "key_members",
    "open_post",
    "posting_facts",
    "posting_view",
    "postings",
    "posts",
    "primary_service",
    "promote",
    "published",
    "read_draw",
    "record_posting",
    "regions",
    "reveal_draw",
    "sinking",
    "take_up",
    "training",
    "verify",
    "village",
    "whole_months",
]

verify = algorithm.verify
commitment = algorithm.commitment


def _office(principal: Principal, network_id: int) -> None:
    access.require_network_office(
        principal, network_id, "a network's first-post draws are run by its office"
    )


def _problems(session: Session, network_id: int, data: DrawIn) -> list[Problem]:
    """Every post once and of a member of the network; every candidate once, preferring
    posts of this draw, each once."""
    members = registry.network_member_ids(session, network_id)
    ids = {code: i for i, code in registry.codes_by_id(session).items()}
    problems: list[Problem] = []
    codes: dict[str, int] = {}
    for n, post in enumerate(data.posts):
        if post.code in codes:
            problems.append(
                Problem(f"posts.{n}.code", msg("repeats post {seen}", seen=codes[post.code]))
            )
        codes.setdefault(post.code, n)
        if ids.get(post.institution_code) not in members:
            problems.append(
                Problem(f"posts.{n}.institution_code", "is not a member of the network")
            )
    refs: dict[str, int] = {}
    for n, candidate in enumerate(data.candidates):
        if candidate.ref in refs:
            problems.append(
                Problem(
                    f"candidates.{n}.ref",
                    msg("repeats candidate {seen}", seen=refs[candidate.ref]),
                )
            )
        refs.setdefault(candidate.ref, n)
        for code in candidate.preferences:
            if code not in codes:
                problems.append(
                    Problem(
                        f"candidates.{n}.preferences",
                        msg("{code!r} is not a post of this draw", code=code),
                    )
                )
        if len(set(candidate.preferences)) != len(candidate.preferences):
            problems.append(Problem(f"candidates.{n}.preferences", "names a post twice"))
    return problems


def commit_draw(session: Session, principal: Principal, network_code: str, data: DrawIn) -> Draw:
    """The draw as published before it is run: the seed's hash, the posts and the
    candidates, frozen; nothing is drawn until the seed is revealed."""
    network = registry.get_network(session, network_code)
    _office(principal, network.id)
    problems = _problems(session, network.id, data)
    if problems:
        raise InvalidInput(problems)
    ids = {code: i for i, code in registry.codes_by_id(session).items()}
    row = Draw(
        network_id=network.id,
        name=data.name.strip(),
        state=DrawState.COMMITTED,
        commitment=data.commitment,
        committed_by=principal.username,
        committed_at=clock.now(),
    )
    session.add(row)
    session.flush()
    for n, post in enumerate(data.posts):
        session.add(
            DrawPost(
                draw_id=row.id,
                position=n,
                code=post.code,
                institution_id=ids[post.institution_code],
                title=post.title,
                seats=post.seats,
                need=post.need,
            )
        )
    for n, candidate in enumerate(data.candidates):
        session.add(
            DrawCandidate(
                draw_id=row.id,
                position=n,
                ref=candidate.ref,
                name=candidate.name,
                score=candidate.score,
                preferences=list(candidate.preferences),
            )
        )
    session.flush()
    _audit(session, principal, "draw.commit", row, {"commitment": row.commitment})
    return row


def _audit(
    session: Session, principal: Principal, action: str, row: Draw, detail: dict[str, object]
) -> None:
    audit.record_for(
        session,
        principal,
        action,
        row.network_id,
        purpose="workforce",
        subject_type="network",
        detail={"draw": row.id, **detail},
    )


def get_draw(session: Session, draw_id: int) -> Draw:
    row = session.get(Draw, draw_id)
    if row is None:
        raise NotFound("no draw {draw_id}", draw_id=draw_id)
    return row


def _inputs(
    session: Session, row: Draw
) -> tuple[list[algorithm.Seat], list[algorithm.Candidate], list[DrawCandidate]]:
    codes = registry.codes_by_id(session)
    posts = session.scalars(
        select(DrawPost).where(DrawPost.draw_id == row.id).order_by(DrawPost.position)
    )
    people = list(
        session.scalars(
            select(DrawCandidate)
            .where(DrawCandidate.draw_id == row.id)
            .order_by(DrawCandidate.position)
        )
    )
    seats = [
        algorithm.Seat(p.code, codes[p.institution_id], p.title, p.seats, p.need) for p in posts
    ]
    candidates = [algorithm.Candidate(c.ref, c.score, tuple(c.preferences)) for c in people]
    return seats, candidates, people


def reveal_draw(session: Session, principal: Principal, draw_id: int, data: RevealIn) -> Draw:
    """The seed revealed: it must hash to the commitment; the result is computed from it and
    the published draw's digest kept (both in the audit log)."""
    row = get_draw(session, draw_id)
    _office(principal, row.network_id)
    if row.version != data.version:
        raise Conflict(
            "draw {id} changed since you saw it (version {seen}, now {now})",
            id=row.id,
            seen=data.version,
            now=row.version,
        )
    if row.state != DrawState.COMMITTED:
        raise Conflict("draw {id} is revealed already", id=row.id)
    if algorithm.commitment(data.seed) != row.commitment:
        raise InvalidInput([Problem("seed", "does not hash to the draw's published commitment")])
    seats, candidates, people = _inputs(session, row)
    by_ref = {c.ref: c for c in people}
    for placed in algorithm.run(data.seed, seats, candidates):
        person = by_ref[placed.ref]
        person.lottery, person.rank, person.post_code = placed.lottery, placed.rank, placed.post
    row.seed = data.seed
    row.state = DrawState.REVEALED
    row.revealed_by = principal.username
    row.revealed_at = clock.now()
    session.flush()
    row.digest = published(session, row)["digest"]
    session.flush()
    _audit(session, principal, "draw.reveal", row, {"seed": data.seed, "digest": row.digest})
    return row


def published(session: Session, row: Draw) -> dict[str, Any]:
    """The draw as anyone may replay it (`caregrid workforce draw verify`): the commitment,
    the seed once revealed, posts, candidates' references and scores, and the result."""
    seats, candidates, people = _inputs(session, row)
    ranked = sorted((c for c in people if c.rank is not None), key=lambda c: c.rank or 0)
    network = registry.get_network_by_id(session, row.network_id)
    return algorithm.document(
        network=network.code,
        name=row.name,
        commitment=row.commitment,
        seed=row.seed,
        posts=seats,
        candidates=candidates,
        result=[algorithm.Placed(c.ref, c.rank or 0, c.lottery or "", c.post_code) for c in ranked],
    )


def draw_view(session: Session, row: Draw) -> DrawOut:
    seats, _, people = _inputs(session, row)
    taken: dict[str, int] = {}
    for person in people:
        if person.post_code is not None:
            taken[person.post_code] = taken.get(person.post_code, 0) + 1
    revealed = row.state == DrawState.REVEALED
    ordered = sorted(people, key=lambda c: c.rank or 0) if revealed else people
    return DrawOut(
        id=row.id,
        network_code=registry.get_network_by_id(session, row.network_id).code,
        name=row.name,
        state=DrawState(row.state),
        version=row.version,
        commitment=row.commitment,
        seed=row.seed,
        digest=row.digest,
        committed_by=row.committed_by,
        committed_at=row.committed_at,
        revealed_by=row.revealed_by,
        revealed_at=row.revealed_at,
        posts=[
            DrawPostOut(
                code=s.code,
                institution_code=s.institution_code,
                title=s.title,
                seats=s.seats,
                need=s.need,
                taken=taken.get(s.code, 0) if revealed else None,
            )
            for s in seats
        ],
        candidates=[
            DrawCandidateOut(
                ref=c.ref,
                name=c.name,
                score=c.score,
                preferences=list(c.preferences),
                lottery=c.lottery,
                rank=c.rank,
                post_code=c.post_code,
                posting_id=c.posting_id,
            )
            for c in ordered
        ],
    )


def take_up(
    session: Session, principal: Principal, draw_id: int, ref: str, data: TakeUpIn
) -> DrawOut:
    """A placed candidate takes up their first post: the practitioner the registry now holds
    under the candidate's name, posted to the post's member for the purpose `first_post`,
    into the member's post of the same code if it has one, to the end of the member's
    region's service period unless a last day is given (H3); once per candidate."""
    row = get_draw(session, draw_id)
    _office(principal, row.network_id)
    if row.state != DrawState.REVEALED:
        raise Conflict("draw {id} is not revealed yet", id=row.id)
    person = session.scalar(
        select(DrawCandidate)
        .where(DrawCandidate.draw_id == row.id, DrawCandidate.ref == ref)
        .with_for_update()
    )
    if person is None:
        raise NotFound("draw {id} has no candidate {ref}", id=row.id, ref=ref)
    if person.posting_id is not None:
        raise Conflict(
            "candidate {ref} took up posting {posting}", ref=ref, posting=person.posting_id
        )
    if person.post_code is None:
        raise InvalidInput([Problem("ref", "was placed in no post")])
    found = registry.get_practitioner(session, data.practitioner_code)
    if found is None or found.name != person.name:
        reason = msg("is not the candidate {name}", name=person.name)
        raise InvalidInput([Problem("practitioner_code", reason)])
    post = session.scalar(
        select(DrawPost).where(DrawPost.draw_id == row.id, DrawPost.code == person.post_code)
    )
    assert post is not None
    seat = session.scalar(
        select(Post.code).where(Post.institution_id == post.institution_id, Post.code == post.code)
    )
    period = regions.period_of(session, post.institution_id)
    ends_on = data.ends_on
    if ends_on is None and period is not None:
        ends_on = service_end(data.starts_on, period[1])
    posting = record_posting(
        session,
        principal,
        PostingIn(
            practitioner_code=data.practitioner_code,
            institution_code=registry.codes_by_id(session)[post.institution_id],
            post_code=seat,
            purpose=PostingPurpose.FIRST_POST,
            starts_on=data.starts_on,
            ends_on=ends_on,
            note=f"{row.name}: {ref}",
        ),
    )
    person.posting_id = posting.id
    session.flush()
    _audit(session, principal, "draw.take_up", row, {"ref": ref, "posting": posting.id})
    return draw_view(session, row)


def read_draw(session: Session, principal: Principal, draw_id: int) -> Draw:
    """A draw with its candidates' names, for its network's office and the commission."""
    row = get_draw(session, draw_id)
    if not access.is_network_office(principal, row.network_id):
        raise Forbidden("a network's draws are seen by its office and the commission")
    return row


def draws(session: Session, principal: Principal, network_code: str) -> list[DrawOut]:
    """A network's draws, newest first, for its office and the commission."""
    network = registry.get_network(session, network_code)
    if not access.is_network_office(principal, network.id):
        raise Forbidden("a network's draws are seen by its office and the commission")
    rows = session.scalars(
        select(Draw).where(Draw.network_id == network.id).order_by(Draw.id.desc())
    )
    return [draw_view(session, r) for r in rows]
