"""REST API of the workforce: postings and promotions (H1, C6, H4), the first-post draws
(H2): commit, reveal, read and the published draw, and training (H5): modules, sessions with
results, teaching plans and mentorships, key members and specialty brands (C5), village
doctors (H7), staff's internal evaluations (K2), and a county's service periods by region with
the first posts taken up from a draw (H3)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth.roles import Principal
from caregrid.indicators import service as indicators
from caregrid.registry import service as registry
from caregrid.web.deps import DB, User
from caregrid.workforce import service as workforce
from caregrid.workforce import wisn
from caregrid.workforce.schemas import (
    DeliveredIn,
    DrawIn,
    DrawOut,
    EndIn,
    EvaluationIn,
    EvaluationOut,
    KeyMemberIn,
    KeyMemberOut,
    MemberRegionIn,
    MentorshipIn,
    MentorshipOut,
    ModuleIn,
    ModuleOut,
    PayIn,
    PostIn,
    PostingIn,
    PostingOut,
    PostOut,
    PromotionIn,
    RevealIn,
    ServiceDaysIn,
    ServiceDaysOut,
    ServiceOut,
    ServicePeriodIn,
    ServicePeriodsOut,
    SessionIn,
    SessionOut,
    SpecialtyBrandIn,
    SpecialtyBrandOut,
    TakeUpIn,
    TeachingPlanIn,
    TeachingPlanOut,
    TrainingOut,
    VillageDoctorIn,
    VillageDoctorOut,
    WisnOut,
)

router = APIRouter(prefix="/api", tags=["workforce"])
DRAW_ID = Annotated[int, Path(ge=1, le=2_147_483_647)]
ROW_ID = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/networks/{code}/draws", response_model=DrawOut, status_code=201)
def commit_draw(code: str, body: DrawIn, session: DB, user: User) -> DrawOut:
    """Publish a draw before it is run: the seed's SHA-256, the posts and the candidates."""
    return workforce.draw_view(session, workforce.commit_draw(session, user, code, body))


@router.get("/networks/{code}/draws", response_model=list[DrawOut])
def network_draws(code: str, session: DB, user: User) -> list[DrawOut]:
    return workforce.draws(session, user, code)


@router.get("/draws/{draw_id}", response_model=DrawOut)
def draw(draw_id: DRAW_ID, session: DB, user: User) -> DrawOut:
    return workforce.draw_view(session, workforce.read_draw(session, user, draw_id))


@router.post("/draws/{draw_id}/reveal", response_model=DrawOut)
def reveal_draw(draw_id: DRAW_ID, body: RevealIn, session: DB, user: User) -> DrawOut:
    """Reveal the seed (it must hash to the commitment) and run the draw."""
    return workforce.draw_view(session, workforce.reveal_draw(session, user, draw_id, body))


@router.get("/draws/{draw_id}/published")
def published_draw(draw_id: DRAW_ID, session: DB, user: User) -> dict[str, Any]:
    """The draw as anyone signed in may replay it (`caregrid workforce draw verify FILE`):
    references and scores, not names."""
    return workforce.published(session, workforce.get_draw(session, draw_id))


@router.post("/postings", response_model=PostingOut, status_code=201)
def record_posting(body: PostingIn, session: DB, user: User) -> PostingOut:
    """A professional's service at a member (an overlapping one is refused, naming it)."""
    return workforce.posting_view(session, workforce.record_posting(session, user, body))


@router.post("/postings/{posting_id}/days", response_model=ServiceDaysOut)
def record_service_days(
    posting_id: ROW_ID, body: ServiceDaysIn, session: DB, user: User
) -> ServiceDaysOut:
    """Days an expert sent down served at the member (C5); a day recorded before is kept once."""
    return workforce.sinking.record_service_days(session, user, posting_id, body)


@router.get("/networks/{code}/postings", response_model=list[PostingOut])
def network_postings(code: str, session: DB, user: User) -> list[PostingOut]:
    return workforce.postings(session, user, code)


@router.post("/promotions", response_model=ServiceOut)
def promote(body: PromotionIn, session: DB, user: User) -> ServiceOut:
    """A higher title; a lead hospital's staff need the profile's primary service (H4)."""
    return workforce.promote(session, user, body)


