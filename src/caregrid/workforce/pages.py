"""HTML pages of the workforce: the network's postings with the forms to post and promote
(H1, C6, H4); its first-post draws (H2) with the form that commits one (posts and candidates
as CSV lines), and one draw with its reveal form, the result and the published file to
replay; the group's training (H5): each member's figures H5, TR1 and TR2, its management
training against the profile's interval, the modules, sessions with their results, teaching
plans and mentorships, with the forms that record them; the key members with the experts
serving them and the members' specialty brands (C5). Thin: the rules live in
`workforce.service` and `workforce.training`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.errors import InvalidInput, Problem
from caregrid.i18n import msg
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.registry.vocab import TitleLevel
from caregrid.web.deps import DB, User
from caregrid.web.forms import FormError, cleaned, submit
from caregrid.web.render import render
from caregrid.workforce import service as workforce
from caregrid.workforce import wisn
from caregrid.workforce.api import staffing_need
from caregrid.workforce.schemas import (
    DeliveredIn,
    DrawIn,
    EndIn,
    EvaluationIn,
    KeyMemberIn,
    MemberRegionIn,
    MentorshipIn,
    ModuleIn,
    PayIn,
    PostIn,
    PostingIn,
    PromotionIn,
    RevealIn,
    ServiceDaysIn,
    ServicePeriodIn,
    SessionIn,
    SpecialtyBrandIn,
    TakeUpIn,
    TeachingPlanIn,
    VillageDoctorIn,
)
from caregrid.workforce.vocab import (
    EvaluationGrade,
    EvaluationUse,
    PostCategory,
    PostingPurpose,
    SinkingRole,
    TrainingKind,
)

router = APIRouter(include_in_schema=False)
# managers sent to run a member (C6), experts sent down (C5), weeks they served as asked (C5)
FIGURES = ("WF1", "WF2", "SK1", "SK2", "K2")  # and staff given an internal evaluation (K2)
POST_COLUMNS = ("code", "institution_code", "title", "seats", "need")
CANDIDATE_COLUMNS = ("ref", "name", "score", "preferences")
TRAINING = ("H5", "TR1", "TR2")  # modular passes, teaching plans, mentored staff (H5)
RESULT_COLUMNS = ("practitioner_code", "attended", "score")
WEEKDAYS = range(1, 8)  # ISO weekdays, Monday first
# key members with a ward director, their fewest clinic experts, specialty brands (C5)
KEY_MEMBERS = ("SK3", "SK4", "SB1", "SB2")


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


class TakeUpForm(BaseModel):
    practitioner_code: str = ""
    starts_on: str = ""


@router.post("/draws/{draw_id}/candidates/{ref}/take-up", response_class=HTMLResponse)
def take_up(
    draw_id: int,
    ref: str,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[TakeUpForm, Form()],
) -> Response:
    return submit(
        session,
        f"take-up-{ref}",
        lambda: TakeUpIn.model_validate(cleaned(form.model_dump())),
        lambda data: workforce.take_up(session, user, draw_id, ref, data),
        refused=lambda error: _draw_page(request, session, user, draw_id, error),
        done=lambda _: f"/draws/{draw_id}",
    )


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


def _staff_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = workforce.postings(session, user, code)
    network = registry.get_network(session, code)
    return render(
        request,
        "workforce/staff.html",
        user,
        posts=workforce.posts(session, user, code, clock.today()),
        categories=list(PostCategory),
        figures=FIGURES,
        rows=indicators.network_rows(
            session, code, FIGURES, indicators.year_period(clock.today().year, clock.today())
        ),
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        postings=found,
        members=sorted((m.institution for m in network.memberships), key=lambda i: i.code),
        purposes=list(PostingPurpose),
        roles=list(SinkingRole),
        evaluations=workforce.evaluation.evaluations(session, user, code)[:50],
        grades=list(EvaluationGrade),
        uses=list(EvaluationUse),
        weekdays=WEEKDAYS,
        levels=list(TitleLevel),
        names=registry.institution_names(session),
        service=workforce.regions.service_periods(session, user, code),
    )


@router.get("/networks/{code}/workforce", response_class=HTMLResponse)
def staff_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The network's postings of staff to its members, and the forms to post and promote."""
    return _staff_page(request, session, user, code)


