"""HTML pages of the first-post draws (H2): a network's draws with the form that commits one
(posts and candidates as CSV lines), and one draw with its reveal form, the result and the
published file to replay. Thin: the rules live in `workforce.service`."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User
from caregrid.web.forms import FormError, submit
from caregrid.web.render import render
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import DrawIn, RevealIn

router = APIRouter(include_in_schema=False)
POST_COLUMNS = ("code", "institution_code", "title", "seats", "need")
CANDIDATE_COLUMNS = ("ref", "name", "score", "preferences")


class DrawForm(BaseModel):
    name: str = ""
    commitment: str = ""
    posts: str = ""
    candidates: str = ""


def _rows(text: str, field: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """CSV lines without a header, in the columns' order; a line of another width is named."""
    found = []
    problems = []
    lines = [line for line in csv.reader(io.StringIO(text.strip())) if any(c.strip() for c in line)]
    for n, line in enumerate(lines):
        if len(line) != len(columns):
            problems.append(
                Problem(
                    field,
                    msg(
                        "line {n} has {got} values, not {want} ({columns})",
                        n=n + 1,
                        got=len(line),
                        want=len(columns),
                        columns=", ".join(columns),
                    ),
                )
            )
            continue
        found.append(dict(zip(columns, (c.strip() for c in line), strict=True)))
    if problems:
        raise InvalidInput(problems)
    return found


def _draw_in(form: DrawForm) -> DrawIn:
    posts = _rows(form.posts, "posts", POST_COLUMNS)
    candidates = [
        {**c, "preferences": [p.strip() for p in c["preferences"].split(";") if p.strip()]}
        for c in _rows(form.candidates, "candidates", CANDIDATE_COLUMNS)
    ]
    return DrawIn.model_validate(
        {
            "name": form.name.strip(),
            "commitment": form.commitment.strip().lower(),
            "posts": posts,
            "candidates": candidates,
        }
    )


def _list_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = workforce.draws(session, user, code)
    network = registry.get_network(session, code)
    return render(
        request,
        "workforce/draws.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        draws=found,
        post_columns=",".join(POST_COLUMNS),
        candidate_columns=",".join(CANDIDATE_COLUMNS),
    )


@router.get("/networks/{code}/draws", response_class=HTMLResponse)
def draws_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The network's first-post draws and the form to commit the next one (H2)."""
    return _list_page(request, session, user, code)


@router.post("/networks/{code}/draws", response_class=HTMLResponse)
def commit_draw(
    code: str,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[DrawForm, Form()],
) -> Response:
    return submit(
        session,
        "draw",
        lambda: _draw_in(form),
        lambda data: workforce.commit_draw(session, user, code, data),
        refused=lambda error: _list_page(request, session, user, code, error, form.model_dump()),
        done=lambda row: f"/draws/{row.id}",
    )


def _draw_page(
    request: Request,
    session: Session,
    user: Principal,
    draw_id: int,
    error: FormError | None = None,
) -> Response:
    row = workforce.read_draw(session, user, draw_id)
    shown = workforce.draw_view(session, row)
    return render(
        request,
        "workforce/draw.html",
        user,
        status=error.status if error else 200,
        error=error,
        d=shown,
        names=registry.institution_names(session),
    )


@router.get("/draws/{draw_id}", response_class=HTMLResponse)
def draw_page(draw_id: int, request: Request, session: DB, user: User) -> Response:
    """One draw: its commitment, posts and candidates; once revealed, the seed, each
    candidate's lottery number, rank and post, and the file anyone can replay."""
    return _draw_page(request, session, user, draw_id)


@router.post("/draws/{draw_id}/reveal", response_class=HTMLResponse)
def reveal_draw(
    draw_id: int,
    request: Request,
    session: DB,
    user: User,
    version: Annotated[str, Form()] = "",
    seed: Annotated[str, Form()] = "",
) -> Response:
    return submit(
        session,
        "reveal",
        lambda: RevealIn.model_validate({"version": version, "seed": seed.strip()}),
        lambda data: workforce.reveal_draw(session, user, draw_id, data),
        refused=lambda error: _draw_page(request, session, user, draw_id, error),
        done=lambda _: f"/draws/{draw_id}",
    )