@router.post("/posts", response_model=PostOut, status_code=201)
def open_post(body: PostIn, session: DB, user: User) -> PostOut:
    """A post at a member with its seats (H1)."""
    row = workforce.open_post(session, user, body)
    network = sorted(registry.network_ids_of_institution(session, row.institution_id))[0]
    code = registry.get_network_by_id(session, network).code
    return next(p for p in workforce.posts(session, user, code, clock.today()) if p.id == row.id)


@router.get("/networks/{code}/posts", response_model=list[PostOut])
def network_posts(
    code: str, session: DB, user: User, on: Annotated[date | None, Query()] = None
) -> list[PostOut]:
    """The members' posts with the seats filled and vacant on `on` (default today)."""
    return workforce.posts(session, user, code, on or clock.today())


@router.get("/networks/{code}/training", response_model=TrainingOut)
def network_training(code: str, session: DB, user: User) -> TrainingOut:
    """Modules, sessions with results, teaching plans, mentorships and each member's
    management training against the profile's interval (H5)."""
    return workforce.training.training(session, user, code)


@router.post("/networks/{code}/training/modules", response_model=ModuleOut, status_code=201)
def add_module(code: str, body: ModuleIn, session: DB, user: User) -> ModuleOut:
    return workforce.training.add_module(session, user, code, body)


@router.post("/networks/{code}/training/sessions", response_model=SessionOut, status_code=201)
def record_session(code: str, body: SessionIn, session: DB, user: User) -> SessionOut:
    """A session with every trainee's result; a score outside the scale refuses it whole."""
    return workforce.training.record_session(session, user, code, body)


@router.post(
    "/networks/{code}/training/teaching-plans", response_model=TeachingPlanOut, status_code=201
)
def add_plan(code: str, body: TeachingPlanIn, session: DB, user: User) -> TeachingPlanOut:
    return workforce.training.add_plan(session, user, code, body)


@router.post("/teaching-plans/{plan_id}/delivered", response_model=TeachingPlanOut)
def deliver_plan(plan_id: ROW_ID, body: DeliveredIn, session: DB, user: User) -> TeachingPlanOut:
    return workforce.training.deliver_plan(session, user, plan_id, body)


@router.post("/networks/{code}/training/mentorships", response_model=MentorshipOut, status_code=201)
def add_mentorship(code: str, body: MentorshipIn, session: DB, user: User) -> MentorshipOut:
    """A member's staff member and their mentor at the lead; one mentor at a time."""
    return workforce.training.add_mentorship(session, user, code, body)


@router.post("/village-doctors", response_model=VillageDoctorOut, status_code=201)
def add_village_doctor(body: VillageDoctorIn, session: DB, user: User) -> VillageDoctorOut:
    """A village doctor employed by a township centre and working in a village (H7)."""
    return workforce.village.add_village_doctor(session, user, body)


@router.post("/village-doctors/{village_doctor_id}/pay", response_model=VillageDoctorOut)
def record_pay(village_doctor_id: ROW_ID, body: PayIn, session: DB, user: User) -> VillageDoctorOut:
    """A month's pay; a month is paid once."""
    return workforce.village.record_pay(session, user, village_doctor_id, body)


@router.get("/networks/{code}/village-doctors", response_model=list[VillageDoctorOut])
def network_village_doctors(code: str, session: DB, user: User) -> list[VillageDoctorOut]:
    """The members' village doctors, each with the months over that have no pay record."""
    return workforce.village.village_doctors(session, user, code)


@router.post("/networks/{code}/staff-evaluations", response_model=EvaluationOut, status_code=201)
def record_evaluation(code: str, body: EvaluationIn, session: DB, user: User) -> EvaluationOut:
    """A member's staff member's internal evaluation (K2); one a day per person."""
    return workforce.evaluation.record_evaluation(session, user, code, body)


@router.get("/networks/{code}/staff-evaluations", response_model=list[EvaluationOut])
def network_evaluations(code: str, session: DB, user: User) -> list[EvaluationOut]:
    return workforce.evaluation.evaluations(session, user, code)