class PostForm(BaseModel):
    institution_code: str = ""
    code: str = ""
    title: str = ""
    category: str = ""
    seats: str = ""


@router.post("/networks/{code}/workforce/posts", response_class=HTMLResponse)
def open_post(
    code: str,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[PostForm, Form()],
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "post",
        lambda: PostIn.model_validate({k: v.strip() for k, v in typed.items()}),
        lambda data: workforce.open_post(session, user, data),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce",
    )


class PostingForm(BaseModel):
    practitioner_code: str = ""
    institution_code: str = ""
    post_code: str = ""
    purpose: str = ""
    starts_on: str = ""
    ends_on: str = ""
    note: str = ""
    role: str = ""
    weekdays: list[str] = []


@router.post("/networks/{code}/workforce/postings", response_class=HTMLResponse)
def record_posting(
    code: str,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[PostingForm, Form()],
) -> Response:
    typed = {**form.model_dump(exclude={"weekdays"}), "weekdays": ",".join(form.weekdays)}
    return submit(
        session,
        "posting",
        lambda: PostingIn.model_validate(
            {
                **cleaned(
                    {k: v for k, v in typed.items() if k != "weekdays"},
                    ("ends_on", "note", "post_code", "role"),
                ),
                "weekdays": form.weekdays,
            }
        ),
        lambda data: workforce.record_posting(session, user, data),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce",
    )


@router.post("/networks/{code}/workforce/promotions", response_class=HTMLResponse)
def promote(
    code: str,
    request: Request,
    session: DB,
    user: User,
    practitioner_code: Annotated[str, Form()] = "",
    title_level: Annotated[str, Form()] = "",
) -> Response:
    typed = {"practitioner_code": practitioner_code, "title_level": title_level}
    return submit(
        session,
        "promotion",
        lambda: PromotionIn.model_validate(
            {"practitioner_code": practitioner_code.strip(), "title_level": title_level}
        ),
        lambda data: workforce.promote(session, user, data),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce?promoted={practitioner_code.strip()}",
    )


def _year(request: Request, this_year: int, default: int | None = None) -> int:
    """The year the figures are for (`?year=`), from 2000 to this year; anything else is
    the default (this year)."""
    text = request.query_params.get("year", "")
    if len(text) == 4 and text.isdigit() and 2000 <= int(text) <= this_year:
        return int(text)
    return this_year if default is None else default


def _training_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = workforce.training.training(session, user, code)
    network = registry.get_network(session, code)
    today = clock.today()
    year = _year(request, today.year)
    rows = indicators.network_rows(session, code, TRAINING, indicators.year_period(year, today))
    trained = {m.institution_code for m in found.management}
    return render(
        request,
        "workforce/training.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        found=found,
        figures=TRAINING,
        rows=[r for r in rows if r.code in trained or r.code == network.code],
        members=sorted((m.institution for m in network.memberships), key=lambda i: i.code),
        trainees=sorted(trained),
        kinds=list(TrainingKind),
        names=registry.institution_names(session),
        result_columns=",".join(RESULT_COLUMNS),
        year=year,
        this_year=today.year,
    )


