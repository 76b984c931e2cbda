"""The first-post draw (H2): ranked by score, equal scores by the seeded lottery, each
candidate's first preferred post with a seat left, else the neediest; the seed checked
against its commitment; the published draw replays bit for bit, and a changed row, score,
seed or file is found (by `caregrid workforce draw verify`, exit 1); bad drafts refused
naming the field; the office alone runs it; both steps in the audit log."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from caregrid import clock
from caregrid.auth.models import AuditEntry
from caregrid.cli.main import app
from caregrid.errors import Conflict, Forbidden, InvalidInput
from caregrid.workforce import draw as algorithm
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import DrawIn, RevealIn
from caregrid.workforce.vocab import DrawState
from tests.conftest import bearer
from tests.world import NOW, World

NETWORK = "jh-rmyy-wucheng"
SEED = "jinhua-2026-first-posts-seed-0001"
POSTS: list[dict[str, Any]] = [
    {
        "code": "CHC-GP",
        "institution_code": "jh-wc-chengdong",
        "title": "全科医生",
        "seats": 2,
        "need": 1,
    },
    {
        "code": "RMYY-CARD",
        "institution_code": "jh-rmyy",
        "title": "心内科医师",
        "seats": 1,
        "need": 2,
    },
]


def _candidates() -> list[dict[str, Any]]:
    return [
        {"ref": "E001", "name": "甲", "score": "91.50", "preferences": ["RMYY-CARD", "CHC-GP"]},
        {"ref": "E002", "name": "乙", "score": "88.00", "preferences": ["RMYY-CARD"]},
        {"ref": "E003", "name": "丙", "score": "88.00", "preferences": ["RMYY-CARD"]},
        {"ref": "E004", "name": "丁", "score": "70.25", "preferences": []},
    ]


def _draw(**changes: Any) -> DrawIn:
    fields = {
        "name": "2026年新招聘人员首次分配",
        "commitment": algorithm.commitment(SEED),
        "posts": POSTS,
        "candidates": _candidates(),
        **changes,
    }
    return DrawIn.model_validate(fields)


def _revealed(session: Session, world: World) -> workforce.Draw:
    with clock.frozen(NOW):
        row = workforce.commit_draw(session, world.office, NETWORK, _draw())
        return workforce.reveal_draw(
            session, world.office, row.id, RevealIn(version=row.version, seed=SEED)
        )


def test_score_first_the_lottery_breaks_a_tie_then_the_neediest_post() -> None:
    posts = [
        algorithm.Seat(p["code"], p["institution_code"], p["title"], p["seats"], p["need"])
        for p in POSTS
    ]
    people = [
        algorithm.Candidate(c["ref"], Decimal(c["score"]), tuple(c["preferences"]))
        for c in _candidates()
    ]
    placed = algorithm.run(SEED, posts, people)
    assert placed == algorithm.run(SEED, posts, people)  # the same seed, the same draw
    assert placed[0].ref == "E001" and placed[0].post == "RMYY-CARD"
    tied = [p for p in placed if p.ref in ("E002", "E003")]
    # equal scores: the lower lottery number ranks first; both wanted the one cardiology
    # seat, taken by E001, so both fall back to the neediest post with a seat
    assert [p.ref for p in tied] == sorted(
        ("E002", "E003"), key=lambda r: algorithm._lottery(SEED, r)
    )
    assert {p.post for p in tied} == {"CHC-GP"}
    assert placed[-1].ref == "E004" and placed[-1].post is None  # no seat left
    # another seed may order the tie the other way; the commitment differs with the seed
    assert algorithm.commitment(SEED) != algorithm.commitment(SEED + "x")


def test_the_published_draw_replays_and_every_change_is_found(
    session: Session, world: World
) -> None:
    row = _revealed(session, world)
    shown = workforce.draw_view(session, row)
    assert shown.state == DrawState.REVEALED and shown.seed == SEED
    assert {p.code: p.taken for p in shown.posts} == {"CHC-GP": 2, "RMYY-CARD": 1}
    published = workforce.published(session, row)
    assert published["digest"] == row.digest
    assert "name" not in published["candidates"][0]  # references and scores, not names
    assert workforce.verify(published) == []

    swapped = copy.deepcopy(published)
    swapped["result"][0]["post"], swapped["result"][1]["post"] = (
        swapped["result"][1]["post"],
        swapped["result"][0]["post"],
    )
    found = workforce.verify(swapped)
    assert any(f.startswith("result row 1") for f in found) and any("digest" in f for f in found)

    rescored = copy.deepcopy(published)
    rescored["candidates"][3]["score"] = "99.00"  # the last candidate now ranks first
    assert any(f.startswith("result row") for f in workforce.verify(rescored))

    reseeded = copy.deepcopy(published)
    reseeded["seed"] = SEED + "x"
    assert any(f.startswith("seed:") for f in workforce.verify(reseeded))


def test_a_seed_not_matching_its_commitment_is_refused_and_nothing_drawn(
    session: Session, world: World
) -> None:
    with clock.frozen(NOW):
        row = workforce.commit_draw(session, world.office, NETWORK, _draw())
        with pytest.raises(InvalidInput) as refused:
            workforce.reveal_draw(
                session, world.office, row.id, RevealIn(version=row.version, seed=SEED + "x")
            )
        assert [p.field for p in refused.value.problems] == ["seed"]
        assert row.state == DrawState.COMMITTED and row.seed is None
        with pytest.raises(Forbidden):
            workforce.reveal_draw(
                session, world.cardiologist, row.id, RevealIn(version=row.version, seed=SEED)
            )
        done = workforce.reveal_draw(
            session, world.office, row.id, RevealIn(version=row.version, seed=SEED)
        )
        with pytest.raises(Conflict):
            workforce.reveal_draw(
                session, world.office, row.id, RevealIn(version=done.version, seed=SEED)
            )
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("draw.%")).order_by(AuditEntry.seq)
    ).all()
    assert actions[-2:] == ["draw.commit", "draw.reveal"]


def test_a_bad_draft_names_each_field_and_writes_nothing(session: Session, world: World) -> None:
    people = _candidates()
    people[1]["ref"] = "E001"
    people[2]["preferences"] = ["NO-SUCH-POST", "CHC-GP", "CHC-GP"]
    posts = [*POSTS, {**POSTS[0], "institution_code": "jh-jd-duohu"}]
    with clock.frozen(NOW), pytest.raises(InvalidInput) as refused:
        workforce.commit_draw(session, world.office, NETWORK, _draw(posts=posts, candidates=people))
    assert {p.field for p in refused.value.problems} == {
        "posts.2.code",
        "posts.2.institution_code",
        "candidates.1.ref",
        "candidates.2.preferences",
    }
    assert workforce.draws(session, world.office, NETWORK) == []
    with pytest.raises(Forbidden):
        workforce.commit_draw(session, world.cardiologist, NETWORK, _draw())


def test_the_cli_replays_a_published_file_and_exits_1_on_a_change(
    session: Session, world: World, tmp_path: Path
) -> None:
    published = workforce.published(session, _revealed(session, world))
    good, bad = tmp_path / "draw.json", tmp_path / "changed.json"
    good.write_text(json.dumps(published, ensure_ascii=False), encoding="utf-8")
    published["result"][0]["rank"] = 2
    bad.write_text(json.dumps(published, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["workforce", "draw", "verify", str(good)])
    assert ok.exit_code == 0 and "the draw replays" in ok.output
    changed = runner.invoke(app, ["workforce", "draw", "verify", str(bad)])
    assert changed.exit_code == 1 and "result row 1" in changed.output
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    assert (
        runner.invoke(app, ["workforce", "draw", "verify", str(tmp_path / "junk.json")]).exit_code
        == 2
    )


def test_the_api_commits_reveals_and_publishes(
    session: Session, world: World, client: TestClient
) -> None:
    office = bearer(session, world.office)
    body = _draw().model_dump(mode="json")
    with clock.frozen(NOW):
        made = client.post(f"/api/networks/{NETWORK}/draws", json=body, headers=office)
        assert made.status_code == 201, made.text
        draw_id = made.json()["id"]
        wrong = client.post(
            f"/api/draws/{draw_id}/reveal", json={"version": 1, "seed": "x" * 20}, headers=office
        )
        assert wrong.status_code == 422 and "seed" in wrong.text
        done = client.post(
            f"/api/draws/{draw_id}/reveal", json={"version": 1, "seed": SEED}, headers=office
        )
        assert done.status_code == 200 and done.json()["state"] == "revealed"
        doctor = bearer(session, world.cardiologist)
        assert client.get(f"/api/draws/{draw_id}", headers=doctor).status_code == 403
        shared = client.get(f"/api/draws/{draw_id}/published", headers=doctor)
    assert shared.status_code == 200 and workforce.verify(shared.json()) == []