@router.post("/networks/{code}/key-members", response_model=KeyMemberOut, status_code=201)
def name_key_member(code: str, body: KeyMemberIn, session: DB, user: User) -> KeyMemberOut:
    """A member named a key member (C5): it is to receive the lead's experts."""
    return workforce.key_members.name_key_member(session, user, code, body)


@router.get("/networks/{code}/key-members", response_model=list[KeyMemberOut])
def network_key_members(code: str, session: DB, user: User) -> list[KeyMemberOut]:
    """The key members, each with its ward directors and clinic experts serving today."""
    return workforce.key_members.key_members(session, user, code)


@router.post("/key-members/{key_member_id}/end", response_model=KeyMemberOut)
def end_key_member(key_member_id: ROW_ID, body: EndIn, session: DB, user: User) -> KeyMemberOut:
    return workforce.key_members.end_key_member(session, user, key_member_id, body)


@router.post("/networks/{code}/specialty-brands", response_model=SpecialtyBrandOut, status_code=201)
def add_brand(code: str, body: SpecialtyBrandIn, session: DB, user: User) -> SpecialtyBrandOut:
    """A primary member's specialty recognised as a city-level brand (一院一品, C5)."""
    return workforce.brands.add_brand(session, user, code, body)


@router.get("/networks/{code}/specialty-brands", response_model=list[SpecialtyBrandOut])
def network_brands(code: str, session: DB, user: User) -> list[SpecialtyBrandOut]:
    return workforce.brands.brands(session, user, code)


@router.post("/networks/{code}/specialty-brands/{brand_id}/end", response_model=SpecialtyBrandOut)
def end_brand(
    code: str, brand_id: ROW_ID, body: EndIn, session: DB, user: User
) -> SpecialtyBrandOut:
    """The last day a brand held: it lapsed or was withdrawn."""
    return workforce.brands.end_brand(session, user, code, brand_id, body)


@router.get("/networks/{code}/service-periods", response_model=ServicePeriodsOut)
def service_periods(code: str, session: DB, user: User) -> ServicePeriodsOut:
    """The profile's regions, each with the county's service period and its members (H3)."""
    return workforce.regions.service_periods(session, user, code)


@router.put("/networks/{code}/service-periods/{region}", response_model=ServicePeriodsOut)
def set_service_period(
    code: str, region: str, body: ServicePeriodIn, session: DB, user: User
) -> ServicePeriodsOut:
    return workforce.regions.set_period(session, user, code, region, body)


@router.put("/networks/{code}/member-regions/{institution_code}", response_model=ServicePeriodsOut)
def place_member(
    code: str, institution_code: str, body: MemberRegionIn, session: DB, user: User
) -> ServicePeriodsOut:
    return workforce.regions.place_member(session, user, code, institution_code, body)


@router.post("/draws/{draw_id}/candidates/{ref}/take-up", response_model=DrawOut)
def take_up(draw_id: DRAW_ID, ref: str, body: TakeUpIn, session: DB, user: User) -> DrawOut:
    """A placed candidate's first post as a posting, to the end of the region's period (H3)."""
    return workforce.take_up(session, user, draw_id, ref, body)


def staffing_need(session: Session, user: Principal, code: str, year: int) -> WisnOut:
    """WISN for the year over the engine's workloads and staff counts (docs/workforce.md)."""

    def numerators(ids: tuple[str, ...]) -> dict[str, dict[str, float]]:
        period = indicators.year_period(year, clock.today())
        rows = indicators.network_rows(session, code, ids, period)
        return {r.code: {i: f.numerator for i, f in r.figures.items()} for r in rows}

    return wisn.network_wisn(session, user, code, year, numerators)


@router.get("/networks/{code}/staffing-need", response_model=WisnOut)
def network_staffing_need(
    code: str,
    session: DB,
    user: User,
    year: Annotated[int, Query(ge=2000, le=2100, description="the calendar year")],
) -> WisnOut:
    """Each member's staff required per category by WHO's WISN method, beside its staff."""
    return staffing_need(session, user, code, year)