@router.get("/networks/{code}/training", response_class=HTMLResponse)
def training_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The group's training (H5): figures per member, management training due, modules,
    sessions, teaching plans and mentorships, and the forms that record them."""
    return _training_page(request, session, user, code)


def _record(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    form: str,
    typed: dict[str, str],
    read: Callable[[], Any],
    work: Callable[[Any], object],
) -> Response:
    return submit(
        session,
        form,
        read,
        work,
        refused=lambda error: _training_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/training#{form}",
    )


class ModuleForm(BaseModel):
    code: str = ""
    title: str = ""
    kind: str = ""
    max_score: str = ""
    pass_score: str = ""


@router.post("/networks/{code}/training/modules", response_class=HTMLResponse)
def add_module(
    code: str, request: Request, session: DB, user: User, form: Annotated[ModuleForm, Form()]
) -> Response:
    typed = form.model_dump()
    return _record(
        request, session, user, code, "module", typed,
        lambda: ModuleIn.model_validate(cleaned(typed)),
        lambda data: workforce.training.add_module(session, user, code, data),
    )  # fmt: skip


class SessionForm(BaseModel):
    module_code: str = ""
    held_on: str = ""
    institution_code: str = ""
    trainer: str = ""
    results: str = ""


def _session_in(typed: dict[str, str]) -> SessionIn:
    """The trainees as CSV lines (code, attended 1 or 0, score; an empty score: not examined)."""
    results = [
        {**r, "score": r["score"] or None}
        for r in _rows(typed["results"], "results", RESULT_COLUMNS)
    ]
    return SessionIn.model_validate(
        {**cleaned({k: v for k, v in typed.items() if k != "results"}), "results": results}
    )


@router.post("/networks/{code}/training/sessions", response_class=HTMLResponse)
def record_session(
    code: str, request: Request, session: DB, user: User, form: Annotated[SessionForm, Form()]
) -> Response:
    typed = form.model_dump()
    return _record(
        request, session, user, code, "session", typed,
        lambda: _session_in(typed),
        lambda data: workforce.training.record_session(session, user, code, data),
    )  # fmt: skip


class PlanForm(BaseModel):
    institution_code: str = ""
    title: str = ""
    planned_on: str = ""
    delivered_on: str = ""


@router.post("/networks/{code}/training/teaching-plans", response_class=HTMLResponse)
def add_plan(
    code: str, request: Request, session: DB, user: User, form: Annotated[PlanForm, Form()]
) -> Response:
    typed = form.model_dump()
    return _record(
        request, session, user, code, "plan", typed,
        lambda: TeachingPlanIn.model_validate(cleaned(typed, ("delivered_on",))),
        lambda data: workforce.training.add_plan(session, user, code, data),
    )  # fmt: skip


@router.post(
    "/networks/{code}/training/teaching-plans/{plan_id}/delivered", response_class=HTMLResponse
)
def deliver_plan(
    code: str,
    plan_id: int,
    request: Request,
    session: DB,
    user: User,
    delivered_on: Annotated[str, Form()] = "",
) -> Response:
    typed = {"delivered_on": delivered_on}
    return _record(
        request, session, user, code, f"plan-{plan_id}", typed,
        lambda: DeliveredIn.model_validate(cleaned(typed)),
        lambda data: workforce.training.deliver_plan(session, user, plan_id, data),
    )  # fmt: skip


class MentorshipForm(BaseModel):
    practitioner_code: str = ""
    mentor_code: str = ""
    starts_on: str = ""
    ends_on: str = ""


@router.post("/networks/{code}/training/mentorships", response_class=HTMLResponse)
def add_mentorship(
    code: str, request: Request, session: DB, user: User, form: Annotated[MentorshipForm, Form()]
) -> Response:
    typed = form.model_dump()
    return _record(
        request, session, user, code, "mentorship", typed,
        lambda: MentorshipIn.model_validate(cleaned(typed, ("ends_on",))),
        lambda data: workforce.training.add_mentorship(session, user, code, data),
    )  # fmt: skip


@router.post("/networks/{code}/workforce/postings/{posting_id}/days", response_class=HTMLResponse)
def record_service_days(
    code: str,
    posting_id: int,
    request: Request,
    session: DB,
    user: User,
    days: Annotated[str, Form()] = "",
) -> Response:
    """Days an expert sent down served (C5), as dates separated by commas or spaces."""
    typed = {"days": days}
    return submit(
        session,
        f"days-{posting_id}",
        lambda: ServiceDaysIn.model_validate({"days": days.replace(",", " ").split()}),
        lambda data: workforce.sinking.record_service_days(session, user, posting_id, data),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce#posting-{posting_id}",
    )


def _village_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = workforce.village.village_doctors(session, user, code)
    network = registry.get_network(session, code)
    today = clock.today()
    rows = indicators.network_rows(
        session, code, ("VD1",), indicators.year_period(today.year, today)
    )
    return render(
        request,
        "workforce/village.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        doctors=found,
        rows=[r for r in rows if r.figures["VD1"].denominator or r.code == network.code],
        names=registry.institution_names(session),
    )


@router.get("/networks/{code}/village-doctors", response_class=HTMLResponse)
def village_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The members' village doctors (H7): employer and village, the months paid and the
    months over with no pay record, and the forms that record them."""
    return _village_page(request, session, user, code)


