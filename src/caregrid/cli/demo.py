"""The demo: the shipped layouts, one account per role and a few synthetic residents."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

from rich.progress import Progress
from sqlalchemy.orm import Session

from caregrid import clock
from caregrid.auth import service as auth
from caregrid.auth.roles import SYSTEM, Role
from caregrid.chronic import service as chronic
from caregrid.chronic.schemas import EnrolIn, FollowUpIn, ReadingIn
from caregrid.chronic.standard import Condition
from caregrid.config import get_settings
from caregrid.db.migrate import upgrade
from caregrid.db.session import get_engine, session_scope
from caregrid.diagnostics import service as diagnostics
from caregrid.diagnostics import teleconsult
from caregrid.diagnostics.schemas import (
    CentreIn,
    CentreItemIn,
    OrderIn,
    QualityAssessmentIn,
    RepeatIn,
    ReportIn,
    ValueIn,
)
from caregrid.diagnostics.vocab import AssessmentResult, CentreKind, OrderState, RepeatReason
from caregrid.errors import NotFound
from caregrid.familydoctor import service as familydoctor
from caregrid.familydoctor.schemas import ConsentIn, ContractIn, MemberIn, TeamIn
from caregrid.familydoctor.vocab import ConsentMethod, TeamRole
from caregrid.finance import service as finance
from caregrid.governance import service as governance
from caregrid.governance.schemas import (
    DocumentIn,
    MeetingIn,
    SeatIn,
    TaskDoneIn,
    TaskListIn,
)
from caregrid.governance.schemas import ReportIn as CommissionReportIn
from caregrid.indicators import evaluation
from caregrid.pharmacy import service as pharmacy
from caregrid.pharmacy.schemas import (
    AccountIn,
    ConsolidateIn,
    DispenseIn,
    LotIn,
    PaymentIn,
    PrescriptionIn,
    PrescriptionItemIn,
    ReceiptIn,
    ReceiptLotIn,
    RegimenLineIn,
    RequisitionIn,
    RequisitionLineIn,
    TransferIn,
)
from caregrid.pharmacy.vocab import TransferAction
from caregrid.planning import hongkong
from caregrid.planning import service as planner
from caregrid.planning.schemas import PlanRequest
from caregrid.policy import service as policy
from caregrid.referral import service as referrals
from caregrid.referral.schemas import DownReferralIn, HistoryFilterIn, ReferralIn
from caregrid.referral.vocab import Action as ReferralAction
from caregrid.registry import importer
from caregrid.registry import service as registry
from caregrid.registry.vocab import NetworkRole
from caregrid.residents import national_id
from caregrid.residents import service as residents
from caregrid.residents.schemas import EmergencyAccessIn, ResidentIn
from caregrid.scheduling import service as scheduling
from caregrid.synth.city import generate
from caregrid.workforce import service as workforce
from caregrid.workforce.schemas import (
    DrawCandidateIn,
    DrawIn,
    DrawPostIn,
    EvaluationIn,
    KeyMemberIn,
    MentorshipIn,
    ModuleIn,
    PayIn,
    PostIn,
    PostingIn,
    RevealIn,
    ServiceDaysIn,
    ServicePeriodIn,
    SessionIn,
    SpecialtyBrandIn,
    TakeUpIn,
    TeachingPlanIn,
    VillageDoctorIn,
)
from caregrid.workforce.vocab import PostCategory, PostingPurpose, SinkingRole


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    scope: str


def shipped_layouts() -> list[Path]:
    folder = Path(str(resources.files("caregrid.data").joinpath("layouts")))
    return sorted(folder.glob("*.yaml"))


DEMO_RESIDENTS = 50_000  # a small city: the cockpit opens on a full year in about a second


def load_demo(progress: Progress) -> list[DemoAccount]:
    layouts = shipped_layouts()
    task = progress.add_task("loading demo", total=len(layouts) + 5)
    progress.update(task, description="migrating database")
    upgrade(get_engine())
    progress.advance(task)
    checked = []
    for path in layouts:
        progress.update(task, description=f"checking {path.name}")
        checked.append(importer.load(path))
        progress.advance(task)
    with session_scope() as session:
        progress.update(task, description="importing layouts")
        for one in checked:
            importer.apply(session, one, actor=SYSTEM, purpose="demo load")
        progress.advance(task)
        progress.update(task, description="demo accounts and residents")
        accounts = load_network(session, _demo_network(session))
        progress.advance(task)
    hong_kong = get_settings().reference_data_dir / "hk_ha"
    if hong_kong.is_dir():
        progress.update(task, description="Hong Kong for the grid planner, and a plan of it")
        _hong_kong(hong_kong)
    year = clock.today().year - 1
    progress.update(task, description=f"a synthetic year of Jinhua's activity ({year})")
    generate("jinhua", DEMO_RESIDENTS, year, 1, get_settings().effective_facts_dir)
    progress.advance(task)
    progress.update(task, description=f"the global budget of {year}, settled from its claims")
    with session_scope() as session:
        _finance(session, _demo_network(session), year)
    progress.advance(task)
    return accounts


# The demo's budget: the synthetic January's claims paid times twelve and this much more, its
# DIP pool what January's in-network stays were paid times twelve (the demo's own; a real
# budget is the insurance bureau's agreement with the network).
DEMO_BUDGET_MARGIN = Decimal("1.03")


def _finance(session: Session, network: registry.Network, year: int) -> None:
    """The synthetic year's global budget (I3): drawn up from January's claims, its months
    made, January to March settled and January and February closed, so the budget page
    shows closed, open and unsettled months and a settlement its figures."""
    try:
        finance.read_budget(session, SYSTEM, network.code, year)
        return
    except NotFound:
        pass
    finance.set_budget(
        session, SYSTEM, network.code, year, lump_sum_cny=Decimal(1), dip_pool_cny=Decimal(0)
    )
    finance.add_months(session, SYSTEM, network.code, year)
    paid, dip_stays = finance.claims_paid(session, SYSTEM, network.code, date(year, 1, 1))
    finance.set_budget(
        session,
        SYSTEM,
        network.code,
        year,
        lump_sum_cny=(paid * 12 * DEMO_BUDGET_MARGIN).quantize(Decimal("0.01")),
        dip_pool_cny=(dip_stays * 12).quantize(Decimal("0.01")),
    )
    for month in (1, 2, 3):
        finance.settle(session, SYSTEM, network.code, date(year, month, 1))
    for month in (1, 2):
        finance.close(session, SYSTEM, network.code, date(year, month, 1))
    _evaluation(session, network, year)


DEMO_CHECKED_NOTE = "演示：评估员核实了 CareGrid 的自动核查"
DEMO_SCORED_NOTE = "演示：评估员查阅了集团年度报告"


def _evaluation(session: Session, network: registry.Network, year: int) -> None:
    """The year's last evaluation, scored by the commission: CareGrid's checks confirmed and
    the other criteria met, so the budget page shows Jinhua's special funds paid (I4, K9)."""
    profile = policy.get(network.profile)
    months = evaluation.interval_months(profile, date(year, 12, 31))
    period = evaluation.label(year, months, 12 // months)
    if evaluation.stored(session, network.id, period) is not None:
        return
    found = evaluation.evaluate(session, SYSTEM, network.code, period)
    for item in found.items:
        checked = item.automatic in evaluation.VERDICTS
        evaluation.score(
            session,
            SYSTEM,
            network.code,
            period,
            criterion=item.criterion,
            verdict=item.automatic if checked and item.automatic else "met",
            note="演示：评估员核实了 CareGrid 的自动核查"
            if checked
            else "演示：评估员查阅了集团年度报告",
        )


def load_network(session: Session, network: registry.Network) -> list[DemoAccount]:
    """The demo network's accounts and its care: residents, a family-doctor team, clinics, an
    emergency grant, shared diagnostics, the assessments that let results be reused,
    referrals and a consultation waiting on the desks, and the pharmacy. Each
    step skips what an earlier run made, so loading twice adds nothing."""
    accounts = _accounts(session, network)
    _former_staff(session, network)
    _residents(session, network)
    _family_doctors(session, network)
    _clinics(session, network)
    _emergency(session, network)
    _diagnostics(session, network)
    _quality_assessments(session, network)
    _referrals(session, network)
    _pharmacy(session, network)
    _workforce(session, network)
    _training(session, network)
    _village_doctors(session, network)
    _key_members(session, network)
    _service_periods(session)
    _governance(session, network)
    return accounts


def _governance(session: Session, network: registry.Network) -> None:
    """The group's committee, charter and rules (L1); Jinhua's key-task list listed in April
    2024 with most tasks done, some late and two still overdue; a work meeting and a work
    update to the commission each month since May 2024, but for two months missed, and this
    month's meeting still to hold (L2)."""
    code = network.code
    if governance.governance(session, SYSTEM, code).tasks:
        return
    for name, organisation, role in (
        ("王建华", "金华市卫生健康委员会", "chair"),
        ("李国强", "婺城区卫生健康局", "vice_chair"),
        ("陈志明", "金华市人民医院", "member"),
        ("周敏", "金华市医疗保障局", "member"),
        ("赵丽", "城市医疗集团办公室", "office_director"),
    ):
        governance.add_seat(
            session,
            SYSTEM,
            code,
            SeatIn.model_validate(
                {"name": name, "organisation": organisation, "role": role, "from_on": "2024-04-01"}
            ),
        )
    for kind, title, adopted, filed in (
        ("charter", "紧密型城市医疗集团章程", "2024-04-15", "2024-04-28"),
        ("decision_rules", "集团理事会议事决策规则", "2024-04-15", "2024-04-28"),
        ("development_plan", "医疗集团五年发展规划（2024—2028）", "2024-04-26", None),
    ):
        governance.adopt_document(
            session,
            SYSTEM,
            code,
            DocumentIn.model_validate(
                {
                    "kind": kind,
                    "title": title,
                    "adopted_on": adopted,
                    "filed_on": filed,
                    "body": f"{title}\n第一条 本集团由牵头医院与成员单位组成，实行统一管理。",
                }
            ),
        )
    tasks = governance.load_task_list(session, SYSTEM, code, TaskListIn(listed_on=date(2024, 4, 1)))
    open_refs = {"12.1", "6.1"}  # still overdue on the desk
    late = {"2.1": 45, "11.1": 20, "15.5": 90}  # days after the deadline
    for task in tasks:
        if task.due_on is None or task.ref in open_refs:
            continue
        done = task.due_on + timedelta(days=late.get(task.ref, -5))
        governance.complete_task(session, SYSTEM, task.id, TaskDoneIn(done_on=done))
    today = clock.today()
    month, missed = date(2024, 5, 1), {date(2025, 2, 1), date(2025, 8, 1)}
    while month < today.replace(day=1):
        if month not in missed:
            governance.record_meeting(
                session,
                SYSTEM,
                code,
                MeetingIn.model_validate(
                    {
                        "kind": "work",
                        "held_on": month.replace(day=10),
                        "chaired_by": "赵丽",
                        "minutes": f"{month:%Y年%m月}工作例会：通报转诊、号源开放和重点任务进展。",
                    }
                ),
            )
        sent = (month + timedelta(days=32)).replace(day=5)
        if sent <= today:
            governance.record_report(
                session,
                SYSTEM,
                code,
                CommissionReportIn.model_validate(
                    {
                        "kind": "work_update",
                        "covers": f"{month:%Y-%m}",
                        "submitted_on": sent,
                        "recipient": "金华市卫生健康委员会",
                        "summary": f"{month:%Y年%m月}城市医疗集团建设工作动态。",
                    }
                ),
            )
        month = (month + timedelta(days=32)).replace(day=1)


DEMO_DRAW_SEED = "demo-2025-first-posts-7f3a9c21"  # revealed: a demo draw's seed is public


def _workforce(session: Session, network: registry.Network) -> None:
    """Two of the lead's cardiologists: one sent down to the primary unit since the spring
    to run its ward Monday to Thursday (a sinking posting, C5) with the days served, a
    Thursday missed every fifth week; one who never served at a primary member, whose
    promotion to a mid title the office will find refused (H4); the unit's posts with their
    vacancies (H1); and last year's first-post draw (H2)."""
    if workforce.draws(session, SYSTEM, network.code):
        return
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    for code, name, title in (
        ("DEMO-RMYY-QIAN", "钱立新", "associate_senior"),  # C5: 副高以上
        ("DEMO-RMYY-ZHAO", "赵晓东", "junior"),
    ):
        if registry.get_practitioner(session, code) is None:
            registry.create_practitioner(
                session,
                SYSTEM,
                code=code,
                name=name,
                title_level=title,
                home_institution_code=lead.code,
                specialty="cardiology",
            )
    sent = workforce.record_posting(
        session,
        SYSTEM,
        PostingIn(
            practitioner_code="DEMO-RMYY-QIAN",
            institution_code=unit.code,
            purpose=PostingPurpose.SINKING,
            starts_on=clock.today() - timedelta(days=150),
            note="常驻社区病区，周一至周四",
            role=SinkingRole.WARD_DIRECTOR,
            weekdays=[1, 2, 3, 4],
        ),
    )
    # Days served Monday to Thursday, but for a Thursday missed every fifth week (C5).
    days = [
        sent.starts_on + timedelta(days=n)
        for n in range(150)
        if (sent.starts_on + timedelta(days=n)).isoweekday() <= 4
        and not (n // 7 % 5 == 4 and (sent.starts_on + timedelta(days=n)).isoweekday() == 4)
    ]
    workforce.sinking.record_service_days(session, SYSTEM, sent.id, ServiceDaysIn(days=days))
    for code, title, category, seats in (
        ("CHC-GP", "全科医生", PostCategory.DOCTOR, 3),
        ("CHC-NURSE", "社区护士", PostCategory.NURSE, 2),
    ):
        workforce.open_post(
            session,
            SYSTEM,
            PostIn(
                institution_code=unit.code,
                code=code,
                title=title,
                category=category,
                seats=seats,
            ),
        )
    _draw(session, network)


def _training(session: Session, network: registry.Network) -> None:
    """The lead's training of its members (H5): a modular module examined two months ago (the
    family doctor passed, the nurse did not, the public-health doctor was absent), management
    training at the primary unit four months ago (the other members never: overdue), five
    teaching plans for the unit and two for another member, and two of the unit's staff
    mentored by the lead's cardiologist; the three evaluated three weeks ago (K2)."""
    code = network.code
    if workforce.training.training(session, SYSTEM, code).modules:
        return
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    for module, title, kind in (
        ("GP-MOD-1", "全科诊疗模块化培训", "modular"),
        ("MGT-2026", "成员单位负责人管理培训", "management"),
        ("CL-ECG", "心电图判读临床培训", "clinical"),
    ):
        workforce.training.add_module(
            session,
            SYSTEM,
            code,
            ModuleIn.model_validate(
                {"code": module, "title": title, "kind": kind, "max_score": 100, "pass_score": 60}
            ),
        )
    today = clock.today()
    for module, days, results in (
        (
            "GP-MOD-1",
            60,
            [
                {"practitioner_code": "demo-gp", "score": 86},
                {"practitioner_code": "demo-nurse", "score": "58.5"},
                {"practitioner_code": "demo-ph", "attended": False},
            ],
        ),
        ("MGT-2026", 120, [{"practitioner_code": "demo-gp"}]),
        ("CL-ECG", 30, [{"practitioner_code": "demo-gp", "score": 92}]),
    ):
        workforce.training.record_session(
            session,
            SYSTEM,
            code,
            SessionIn.model_validate(
                {
                    "module_code": module,
                    "held_on": today - timedelta(days=days),
                    "institution_code": lead.code,
                    "trainer": "孙主任",
                    "results": results,
                }
            ),
        )
    others = [
        m.institution_code
        for m in workforce.training.training(session, SYSTEM, code).management
        if m.institution_code != unit.code
    ]
    plans = [(unit.code, n) for n in range(5)] + [(c, n) for c in others[:1] for n in range(2)]
    for member, n in plans:
        planned = today - timedelta(days=200 - 30 * n)
        workforce.training.add_plan(
            session,
            SYSTEM,
            code,
            TeachingPlanIn(
                institution_code=member,
                title=("高血压规范管理", "糖尿病足筛查", "心电图判读", "急诊急救", "合理用药")[n],
                planned_on=planned,
                delivered_on=planned + timedelta(days=21) if n < 3 else None,
            ),
        )
    for person, grade, scores, uses in (
        ("demo-gp", "excellent", (96, 92, 94, 97), ["pay", "post"]),
        ("demo-nurse", "basic", (90, 72, 68, 81), ["pay"]),
        ("demo-ph", "competent", (93, 85, 84, 88), ["title"]),
    ):
        workforce.evaluation.record_evaluation(
            session,
            SYSTEM,
            code,
            EvaluationIn.model_validate(
                {
                    "practitioner_code": person,
                    "evaluated_on": today - timedelta(days=20),
                    **dict(
                        zip(
                            ("ethics", "quality", "competence", "satisfaction"), scores, strict=True
                        )
                    ),
                    "grade": grade,
                    "uses": uses,
                }
            ),
        )
    for mentee in ("demo-gp", "demo-nurse"):
        workforce.training.add_mentorship(
            session,
            SYSTEM,
            code,
            MentorshipIn(
                practitioner_code=mentee,
                mentor_code="demo-cardio",
                starts_on=today - timedelta(days=180),
            ),
        )


def _village_doctors(session: Session, network: registry.Network) -> None:
    """Two village doctors the primary unit employs and sends to its villages (乡聘村用, H7),
    paid each month since the spring, but for one month of one of them: flagged."""
    code = network.code
    if workforce.village.village_doctors(session, SYSTEM, code):
        return
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    today = clock.today()
    first = (today.replace(day=1) - timedelta(days=200)).replace(day=1)
    for practitioner, name, place, missed in (
        ("DEMO-VD-LIU", "刘春生", "下王村卫生室", None),
        ("DEMO-VD-HU", "胡秀英", "东关村卫生室", 2),  # months before this one
    ):
        if registry.get_practitioner(session, practitioner) is None:
            registry.create_practitioner(
                session,
                SYSTEM,
                code=practitioner,
                name=name,
                title_level="junior",
                home_institution_code=unit.code,
            )
        row = workforce.village.add_village_doctor(
            session,
            SYSTEM,
            VillageDoctorIn(practitioner_code=practitioner, village=place, starts_on=first),
        )
        month, months = first, []
        while month < today.replace(day=1):
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        for n, month in enumerate(months):
            if missed is not None and n == len(months) - missed:
                continue
            workforce.village.record_pay(
                session,
                SYSTEM,
                row.id,
                PayIn(
                    month=month.strftime("%Y-%m"),
                    amount=Decimal("3200.00"),
                    paid_on=min((month + timedelta(days=40)).replace(day=5), today),
                ),
            )


def _draw(session: Session, network: registry.Network) -> None:
    """Last year's first-post draw of new hires (H2), revealed: the lead's and two primary
    members' posts, eight candidates with their scores and preferred posts (invented)."""
    members = sorted(network.memberships, key=lambda m: m.position)
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    primary = [m.institution for m in members if m.institution.level == "primary"][:2]
    if len(primary) < 2:
        return
    posts = [
        DrawPostIn(
            code="P1-GP", institution_code=primary[0].code, title="全科医生", seats=2, need=1
        ),
        DrawPostIn(
            code="P2-GP", institution_code=primary[1].code, title="全科医生", seats=2, need=1
        ),
        DrawPostIn(
            code="L-CARD", institution_code=lead.code, title="心血管内科医师", seats=1, need=3
        ),
        DrawPostIn(code="L-NURSE", institution_code=lead.code, title="护士", seats=2, need=2),
    ]
    people = [
        ("JH2025001", "周文", "92.50", ["L-CARD", "P1-GP"]),
        ("JH2025002", "吴敏", "90.00", ["L-CARD", "L-NURSE"]),
        ("JH2025003", "郑洁", "90.00", ["L-NURSE"]),
        ("JH2025004", "孙浩", "86.75", ["P2-GP"]),
        ("JH2025005", "朱琳", "84.00", ["L-NURSE", "P1-GP"]),
        ("JH2025006", "胡强", "81.50", []),
        ("JH2025007", "林芳", "79.25", ["L-CARD"]),
        ("JH2025008", "何军", "77.00", ["P2-GP", "P1-GP"]),
    ]
    row = workforce.commit_draw(
        session,
        SYSTEM,
        network.code,
        DrawIn(
            name="2025年新招聘人员首次分配",
            commitment=workforce.commitment(DEMO_DRAW_SEED),
            posts=posts,
            candidates=[
                DrawCandidateIn(ref=ref, name=name, score=Decimal(score), preferences=wanted)
                for ref, name, score, wanted in people
            ],
        ),
    )
    revealed = workforce.reveal_draw(
        session, SYSTEM, row.id, RevealIn(version=row.version, seed=DEMO_DRAW_SEED)
    )
    # The top candidate, now in the registry, took up the first post last September (H3);
    # the others' take-up forms wait on the draw's page.
    top = workforce.draw_view(session, revealed).candidates[0]
    post = next(p for p in posts if p.code == top.post_code)
    registry.create_practitioner(
        session,
        SYSTEM,
        code=f"DEMO-NEW-{top.ref}",
        name=top.name,
        title_level="junior",
        home_institution_code=post.institution_code,
    )
    workforce.take_up(
        session,
        SYSTEM,
        row.id,
        top.ref,
        TakeUpIn(
            practitioner_code=f"DEMO-NEW-{top.ref}",
            starts_on=date(clock.today().year - 1, 9, 1),
        ),
    )


# The demo county's service periods in months, as a county office might set them: the plan
# leaves the years to each county (H3), so these are the demo's own, not a source's.
DEMO_SERVICE_MONTHS = {"mountain": 60, "semi_mountain": 48, "plain": 36, "urban": 24}


def _service_periods(session: Session) -> None:
    """Each network whose profile names regions (Ganzhou's county community model) gets the
    demo's service period per region; the model names no member to place in one."""
    for network in registry.networks(session):
        shown = workforce.regions.service_periods(session, SYSTEM, network.code).regions
        for region in (r.region for r in shown if r.months is None):
            if region in DEMO_SERVICE_MONTHS:
                workforce.regions.set_period(
                    session,
                    SYSTEM,
                    network.code,
                    region,
                    ServicePeriodIn(months=DEMO_SERVICE_MONTHS[region]),
                )


def _hong_kong(folder: Path) -> None:
    """A real city the planner can plan: Hong Kong's districts and clusters, and one plan of
    seven contiguous grids, proposed, for the commission to view and adopt."""
    with session_scope() as session:
        registry.replace_layout(session, SYSTEM, hongkong.layout(folder), purpose="demo load")
    with session_scope() as session:
        planner.draw(session, SYSTEM, "hong-kong", PlanRequest(grids=7, max_seconds=20))


def _demo_network(session: Session) -> registry.Network:
    found = registry.networks(session)  # ordered by code
    network = next((n for n in found if n.code.startswith("jh-")), found[0] if found else None)
    if network is None:
        raise RuntimeError("no network in the shipped layouts")
    return registry.get_network(session, network.code)


def _key_members(session: Session, network: registry.Network) -> None:
    """The primary unit, whose ward the lead's cardiologist runs, and a second primary member
    named key members since the spring (C5): the second has no expert sent down yet, which
    the page flags; the unit's rehabilitation recognised as a city-level brand last year."""
    if workforce.key_members.key_members(session, SYSTEM, network.code):
        return
    primaries = sorted(
        (m for m in network.memberships if m.institution.level == "primary"),
        key=lambda m: m.position,
    )
    named_on = clock.today() - timedelta(days=150)
    for m in primaries[:2]:
        workforce.key_members.name_key_member(
            session,
            SYSTEM,
            network.code,
            KeyMemberIn(institution_code=m.institution.code, named_on=named_on),
        )
    if primaries:
        workforce.brands.add_brand(
            session,
            SYSTEM,
            network.code,
            SpecialtyBrandIn(
                institution_code=primaries[0].institution.code,
                specialty="康复医学科",
                recognised_on=date(clock.today().year - 1, 9, 1),
                recognised_by="市卫生健康委员会",
            ),
        )


def _pick(network: registry.Network, role: NetworkRole, primary: bool) -> registry.Membership:
    for m in sorted(network.memberships, key=lambda m: m.position):
        if m.role == role and (m.institution.level == "primary") == primary:
            return m
    return network.memberships[0]


def _accounts(session: Session, network: registry.Network) -> list[DemoAccount]:
    """One account per role; passwords are new on every run and shown only now."""
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    primary = _pick(network, NetworkRole.MEMBER, primary=True).institution
    plan = [
        (Role.REGULATOR, "commission", "卫健委规划评价", None, None),
        (Role.NETWORK_ADMIN, "office", "集团办公室", lead.id, network.id),
        (Role.INSTITUTION_ADMIN, "unit-admin", "基层机构管理员", primary.id, None),
        (Role.CLINICIAN, "doctor", "牵头医院医生", lead.id, None),
        (Role.FAMILY_DOCTOR, "family-doctor", "家庭医生", primary.id, None),
        (Role.AUDITOR, "auditor", "审计员", None, None),
    ]
    accounts = []
    names = {lead.id: lead.name_zh, primary.id: primary.name_zh}
    for role, username, display, institution_id, network_id in plan:
        password = secrets.token_urlsafe(9)
        user = auth.get_by_username(session, username)
        if user is None:
            auth.create_user(
                session,
                SYSTEM,
                username=username,
                display_name=display,
                password=password,
                roles={role},
                institution_id=institution_id,
                network_id=network_id,
            )
        else:
            user.institution_id, user.network_id = institution_id, network_id
            auth.set_password(session, SYSTEM, user, password)
        scope = network.name_zh if network_id else names.get(institution_id or 0, "—")
        accounts.append(DemoAccount(role.value, username, password, scope))
    return accounts


def _former_staff(session: Session, network: registry.Network) -> None:
    """A disabled account at the primary unit, so the admins' account page shows both states."""
    if auth.get_by_username(session, "former-doctor") is not None:
        return
    primary = _pick(network, NetworkRole.MEMBER, primary=True).institution
    auth.create_user(
        session,
        SYSTEM,
        username="former-doctor",
        display_name="已离职医生",
        password=secrets.token_urlsafe(18),
        roles={Role.CLINICIAN},
        institution_id=primary.id,
    )
    auth.set_active(session, SYSTEM, "former-doctor", False)


def _residents(session: Session, network: registry.Network) -> None:
    """A handful of synthetic residents at the family doctor's unit (IDs are generated, valid)."""
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    samples = [
        ("张建国", "19580312", "1", "13905790001", ["hypertension"]),
        ("李秀英", "19620821", "2", "13905790002", ["diabetes", "hypertension"]),
        ("王小明", "20220105", "3", None, []),
        ("陈丽", "19950614", "4", "13905790004", ["pregnant_postpartum"]),
    ]
    area = unit.division_code
    for name, birth, seq, phone, tags in samples:
        body = f"{area[:6] if area[:6].isdigit() else '330702'}{birth}00{seq}"
        value = body + national_id.check_digit(body)
        if residents.id_by_national_id(session, value) is not None:
            continue
        residents.create(
            session,
            SYSTEM,
            ResidentIn(
                national_id=value,
                name=name,
                phone=phone,
                address_division_code=area,
                registered_institution_code=unit.code,
                tags=tags,
            ),
        )


def _emergency(session: Session, network: registry.Network) -> None:
    """One emergency grant by the lead's doctor on a resident of the primary unit that the
    lead has no care relationship with, so the auditors' page shows an alert."""
    doctor = auth.get_by_username(session, "doctor")
    auditor = auth.get_by_username(session, "auditor")
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    resident_id = residents.id_by_name(session, "陈丽", unit.id)
    if doctor is None or auditor is None or resident_id is None:
        return
    if auth.emergency_alerts(session, auth.principal_of(auditor)):
        return  # a rerun keeps the earlier alert
    residents.open_emergency_access(
        session,
        auth.principal_of(doctor),
        resident_id,
        EmergencyAccessIn(
            reason_code="unconscious",
            reason_text="患者夜间急诊昏迷送入，无家属陪同，需查阅既往病史与过敏史",
        ),
    )


DEMO_TEAM = (
    # code, name, title, at the lead?, team role
    ("demo-gp", "王全科", "intermediate", False, TeamRole.GENERAL_PRACTITIONER),
    ("demo-nurse", "陈护士", "junior", False, TeamRole.NURSE),
    ("demo-ph", "周公卫", "intermediate", False, TeamRole.PUBLIC_HEALTH),
    ("demo-cardio", "孙主任", "associate_senior", True, TeamRole.SPECIALIST),
)


def _family_doctors(session: Session, network: registry.Network) -> None:
    """A team at the family doctor's unit with a cardiologist from the lead (E1); the two
    chronic patients signed, enrolled and followed up: one overdue, one due this week."""
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    if familydoctor.team_by_code(session, "demo-team-1") is not None:
        return
    for code, name, title, at_lead, _ in DEMO_TEAM:
        if registry.get_practitioner(session, code) is None:
            home = lead.code if at_lead else unit.code
            registry.create_practitioner(
                session, SYSTEM, code=code, name=name, title_level=title, home_institution_code=home
            )
    team = familydoctor.create_team(
        session,
        SYSTEM,
        TeamIn(
            code="demo-team-1",
            name=f"{unit.name_zh}家庭医生团队",
            institution_code=unit.code,
            network_code=network.code,
            members=[MemberIn(practitioner_code=c, role=r) for c, _, _, _, r in DEMO_TEAM],
        ),
    )
    user = auth.get_by_username(session, "family-doctor")
    assert user is not None
    doctor = auth.principal_of(user)
    today = clock.today()
    plan = [
        (
            "张建国",
            ["basic", "elderly", "hypertension"],
            Condition.HYPERTENSION,
            ReadingIn(sbp=138, dbp=86),
        ),
        (
            "李秀英",
            ["basic", "hypertension", "diabetes"],
            Condition.DIABETES,
            ReadingIn(fpg=Decimal("7.8")),
        ),
    ]
    for name, packages, condition, reading in plan:
        resident_id = residents.id_by_name(session, name, unit.id)
        if resident_id is None:
            continue
        familydoctor.sign(
            session,
            doctor,
            ContractIn(
                resident_id=resident_id,
                team_code=team.code,
                doctor_code="demo-gp",
                packages=packages,
                consent=ConsentIn(method=ConsentMethod.WRITTEN, signatory=name),
            ),
        )
        chronic.enrol(
            session,
            doctor,
            EnrolIn(
                resident_id=resident_id,
                condition=condition,
                confirmed_on=today - timedelta(days=100),
            ),
        )
        visited = today - timedelta(days=95 if condition == Condition.HYPERTENSION else 10)
        chronic.record_follow_up(
            session,
            doctor,
            FollowUpIn(
                resident_id=resident_id, condition=condition, visited_on=visited, reading=reading
            ),
        )


DEMO_DEPARTMENTS = (
    ("cardiology", "心血管内科", "Cardiology"),
    ("neurology", "神经内科", "Neurology"),
)


def _clinics(session: Session, network: registry.Network) -> None:
    """The lead's cardiology and neurology: a morning session each weekday of the next two
    weeks (the profile reserves its share) and a cardiology bed pool."""
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    existing = {d.code: d for d in registry.departments(session, lead.id)}
    for code, name_zh, name_en in DEMO_DEPARTMENTS:
        department = existing.get(code) or registry.create_department(
            session, SYSTEM, institution_code=lead.code, code=code, name_zh=name_zh,
            name_en=name_en,
        )  # fmt: skip
        today = clock.today()
        zone = clock.local(clock.now()).tzinfo
        for offset in range(1, 15):
            day = today + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            starts = datetime.combine(day, time(8, 0), zone)
            if scheduling.sessions(
                session, department_id=department.id, start=starts, end=starts + timedelta(hours=4)
            ):
                continue
            scheduling.publish_session(
                session, SYSTEM, department_id=department.id, starts_at=starts,
                ends_at=starts + timedelta(hours=3, minutes=45), capacity=30,
            )  # fmt: skip
        if code == "cardiology" and not scheduling.bed_board(
            session, SYSTEM, department_id=department.id
        ):
            scheduling.create_bed_pool(session, SYSTEM, department_id=department.id, total=40)


def _referrals(session: Session, network: registry.Network) -> None:
    """Work waiting on the desks: an up-referral the lead's cardiology has not answered (B1),
    a patient the lead treated and referred back down for the family doctor to take over
    (B5), and a teleconsultation asked of the lead (D4)."""
    doctor_user = auth.get_by_username(session, "doctor")
    family_user = auth.get_by_username(session, "family-doctor")
    if doctor_user is None or family_user is None:
        return
    doctor, family = auth.principal_of(doctor_user), auth.principal_of(family_user)
    if referrals.history(session, family, HistoryFilterIn(), limit=1):
        return  # a rerun keeps the earlier referrals
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    cardiology = next(d for d in registry.departments(session, lead.id) if d.code == "cardiology")
    li = residents.id_by_name(session, "李秀英", unit.id)
    wang = residents.id_by_name(session, "张建国", unit.id)
    chen = residents.id_by_name(session, "陈丽", unit.id)
    if li is None or wang is None or chen is None:
        return
    up = {"to_institution_code": lead.code, "to_department_id": cardiology.id, "consent": True}
    referrals.create(
        session,
        family,
        ReferralIn(
            resident_id=li,
            diagnosis_code="I10",
            reason="血压控制不佳",
            clinical_summary="64岁女性，高血压合并2型糖尿病，三种降压药联合治疗血压仍未达标。",
            justification="三种降压药联合治疗血压仍 168/102 mmHg",
            **up,
        ),
    )
    chest = referrals.create(
        session,
        family,
        ReferralIn(
            resident_id=wang,
            diagnosis_code="I21.0",
            reason="胸痛",
            clinical_summary="急性前壁心肌梗死，溶栓后转诊",
            **up,
        ),
    )
    for action in (ReferralAction.ACCEPT, ReferralAction.ARRIVE):
        chest = referrals.transition(
            session, doctor, chest.id, action=action, version=chest.version
        )
    referrals.refer_down(
        session,
        doctor,
        parent_id=chest.id,
        data=DownReferralIn(
            version=chest.version,
            reason="病情稳定，转回社区康复",
            clinical_summary="经皮冠状动脉介入治疗后恢复良好",
            discharge_summary="PCI术后稳定，带药：阿司匹林、氯吡格雷、阿托伐他汀、美托洛尔",
            follow_up_plan="两周内社区随访血压、心率，一个月后心内科复诊",
        ),
    )
    teleconsult.request(
        session,
        family,
        resident_id=chen,
        to_institution_code=lead.code,
        to_department_id=cardiology.id,
        question="产后三个月血压 150/95 mmHg，哺乳期，请心内科建议降压用药",
    )


def _quality_assessments(session: Session, network: registry.Network) -> None:
    """Passed external quality assessments for this year, without which no result is ever
    offered for recognition (D3): every shared centre's institution for the categories of
    the items it offers, and the lead for every category (it issues the results its members
    accept, also those its own systems send)."""
    year = clock.today().year
    scheme = f"省级室间质评 {year}（演示）"
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    wanted = {(lead.code, category) for category in diagnostics.categories()}
    for centre in diagnostics.network_centres(session, network.id):
        runner = registry.get_institution_by_id(session, centre.institution_id)
        assert runner is not None
        wanted |= {(runner.code, diagnostics.item(i.item_code).category) for i in centre.items}
    for code, category in sorted(wanted):
        done = diagnostics.assessments(session, SYSTEM, code)
        if any(a.category == category and a.scheme == scheme for a in done):
            continue
        diagnostics.record_assessment(
            session,
            SYSTEM,
            QualityAssessmentIn(
                institution_code=code,
                category=category,
                scheme=scheme,
                assessed_on=date(year, 1, 1),
                result=AssessmentResult.PASSED,
                valid_until=date(year, 12, 31),
            ),
        )


DEMO_CENTRES = (
    # kind, name, items offered with the promised turnaround in hours (D1, D2)
    (
        CentreKind.LABORATORY,
        "区域检验中心",
        [("lipid_panel", 24), ("fasting_glucose", 24), ("hba1c", 48), ("creatinine", 24),
         ("blood_count", 12)],
    ),
    (CentreKind.IMAGING, "区域影像中心", [("chest_xray", 24), ("abdominal_ultrasound", 48)]),
    (CentreKind.ECG, "区域心电中心", [("ecg_12", 2)]),
)  # fmt: skip


def _diagnostics(session: Session, network: registry.Network) -> None:
    """The lead's shared laboratory, imaging and ECG centres (D1) read by the lead's doctor;
    the primary unit's orders for two residents, read at the centres (D2); a second lipid
    panel left open so its prior result is offered for reuse, an HbA1c repeated with a coded
    reason (D3); and a teleconsultation the lead's cardiology answered in writing (D4)."""
    if diagnostics.network_centres(session, network.id):
        return  # a rerun keeps the earlier centres, orders and consultation
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    reader_user = auth.get_by_username(session, "doctor")
    family_user = auth.get_by_username(session, "family-doctor")
    if reader_user is None or family_user is None:
        return
    for kind, name, offered in DEMO_CENTRES:
        if any(diagnostics.item(code).centre != kind for code, _ in offered):
            continue
        diagnostics.create_centre(
            session,
            SYSTEM,
            CentreIn(
                network_code=network.code,
                kind=kind,
                institution_code=lead.code,
                name=f"{lead.name_zh}{name}",
                items=[CentreItemIn(item_code=c, turnaround_hours=h) for c, h in offered],
                readers=[reader_user.username],
            ),
        )
    _quality_assessments(session, network)  # results are eligible only from assessed issuers
    reader, doctor = auth.principal_of(reader_user), auth.principal_of(family_user)
    today = clock.today()
    since = date(today.year, 1, 1)  # within this year's assessment

    def done(resident_id: int, code: str, days_ago: int, data: ReportIn, member: bool) -> None:
        order = diagnostics.place_order(
            session,
            doctor,
            OrderIn(resident_id=resident_id, item_code=code, acquired_at_member=member),
        )
        if member:
            diagnostics.advance(session, doctor, order.id, OrderState.ACQUIRED)
        data.observed_on = max(today - timedelta(days=days_ago), since)
        diagnostics.report(session, reader, order.id, data)

    zhang = residents.id_by_name(session, "张建国", unit.id)
    li = residents.id_by_name(session, "李秀英", unit.id)
    if zhang is None or li is None:
        return
    lipids = [("tc", "5.9"), ("tg", "1.9"), ("ldl", "3.8"), ("hdl", "1.1")]
    done(
        zhang,
        "lipid_panel",
        10,
        ReportIn(
            values=[ValueIn(component=c, value=Decimal(v), unit="mmol/L") for c, v in lipids],
            conclusion="总胆固醇、低密度脂蛋白偏高，建议调脂治疗",
        ),
        member=False,
    )
    done(
        zhang,
        "ecg_12",
        10,
        ReportIn(findings="窦性心律，心率72次/分，左心室高电压", conclusion="左心室高电压"),
        member=True,
    )
    done(
        li,
        "hba1c",
        20,
        ReportIn(values=[ValueIn(component="hba1c", value=Decimal("7.9"), unit="%")]),
        member=False,
    )
    # Ordered again inside the window: the lipid panel waits with its prior result offered.
    diagnostics.place_order(session, doctor, OrderIn(resident_id=zhang, item_code="lipid_panel"))
    again = diagnostics.place_order(session, doctor, OrderIn(resident_id=li, item_code="hba1c"))
    prior = diagnostics.offers(session, again)
    if prior:
        diagnostics.repeat(
            session,
            doctor,
            again.id,
            RepeatIn(prior_result_id=prior[0].result.id, reason=RepeatReason.CONDITION_CHANGED),
        )
    cardiology = next(
        (d for d in registry.departments(session, lead.id) if d.code == "cardiology"), None
    )
    if cardiology is None:
        return
    consult = teleconsult.request(
        session,
        doctor,
        resident_id=zhang,
        to_institution_code=lead.code,
        to_department_id=cardiology.id,
        question="高血压患者血脂偏高、心电图示左心室高电压，请心内科评估是否调整降压与调脂方案",
    )
    teleconsult.schedule(
        session,
        reader,
        consult.id,
        at=clock.now() + timedelta(hours=2),
        meeting_link="https://meet.example.org/caregrid-demo",
    )
    teleconsult.answer(
        session,
        reader,
        consult.id,
        opinion="建议加用他汀类调脂，继续原降压方案，三个月后复查血脂与心脏超声",
    )


# A drug the starter set lacks (not an essential medicine, a volume-procured ARB) and what two
# members list that the network's catalogue does not: demo data, not a source's.
DEMO_CATALOGUE = (
    "code,kind,name_zh,name_en,molecule,drug_class,dosage_form,strength,essential,"
    "volume_procurement,source,supplier,unit_price_cny\n"
    "DEMO-OLMESARTAN-T20,drug,奥美沙坦酯片,olmesartan medoxomil tablets,olmesartan,arb,片剂,"
    "20mg,no,yes,ours: demo data,金华示例药品配送有限公司（演示）,0.3150\n"
)
# Who the demo network buys from and at what price per unit (invented for the demo).
DEMO_SUPPLY = {
    "EML18-AMLODIPINE-T5": ("浙江示例医药有限公司（演示）", "0.0450"),
    "EML18-METFORMIN-T05": ("浙江示例医药有限公司（演示）", "0.0380"),
    "EML18-VALSARTAN-C80": ("金华示例药品配送有限公司（演示）", "0.2400"),
    "EML18-GLIMEPIRIDE-T2": ("金华示例药品配送有限公司（演示）", "0.1200"),
}
DEMO_OUTSIDE = (("HIS-0231", "复方丹参片"), ("HIS-0877", "硝苯地平控释片（进口）"))


def _supplied_starter(starter: Path) -> bytes:
    """The starter catalogue with the demo's suppliers and prices on some of its lines."""
    with starter.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, [*rows[0], "supplier", "unit_price_cny"])
    writer.writeheader()
    for row in rows:
        supplier, price = DEMO_SUPPLY.get(row["code"], ("", ""))
        writer.writerow({**row, "supplier": supplier, "unit_price_cny": price})
    return out.getvalue().encode()


def _pharmacy(session: Session, network: registry.Network) -> None:
    """The network's catalogue (the starter set with suppliers and prices, and one more line),
    the lead's list and the primary unit's with two lines outside it, the procurement
    account, stock at the lead and the unit, one transfer received and one waiting to be
    shipped (G1-G3); then the members' requisitions, one order per supplier, one received,
    distributed and paid, the other waiting for its goods, and a requisition for the next
    order (G2)."""
    if pharmacy.items(session, network.id):
        return  # a rerun keeps the earlier catalogue and stock
    lead = _pick(network, NetworkRole.LEAD, primary=False).institution
    unit = _pick(network, NetworkRole.MEMBER, primary=True).institution
    starter = pharmacy.starter_file()
    pharmacy.import_catalogue(
        session, SYSTEM, network.code, _supplied_starter(starter), file=starter.name
    )
    pharmacy.import_catalogue(
        session, SYSTEM, network.code, DEMO_CATALOGUE.encode(), file="demo-catalogue.csv"
    )
    lines = [(i.code, i.name_zh) for i in pharmacy.items(session, network.id)]

    def listed(rows: list[tuple[str, str]]) -> bytes:
        return ("code,name_zh\n" + "".join(f"{c},{n}\n" for c, n in rows)).encode()

    pharmacy.import_listing(session, SYSTEM, lead.code, listed(lines), file="lead.csv")
    wanted = ("EML18-AMLODIPINE-T5", "EML18-METFORMIN-T05")  # what its prescriptions need
    eml = [line for line in lines if line[0].startswith("EML18-")]
    unit_lines = [line for line in eml if line[0] in wanted]
    unit_lines += [line for line in eml if line[0] not in wanted][: 10 - len(unit_lines)]
    pharmacy.import_listing(
        session, SYSTEM, unit.code, listed(unit_lines + list(DEMO_OUTSIDE)), file="unit.csv"
    )
    pharmacy.open_account(
        session,
        SYSTEM,
        network.code,
        AccountIn(name=f"{network.name_zh}药品耗材统一采购账户", account_number="JH-0001-2025"),
    )
    today = clock.today()
    received = {}
    for code, lot, days, units in (
        ("EML18-AMLODIPINE-T5", "A250601", 400, 5000),
        ("EML18-METFORMIN-T05", "M250412", 200, 3000),
        ("EML18-VALSARTAN-C80", "V241105", 20, 240),
    ):
        received[code] = pharmacy.receive_lot(
            session,
            SYSTEM,
            lead.code,
            LotIn(
                item_code=code, lot_number=lot, expires_on=today + timedelta(days), quantity=units
            ),
        )
    sent = pharmacy.request_transfer(
        session,
        SYSTEM,
        TransferIn(
            lot_id=received["EML18-AMLODIPINE-T5"].id, to_institution_code=unit.code, quantity=600
        ),
    )
    pharmacy.act(session, SYSTEM, sent.id, TransferAction.SHIP, sent.version)
    pharmacy.act(session, SYSTEM, sent.id, TransferAction.RECEIVE, sent.version)
    pharmacy.request_transfer(
        session,
        SYSTEM,
        TransferIn(
            lot_id=received["EML18-METFORMIN-T05"].id, to_institution_code=unit.code, quantity=300
        ),
    )
    _procurement(session, network, lead, unit)
    _prescriptions(session, lead, unit)
    _continuity(session, lead, unit)


def _prescriptions(
    session: Session, lead: registry.Institution, unit: registry.Institution
) -> None:
    """A cloud prescription the lead's doctor wrote for the patient referred back down,
    dispensed at the unit from the lot the lead sent it; one the family doctor wrote waiting
    in the unit's pharmacy (G5)."""
    doctor_user = auth.get_by_username(session, "doctor")
    family_user = auth.get_by_username(session, "family-doctor")
    admin_user = auth.get_by_username(session, "unit-admin")
    wang = residents.id_by_name(session, "张建国", unit.id)
    li = residents.id_by_name(session, "李秀英", unit.id)
    if None in (doctor_user, family_user, admin_user, wang, li):
        return
    assert doctor_user and family_user and admin_user and wang and li
    doctor, family = auth.principal_of(doctor_user), auth.principal_of(family_user)
    cloud = pharmacy.prescribe(
        session,
        doctor,
        PrescriptionIn(
            resident_id=wang,
            diagnosis_code="I10",
            dispensing_institution_code=unit.code,
            items=[
                PrescriptionItemIn(
                    item_code="EML18-AMLODIPINE-T5", quantity=28, dosage="每日1次，每次1片", days=28
                )
            ],
        ),
    )
    pharmacy.dispense(session, auth.principal_of(admin_user), cloud.id, DispenseIn(version=1))
    pharmacy.prescribe(
        session,
        family,
        PrescriptionIn(
            resident_id=li,
            diagnosis_code="E11.9",
            items=[
                PrescriptionItemIn(
                    item_code="EML18-METFORMIN-T05", quantity=56, dosage="每日2次，每次1片", days=28
                )
            ],
        ),
    )


def _continuity(session: Session, lead: registry.Institution, unit: registry.Institution) -> None:
    """张建国 referred up for his blood pressure and back down with a regimen (G6): the unit
    holds amlodipine; it does not list valsartan, so the drug is flagged and a transfer from
    the lead's lot is proposed, waiting for the lead's pharmacy to ship it."""
    doctor_user = auth.get_by_username(session, "doctor")
    family_user = auth.get_by_username(session, "family-doctor")
    wang = residents.id_by_name(session, "张建国", unit.id)
    if doctor_user is None or family_user is None or wang is None:
        return
    doctor, family = auth.principal_of(doctor_user), auth.principal_of(family_user)
    cardiology = next(d for d in registry.departments(session, lead.id) if d.code == "cardiology")
    up = referrals.create(
        session,
        family,
        ReferralIn(
            resident_id=wang,
            to_institution_code=lead.code,
            to_department_id=cardiology.id,
            consent=True,
            diagnosis_code="I10",
            reason="血压控制不佳",
            clinical_summary="68岁男性，PCI术后，氨氯地平单药治疗血压仍 162/98 mmHg。",
            justification="单药足量治疗血压仍未达标，需调整方案",
        ),
    )
    for action in (ReferralAction.ACCEPT, ReferralAction.ARRIVE):
        up = referrals.transition(session, doctor, up.id, action=action, version=up.version)
    referrals.refer_down(
        session,
        doctor,
        parent_id=up.id,
        data=DownReferralIn(
            version=up.version,
            reason="血压达标，转回社区管理",
            clinical_summary="氨氯地平联合缬沙坦后血压 132/82 mmHg",
            discharge_summary="出院带药：苯磺酸氨氯地平片 5mg 每日1次；缬沙坦胶囊 80mg 每日1次",
            follow_up_plan="两周内社区随访血压，一个月后心内科复诊",
            regimen=[
                RegimenLineIn(item_code="EML18-AMLODIPINE-T5", quantity=28),
                RegimenLineIn(item_code="EML18-VALSARTAN-C80", quantity=28),
            ],
        ),
    )


def _procurement(
    session: Session,
    network: registry.Network,
    lead: registry.Institution,
    unit: registry.Institution,
) -> None:
    """Requisitions from the unit, another primary member and the lead; the orders."""
    others = [
        m.institution
        for m in sorted(network.memberships, key=lambda m: m.position)
        if m.institution.level == "primary" and m.institution.id != unit.id
    ]
    wanted = [
        (
            unit,
            {"EML18-AMLODIPINE-T5": 1200, "EML18-METFORMIN-T05": 600, "EML18-VALSARTAN-C80": 90},
        ),
        (lead, {"EML18-METFORMIN-T05": 2000, "DEMO-OLMESARTAN-T20": 300}),
    ]
    if others:
        wanted.insert(1, (others[0], {"EML18-AMLODIPINE-T5": 800, "EML18-VALSARTAN-C80": 200}))
    for institution, lines in wanted:
        pharmacy.submit_requisition(
            session,
            SYSTEM,
            network.code,
            RequisitionIn(
                institution_code=institution.code,
                lines=[RequisitionLineIn(item_code=c, quantity=n) for c, n in lines.items()],
            ),
        )
    orders = pharmacy.consolidate(session, SYSTEM, network.code, ConsolidateIn())
    first = pharmacy.orders(session, network.id, [orders[0].id])[0]
    today = clock.today()
    done = pharmacy.receive_order(
        session,
        SYSTEM,
        first.id,
        ReceiptIn(
            version=first.version,
            lots=[
                ReceiptLotIn(
                    item_code=line.item_code,
                    lot_number=f"P{today:%y%m}{n:02d}",
                    expires_on=today + timedelta(days=540),
                    quantity=line.quantity,
                )
                for n, line in enumerate(first.lines, start=1)
            ],
        ),
    )
    pharmacy.pay_order(
        session,
        SYSTEM,
        done.id,
        PaymentIn(version=done.version, reference=f"JH{today:%Y%m%d}0001"),
    )
    proposed = [
        t for t in pharmacy.transfers(session, network.id) if t.to_institution_code == unit.code
    ]
    for t in proposed[:1]:
        shipped = pharmacy.act(session, SYSTEM, t.id, TransferAction.SHIP, t.version)
        pharmacy.act(session, SYSTEM, t.id, TransferAction.RECEIVE, shipped.version)
    pharmacy.submit_requisition(
        session,
        SYSTEM,
        network.code,
        RequisitionIn(
            institution_code=unit.code,
            lines=[RequisitionLineIn(item_code="EML18-GLIMEPIRIDE-T2", quantity=180)],
        ),
    )