class VillageDoctorForm(BaseModel):
    practitioner_code: str = ""
    village: str = ""
    village_code: str = ""
    starts_on: str = ""
    ends_on: str = ""


@router.post("/networks/{code}/village-doctors", response_class=HTMLResponse)
def add_village_doctor(
    code: str,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[VillageDoctorForm, Form()],
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "village-doctor",
        lambda: VillageDoctorIn.model_validate(cleaned(typed, ("village_code", "ends_on"))),
        lambda data: workforce.village.add_village_doctor(session, user, data),
        refused=lambda error: _village_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/village-doctors",
    )


class PayForm(BaseModel):
    month: str = ""
    amount: str = ""
    paid_on: str = ""


@router.post(
    "/networks/{code}/village-doctors/{village_doctor_id}/pay", response_class=HTMLResponse
)
def record_pay(
    code: str,
    village_doctor_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[PayForm, Form()],
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        f"pay-{village_doctor_id}",
        lambda: PayIn.model_validate(cleaned(typed)),
        lambda data: workforce.village.record_pay(session, user, village_doctor_id, data),
        refused=lambda error: _village_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/village-doctors#doctor-{village_doctor_id}",
    )


class EvaluationForm(BaseModel):
    practitioner_code: str = ""
    evaluated_on: str = ""
    ethics: str = ""
    quality: str = ""
    competence: str = ""
    satisfaction: str = ""
    grade: str = ""
    uses: list[str] = []


@router.post("/networks/{code}/workforce/evaluations", response_class=HTMLResponse)
def record_evaluation(
    code: str,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[EvaluationForm, Form()],
) -> Response:
    typed = {**form.model_dump(exclude={"uses"}), "uses": ",".join(form.uses)}
    return submit(
        session,
        "evaluation",
        lambda: EvaluationIn.model_validate(
            {**cleaned({k: v for k, v in typed.items() if k != "uses"}), "uses": form.uses}
        ),
        lambda data: workforce.evaluation.record_evaluation(session, user, code, data),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce#evaluations",
    )


def _key_members_page(
    request: Request,
    session: Session,
    user: Principal,
    code: str,
    error: FormError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    found = workforce.key_members.key_members(session, user, code)
    network = registry.get_network(session, code)
    today = clock.today()
    lead = registry.lead_of(session, network.id)
    return render(
        request,
        "workforce/key_members.html",
        user,
        status=error.status if error else 200,
        error=error,
        typed=typed or {},
        network=network,
        key_members=found,
        brands=workforce.brands.brands(session, user, code),
        rows=indicators.network_rows(
            session, code, KEY_MEMBERS, indicators.year_period(today.year, today)
        ),
        members=sorted(
            (m.institution for m in network.memberships if lead is None or m.institution != lead),
            key=lambda i: i.code,
        ),
        names=registry.institution_names(session),
    )


@router.get("/networks/{code}/key-members", response_class=HTMLResponse)
def key_members_page(code: str, request: Request, session: DB, user: User) -> Response:
    """The key members with the ward directors and clinic experts serving them today, the
    members' specialty brands, SK3, SK4, SB1 and SB2, and the forms that record them (C5)."""
    return _key_members_page(request, session, user, code)


class KeyMemberForm(BaseModel):
    institution_code: str = ""
    named_on: str = ""


@router.post("/networks/{code}/key-members", response_class=HTMLResponse)
def name_key_member(
    code: str, request: Request, session: DB, user: User, form: Annotated[KeyMemberForm, Form()]
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "key-member",
        lambda: KeyMemberIn.model_validate(cleaned(typed)),
        lambda data: workforce.key_members.name_key_member(session, user, code, data),
        refused=lambda error: _key_members_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/key-members",
    )


class EndForm(BaseModel):
    ends_on: str = ""


@router.post("/networks/{code}/key-members/{key_member_id}/end", response_class=HTMLResponse)
def end_key_member(
    code: str,
    key_member_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[EndForm, Form()],
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        f"end-key-member-{key_member_id}",
        lambda: EndIn.model_validate(cleaned(typed)),
        lambda data: workforce.key_members.end_key_member(session, user, key_member_id, data),
        refused=lambda error: _key_members_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/key-members",
    )


class BrandForm(BaseModel):
    institution_code: str = ""
    specialty: str = ""
    recognised_on: str = ""
    recognised_by: str = ""


@router.post("/networks/{code}/specialty-brands", response_class=HTMLResponse)
def add_brand(
    code: str, request: Request, session: DB, user: User, form: Annotated[BrandForm, Form()]
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "brand",
        lambda: SpecialtyBrandIn.model_validate(cleaned(typed)),
        lambda data: workforce.brands.add_brand(session, user, code, data),
        refused=lambda error: _key_members_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/key-members#brands",
    )


@router.post("/networks/{code}/specialty-brands/{brand_id}/end", response_class=HTMLResponse)
def end_brand(
    code: str,
    brand_id: int,
    request: Request,
    session: DB,
    user: User,
    form: Annotated[EndForm, Form()],
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        f"end-brand-{brand_id}",
        lambda: EndIn.model_validate(cleaned(typed)),
        lambda data: workforce.brands.end_brand(session, user, code, brand_id, data),
        refused=lambda error: _key_members_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/key-members#brands",
    )


class ServicePeriodForm(BaseModel):
    region: str = ""
    months: str = ""


@router.post("/networks/{code}/workforce/service-periods", response_class=HTMLResponse)
def set_service_period(
    code: str, request: Request, session: DB, user: User, form: Annotated[ServicePeriodForm, Form()]
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "service-period",
        lambda: ServicePeriodIn.model_validate({"months": typed["months"].strip()}),
        lambda data: workforce.regions.set_period(session, user, code, form.region.strip(), data),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce#service-periods",
    )


class MemberRegionForm(BaseModel):
    institution_code: str = ""
    region: str = ""


@router.post("/networks/{code}/workforce/member-regions", response_class=HTMLResponse)
def place_member(
    code: str, request: Request, session: DB, user: User, form: Annotated[MemberRegionForm, Form()]
) -> Response:
    typed = form.model_dump()
    return submit(
        session,
        "member-region",
        lambda: MemberRegionIn.model_validate({"region": typed["region"].strip()}),
        lambda data: workforce.regions.place_member(
            session, user, code, form.institution_code.strip(), data
        ),
        refused=lambda error: _staff_page(request, session, user, code, error, typed),
        done=lambda _: f"/networks/{code}/workforce#service-periods",
    )


@router.get("/networks/{code}/staffing-need", response_class=HTMLResponse)
def staffing_need_page(code: str, request: Request, session: DB, user: User) -> Response:
    """WISN (H1): each member's staff required per category for its year's workload, beside
    the staff it has, and the standards it was computed with; last year unless `?year=`."""
    this_year = clock.today().year
    year = _year(request, this_year, this_year - 1)
    return render(
        request,
        "workforce/wisn.html",
        user,
        need=staffing_need(session, user, code, year),
        standard=wisn.standard(),
        network=registry.get_network(session, code),
        names=registry.institution_names(session),
        this_year=this_year,
    )
